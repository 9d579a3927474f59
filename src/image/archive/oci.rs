//! The oci-archive format: a tarred OCI image layout. Reading `index.json` into load plans, and
//! writing images with their blobs exactly as the store holds them.

use super::load::{image_name, valid_digest, Plan, PlanLayer};
use super::save::{append, Source, Writer};
use super::stage::Staged;
use super::types::{self, ConfigRootfs, Descriptor, Index, Manifest};
use super::{oci_arch, ArchiveError, ArchiveReporter};
use crate::image::store::{blobs::sha256_digest, Store};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;

/// The archive path of a blob.
fn blob_entry(staged: &Staged, from: &str, digest: &str) -> Result<String, ArchiveError> {
    if !valid_digest(digest) {
        return Err(staged.malformed(from, format!("invalid digest `{digest}`")));
    }
    Ok(format!("blobs/{}", digest.replacen(':', "/", 1)))
}

/// Reads a small blob (a manifest, index or config) and checks its digest.
fn small_blob(
    staged: &Staged,
    from: &str,
    digest: &str,
) -> Result<(String, Vec<u8>), ArchiveError> {
    let entry = blob_entry(staged, from, digest)?;
    staged.verified(&entry, digest)?;
    Ok((entry.clone(), staged.read_small(&entry)?))
}

/// The image name an index entry carries: containerd's full-name annotation, else the OCI
/// ref name (which podman writes as a full name, and other tools as a bare tag).
fn entry_name(staged: &Staged, desc: &Descriptor) -> Result<Option<String>, ArchiveError> {
    let name = desc
        .annotations
        .get(types::CONTAINERD_NAME)
        .or_else(|| desc.annotations.get(types::REF_NAME));
    name.map(|n| image_name(staged, "index.json", n, "localhost"))
        .transpose()
}

/// Plans every image listed in `index.json`. Entries naming the same manifest become one image
/// with several names; a nested index contributes the manifest for this machine's platform.
pub(super) fn plan(staged: &Staged) -> Result<Vec<Plan>, ArchiveError> {
    let index: Index = staged.json("index.json")?;
    if index.manifests.is_empty() {
        return Err(staged.malformed("index.json", "lists no images".into()));
    }
    let mut plans: Vec<(String, Plan)> = Vec::new();
    for desc in &index.manifests {
        let name = entry_name(staged, desc)?;
        let (entry, mut bytes) = small_blob(staged, "index.json", &desc.digest)?;
        let mut digest = desc.digest.clone();
        let mut from = entry.clone();
        if types::is_index(&desc.media_type) {
            let nested: Index = serde_json::from_slice(&bytes)
                .map_err(|e| staged.malformed(&entry, e.to_string()))?;
            let pick = nested
                .manifests
                .iter()
                .find(|m| {
                    let p = m.platform.as_ref();
                    let field = |k: &str| p.and_then(|p| p.get(k)).and_then(|v| v.as_str());
                    field("os") == Some("linux") && field("architecture") == Some(oci_arch())
                })
                .ok_or_else(|| {
                    staged.malformed(&entry, format!("has no image for linux/{}", oci_arch()))
                })?;
            (from, bytes) = small_blob(staged, &entry, &pick.digest)?;
            digest = pick.digest.clone();
        }
        if let Some((_, p)) = plans.iter_mut().find(|(d, _)| *d == digest) {
            p.names.extend(name.filter(|n| !p.names.contains(n)));
            continue;
        }
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|e| staged.malformed(&from, e.to_string()))?;
        let (config_entry, config) = small_blob(staged, &from, &manifest.config.digest)?;
        let rootfs: ConfigRootfs = serde_json::from_slice(&config)
            .map_err(|e| staged.malformed(&config_entry, e.to_string()))?;
        let diff_ids = rootfs.rootfs.diff_ids;
        if diff_ids.len() != manifest.layers.len() {
            return Err(staged.malformed(
                &from,
                format!(
                    "lists {} layers but its config has {} diff_ids",
                    manifest.layers.len(),
                    diff_ids.len()
                ),
            ));
        }
        let mut layers = Vec::new();
        for (l, diff_id) in manifest.layers.iter().zip(diff_ids) {
            if !valid_digest(&diff_id) {
                return Err(staged.malformed(&config_entry, format!("invalid diff_id `{diff_id}`")));
            }
            let entry = blob_entry(staged, &from, &l.digest)?;
            let file = staged.verified(&entry, &l.digest)?.clone();
            layers.push(PlanLayer {
                entry,
                file,
                diff_id,
            });
        }
        plans.push((
            digest,
            Plan {
                names: name.into_iter().collect(),
                manifest: bytes,
                config,
                layers,
            },
        ));
    }
    Ok(plans.into_iter().map(|(_, p)| p).collect())
}

/// The manifest to write for an image: the stored one when it is an image manifest for this
/// config (converted to OCI media types if it is docker's), else one made from the record.
fn manifest_for(store: &Store, src: &Source) -> (Manifest, Option<Vec<u8>>) {
    let rec = src.rec;
    let stored = store
        .read_blob(&rec.digest)
        .ok()
        .and_then(|b| serde_json::from_slice::<Manifest>(&b).ok().map(|m| (m, b)))
        .filter(|(m, _)| {
            m.config.digest == rec.config_digest() && m.layers.len() == rec.layers.len()
        });
    let desc = |media_type: &str, digest: &str, size: u64| Descriptor {
        media_type: types::to_oci_media_type(media_type).to_string(),
        digest: digest.to_string(),
        size,
        platform: None,
        annotations: BTreeMap::new(),
    };
    match stored {
        Some((m, bytes)) if m.media_type.as_deref() != Some(types::DOCKER_MANIFEST) => {
            (m, Some(bytes))
        }
        Some((m, _)) => (
            Manifest {
                schema_version: 2,
                media_type: Some(types::OCI_MANIFEST.into()),
                config: desc(&m.config.media_type, &m.config.digest, m.config.size),
                layers: m
                    .layers
                    .iter()
                    .map(|l| desc(&l.media_type, &l.digest, l.size))
                    .collect(),
                annotations: m.annotations,
            },
            None,
        ),
        None => (
            Manifest {
                schema_version: 2,
                media_type: Some(types::OCI_MANIFEST.into()),
                config: desc(
                    types::OCI_CONFIG,
                    &rec.config_digest(),
                    src.config.len() as u64,
                ),
                layers: rec
                    .layers
                    .iter()
                    .map(|l| desc(&l.media_type, &l.digest, l.size))
                    .collect(),
                annotations: BTreeMap::new(),
            },
            None,
        ),
    }
}

/// Writes `sources` as an OCI layout in the tar. Each blob is written once.
pub(super) fn write<W: Write>(
    store: &Store,
    sources: &[Source],
    w: &mut Writer<W>,
    reporter: &dyn ArchiveReporter,
) -> Result<(), ArchiveError> {
    let layout = br#"{"imageLayoutVersion":"1.0.0"}"#;
    append(w, "oci-layout", layout.len() as u64, &layout[..])?;
    let mut written = HashSet::new();
    let mut index = Index {
        schema_version: 2,
        media_type: None,
        manifests: Vec::new(),
    };
    for src in sources {
        let (mut manifest, mut stored) = manifest_for(store, src);
        for (l, rec_layer) in manifest.layers.iter_mut().zip(&src.rec.layers) {
            if !store.has_blob(&l.digest) {
                let sub = src.layer_blob(store, rec_layer)?;
                l.media_type = types::to_oci_media_type(&sub.media_type).to_string();
                l.digest = sub.digest;
                l.size = sub.size;
                // The manifest no longer matches the stored bytes: write the edited one.
                stored = None;
            }
        }
        for l in &manifest.layers {
            if !written.insert(l.digest.clone()) {
                continue;
            }
            reporter.blob(&l.digest);
            let f = src.open_blob(store, &l.digest)?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            if size != l.size {
                return Err(src.error(format!(
                    "blob {} in the store has {size} bytes, the manifest says {}",
                    l.digest, l.size
                )));
            }
            let name = format!("blobs/sha256/{}", l.digest.trim_start_matches("sha256:"));
            append(w, &name, size, f)?;
        }
        let config_digest = src.rec.config_digest();
        if written.insert(config_digest.clone()) {
            reporter.config(&config_digest);
            let name = format!("blobs/sha256/{}", src.rec.id);
            append(w, &name, src.config.len() as u64, &src.config[..])?;
        }
        let bytes =
            stored.unwrap_or_else(|| serde_json::to_vec(&manifest).expect("manifest serialises"));
        let digest = sha256_digest(&bytes);
        if written.insert(digest.clone()) {
            reporter.manifest();
            let name = format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
            append(w, &name, bytes.len() as u64, &bytes[..])?;
        }
        let entry = |name: Option<&String>| Descriptor {
            media_type: types::OCI_MANIFEST.into(),
            digest: digest.clone(),
            size: bytes.len() as u64,
            platform: None,
            annotations: name
                .map(|n| BTreeMap::from([(types::REF_NAME.to_string(), n.clone())]))
                .unwrap_or_default(),
        };
        if src.names.is_empty() {
            index.manifests.push(entry(None));
        }
        index
            .manifests
            .extend(src.names.iter().map(|n| entry(Some(n))));
    }
    let data = serde_json::to_vec(&index).expect("index.json serialises");
    append(w, "index.json", data.len() as u64, &data[..])
}
