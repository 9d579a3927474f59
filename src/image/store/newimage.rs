//! Images made locally rather than pulled or loaded: `commit` (a container's changes as a new
//! layer on its image) and `import` (a tarball as a one-layer image).
//!
//! The new layer's tar is kept uncompressed as a blob, so its digest is its diff_id and `save`
//! and `push` send it as it is. It is unpacked into `layers/<chain-id>` by the same code that
//! unpacks pulled layers ([`Store::import_layer`]), which turns `.wh.` entries into overlay
//! whiteouts. The image record is added through [`Store::add_image_from_manifest`], like any
//! loaded image.

use super::layers::{chain_ids, ImportError};
use super::{ImageRecord, Store, StoreError};
use serde_json::{json, Value};
use std::io::Write;

/// OCI media types of what this module writes.
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";

/// The manifest and config flavour (`commit --format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    Oci,
    Docker,
}

/// Errors creating an image, naming the image or blob.
#[derive(Debug, thiserror::Error)]
pub enum NewImageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the new layer")]
    WriteLayer(#[source] std::io::Error),
    #[error("cannot store the new layer {diff_id}")]
    Layer {
        diff_id: String,
        #[source]
        source: ImportError,
    },
}

/// What describes the new image besides its layer.
pub struct NewImage<'a> {
    /// The image the layer goes on top of (`commit`), or none (`import`).
    pub parent: Option<&'a ImageRecord>,
    /// The config to start from: the parent's (with its history), or a minimal one.
    pub config: Value,
    pub author: Option<&'a str>,
    /// History `created_by`, e.g. the container's command.
    pub created_by: &'a str,
    /// History comment (`-m`).
    pub comment: Option<&'a str>,
    pub format: ManifestFormat,
    pub names: Vec<String>,
}

/// The minimal config of an image with no parent: this platform, and an empty rootfs.
pub fn base_config() -> Value {
    json!({
        "architecture": crate::image::archive::oci_arch(),
        "os": "linux",
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": []
    })
}

impl Store {
    /// Writes a layer tar through `write` as an uncompressed blob; returns its digest (which is
    /// also its diff_id) and size.
    pub fn write_layer_blob(
        &self,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(String, u64), NewImageError> {
        let mut w = self.blob_writer()?;
        write(&mut w).map_err(NewImageError::WriteLayer)?;
        let digest = w.digest();
        let size = w.size();
        w.commit(&digest)?;
        Ok((digest, size))
    }

    /// Unpacks the layer blob `diff_id` (from [`Store::write_layer_blob`]) and records an image
    /// with it as its top layer. Must run as root in rctr's user namespace, so that the layer's
    /// file owners can be set. Returns the new image.
    pub fn add_layer_image(
        &self,
        diff_id: &str,
        size: u64,
        n: NewImage,
    ) -> Result<ImageRecord, NewImageError> {
        let mut config = n.config;
        let mut diff_ids: Vec<String> = n
            .parent
            .map(|p| p.layers.iter().map(|l| l.diff_id.clone()).collect())
            .unwrap_or_default();
        diff_ids.push(diff_id.to_string());
        let chain = chain_ids(&diff_ids).pop().expect("at least one layer");
        let mut blob = self.open_blob(diff_id)?;
        // Hold the content lock from the layer until the record exists, so that a concurrent
        // prune does not collect the fresh layer in between.
        let _content = self.content_lock()?;
        self.import_layer(&chain, diff_id, &mut blob)
            .map_err(|source| NewImageError::Layer {
                diff_id: diff_id.to_string(),
                source,
            })?;

        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        config["created"] = now.clone().into();
        if let Some(a) = n.author {
            config["author"] = a.into();
        }
        config["rootfs"] = json!({"type": "layers", "diff_ids": diff_ids});
        let mut entry = json!({"created": now, "created_by": n.created_by});
        if let Some(a) = n.author {
            entry["author"] = a.into();
        }
        if let Some(c) = n.comment {
            entry["comment"] = c.into();
            if n.format == ManifestFormat::Docker {
                config["comment"] = c.into();
            }
        }
        if !config["history"].is_array() {
            config["history"] = json!([]);
        }
        config["history"]
            .as_array_mut()
            .expect("made a list above")
            .push(entry);
        let config_bytes = serde_json::to_vec(&config).expect("a config serialises");
        let (manifest_type, config_type, layer_type) = match n.format {
            ManifestFormat::Oci => (OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
            ManifestFormat::Docker => (DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
        };
        let mut layers: Vec<Value> = n
            .parent
            .map(|p| {
                p.layers
                    .iter()
                    .map(|l| json!({"mediaType": l.media_type, "digest": l.digest, "size": l.size}))
                    .collect()
            })
            .unwrap_or_default();
        layers.push(json!({"mediaType": layer_type, "digest": diff_id, "size": size}));
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {
                "mediaType": config_type,
                "digest": super::blobs::sha256_digest(&config_bytes),
                "size": config_bytes.len(),
            },
            "layers": layers,
        });
        let manifest_bytes = serde_json::to_vec(&manifest).expect("a manifest serialises");
        Ok(self.add_image_from_manifest(&manifest_bytes, &config_bytes, n.names)?)
    }
}
