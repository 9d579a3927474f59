//! `images.json`: the image records (names, manifest digest, layers). It is read without a lock
//! (it is only ever replaced atomically) and modified under the `images` lock.

use super::{atomic, ImageRecord, Store, StoreError};

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct ImagesFile {
    images: Vec<ImageRecord>,
}

impl Store {
    /// Every image record, in the order they were added.
    pub fn images(&self) -> Result<Vec<ImageRecord>, StoreError> {
        let path = self.root.join("images.json");
        match std::fs::read(&path) {
            Ok(data) => serde_json::from_slice::<ImagesFile>(&data)
                .map(|f| f.images)
                .map_err(|e| StoreError::Corrupt {
                    path,
                    message: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(StoreError::io(&path, e)),
        }
    }

    /// Applies `f` to the records under the `images` lock and saves the result atomically.
    pub fn update_images<T>(
        &self,
        f: impl FnOnce(&mut Vec<ImageRecord>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _lock = self.lock("images")?;
        let mut all = self.images()?;
        let out = f(&mut all)?;
        let data = serde_json::to_vec_pretty(&ImagesFile { images: all })
            .expect("image records serialise");
        atomic::write(&self.root.join("images.json"), &data)?;
        Ok(out)
    }

    /// Adds (or merges into an existing record with the same id) an image whose blobs and layers
    /// are all present. Its names are taken away from any other image, which may become dangling.
    /// Returns the stored record.
    pub fn add_image(&self, rec: ImageRecord) -> Result<ImageRecord, StoreError> {
        self.update_images(|all| {
            for other in all.iter_mut().filter(|o| o.id != rec.id) {
                other.names.retain(|n| !rec.names.contains(n));
            }
            let merged = match all.iter_mut().find(|o| o.id == rec.id) {
                Some(existing) => {
                    for n in &rec.names {
                        if !existing.names.contains(n) {
                            existing.names.push(n.clone());
                        }
                    }
                    for d in &rec.repo_digests {
                        if !existing.repo_digests.contains(d) {
                            existing.repo_digests.push(d.clone());
                        }
                    }
                    existing.digest = rec.digest.clone();
                    existing.pinned |= rec.pinned;
                    existing.clone()
                }
                None => {
                    all.push(rec.clone());
                    rec
                }
            };
            Ok(merged)
        })
    }

    /// Adds the image record for a manifest and config that are already stored as blobs, with all
    /// layers present (e.g. after `load` imported them with [`Store::import_layer`]). The layer list
    /// pairs the manifest's layer descriptors with the config's diff_ids. Both byte strings are
    /// stored as blobs under their own digests, so `save` and `push` reproduce them exactly.
    pub fn add_image_from_manifest(
        &self,
        manifest_bytes: &[u8],
        config_bytes: &[u8],
        names: Vec<String>,
    ) -> Result<ImageRecord, StoreError> {
        let manifest_digest = super::blobs::sha256_digest(manifest_bytes);
        let config_digest = super::blobs::sha256_digest(config_bytes);
        self.write_blob(&manifest_digest, manifest_bytes)?;
        self.write_blob(&config_digest, config_bytes)?;
        let corrupt = |message: String| StoreError::Corrupt {
            path: self.blob_path(&manifest_digest).unwrap_or_default(),
            message,
        };
        let manifest: serde_json::Value =
            serde_json::from_slice(manifest_bytes).map_err(|e| corrupt(e.to_string()))?;
        let config: serde_json::Value =
            serde_json::from_slice(config_bytes).map_err(|e| corrupt(e.to_string()))?;
        let descs = manifest["layers"]
            .as_array()
            .ok_or_else(|| corrupt("manifest has no layers".into()))?;
        let diff_ids: Vec<String> = config["rootfs"]["diff_ids"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if diff_ids.len() != descs.len() {
            return Err(corrupt(format!(
                "{} layers but {} diff_ids in the config",
                descs.len(),
                diff_ids.len()
            )));
        }
        let chains = super::layers::chain_ids(&diff_ids);
        let mut layers = Vec::new();
        let mut size = 0;
        for ((d, diff_id), chain) in descs.iter().zip(&diff_ids).zip(&chains) {
            let meta = self.layer_meta(chain)?;
            size += meta.size;
            layers.push(super::LayerRef {
                chain_id: chain.clone(),
                diff_id: diff_id.clone(),
                digest: d["digest"].as_str().unwrap_or_default().to_string(),
                media_type: d["mediaType"].as_str().unwrap_or_default().to_string(),
                size: d["size"].as_u64().unwrap_or_default(),
            });
        }
        let repo_digests = names
            .iter()
            .map(|n| format!("{}@{manifest_digest}", super::split_repo(n)))
            .collect();
        let created = config["created"]
            .as_str()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .map(|c| c.with_timezone(&chrono::Utc));
        self.add_image(ImageRecord {
            id: super::blobs::digest_hex(&config_digest)?.to_string(),
            names,
            digest: manifest_digest,
            repo_digests,
            created,
            size,
            layers,
            pinned: false,
        })
    }
}
