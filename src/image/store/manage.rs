//! Changing what the store holds: tagging, untagging, removing images, and collecting the
//! layers and blobs no image references any more.
//!
//! Writers that add content (pull, load) hold the `content` lock shared for their whole run;
//! removal takes it exclusively, so garbage collection never deletes a layer that a running pull
//! has unpacked but not yet recorded.

use super::{find, ImageRecord, Lock, Store, StoreError};
use crate::image::reference::{self, ImageRef};
use std::collections::HashSet;

/// What removing one image did, for podman's `Untagged:` and `Deleted:` lines.
#[derive(Debug, Default, Clone)]
pub struct Removal {
    pub untagged: Vec<String>,
    pub deleted: Option<String>,
}

/// Qualifies a name given to `tag` as podman does: short names live under `localhost/`.
pub fn qualify_new_name(name: &str) -> Result<ImageRef, StoreError> {
    let parsed = reference::parse(name)?;
    if parsed.digest.is_some() {
        return Err(StoreError::Reference(reference::ReferenceError::Invalid {
            input: name.to_string(),
            reason: "a tag cannot contain a digest",
        }));
    }
    Ok(parsed.qualify("localhost"))
}

impl Store {
    /// Held (shared) by anything that adds layers or blobs before recording an image.
    pub fn content_lock(&self) -> Result<Lock, StoreError> {
        Lock::shared(&self.root.join("locks/content.lock"))
    }

    fn content_lock_exclusive(&self) -> Result<Lock, StoreError> {
        Lock::exclusive(&self.root.join("locks/content.lock"))
    }

    /// Adds `new_name` to the image `target`, taking it from any other image.
    pub fn tag(&self, target: &str, new_name: &str) -> Result<ImageRecord, StoreError> {
        let name = qualify_new_name(new_name)?
            .tagged_name()
            .expect("qualified names have a tag");
        self.update_images(|all| {
            let id = find(all, target)?.id;
            for r in all.iter_mut() {
                if r.id == id {
                    if !r.names.contains(&name) {
                        r.names.push(name.clone());
                    }
                } else {
                    r.names.retain(|n| *n != name);
                }
            }
            Ok(all
                .iter()
                .find(|r| r.id == id)
                .cloned()
                .expect("image still present"))
        })
    }

    /// Removes `names` from image `target` (all its names when empty). Returns the names removed.
    pub fn untag(&self, target: &str, names: &[String]) -> Result<Vec<String>, StoreError> {
        self.update_images(|all| {
            let id = find(all, target)?.id;
            let rec = all.iter_mut().find(|r| r.id == id).expect("found above");
            let mut removed = Vec::new();
            if names.is_empty() {
                removed = std::mem::take(&mut rec.names);
            } else {
                for n in names {
                    let matched = match_name(&rec.names, n).ok_or_else(|| {
                        StoreError::ImageNotKnown(format!("{n} (tag of {target})"))
                    })?;
                    rec.names.retain(|x| *x != matched);
                    removed.push(matched);
                }
            }
            Ok(removed)
        })
    }

    /// Removes the image `name` as `rmi` does: a name of an image that has other names is only
    /// untagged; otherwise (or with `force`) the record goes, then unused layers and blobs.
    /// Refuses images used by a container.
    pub fn remove_image(&self, name: &str, force: bool) -> Result<Removal, StoreError> {
        let _content = self.content_lock_exclusive()?;
        let removal = self.update_images(|all| {
            let rec = find(all, name)?;
            let by_name = !rec.id.starts_with(name.trim_start_matches("sha256:"));
            if by_name && rec.names.len() > 1 && !force {
                let matched = match_name(&rec.names, name).unwrap_or_else(|| rec.names[0].clone());
                let r = all.iter_mut().find(|r| r.id == rec.id).expect("present");
                r.names.retain(|n| *n != matched);
                return Ok(Removal {
                    untagged: vec![matched],
                    deleted: None,
                });
            }
            if !by_name && rec.names.len() > 1 && !force {
                return Err(StoreError::SeveralNames {
                    image: name.to_string(),
                    names: rec.names.join(", "),
                });
            }
            if let Some(c) = self.container_using(&rec.id) {
                return Err(StoreError::InUse {
                    image: name.to_string(),
                    container: c,
                });
            }
            all.retain(|r| r.id != rec.id);
            Ok(Removal {
                untagged: rec.names.clone(),
                deleted: Some(rec.id.clone()),
            })
        })?;
        if removal.deleted.is_some() {
            self.collect_garbage()?;
        }
        Ok(removal)
    }

    /// Removes images without names (`all`: every image no container uses), then unreferenced
    /// layers and blobs. Returns the removed image ids.
    pub fn prune(&self, all_unused: bool) -> Result<Vec<String>, StoreError> {
        let _content = self.content_lock_exclusive()?;
        let removed = self.update_images(|all| {
            let mut removed = Vec::new();
            all.retain(|r| {
                let doomed = (all_unused || (r.names.is_empty() && !r.pinned))
                    && self.container_using(&r.id).is_none();
                if doomed {
                    removed.push(r.id.clone());
                }
                !doomed
            });
            Ok(removed)
        })?;
        self.collect_garbage()?;
        Ok(removed)
    }

    /// Deletes layers and blobs no image record references, and leftovers of dead writers.
    /// The caller holds the content lock exclusively.
    fn collect_garbage(&self) -> Result<(), StoreError> {
        self.clean_temps();
        let images = self.images()?;
        let mut layers = HashSet::new();
        let mut blobs = HashSet::new();
        for r in &images {
            blobs.insert(r.digest.clone());
            blobs.insert(r.config_digest());
            for d in &r.repo_digests {
                if let Some((_, dg)) = d.split_once('@') {
                    blobs.insert(dg.to_string());
                }
            }
            for l in &r.layers {
                layers.insert(l.chain_id.clone());
                blobs.insert(l.digest.clone());
            }
        }
        for l in self.layer_ids()? {
            if !layers.contains(&l) {
                self.remove_layer(&l)?;
            }
        }
        for b in self.blob_ids()? {
            if !blobs.contains(&b) {
                let p = self.blob_path(&b)?;
                if let Err(e) = std::fs::remove_file(&p) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        return Err(StoreError::io(&p, e));
                    }
                }
            }
        }
        Ok(())
    }

    /// The name or id of a container whose record mentions image `id`, if any. Container records
    /// live in `containers/<id>/config.json`; any mention of the image id counts. Only
    /// directories named by a full container id count: a removed container's directory is
    /// renamed (`.removing-<id>`) before it is deleted, and must not keep its image alive.
    pub fn container_using(&self, id: &str) -> Option<String> {
        let rd = std::fs::read_dir(self.root.join("containers")).ok()?;
        for e in rd.flatten() {
            let is_container = e
                .file_name()
                .to_str()
                .is_some_and(|n| n.len() == 64 && n.bytes().all(|b| b.is_ascii_hexdigit()));
            if !is_container {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(e.path().join("config.json")) else {
                continue;
            };
            if text.contains(id) {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
                let name = v["name"]
                    .as_str()
                    .or(v["Name"].as_str())
                    .map(String::from)
                    .unwrap_or_else(|| e.file_name().to_string_lossy().into_owned());
                return Some(name);
            }
        }
        None
    }
}

/// Which of `names` the user's `name` refers to (short names match any registry).
fn match_name(names: &[String], name: &str) -> Option<String> {
    let rec = super::ImageRecord {
        id: String::new(),
        names: names.to_vec(),
        digest: String::new(),
        repo_digests: Vec::new(),
        created: None,
        size: 0,
        layers: Vec::new(),
        pinned: false,
    };
    let parsed = reference::parse(name).ok()?;
    let want = parsed.qualify(reference::DOCKER_HUB);
    let local = parsed.qualify("localhost");
    names
        .iter()
        .find(|n| {
            want.tagged_name().as_deref() == Some(n.as_str())
                || local.tagged_name().as_deref() == Some(n.as_str())
        })
        .cloned()
        .or_else(|| {
            // Short names: any registry.
            names
                .iter()
                .find(|n| {
                    find(
                        std::slice::from_ref(&ImageRecord {
                            names: vec![(*n).clone()],
                            ..rec.clone()
                        }),
                        name,
                    )
                    .is_ok()
                })
                .cloned()
        })
}
