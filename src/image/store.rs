//! The content-addressed image store under the data dir:
//! `blobs/sha256/<hex>` (manifests, configs, compressed layers), `layers/<chain-id>/diff` (unpacked
//! layers, shared across images), and `images.json` (names → manifest and config).

use std::path::{Path, PathBuf};

/// Errors from the store. Each names the image, blob or path concerned.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("image not known: `{0}`")]
    ImageNotKnown(String),
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
}

/// The store rooted at the data dir.
#[derive(Debug, Clone)]
pub struct Store {
    root: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        Ok(Store {
            root: root.to_owned(),
        })
    }

    /// Finds an image by full or short name (normalised as docker does), by id, or by a unique id prefix.
    pub fn resolve(&self, name: &str) -> Result<ImageRecord, StoreError> {
        let _ = &self.root;
        todo!("Store::resolve {name}: owned by the image engine work")
    }

    /// The image's OCI config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Volumes...).
    pub fn image_config(
        &self,
        img: &ImageRecord,
    ) -> Result<oci_spec::image::ImageConfiguration, StoreError> {
        todo!(
            "Store::image_config {}: owned by the image engine work",
            img.id
        )
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
}
