//! Unpacked layers: `layers/<chain-hex>/{diff/, meta.json}`. A layer is built in a `.tmp-` dir
//! and renamed into place complete with its `meta.json`, so a layer directory that exists is a
//! complete layer. Concurrent pulls serialise per layer on `locks/layer-<chain-hex>.lock`.

use super::{atomic, blobs::digest_hex, Store, StoreError};
use crate::image::unpack::{self, UnpackError};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};

/// What `meta.json` records about an unpacked layer.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LayerMeta {
    /// `sha256:` of the uncompressed tar.
    pub diff_id: String,
    /// Size of the uncompressed tar in bytes.
    pub size: u64,
}

/// Chain ids as the OCI image spec defines them: the first is the first diff_id, each next one is
/// `sha256(previous + " " + diff_id)`. A chain id names a layer together with everything below it.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let next = match out.last() {
            None => d.clone(),
            Some(prev) => format!(
                "sha256:{}",
                hex::encode(Sha256::digest(format!("{prev} {d}").as_bytes()))
            ),
        };
        out.push(next);
    }
    out
}

/// Errors importing a layer, naming the layer concerned.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("layer {diff_id}")]
    Unpack {
        diff_id: String,
        #[source]
        source: UnpackError,
    },
    #[error("layer {expected}: uncompressed content has digest {actual}")]
    DiffIdMismatch { expected: String, actual: String },
}

/// A layer being built; removed on drop unless committed.
pub struct LayerTemp {
    dir: PathBuf,
    final_dir: PathBuf,
    done: bool,
}

impl LayerTemp {
    /// The directory the tar is applied into.
    pub fn diff(&self) -> PathBuf {
        self.dir.join("diff")
    }

    /// Writes `meta.json` and renames the layer into place. If another process completed the same
    /// layer meanwhile, that one is kept and this one discarded.
    pub fn commit(mut self, meta: &LayerMeta) -> Result<(), StoreError> {
        let data = serde_json::to_vec(meta).expect("layer meta serialises");
        let m = self.dir.join("meta.json");
        std::fs::write(&m, data).map_err(|e| StoreError::io(&m, e))?;
        match std::fs::rename(&self.dir, &self.final_dir) {
            Ok(()) => self.done = true,
            Err(e) if self.final_dir.join("meta.json").exists() => {
                log::debug!(
                    "layer `{}` appeared meanwhile: {e}",
                    self.final_dir.display()
                );
            }
            Err(e) => return Err(StoreError::io(&self.final_dir, e)),
        }
        if let Some(parent) = self.final_dir.parent() {
            let _ = atomic::sync_dir(parent);
        }
        Ok(())
    }
}

impl Drop for LayerTemp {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Store {
    /// `layers/<hex>` for a chain id.
    pub fn layer_dir(&self, chain_id: &str) -> Result<PathBuf, StoreError> {
        Ok(self.root.join("layers").join(digest_hex(chain_id)?))
    }

    /// Whether the layer is complete and present.
    pub fn has_layer(&self, chain_id: &str) -> bool {
        self.layer_dir(chain_id)
            .map(|d| d.join("meta.json").is_file())
            .unwrap_or(false)
    }

    /// The recorded metadata of a present layer.
    pub fn layer_meta(&self, chain_id: &str) -> Result<LayerMeta, StoreError> {
        let p = self.layer_dir(chain_id)?.join("meta.json");
        let data = std::fs::read(&p).map_err(|e| StoreError::io(&p, e))?;
        serde_json::from_slice(&data).map_err(|e| StoreError::Corrupt {
            path: p,
            message: e.to_string(),
        })
    }

    /// Takes the per-layer lock; hold it while checking for and building the layer.
    pub fn lock_layer(&self, chain_id: &str) -> Result<super::Lock, StoreError> {
        self.lock(&format!("layer-{}", digest_hex(chain_id)?))
    }

    /// A new empty temp layer that [`LayerTemp::commit`] will publish as `chain_id`.
    pub fn layer_temp(&self, chain_id: &str) -> Result<LayerTemp, StoreError> {
        let final_dir = self.layer_dir(chain_id)?;
        let layers = self.root.join("layers");
        // Here, where layer directories are made, rather than in `Store::open`, which every
        // command (run and exec included) pays for.
        super::topdir::spread_subdirectories(&layers);
        let dir = atomic::temp_path(&layers, &digest_hex(chain_id)?[..12]);
        let diff = dir.join("diff");
        std::fs::create_dir_all(&diff).map_err(|e| StoreError::io(&diff, e))?;
        Ok(LayerTemp {
            dir,
            final_dir,
            done: false,
        })
    }

    /// Imports a layer from a tar stream (gzip, zstd or plain, detected from its bytes), as `load`
    /// needs: the tar is applied into a temp dir, its uncompressed digest checked against
    /// `diff_id`, and the layer published as `chain_id`. Already present layers are not re-read.
    /// Must run as root in rctr's user namespace, so file owners can be set. Hold
    /// [`Store::content_lock`] from the first imported layer until
    /// [`Store::add_image_from_manifest`] has recorded the image, so that a concurrent `rmi` or
    /// `prune` does not collect the layers in between. Chain ids come from
    /// [`chain_ids`] over the config's diff_ids.
    pub fn import_layer(
        &self,
        chain_id: &str,
        diff_id: &str,
        tar: &mut (dyn std::io::Read + Send),
    ) -> Result<LayerMeta, ImportError> {
        let _lock = self.lock_layer(chain_id)?;
        if self.has_layer(chain_id) {
            return Ok(self.layer_meta(chain_id)?);
        }
        let tmp = self.layer_temp(chain_id)?;
        let applied =
            unpack::apply_layer(tar, &tmp.diff()).map_err(|source| ImportError::Unpack {
                diff_id: diff_id.to_string(),
                source,
            })?;
        if applied.diff_id != diff_id {
            return Err(ImportError::DiffIdMismatch {
                expected: diff_id.to_string(),
                actual: applied.diff_id,
            });
        }
        let meta = LayerMeta {
            diff_id: applied.diff_id,
            size: applied.size,
        };
        tmp.commit(&meta)?;
        Ok(meta)
    }

    /// Removes a layer. It is first renamed to a `.tmp-` name, so it stops counting as present at
    /// once even if the removal is interrupted.
    pub fn remove_layer(&self, chain_id: &str) -> Result<(), StoreError> {
        let dir = self.layer_dir(chain_id)?;
        let doomed = atomic::temp_path(&self.root.join("layers"), "rm");
        match std::fs::rename(&dir, &doomed) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StoreError::io(&dir, e)),
        }
        std::fs::remove_dir_all(&doomed).map_err(|e| StoreError::io(&doomed, e))
    }

    /// Chain ids of every complete layer present.
    pub fn layer_ids(&self) -> Result<Vec<String>, StoreError> {
        list_hex(&self.root.join("layers"))
    }

    /// Digests of every blob present.
    pub fn blob_ids(&self) -> Result<Vec<String>, StoreError> {
        list_hex(&self.root.join("blobs/sha256"))
    }
}

fn list_hex(dir: &Path) -> Result<Vec<String>, StoreError> {
    let rd = std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, e))?;
    Ok(rd
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| digest_hex(n).is_ok())
        .map(|n| format!("sha256:{n}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_ids_follow_the_spec() {
        let d = vec!["sha256:a".to_string(), "sha256:b".to_string()];
        let c = chain_ids(&d);
        assert_eq!(c[0], "sha256:a");
        assert_eq!(
            c[1],
            format!(
                "sha256:{}",
                hex::encode(Sha256::digest(b"sha256:a sha256:b"))
            )
        );
    }
}
