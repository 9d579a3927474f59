//! Thin `*at` syscall wrappers. Everything the unpacker creates is addressed relative to a
//! directory fd and a single name, so no path is ever resolved through a symlink.

use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

fn cstr(name: &OsStr) -> io::Result<CString> {
    CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Opens directory `name` under `dir` without following a symlink (ELOOP/ENOTDIR if it is one).
pub fn open_dir(dir: RawFd, name: &OsStr) -> io::Result<OwnedFd> {
    let c = cstr(name)?;
    // SAFETY: valid C string; the returned fd is owned by the OwnedFd.
    let fd = check(unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: fd was just returned by openat and is not owned elsewhere.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Creates regular file `name` under `dir` with `mode` (less the umask); fails if anything is
/// already there.
pub fn create_file(dir: RawFd, name: &OsStr, mode: u32) -> io::Result<std::fs::File> {
    let c = cstr(name)?;
    // SAFETY: as above.
    let fd = check(unsafe {
        libc::openat(
            dir,
            c.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })?;
    // SAFETY: fd was just returned by openat.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

pub fn mkdir(dir: RawFd, name: &OsStr, mode: u32) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid C string.
    check(unsafe { libc::mkdirat(dir, c.as_ptr(), mode as libc::mode_t) }).map(drop)
}

pub fn symlink(target: &OsStr, dir: RawFd, name: &OsStr) -> io::Result<()> {
    let (t, c) = (cstr(target)?, cstr(name)?);
    // SAFETY: valid C strings.
    check(unsafe { libc::symlinkat(t.as_ptr(), dir, c.as_ptr()) }).map(drop)
}

/// Hard-links `old_name` in `old_dir` as `name` in `dir`; a symlink is linked itself, not followed.
pub fn link(old_dir: RawFd, old_name: &OsStr, dir: RawFd, name: &OsStr) -> io::Result<()> {
    let (o, c) = (cstr(old_name)?, cstr(name)?);
    // SAFETY: valid C strings.
    check(unsafe { libc::linkat(old_dir, o.as_ptr(), dir, c.as_ptr(), 0) }).map(drop)
}

pub fn mknod(
    dir: RawFd,
    name: &OsStr,
    kind: libc::mode_t,
    mode: u32,
    dev: libc::dev_t,
) -> io::Result<()> {
    let c = cstr(name)?;
    // SAFETY: valid C string.
    check(unsafe { libc::mknodat(dir, c.as_ptr(), kind | mode as libc::mode_t, dev) }).map(drop)
}

/// `lstat` of `name` under `dir`, or `None` when nothing is there.
pub fn lstat(dir: RawFd, name: &OsStr) -> io::Result<Option<libc::stat>> {
    let c = cstr(name)?;
    // SAFETY: zeroed stat is a valid out-parameter.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid C string and out-pointer.
    let r = unsafe { libc::fstatat(dir, c.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) };
    if r == 0 {
        return Ok(Some(st));
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::ENOENT) {
        Ok(None)
    } else {
        Err(e)
    }
}

/// Removes `name` under `dir`, recursively when it is a directory.
pub fn remove(dir: RawFd, name: &OsStr, is_dir: bool) -> io::Result<()> {
    if is_dir {
        // std's remove_dir_all walks with openat and never follows symlinks. The
        // /proc/self/fd path names the directory itself, not a symlink-resolved string.
        let p = std::path::Path::new(&format!("/proc/self/fd/{dir}")).join(name);
        return std::fs::remove_dir_all(p);
    }
    let c = cstr(name)?;
    // SAFETY: valid C string.
    check(unsafe { libc::unlinkat(dir, c.as_ptr(), 0) }).map(drop)
}

/// `fchownat(AT_SYMLINK_NOFOLLOW)` on `name`, or on `dir` itself when `name` is empty.
pub fn chown(dir: RawFd, name: &OsStr, uid: u32, gid: u32) -> io::Result<()> {
    let c = cstr(name)?;
    let flags = if name.is_empty() {
        libc::AT_EMPTY_PATH
    } else {
        libc::AT_SYMLINK_NOFOLLOW
    };
    // SAFETY: valid C string.
    check(unsafe { libc::fchownat(dir, c.as_ptr(), uid, gid, flags) }).map(drop)
}

pub fn fchmod(fd: RawFd, mode: u32) -> io::Result<()> {
    // SAFETY: plain syscall on an fd.
    check(unsafe { libc::fchmod(fd, mode as libc::mode_t) }).map(drop)
}

/// Sets atime and mtime of `name` under `dir` (not following a symlink), or of `dir` itself when
/// `name` is empty.
pub fn set_mtime(dir: RawFd, name: &OsStr, secs: i64) -> io::Result<()> {
    let ts = libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: 0,
    };
    let times = [ts, ts];
    if name.is_empty() {
        // SAFETY: valid fd and array of two timespecs.
        return check(unsafe { libc::futimens(dir, times.as_ptr()) }).map(drop);
    }
    let c = cstr(name)?;
    // SAFETY: valid C string and array of two timespecs.
    check(unsafe { libc::utimensat(dir, c.as_ptr(), times.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) })
        .map(drop)
}

pub fn fsetxattr(fd: &impl AsRawFd, name: &[u8], value: &[u8]) -> io::Result<()> {
    let c = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: valid C string and buffer.
    check(unsafe {
        libc::fsetxattr(
            fd.as_raw_fd(),
            c.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    })
    .map(drop)
}

/// The process's umask, read from /proc (changing it to read it would race with other threads).
pub fn current_umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Whether `e` is EEXIST: something is already at the name being created.
pub fn exists(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::EEXIST)
}
