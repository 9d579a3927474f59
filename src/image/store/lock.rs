//! flock-based locks on files under `<store>/locks/`. The kernel drops a flock when its holder
//! dies, so a process killed with -9 never leaves a stale lock behind.

use super::StoreError;
use std::os::fd::AsRawFd;
use std::path::Path;

/// An exclusive lock, released on drop.
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

impl Lock {
    /// Blocks until the exclusive lock on `path` (created if missing) is held.
    pub fn exclusive(path: &Path) -> Result<Lock, StoreError> {
        Lock::take(path, libc::LOCK_EX)
    }

    /// Blocks until a shared lock on `path` is held.
    pub fn shared(path: &Path) -> Result<Lock, StoreError> {
        Lock::take(path, libc::LOCK_SH)
    }

    fn take(path: &Path, op: libc::c_int) -> Result<Lock, StoreError> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|e| StoreError::io(path, e))?;
        loop {
            // SAFETY: flock on an fd we own; no memory is shared with the kernel.
            let r = unsafe { libc::flock(file.as_raw_fd(), op) };
            if r == 0 {
                return Ok(Lock { _file: file });
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(StoreError::io(path, e));
            }
        }
    }
}
