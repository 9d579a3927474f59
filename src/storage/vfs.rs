//! The vfs driver: each container gets a full copy of its image's layers. Slow to create and
//! costly in space, but it needs no kernel or FUSE support at all.
//!
//! The copy applies the layers' overlay conventions itself: a 0/0 character device deletes the
//! path below it, and an opaque directory (`user.overlay.opaque=y`) first empties the directory
//! built so far.

use super::{merged_dir, mkdirs, xattr, Driver, DriverKind, StorageError};
use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The copying driver.
pub struct Vfs;

impl Driver for Vfs {
    fn kind(&self) -> DriverKind {
        DriverKind::Vfs
    }

    fn mount(
        &self,
        layers: &[PathBuf],
        cdir: &Path,
        _ephemeral: bool,
    ) -> Result<PathBuf, StorageError> {
        let rootfs = cdir.join("rootfs");
        if !rootfs.exists() {
            let tmp = cdir.join("rootfs.tmp");
            if tmp.exists() {
                fs::remove_dir_all(&tmp).map_err(|e| StorageError::io("remove", &tmp, e))?;
            }
            mkdirs(&[&tmp])?;
            for layer in layers {
                apply_layer(layer, &tmp)?;
            }
            fs::rename(&tmp, &rootfs).map_err(|e| StorageError::io("rename", &tmp, e))?;
        }
        // The runtime pivots into a mount point, so present the copy as a bind mount like the
        // other drivers present theirs.
        let merged = merged_dir(cdir);
        mkdirs(&[&merged])?;
        use nix::mount::{mount, MsFlags};
        mount(
            Some(&rootfs),
            &merged,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|source| StorageError::Mount {
            driver: "vfs",
            target: merged.clone(),
            source,
        })?;
        Ok(merged)
    }
}

/// Copies one layer's tree over `dest`, applying whiteouts and opaque directories.
pub fn apply_layer(layer: &Path, dest: &Path) -> Result<(), StorageError> {
    let mut links = HashMap::new();
    copy_dir(layer, dest, &mut links)
}

fn copy_dir(
    src: &Path,
    dest: &Path,
    links: &mut HashMap<(u64, u64), PathBuf>,
) -> Result<(), StorageError> {
    let entries = fs::read_dir(src).map_err(|e| StorageError::io("read directory", src, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| StorageError::io("read directory", src, e))?;
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let meta = fs::symlink_metadata(&from).map_err(|e| StorageError::io("stat", &from, e))?;
        let ft = meta.file_type();
        if ft.is_char_device() && meta.rdev() == 0 {
            // A whiteout: the path no longer exists from this layer up.
            remove_any(&to)?;
            continue;
        }
        let existing = fs::symlink_metadata(&to).ok();
        if ft.is_dir() {
            match existing {
                Some(m) if m.is_dir() => {
                    if xattr::is_opaque(&from) {
                        empty_dir(&to)?;
                    }
                }
                Some(_) => {
                    remove_any(&to)?;
                    fs::create_dir(&to)
                        .map_err(|e| StorageError::io("create directory", &to, e))?;
                }
                None => {
                    fs::create_dir(&to).map_err(|e| StorageError::io("create directory", &to, e))?
                }
            }
            copy_dir(&from, &to, links)?;
            set_owner_and_mode(&to, &meta)?;
            continue;
        }
        if existing.is_some() {
            remove_any(&to)?;
        }
        if meta.nlink() > 1 {
            if let Some(first) = links.get(&(meta.dev(), meta.ino())) {
                fs::hard_link(first, &to).map_err(|e| StorageError::io("link", &to, e))?;
                continue;
            }
            links.insert((meta.dev(), meta.ino()), to.clone());
        }
        if ft.is_symlink() {
            let target =
                fs::read_link(&from).map_err(|e| StorageError::io("read link", &from, e))?;
            std::os::unix::fs::symlink(&target, &to)
                .map_err(|e| StorageError::io("create symlink", &to, e))?;
        } else if ft.is_file() {
            fs::copy(&from, &to).map_err(|e| StorageError::io("copy", &from, e))?;
        } else {
            // FIFOs, sockets and device nodes: recreate them as the layer has them. A user
            // namespace may not create real devices, which layers do not normally contain.
            let kind = nix::sys::stat::SFlag::from_bits_truncate(meta.mode() & libc::S_IFMT);
            let perm = nix::sys::stat::Mode::from_bits_truncate(meta.mode() & 0o7777);
            if let Err(e) = nix::sys::stat::mknod(&to, kind, perm, meta.rdev()) {
                log::warn!("vfs: skipping special file `{}`: {e}", from.display());
                continue;
            }
        }
        set_owner_and_mode(&to, &meta)?;
    }
    Ok(())
}

fn set_owner_and_mode(path: &Path, meta: &fs::Metadata) -> Result<(), StorageError> {
    std::os::unix::fs::lchown(path, Some(meta.uid()), Some(meta.gid()))
        .map_err(|e| StorageError::io("change the owner of", path, e))?;
    if !meta.file_type().is_symlink() {
        // chown clears setuid bits, so the mode goes second.
        fs::set_permissions(path, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(|e| StorageError::io("change the mode of", path, e))?;
    }
    Ok(())
}

fn empty_dir(dir: &Path) -> Result<(), StorageError> {
    for entry in fs::read_dir(dir).map_err(|e| StorageError::io("read directory", dir, e))? {
        let entry = entry.map_err(|e| StorageError::io("read directory", dir, e))?;
        remove_any(&entry.path())?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> Result<(), StorageError> {
    let res = match fs::symlink_metadata(path) {
        Err(_) => return Ok(()),
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
    };
    res.map_err(|e| StorageError::io("remove", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_layers_replace_files_and_merge_dirs() {
        let d = tempfile::tempdir().unwrap();
        let (l1, l2, out) = (d.path().join("l1"), d.path().join("l2"), d.path().join("o"));
        for p in [l1.join("etc"), l2.join("etc"), out.clone()] {
            fs::create_dir_all(p).unwrap();
        }
        fs::write(l1.join("etc/a"), "1").unwrap();
        fs::write(l1.join("etc/b"), "1").unwrap();
        fs::write(l2.join("etc/b"), "2").unwrap();
        std::os::unix::fs::symlink("b", l2.join("etc/c")).unwrap();
        apply_layer(&l1, &out).unwrap();
        apply_layer(&l2, &out).unwrap();
        assert_eq!(fs::read_to_string(out.join("etc/a")).unwrap(), "1");
        assert_eq!(fs::read_to_string(out.join("etc/b")).unwrap(), "2");
        assert_eq!(fs::read_link(out.join("etc/c")).unwrap(), Path::new("b"));
    }
}
