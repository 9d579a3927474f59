//! Named volumes: `<root>/volumes/<name>/_data` holds the content and `volume.json` the record.
//! A volume named in `-v name:/path` is created on first use, and an empty volume is filled with
//! the image's content at that path when a container first mounts it (docker's copy-up).

use super::options::MountKind;
use super::state::{read_json, write_json, Containers};
use super::ContainerError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One volume's record, with podman's `volume inspect` field names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    pub mountpoint: PathBuf,
    pub created_at: DateTime<Utc>,
    pub labels: BTreeMap<String, String>,
    pub scope: String,
    pub options: BTreeMap<String, String>,
    /// Whether the volume is still waiting for its first copy-up.
    pub needs_copy_up: bool,
    /// Created implicitly for an anonymous `-v /path`.
    #[serde(default)]
    pub anonymous: bool,
}

/// The volumes directory of a store.
pub struct Volumes {
    dir: PathBuf,
}

impl Volumes {
    pub fn open(root: &Path) -> Result<Volumes, ContainerError> {
        let dir = root.join("volumes");
        std::fs::create_dir_all(&dir)
            .map_err(|e| ContainerError::io("create directory", &dir, e))?;
        Ok(Volumes { dir })
    }

    fn record_path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join("volume.json")
    }

    /// Creates a volume; fails if it exists.
    pub fn create(
        &self,
        name: &str,
        labels: BTreeMap<String, String>,
        anonymous: bool,
    ) -> Result<VolumeRecord, ContainerError> {
        super::mounts::check_volume_name(name).map_err(ContainerError::Invalid)?;
        let vdir = self.dir.join(name);
        match std::fs::create_dir(&vdir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(ContainerError::VolumeExists(name.into()))
            }
            Err(e) => return Err(ContainerError::io("create directory", &vdir, e)),
        }
        let data = vdir.join("_data");
        std::fs::create_dir(&data).map_err(|e| ContainerError::io("create directory", &data, e))?;
        let rec = VolumeRecord {
            name: name.into(),
            driver: "local".into(),
            mountpoint: data,
            created_at: Utc::now(),
            labels,
            scope: "local".into(),
            options: BTreeMap::new(),
            needs_copy_up: true,
            anonymous,
        };
        write_json(&self.record_path(name), &rec)?;
        Ok(rec)
    }

    /// The volume `name`, created if it does not exist yet.
    pub fn ensure(&self, name: &str, anonymous: bool) -> Result<VolumeRecord, ContainerError> {
        match self.get(name) {
            Err(ContainerError::VolumeNotFound(_)) => {
                match self.create(name, BTreeMap::new(), anonymous) {
                    Err(ContainerError::VolumeExists(_)) => self.get(name),
                    r => r,
                }
            }
            r => r,
        }
    }

    pub fn get(&self, name: &str) -> Result<VolumeRecord, ContainerError> {
        let p = self.record_path(name);
        if !p.exists() {
            return Err(ContainerError::VolumeNotFound(name.into()));
        }
        read_json(&p)
    }

    /// Every volume, sorted by name.
    pub fn list(&self) -> Result<Vec<VolumeRecord>, ContainerError> {
        let mut out = Vec::new();
        let rd = std::fs::read_dir(&self.dir)
            .map_err(|e| ContainerError::io("read directory", &self.dir, e))?;
        for e in rd.flatten() {
            if let Ok(r) = self.get(&e.file_name().to_string_lossy()) {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The IDs of containers whose mounts name this volume.
    pub fn users(
        &self,
        name: &str,
        containers: &Containers,
    ) -> Result<Vec<String>, ContainerError> {
        Ok(containers
            .list()?
            .into_iter()
            .filter(|c| {
                c.options
                    .mounts
                    .iter()
                    .any(|m| matches!(&m.kind, MountKind::Volume { name: n } if n == name))
            })
            .map(|c| c.id)
            .collect())
    }

    /// Removes a volume and its content. The caller checks that no container uses it. Content
    /// may belong to subordinate ids, so the caller must be root in rctr's user namespace.
    pub fn remove(&self, name: &str) -> Result<(), ContainerError> {
        self.get(name)?;
        let vdir = self.dir.join(name);
        std::fs::remove_dir_all(&vdir).map_err(|e| ContainerError::io("remove", &vdir, e))
    }

    /// Fills an empty volume with what the image has at the mount's destination (`src`, a path
    /// in the mounted root filesystem), once. Later mounts see the volume as it was left.
    pub fn copy_up(&self, name: &str, src: &Path) -> Result<(), ContainerError> {
        let mut rec = self.get(name)?;
        if !rec.needs_copy_up {
            return Ok(());
        }
        let empty = std::fs::read_dir(&rec.mountpoint)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if empty && src.is_dir() {
            crate::storage::copy_tree(src, &rec.mountpoint)?;
            // The volume root takes the image directory's owner and mode too.
            if let Ok(m) = std::fs::metadata(src) {
                use std::os::unix::fs::{MetadataExt, PermissionsExt};
                let _ = std::os::unix::fs::chown(&rec.mountpoint, Some(m.uid()), Some(m.gid()));
                let _ = std::fs::set_permissions(
                    &rec.mountpoint,
                    std::fs::Permissions::from_mode(m.mode() & 0o7777),
                );
            }
        }
        rec.needs_copy_up = false;
        write_json(&self.record_path(name), &rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_ensure_copy_up_remove() {
        let d = tempfile::tempdir().unwrap();
        let v = Volumes::open(d.path()).unwrap();
        v.create("data", BTreeMap::new(), false).unwrap();
        assert!(matches!(
            v.create("data", BTreeMap::new(), false),
            Err(ContainerError::VolumeExists(_))
        ));
        let src = d.path().join("img");
        std::fs::create_dir_all(src.join("sub")).unwrap();
        std::fs::write(src.join("sub/f"), "x").unwrap();
        let r = v.ensure("other", false).unwrap();
        v.copy_up("other", &src).unwrap();
        assert_eq!(
            std::fs::read_to_string(r.mountpoint.join("sub/f")).unwrap(),
            "x"
        );
        std::fs::remove_file(r.mountpoint.join("sub/f")).unwrap();
        v.copy_up("other", &src).unwrap();
        assert!(!r.mountpoint.join("sub/f").exists(), "copy-up happens once");
        assert_eq!(v.list().unwrap().len(), 2);
        v.remove("data").unwrap();
        assert!(matches!(
            v.get("data"),
            Err(ContainerError::VolumeNotFound(_))
        ));
    }
}
