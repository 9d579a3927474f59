//! The content-addressed image store under the data dir:
//! `blobs/sha256/<hex>` (manifests, configs, compressed layers), `layers/<chain-id>/diff` (unpacked
//! layers, shared across images), and `images.json` (names → manifest and config).
//!
//! Crash safety: every file that matters is written to a `.tmp-<pid>-…` sibling and renamed into
//! place, and a layer directory is renamed into `layers/` only once complete. So a process killed
//! at any moment leaves only `.tmp-` entries, which every reader ignores and
//! [`Store::clean_temps`] removes once their writer is dead.

pub mod atomic;
pub mod blobs;
pub mod images;
pub mod layers;
pub mod lock;
pub mod manage;
pub mod newimage;
mod topdir;

use crate::image::reference::{self, ReferenceError};
use std::path::{Path, PathBuf};

pub use blobs::BlobWriter;
pub use layers::LayerMeta;
pub use lock::Lock;

/// Errors from the store. Each names the image, blob or path concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("image not known: `{0}`")]
    ImageNotKnown(String),
    #[error("`{0}` matches more than one image; give more of the id")]
    Ambiguous(String),
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    #[error("cannot access `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is corrupt: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("invalid digest `{0}`: expected sha256: and 64 lowercase hex digits")]
    BadDigest(String),
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("image `{image}` has several names ({names}); remove it by name, or with -f")]
    SeveralNames { image: String, names: String },
    #[error(
        "image `{image}` is in use by container `{container}`\nhint: remove the container first"
    )]
    InUse { image: String, container: String },
}

impl StoreError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// One layer of an image, lowest first in [`ImageRecord::layers`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerRef {
    /// `sha256:` chain id: the directory `layers/<hex>` that holds this layer's unpacked diff.
    pub chain_id: String,
    /// `sha256:` digest of the uncompressed tar.
    pub diff_id: String,
    /// `sha256:` digest of the blob as distributed (compressed).
    pub digest: String,
    pub media_type: String,
    /// Size of the compressed blob in bytes.
    pub size: u64,
}

/// A local image.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImageRecord {
    /// Hex of the config digest (no `sha256:` prefix); the IMAGE ID.
    pub id: String,
    /// Fully qualified names, e.g. `docker.io/library/alpine:latest`.
    pub names: Vec<String>,
    /// `sha256:` digest of the manifest this image was pulled or loaded as.
    pub digest: String,
    /// `repo@sha256:` digests, as `images --digests` and inspect's RepoDigests show.
    pub repo_digests: Vec<String>,
    /// Creation time from the image config.
    pub created: Option<chrono::DateTime<chrono::Utc>>,
    /// Sum of the unpacked layer sizes in bytes.
    pub size: u64,
    pub layers: Vec<LayerRef>,
    /// Pulled by digest, without a tag: such an image has no name but is not dangling, so
    /// `image prune` keeps it, as podman does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pinned: bool,
}

impl ImageRecord {
    /// The config digest, `sha256:<id>`.
    pub fn config_digest(&self) -> String {
        format!("sha256:{}", self.id)
    }
}

/// The store rooted at the data dir.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        for sub in ["blobs/sha256", "layers", "locks"] {
            let p = root.join(sub);
            std::fs::create_dir_all(&p).map_err(|e| StoreError::io(&p, e))?;
        }
        Ok(Store {
            root: root.to_owned(),
        })
    }

    /// The data dir this store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A lock file under `locks/`, e.g. `images` or `layer-<hex>`.
    pub fn lock(&self, name: &str) -> Result<Lock, StoreError> {
        Lock::exclusive(&self.root.join("locks").join(format!("{name}.lock")))
    }

    /// Finds an image by full or short name (normalised as docker does), by id, or by a unique id prefix.
    pub fn resolve(&self, name: &str) -> Result<ImageRecord, StoreError> {
        let all = self.images()?;
        find(&all, name)
    }

    /// The image's OCI config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes...).
    pub fn image_config(
        &self,
        img: &ImageRecord,
    ) -> Result<oci_spec::image::ImageConfiguration, StoreError> {
        let digest = img.config_digest();
        let data = self.read_blob(&digest)?;
        serde_json::from_slice(&data).map_err(|e| StoreError::Corrupt {
            path: self.blob_path(&digest).unwrap_or_default(),
            message: format!("config of image {}: {e}", img.id),
        })
    }

    /// The image config as raw JSON, for `inspect` and `history`, which show fields verbatim.
    pub fn image_config_json(&self, img: &ImageRecord) -> Result<serde_json::Value, StoreError> {
        let digest = img.config_digest();
        let data = self.read_blob(&digest)?;
        serde_json::from_slice(&data).map_err(|e| StoreError::Corrupt {
            path: self.blob_path(&digest).unwrap_or_default(),
            message: format!("config of image {}: {e}", img.id),
        })
    }

    /// The unpacked layer directories of an image, lowest first, ready to be overlay lowerdirs.
    pub fn layer_dirs(&self, img: &ImageRecord) -> Vec<PathBuf> {
        img.layers
            .iter()
            .map(|l| {
                self.root
                    .join("layers")
                    .join(l.chain_id.trim_start_matches("sha256:"))
                    .join("diff")
            })
            .collect()
    }

    /// Removes `.tmp-<pid>-…` leftovers of writers that are no longer running (killed mid-write).
    /// Entries of live processes are left alone, so this is safe while other pulls run.
    pub fn clean_temps(&self) {
        for dir in [self.root.join("layers"), self.root.join("blobs/sha256")] {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let name = e.file_name();
                let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(".tmp-")) else {
                    continue;
                };
                let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
                let alive = pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists());
                if alive {
                    continue;
                }
                let p = e.path();
                let res = if p.is_dir() && !p.is_symlink() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
                if let Err(err) = res {
                    log::warn!("cannot remove leftover `{}`: {err}", p.display());
                }
            }
        }
    }
}

/// Finds `name` among `all`: an exact id or `sha256:` id, a name (short names match any registry's
/// repository with that path, as podman does), a `repo@digest`, or a unique id prefix.
pub fn find(all: &[ImageRecord], name: &str) -> Result<ImageRecord, StoreError> {
    let id = name.strip_prefix("sha256:").unwrap_or(name);
    if let Some(r) = all.iter().find(|r| r.id == id) {
        return Ok(r.clone());
    }
    if let Ok(parsed) = reference::parse(name) {
        let full = parsed.qualify(reference::DOCKER_HUB);
        let short = parsed.is_short();
        let repo_matches = |repo: &str| {
            if repo == full.repo() {
                return true;
            }
            // A short name matches `<any registry>/<path>` and `<any registry>/library/<path>`.
            short
                && repo.split_once('/').is_some_and(|(_, p)| {
                    p == parsed.path || p.strip_prefix("library/") == Some(&parsed.path)
                })
        };
        let found = all.iter().find(|r| match (&full.tag, &full.digest) {
            (_, Some(d)) => {
                (r.digest == *d
                    || r.repo_digests
                        .iter()
                        .any(|rd| rd.ends_with(&format!("@{d}"))))
                    && (r.repo_digests.iter().chain(&r.names)).any(|n| repo_matches(split_repo(n)))
            }
            (Some(t), None) => r.names.iter().any(|n| {
                n.rsplit_once(':')
                    .is_some_and(|(repo, tag)| tag == t && repo_matches(repo))
            }),
            (None, None) => false,
        });
        if let Some(r) = found {
            return Ok(r.clone());
        }
    }
    if !id.is_empty() && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        let mut m = all.iter().filter(|r| r.id.starts_with(id));
        if let Some(first) = m.next() {
            if m.next().is_some() {
                return Err(StoreError::Ambiguous(name.to_string()));
            }
            return Ok(first.clone());
        }
    }
    Err(StoreError::ImageNotKnown(name.to_string()))
}

/// The repository part of `repo:tag` or `repo@digest`.
pub fn split_repo(name: &str) -> &str {
    if let Some((r, _)) = name.split_once('@') {
        return r;
    }
    match name.rfind(':') {
        Some(i) if !name[i + 1..].contains('/') => &name[..i],
        _ => name,
    }
}
