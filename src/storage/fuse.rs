//! fuse-overlayfs: overlay semantics in user space, for kernels without rootless overlay.
//!
//! It understands the same on-disk conventions as the kernel driver: a 0/0 character device is a
//! whiteout, and a directory carrying `user.overlay.opaque` (or a `.wh..wh..opq` entry) hides the
//! layers below it. It forks a daemon that lives in our mount namespace until it is unmounted.

use super::{overlay_options, Driver, DriverKind, StorageError};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The fuse-overlayfs driver (Debian's `fuse-overlayfs` binary).
pub struct FuseOverlayfs;

/// The helper binary, looked up on PATH.
pub const BINARY: &str = "fuse-overlayfs";

impl Driver for FuseOverlayfs {
    fn kind(&self) -> DriverKind {
        DriverKind::FuseOverlayfs
    }

    fn mount(
        &self,
        layers: &[PathBuf],
        cdir: &Path,
        ephemeral: bool,
    ) -> Result<PathBuf, StorageError> {
        let (mut opts, merged) = overlay_options(layers, cdir)?;
        if ephemeral {
            // fuse-overlayfs's equivalent of overlay's `volatile`: no fsync to the upper layer.
            opts.push_str(",fsync=0");
        }
        let out = Command::new(BINARY)
            .arg("-o")
            .arg(&opts)
            .arg(&merged)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| StorageError::FuseOverlayfs {
                target: merged.clone(),
                message: format!("cannot run `{BINARY}`: {e} (install the fuse-overlayfs package)"),
            })?;
        if !out.status.success() {
            return Err(StorageError::FuseOverlayfs {
                target: merged,
                message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(merged)
    }
}

/// Whether fuse-overlayfs can work here: the binary exists and /dev/fuse can be opened.
pub fn available() -> bool {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(BINARY).is_file()))
        .unwrap_or(false);
    on_path
        && std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/fuse")
            .is_ok()
}
