//! Native overlayfs, mounted by an unprivileged user inside its own user namespace.
//!
//! Since Linux 5.11 overlayfs may be mounted in a user namespace. There it cannot use the
//! `trusted.overlay.*` xattrs, so the `userxattr` option makes it read `user.overlay.opaque`
//! instead, which is what the unpacker writes for `.wh..wh..opq`. Whiteouts are 0/0 character
//! devices, which a user namespace root may create since Linux 5.8.

use super::{overlay_options, Driver, DriverKind, StorageError};
use std::path::{Path, PathBuf};

/// The kernel overlay driver.
pub struct Overlay;

/// The kernel rejects mount data longer than a page.
const MAX_OPTIONS: usize = 4095;

impl Driver for Overlay {
    fn kind(&self) -> DriverKind {
        DriverKind::Overlay
    }

    fn mount(
        &self,
        layers: &[PathBuf],
        cdir: &Path,
        ephemeral: bool,
    ) -> Result<PathBuf, StorageError> {
        let (mut opts, merged) = overlay_options(layers, cdir)?;
        // Native rootless overlay reads whiteouts and opaque dirs from `user.overlay.*` xattrs.
        opts.push_str(",userxattr");
        if ephemeral {
            // `volatile` (Linux 5.10) drops every sync of the upper layer, including the one at
            // unmount that otherwise costs tens of milliseconds; the layer is deleted anyway.
            opts.push_str(",volatile");
        }
        mount_overlay(&opts, &merged)?;
        Ok(merged)
    }
}

/// Mounts overlay with `opts` at `target`.
pub(super) fn mount_overlay(opts: &str, target: &Path) -> Result<(), StorageError> {
    use nix::mount::{mount, MsFlags};
    if opts.len() > MAX_OPTIONS {
        return Err(StorageError::TooManyLayers {
            target: target.to_owned(),
            len: opts.len(),
        });
    }
    mount(
        Some("overlay"),
        target,
        Some("overlay"),
        MsFlags::empty(),
        Some(opts),
    )
    .map_err(|source| StorageError::Mount {
        driver: "overlay",
        target: target.to_owned(),
        source,
    })
}
