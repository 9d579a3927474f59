//! `load`: stage the archive, plan every image in it (all documents parsed, all digests checked),
//! then import the layers through the store and add the image records. An image counts as
//! present only once its record is added, after all its layers and blobs are in place.

use super::stage::{Staged, StagedFile};
use super::{docker, oci, ArchiveError, ArchiveReporter};
use crate::image::store::{layers::chain_ids, Store};
use std::io::Read;

/// An image that `load` added, with the names it was given (empty for an unnamed image).
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedImage {
    /// The image id (config digest hex).
    pub id: String,
    pub names: Vec<String>,
}

/// One image found in an archive, checked and ready to import.
#[derive(Debug)]
pub(super) struct Plan {
    pub names: Vec<String>,
    /// The manifest to record: the archive's own (oci-archive), or one written for the image's
    /// layers as found in the archive (docker-archive has none).
    pub manifest: Vec<u8>,
    pub config: Vec<u8>,
    pub layers: Vec<PlanLayer>,
}

/// A layer of a planned image: the staged blob and the diff id the config gives for it.
#[derive(Debug)]
pub(super) struct PlanLayer {
    pub entry: String,
    pub file: StagedFile,
    pub diff_id: String,
}

/// Checks that `d` is `sha256:` and 64 lowercase hex digits.
pub(super) fn valid_digest(d: &str) -> bool {
    d.strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// Loads every image in the archive read from `input` (named `archive` in messages) into the
/// store. Must run as root in rctr's user namespace, since layer files get their owners set.
pub fn load(
    store: &Store,
    input: impl Read,
    archive: &str,
    reporter: &dyn ArchiveReporter,
) -> Result<Vec<LoadedImage>, ArchiveError> {
    // Staged inside the store, on the same file system as the blobs, so that verified layer blobs
    // are renamed into place rather than copied. The `.tmp-<pid>-` prefix lets the store remove
    // it if this process is killed.
    let blobs = store.root().join("blobs/sha256");
    let staging = tempfile::Builder::new()
        .prefix(&format!(".tmp-{}-load-", std::process::id()))
        .tempdir_in(&blobs)
        .map_err(|source| ArchiveError::Stage {
            path: blobs.clone(),
            source,
        })?;
    let staged = Staged::read(input, archive, staging.path())?;
    let plans = if staged.has("manifest.json") {
        docker::plan(&staged)?
    } else if staged.has("index.json") {
        oci::plan(&staged)?
    } else {
        return Err(ArchiveError::UnknownFormat {
            archive: archive.to_string(),
        });
    };

    // Layers first, for every image: a failure here leaves no image record behind.
    for plan in &plans {
        let diff_ids: Vec<String> = plan.layers.iter().map(|l| l.diff_id.clone()).collect();
        for (layer, chain) in plan.layers.iter().zip(chain_ids(&diff_ids)) {
            reporter.blob(&layer.file.digest);
            let stage_err = |source| ArchiveError::Stage {
                path: layer.file.path.clone(),
                source,
            };
            if store.has_layer(&chain) {
                // Not unpacked again, but the blob is kept: it must still hold this layer.
                if layer.file.digest != layer.diff_id {
                    let f = std::fs::File::open(&layer.file.path).map_err(stage_err)?;
                    let actual = diff_id_of(f).map_err(|source| ArchiveError::Read {
                        archive: archive.to_string(),
                        source,
                    })?;
                    if actual != layer.diff_id {
                        return Err(ArchiveError::DigestMismatch {
                            archive: archive.to_string(),
                            entry: layer.entry.clone(),
                            expected: layer.diff_id.clone(),
                            actual: format!("{actual} (uncompressed)"),
                        });
                    }
                }
            } else {
                let mut f = std::fs::File::open(&layer.file.path).map_err(stage_err)?;
                store
                    .import_layer(&chain, &layer.diff_id, &mut f)
                    .map_err(|source| ArchiveError::Layer {
                        archive: archive.to_string(),
                        entry: layer.entry.clone(),
                        source: Box::new(source),
                    })?;
            }
        }
    }
    // Then the layer blobs, once no import needs the staged files any more.
    for layer in plans.iter().flat_map(|p| &p.layers) {
        keep_blob(store, &layer.file)?;
    }
    let mut loaded = Vec::new();
    for plan in plans {
        reporter.config(&crate::image::store::blobs::sha256_digest(&plan.config));
        reporter.manifest();
        let rec =
            store.add_image_from_manifest(&plan.manifest, &plan.config, plan.names.clone())?;
        loaded.push(LoadedImage {
            id: rec.id,
            names: plan.names,
        });
    }
    Ok(loaded)
}

/// The `sha256:` digest of a layer blob's uncompressed content.
fn diff_id_of(f: std::fs::File) -> std::io::Result<String> {
    use sha2::{Digest as _, Sha256};
    let mut r = super::stage::decompressed(std::io::BufReader::with_capacity(256 * 1024, f))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut r, &mut hasher)?;
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Moves a verified staged layer blob into the store's blobs (unless already there), so that
/// `save` and `push` can reproduce it byte for byte.
fn keep_blob(store: &Store, file: &StagedFile) -> Result<(), ArchiveError> {
    if store.has_blob(&file.digest) {
        return Ok(());
    }
    let dest = store.blob_path(&file.digest)?;
    let io = |source| ArchiveError::Stage {
        path: file.path.clone(),
        source,
    };
    // The digest was computed while staging; fsync before the rename makes the blob durable
    // before it becomes visible under its digest.
    std::fs::File::open(&file.path)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    match std::fs::rename(&file.path, &dest) {
        Ok(()) => Ok(()),
        // Two images in one archive may share the staged file: it was moved already.
        Err(_) if dest.is_file() => Ok(()),
        Err(source) => Err(io(source)),
    }
}

/// Turns `name` from an archive into a stored image name. docker-archive names follow docker's
/// rules (`alpine` is `docker.io/library/alpine:latest`); OCI ref names without a registry
/// become `localhost/NAME`, as podman loads them.
pub(super) fn image_name(
    staged: &Staged,
    entry: &str,
    name: &str,
    default_registry: &str,
) -> Result<String, ArchiveError> {
    use crate::image::reference;
    let parsed = reference::parse(name)
        .map_err(|e| staged.malformed(entry, format!("invalid image name `{name}`: {e}")))?;
    let full = parsed.qualify(default_registry);
    full.tagged_name()
        .ok_or_else(|| staged.malformed(entry, format!("image name `{name}` has no tag")))
}
