//! Choosing a storage driver: the configured one, or the best that works on this machine.
//!
//! The probe mounts a tiny overlay with `userxattr` (which fails on kernels older than 5.11 or
//! where rootless overlay is disabled), then looks for fuse-overlayfs and /dev/fuse, then settles
//! for vfs. Its answer is cached in the runtime directory, which is cleared at boot, so a new
//! kernel is probed again.

use super::{fuse, mkdirs, overlay, unmount_path, DriverKind, StorageError};
use std::path::Path;

const CACHE_FILE: &str = "storage-driver";

/// The driver to use for a new container: `configured` unless it is `auto`, else the probe's
/// answer. Must run in a private mount namespace, as root in rctr's user namespace.
pub fn resolve_driver(
    configured: &str,
    root: &Path,
    runroot: &Path,
) -> Result<DriverKind, StorageError> {
    if configured != "auto" && !configured.is_empty() {
        return DriverKind::parse(configured);
    }
    probe(root, runroot)
}

/// Finds the best working driver, caching the answer under `runroot`.
pub fn probe(root: &Path, runroot: &Path) -> Result<DriverKind, StorageError> {
    let cache = runroot.join(CACHE_FILE);
    if let Some(kind) = std::fs::read_to_string(&cache)
        .ok()
        .and_then(|s| DriverKind::parse(s.trim()).ok())
    {
        return Ok(kind);
    }
    let kind = if overlay_works(root) {
        DriverKind::Overlay
    } else if fuse::available() {
        DriverKind::FuseOverlayfs
    } else {
        DriverKind::Vfs
    };
    log::debug!("storage probe chose {}", kind.name());
    let tmp = runroot.join(format!("{CACHE_FILE}.{}", std::process::id()));
    if std::fs::write(&tmp, kind.name()).is_ok() {
        let _ = std::fs::rename(&tmp, &cache);
    }
    Ok(kind)
}

fn overlay_works(root: &Path) -> bool {
    let Ok(dir) = tempfile::Builder::new()
        .prefix("overlay-probe")
        .tempdir_in(root)
    else {
        return false;
    };
    let d = dir.path();
    let (lower, upper, work, merged) = (d.join("l"), d.join("u"), d.join("w"), d.join("m"));
    if mkdirs(&[&lower, &upper, &work, &merged]).is_err() {
        return false;
    }
    let opts = format!(
        "lowerdir={},upperdir={},workdir={},userxattr",
        lower.display(),
        upper.display(),
        work.display()
    );
    let ok = overlay::mount_overlay(&opts, &merged).is_ok();
    if ok {
        let _ = unmount_path(&merged);
    }
    ok
}
