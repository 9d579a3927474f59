//! Resolving and creating paths inside the container's root without ever leaving it: an image
//! may contain symlinks such as `/etc -> /` or `/x -> ../../../../home`, and a mount point created
//! by following them naively would land on the host. openat2(2) with RESOLVE_IN_ROOT resolves
//! every component (symlinks included) as if the root directory were `/`.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Component, Path};

const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// What to create at a missing mount point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
}

/// Opens `rel` (absolute or relative, taken inside the root) below `root` as an O_PATH fd.
pub fn open_in_root(root: &OwnedFd, rel: &Path) -> io::Result<OwnedFd> {
    let s = rel.to_string_lossy();
    let trimmed = s.trim_start_matches('/');
    let c = CString::new(if trimmed.is_empty() { "." } else { trimmed })
        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    };
    loop {
        // SAFETY: `how` and `c` outlive the call; the size matches the struct.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                c.as_ptr(),
                &how as *const OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        if fd >= 0 {
            // SAFETY: the kernel returned a new descriptor.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EAGAIN) && err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// Opens `rel` inside the root, creating it (and missing parents, as directories) when absent.
pub fn ensure_in_root(root: &OwnedFd, rel: &Path, kind: Kind) -> io::Result<OwnedFd> {
    match open_in_root(root, rel) {
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        other => return other,
    }
    let comps: Vec<_> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut prefix = std::path::PathBuf::new();
    let mut cur = open_in_root(root, Path::new("."))?;
    for (i, name) in comps.iter().enumerate() {
        prefix.push(name);
        match open_in_root(root, &prefix) {
            Ok(fd) => {
                cur = fd;
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return Err(e),
        }
        let last = i + 1 == comps.len();
        let cname = CString::new(name.as_encoded_bytes())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // `cur` (an O_PATH fd, usable as dirfd) was resolved safely, so creating a plain name in it cannot escape the root.
        let rc = if last && kind == Kind::File {
            // SAFETY: plain syscall on valid pointers.
            let fd = unsafe {
                libc::openat(
                    cur.as_raw_fd(),
                    cname.as_ptr(),
                    libc::O_CREAT
                        | libc::O_EXCL
                        | libc::O_WRONLY
                        | libc::O_CLOEXEC
                        | libc::O_NOFOLLOW,
                    0o644,
                )
            };
            if fd >= 0 {
                // SAFETY: we own the new descriptor.
                unsafe { libc::close(fd) };
            }
            fd
        } else {
            // SAFETY: plain syscall on valid pointers.
            unsafe { libc::mkdirat(cur.as_raw_fd(), cname.as_ptr(), 0o755) }
        };
        if rc < 0 {
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EEXIST) {
                return Err(err);
            }
        }
        cur = open_in_root(root, &prefix)?;
    }
    Ok(cur)
}

/// The `/proc/self/fd/N` path through which mount(2) acts on exactly the inode of `fd`.
pub fn fd_path(fd: &OwnedFd) -> String {
    format!("/proc/self/fd/{}", fd.as_raw_fd())
}
