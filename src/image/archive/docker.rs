//! The docker-archive format: reading `manifest.json` into load plans, and writing images with
//! uncompressed layers named by their diff ids, as podman and docker do.

use super::load::{image_name, valid_digest, Plan, PlanLayer};
use super::save::{append, Source, Writer};
use super::stage::{decompressed, detect, Compression, Staged};
use super::types::{self, ConfigRootfs, Descriptor, DockerManifestEntry, Manifest};
use super::{ArchiveError, ArchiveReporter};
use crate::image::store::{blobs::sha256_digest, LayerRef, Store};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader, Read, Seek, Write};

/// Plans every image listed in `manifest.json`.
pub(super) fn plan(staged: &Staged) -> Result<Vec<Plan>, ArchiveError> {
    let entries: Vec<DockerManifestEntry> = staged.json("manifest.json")?;
    let mut plans = Vec::new();
    for e in entries {
        let config = staged.read_small(&e.config)?;
        let config_digest = sha256_digest(&config);
        // The config's file name is its digest in every writer's layout: check it when it is one.
        let stem = e.config.rsplit('/').next().unwrap_or(&e.config);
        let stem = stem.strip_suffix(".json").unwrap_or(stem);
        let named = format!("sha256:{stem}");
        if valid_digest(&named) && named != config_digest {
            return Err(ArchiveError::DigestMismatch {
                archive: staged.archive.clone(),
                entry: e.config.clone(),
                expected: named,
                actual: config_digest,
            });
        }
        let rootfs: ConfigRootfs = serde_json::from_slice(&config)
            .map_err(|err| staged.malformed(&e.config, err.to_string()))?;
        let diff_ids = rootfs.rootfs.diff_ids;
        if diff_ids.len() != e.layers.len() {
            return Err(staged.malformed(
                "manifest.json",
                format!(
                    "image `{}` lists {} layers but its config has {} diff_ids",
                    e.config,
                    e.layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        let mut layers = Vec::new();
        let mut descs = Vec::new();
        for (entry, diff_id) in e.layers.iter().zip(diff_ids) {
            if !valid_digest(&diff_id) {
                return Err(staged.malformed(&e.config, format!("invalid diff_id `{diff_id}`")));
            }
            let file = staged.get(entry)?.clone();
            // Layers are normally uncompressed, so the file's digest is the diff id. A compressed
            // layer is accepted too; its diff id is then checked while it is unpacked.
            let media_type = if file.digest == diff_id {
                types::OCI_LAYER
            } else {
                let mut head = [0u8; 4];
                let n = std::fs::File::open(&file.path)
                    .and_then(|mut f| f.read(&mut head))
                    .map_err(|source| ArchiveError::Stage {
                        path: file.path.clone(),
                        source,
                    })?;
                match detect(&head[..n]) {
                    Compression::Gzip => types::OCI_LAYER_GZIP,
                    Compression::Zstd => types::OCI_LAYER_ZSTD,
                    Compression::None => {
                        return Err(ArchiveError::DigestMismatch {
                            archive: staged.archive.clone(),
                            entry: entry.clone(),
                            expected: diff_id,
                            actual: file.digest,
                        })
                    }
                }
            };
            descs.push(Descriptor {
                media_type: media_type.to_string(),
                digest: file.digest.clone(),
                size: file.size,
                platform: None,
                annotations: BTreeMap::new(),
            });
            layers.push(PlanLayer {
                entry: entry.clone(),
                file,
                diff_id,
            });
        }
        // docker-archive carries no manifest; record an OCI one for the layers as they are.
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(types::OCI_MANIFEST.to_string()),
            config: Descriptor {
                media_type: types::OCI_CONFIG.to_string(),
                digest: config_digest,
                size: config.len() as u64,
                platform: None,
                annotations: BTreeMap::new(),
            },
            layers: descs,
            annotations: BTreeMap::new(),
        };
        let names = e
            .repo_tags
            .iter()
            .map(|t| image_name(staged, "manifest.json", t, "docker.io"))
            .collect::<Result<Vec<_>, _>>()?;
        plans.push(Plan {
            names,
            manifest: serde_json::to_vec(&manifest).expect("manifest serialises"),
            config,
            layers,
        });
    }
    Ok(plans)
}

/// Writes `sources` as a docker-archive. Each layer is written once, uncompressed, even when
/// several images share it.
pub(super) fn write<W: Write>(
    store: &Store,
    sources: &[Source],
    w: &mut Writer<W>,
    reporter: &dyn ArchiveReporter,
) -> Result<(), ArchiveError> {
    let mut written = HashSet::new();
    let mut entries = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for src in sources {
        let mut layer_names = Vec::new();
        for (layer, diff_id) in src.rec.layers.iter().zip(&src.diff_ids) {
            let hex = diff_id.trim_start_matches("sha256:");
            let name = format!("{hex}.tar");
            if written.insert(name.clone()) {
                reporter.blob(diff_id);
                write_layer(store, src, layer, diff_id, &name, w)?;
            }
            layer_names.push(name);
        }
        let config_name = format!("{}.json", src.rec.id);
        if written.insert(config_name.clone()) {
            reporter.config(&src.rec.config_digest());
            append(w, &config_name, src.config.len() as u64, &src.config[..])?;
        }
        if let Some(top) = src.diff_ids.last() {
            for n in src.names {
                if let Some((repo, tag)) = n.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
                    repositories
                        .entry(repo.to_string())
                        .or_default()
                        .insert(tag.to_string(), top.trim_start_matches("sha256:").into());
                }
            }
        }
        entries.push(DockerManifestEntry {
            config: config_name,
            repo_tags: src.names.to_vec(),
            layers: layer_names,
        });
    }
    reporter.manifest();
    let manifest = serde_json::to_vec(&entries).expect("manifest.json serialises");
    append(w, "manifest.json", manifest.len() as u64, &manifest[..])?;
    let repos = serde_json::to_vec(&repositories).expect("repositories serialises");
    append(w, "repositories", repos.len() as u64, &repos[..])
}

/// Writes one layer uncompressed. The store keeps layers as distributed (usually gzip), and a
/// tar header needs the size before the content: the unpacked layer's `meta.json` records it, so
/// the blob is decompressed straight into the archive and its digest checked at the end. Without
/// that record, it is decompressed into a temp file first and checked before it is written.
fn write_layer<W: Write>(
    store: &Store,
    src: &Source,
    layer: &LayerRef,
    diff_id: &str,
    name: &str,
    w: &mut Writer<W>,
) -> Result<(), ArchiveError> {
    let known_size = store
        .layer_meta(&layer.chain_id)
        .ok()
        .filter(|m| m.diff_id == diff_id)
        .map(|m| m.size);
    let layer = &src.layer_blob(store, layer)?;
    let blob = src.open_blob(store, &layer.digest)?;
    let size = blob.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = BufReader::with_capacity(256 * 1024, blob);
    let bad = |e: std::io::Error| src.error(format!("layer blob {}: {e}", layer.digest));
    let head = r.fill_buf().map_err(bad)?.to_vec();
    if detect(&head) == Compression::None && layer.digest == diff_id {
        return append(w, name, size, r);
    }
    let mismatch = |actual: String| {
        src.error(format!(
            "layer blob {} decompresses to {actual}, but the config's diff_id is {diff_id}",
            layer.digest
        ))
    };
    if let Some(size) = known_size {
        let mut h = Hashing {
            inner: decompressed(r).map_err(bad)?,
            hasher: Sha256::new(),
            failed: None,
        };
        let res = append(w, name, size, &mut h);
        if let Some(e) = h.failed {
            return Err(bad(e));
        }
        res?;
        let actual = format!("sha256:{}", hex::encode(h.hasher.finalize()));
        return if actual == diff_id {
            Ok(())
        } else {
            Err(mismatch(actual))
        };
    }
    let mut tmp = tempfile::tempfile_in(store.root()).map_err(|source| ArchiveError::Stage {
        path: store.root().to_owned(),
        source,
    })?;
    let mut dec = decompressed(r).map_err(bad)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = dec.read(&mut buf).map_err(bad)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(bad)?;
        total += n as u64;
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != diff_id {
        return Err(mismatch(actual));
    }
    tmp.rewind().map_err(bad)?;
    append(w, name, total, tmp)
}

/// A reader that hashes what passes through it and keeps its own read error, so that a corrupt
/// blob is reported as such rather than as a failure to write the archive.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    failed: Option<std::io::Error>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                Ok(n)
            }
            Err(e) => {
                let copy = std::io::Error::new(e.kind(), e.to_string());
                self.failed = Some(e);
                Err(copy)
            }
        }
    }
}
