//! Device nodes and the conventional symlinks in the container's /dev.
//!
//! Inside a user namespace mknod(2) of a real device is refused, so the host's nodes are
//! bind-mounted onto empty files instead (that is what crun and runc do rootless). As real root
//! outside any user namespace the nodes are created with mknod, which is cheaper.

use super::error::ChildError;
use super::safepath::{ensure_in_root, fd_path, open_in_root, Kind};
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Every container gets these, as with runc and podman.
pub const DEFAULT_DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// The links every /dev carries.
const LINKS: &[(&str, &str)] = &[
    ("/proc/self/fd", "fd"),
    ("/proc/self/fd/0", "stdin"),
    ("/proc/self/fd/1", "stdout"),
    ("/proc/self/fd/2", "stderr"),
    ("pts/ptmx", "ptmx"),
    ("/proc/kcore", "core"),
];

/// Creates the default devices, the spec's extra devices and the /dev links below `root`.
pub fn populate(root: &OwnedFd, extra: &[LinuxDevice], use_mknod: bool) -> Result<(), ChildError> {
    for name in DEFAULT_DEVICES {
        let path = PathBuf::from("/dev").join(name);
        if use_mknod {
            let st = nix::sys::stat::stat(&path).map_err(|e| {
                ChildError::os(
                    "mknod",
                    &path,
                    format!("cannot read the host's `{}`", path.display()),
                    std::io::Error::from(e),
                )
            })?;
            make_node(root, &path, libc::S_IFCHR, st.st_rdev, 0o666, 0, 0)?;
        } else {
            bind_node(root, &path, &path)?;
        }
    }
    for d in extra {
        let path = d.path();
        if use_mknod {
            let kind = match d.typ() {
                LinuxDeviceType::B => libc::S_IFBLK,
                LinuxDeviceType::P => libc::S_IFIFO,
                _ => libc::S_IFCHR,
            };
            let dev = libc::makedev(d.major() as u32, d.minor() as u32);
            let mode = d.file_mode().unwrap_or(0o666);
            make_node(
                root,
                path,
                kind,
                dev,
                mode,
                d.uid().unwrap_or(0),
                d.gid().unwrap_or(0),
            )?;
        } else {
            bind_node(root, path, path)?;
        }
    }
    let dev = open_in_root(root, Path::new("/dev")).map_err(|e| {
        ChildError::os(
            "symlink",
            "/dev",
            "cannot open the container's /dev".into(),
            e,
        )
    })?;
    for (target, name) in LINKS {
        let t = CString::new(*target).expect("no NUL");
        let n = CString::new(*name).expect("no NUL");
        // SAFETY: plain syscall on valid C strings and an O_PATH directory fd.
        let rc = unsafe { libc::symlinkat(t.as_ptr(), dev.as_raw_fd(), n.as_ptr()) };
        if rc < 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EEXIST) {
                return Err(ChildError::os(
                    "symlink",
                    format!("/dev/{name}"),
                    format!("cannot create the link `/dev/{name}`"),
                    err,
                ));
            }
        }
    }
    Ok(())
}

fn bind_node(root: &OwnedFd, host: &Path, dest: &Path) -> Result<(), ChildError> {
    let what = || {
        format!(
            "cannot bind-mount the device `{}` on `{}`",
            host.display(),
            dest.display()
        )
    };
    let target = ensure_in_root(root, dest, Kind::File)
        .map_err(|e| ChildError::os("mount", dest, what(), e))?;
    mount(
        Some(host),
        fd_path(&target).as_str(),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| ChildError::os("mount", host, what(), std::io::Error::from(e)))
}

fn make_node(
    root: &OwnedFd,
    path: &Path,
    kind: libc::mode_t,
    dev: libc::dev_t,
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<(), ChildError> {
    let what = || format!("cannot create the device `{}`", path.display());
    let parent = path.parent().unwrap_or(Path::new("/"));
    let dir = ensure_in_root(root, parent, Kind::Dir)
        .map_err(|e| ChildError::os("mknod", path, what(), e))?;
    let name = CString::new(path.file_name().unwrap_or_default().as_encoded_bytes())
        .map_err(|e| ChildError::os("mknod", path, what(), e))?;
    // SAFETY: plain syscalls on a valid directory fd and C string.
    let rc = unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), kind | (mode & 0o7777), dev) };
    if rc < 0 {
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EEXIST) {
            return Err(ChildError::os("mknod", path, what(), err));
        }
    }
    // mknod obeys the umask; set the mode and owner explicitly.
    // SAFETY: as above.
    unsafe {
        libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode & 0o7777, 0);
        libc::fchownat(
            dir.as_raw_fd(),
            name.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        );
    }
    Ok(())
}
