//! Container root filesystems built from an image's unpacked layers. Three drivers share one
//! [`Driver`] trait: native rootless `overlay` (kernel ≥ 5.11, `userxattr`), `fuse-overlayfs`, and
//! `vfs` (a full copy). [`probe`] picks the best one that works on this machine and caches the
//! answer in the runtime directory.
//!
//! Every driver mounts into the *current* mount namespace, so callers first call
//! [`private_mount_namespace`]: the mounts then vanish with the process and never reach the host.

mod fuse;
mod overlay;
pub mod probe;
mod vfs;
mod xattr;

pub use probe::{probe, resolve_driver};
pub use vfs::apply_layer as copy_tree;
pub use xattr::{get as get_xattr, is_opaque as is_opaque_dir};

use std::path::{Path, PathBuf};

/// Errors from the storage drivers. Each names the path or the helper concerned.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("unknown storage driver `{0}`: expected overlay, fuse-overlayfs or vfs")]
    UnknownDriver(String),
    #[error("cannot create a private mount namespace: {0}")]
    MountNamespace(#[source] nix::Error),
    #[error("cannot mount {driver} at `{target}`: {source}")]
    Mount {
        driver: &'static str,
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("fuse-overlayfs failed to mount `{target}`: {message}")]
    FuseOverlayfs { target: PathBuf, message: String },
    #[error("cannot unmount `{target}`: {source}")]
    Unmount {
        target: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("overlay mount options for `{target}` are {len} bytes, over the kernel's page-size limit; the image has too many layers for the overlay driver (use --storage-driver vfs)")]
    TooManyLayers { target: PathBuf, len: usize },
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl StorageError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> StorageError {
        StorageError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// The storage drivers rctr knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriverKind {
    Overlay,
    FuseOverlayfs,
    Vfs,
}

impl DriverKind {
    /// The name used in configs, flags and `inspect` (podman's names).
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Overlay => "overlay",
            DriverKind::FuseOverlayfs => "fuse-overlayfs",
            DriverKind::Vfs => "vfs",
        }
    }

    /// Parses a driver name; `auto` is handled by [`resolve_driver`].
    pub fn parse(name: &str) -> Result<DriverKind, StorageError> {
        match name {
            "overlay" | "overlay2" => Ok(DriverKind::Overlay),
            "fuse-overlayfs" => Ok(DriverKind::FuseOverlayfs),
            "vfs" => Ok(DriverKind::Vfs),
            other => Err(StorageError::UnknownDriver(other.to_string())),
        }
    }

    /// The driver implementation.
    pub fn driver(self) -> &'static dyn Driver {
        match self {
            DriverKind::Overlay => &overlay::Overlay,
            DriverKind::FuseOverlayfs => &fuse::FuseOverlayfs,
            DriverKind::Vfs => &vfs::Vfs,
        }
    }
}

/// A way of presenting an image's layers plus a private writable layer as one directory tree.
///
/// A container directory holds the driver's private state (`upper/` and `work/`, or `rootfs/`
/// for vfs) and the mount point `merged/`, which is what the runtime pivots into.
pub trait Driver: Sync {
    fn kind(&self) -> DriverKind;

    /// Mounts the root filesystem for the container whose directory is `cdir`, over `layers`
    /// (lowest first), and returns the mount point. The caller must be in a private mount
    /// namespace and root in rctr's user namespace. `ephemeral` (a `--rm` container, whose
    /// layer is deleted when it exits) lets the driver skip flushing writes to disk.
    fn mount(
        &self,
        layers: &[PathBuf],
        cdir: &Path,
        ephemeral: bool,
    ) -> Result<PathBuf, StorageError>;

    /// Unmounts what [`Driver::mount`] mounted (a no-op when nothing is mounted).
    fn unmount(&self, cdir: &Path) -> Result<(), StorageError> {
        unmount_path(&merged_dir(cdir))
    }
}

/// The mount point of a container's root filesystem.
pub fn merged_dir(cdir: &Path) -> PathBuf {
    cdir.join("merged")
}

/// Moves this process into a new mount namespace whose mounts are all private, so that the
/// container's root filesystem (and anything else mounted afterwards) never propagates to the
/// host, and disappears when the last process in the namespace exits.
pub fn private_mount_namespace() -> Result<(), StorageError> {
    use nix::mount::{mount, MsFlags};
    use nix::sched::{unshare, CloneFlags};
    unshare(CloneFlags::CLONE_NEWNS).map_err(StorageError::MountNamespace)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(StorageError::MountNamespace)
}

/// Detaches whatever is mounted at `target`; not being a mount point is not an error.
pub fn unmount_path(target: &Path) -> Result<(), StorageError> {
    use nix::mount::{umount2, MntFlags};
    match umount2(target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => Ok(()),
        Err(source) => Err(StorageError::Unmount {
            target: target.to_owned(),
            source,
        }),
    }
}

pub(crate) fn mkdirs(dirs: &[&Path]) -> Result<(), StorageError> {
    for d in dirs {
        std::fs::create_dir_all(d).map_err(|e| StorageError::io("create directory", d, e))?;
    }
    Ok(())
}

/// Creates a container's `upper`, `work` and `merged` directories and returns the mount options
/// both overlay drivers share (`lowerdir=...,upperdir=...,workdir=...`) with the mount point.
pub(crate) fn overlay_options(
    layers: &[PathBuf],
    cdir: &Path,
) -> Result<(String, PathBuf), StorageError> {
    let (upper, work, merged) = (cdir.join("upper"), cdir.join("work"), merged_dir(cdir));
    mkdirs(&[&upper, &work, &merged])?;
    let opts = format!(
        "lowerdir={},upperdir={},workdir={}",
        lowerdir(layers, cdir)?,
        upper.display(),
        work.display()
    );
    Ok((opts, merged))
}

/// The overlay `lowerdir=` value: overlay lists the *top* layer first. An image without layers
/// gets an empty directory, since overlay needs at least one lower layer.
pub(crate) fn lowerdir(layers: &[PathBuf], cdir: &Path) -> Result<String, StorageError> {
    if layers.is_empty() {
        let empty = cdir.join("empty");
        mkdirs(&[&empty])?;
        return Ok(empty.display().to_string());
    }
    Ok(layers
        .iter()
        .rev()
        .map(|p| escape_option(&p.display().to_string()))
        .collect::<Vec<_>>()
        .join(":"))
}

/// Overlay option values treat `:` and `,` as separators; escape them.
fn escape_option(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(':', "\\:")
        .replace(',', "\\,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowerdir_is_top_first() {
        let d = tempfile::tempdir().unwrap();
        let l = vec![PathBuf::from("/l/a"), PathBuf::from("/l/b:c")];
        assert_eq!(lowerdir(&l, d.path()).unwrap(), "/l/b\\:c:/l/a");
    }

    #[test]
    fn driver_names_round_trip() {
        for k in [
            DriverKind::Overlay,
            DriverKind::FuseOverlayfs,
            DriverKind::Vfs,
        ] {
            assert_eq!(DriverKind::parse(k.name()).unwrap(), k);
        }
        assert!(DriverKind::parse("zfs").is_err());
    }
}
