//! The few extended-attribute calls the drivers need, without following symlinks.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The xattr the unpacker sets on a directory that replaces (rather than merges with) the same
/// directory in lower layers: overlay's opaque marker in the unprivileged `user.` namespace.
pub const OPAQUE: &str = "user.overlay.opaque";

/// Reads an xattr of `path` (not following symlinks); `None` when absent or unsupported.
pub fn get(path: &Path, name: &str) -> Option<Vec<u8>> {
    let p = CString::new(path.as_os_str().as_bytes()).ok()?;
    let n = CString::new(name).ok()?;
    let mut buf = vec![0u8; 256];
    // SAFETY: both strings are NUL-terminated and buf is valid for buf.len() bytes.
    let len =
        unsafe { libc::lgetxattr(p.as_ptr(), n.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if len < 0 {
        return None;
    }
    buf.truncate(len as usize);
    Some(buf)
}

/// Whether `dir` is marked opaque.
pub fn is_opaque(dir: &Path) -> bool {
    get(dir, OPAQUE).is_some_and(|v| v == b"y")
}
