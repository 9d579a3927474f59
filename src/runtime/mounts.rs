//! Performing the spec's mounts inside the container's root, before pivot_root.
//!
//! Every mount point is resolved (and created when missing) with RESOLVE_IN_ROOT, and mount(2)
//! is pointed at the resolved inode through `/proc/self/fd/N`, so no symlink in the image can
//! redirect a mount onto the host. Attributes of bind mounts are applied with mount_setattr(2):
//! a classic read-only remount inside a user namespace fails with EPERM unless it repeats every
//! flag the kernel locked (nosuid, nodev, ...), while mount_setattr changes only what it is told.

use super::error::ChildError;
use super::mountopts::{self, MountOpts, ATTR_NODEV, ATTR_NOEXEC, ATTR_NOSUID, ATTR_RDONLY};
use super::safepath::{ensure_in_root, fd_path, open_in_root, Kind};
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Mount;
use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

const AT_RECURSIVE: u32 = 0x8000;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// Sets and clears mount attributes on the mount at `fd` (recursively when asked).
pub fn setattr(fd: &OwnedFd, set: u64, clr: u64, recursive: bool) -> std::io::Result<()> {
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd: 0,
    };
    let flags = libc::AT_EMPTY_PATH as u32 | if recursive { AT_RECURSIVE } else { 0 };
    let empty = c"";
    // SAFETY: valid pointers; the size matches the struct.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            empty.as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    remount_fallback(fd, set, clr)
}

/// Kernels before 5.12 lack mount_setattr: remount, repeating the flags the mount already has so
/// that none the user namespace locked is cleared (non-recursive only).
fn remount_fallback(fd: &OwnedFd, set: u64, clr: u64) -> std::io::Result<()> {
    let path = fd_path(fd);
    let st = nix::sys::statvfs::statvfs(path.as_str())?;
    use nix::sys::statvfs::FsFlags;
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    let f = st.flags();
    let keep = [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY, ATTR_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID, ATTR_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV, ATTR_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC, ATTR_NOEXEC),
    ];
    for (st_flag, ms, attr) in keep {
        if (f.contains(st_flag) && clr & attr == 0) || set & attr != 0 {
            flags |= ms;
        }
    }
    mount(
        None::<&str>,
        path.as_str(),
        None::<&str>,
        flags,
        None::<&str>,
    )?;
    Ok(())
}

/// Performs one spec mount below the root `root` (an O_PATH fd of the container's root).
pub fn mount_one(root: &OwnedFd, m: &Mount) -> Result<(), ChildError> {
    let opts = mountopts::parse(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().as_deref().unwrap_or("none");
    let dest = m.destination();
    if opts.bind || typ == "bind" {
        let src = m.source().as_deref().unwrap_or(Path::new(""));
        return bind(root, src, dest, &opts);
    }
    let target = mount_point(root, dest, Kind::Dir)?;
    let source = m.source().as_ref().map(|s| s.display().to_string());
    let source = source.as_deref().unwrap_or(typ);
    let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
    let res = mount(
        Some(source),
        fd_path(&target).as_str(),
        Some(typ),
        opts.flags,
        data,
    );
    match res {
        Ok(()) => {}
        // A user namespace may mount sysfs only together with its own network namespace, and
        // cgroup file systems only with a cgroup namespace it owns; fall back to read-only binds.
        Err(nix::Error::EPERM) if typ == "sysfs" => {
            return bind_ro_fallback(root, "/sys", dest, &opts);
        }
        Err(nix::Error::EPERM) if typ == "cgroup" || typ == "cgroup2" => {
            return bind_ro_fallback(root, "/sys/fs/cgroup", dest, &opts);
        }
        Err(e) => {
            return Err(ChildError::os(
                "mount",
                dest,
                format!("cannot mount {typ} on `{}`", dest.display()),
                std::io::Error::from(e),
            ))
        }
    }
    propagate(root, dest, &opts)
}

fn bind_ro_fallback(
    root: &OwnedFd,
    src: &str,
    dest: &Path,
    opts: &MountOpts,
) -> Result<(), ChildError> {
    let mut o = opts.clone();
    o.bind = true;
    o.recursive = true;
    o.attr_set |= ATTR_RDONLY | ATTR_NOSUID | ATTR_NODEV | ATTR_NOEXEC;
    bind(root, Path::new(src), dest, &o)
}

fn mount_point(root: &OwnedFd, dest: &Path, kind: Kind) -> Result<OwnedFd, ChildError> {
    ensure_in_root(root, dest, kind).map_err(|e| {
        ChildError::os(
            "mkdir",
            dest,
            format!(
                "cannot create the mount point `{}` in the container",
                dest.display()
            ),
            e,
        )
    })
}

fn bind(root: &OwnedFd, src: &Path, dest: &Path, opts: &MountOpts) -> Result<(), ChildError> {
    let what = || {
        format!(
            "cannot bind-mount `{}` on `{}`",
            src.display(),
            dest.display()
        )
    };
    let meta = std::fs::metadata(src).map_err(|e| ChildError::os("mount", src, what(), e))?;
    let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
    let target = mount_point(root, dest, kind)?;
    let mut flags = MsFlags::MS_BIND;
    if opts.recursive {
        flags |= MsFlags::MS_REC;
    }
    let csrc = CString::new(src.as_os_str().as_encoded_bytes())
        .map_err(|e| ChildError::os("mount", src, what(), e))?;
    mount(
        Some(csrc.as_c_str()),
        fd_path(&target).as_str(),
        None::<&str>,
        flags,
        None::<&str>,
    )
    .map_err(|e| ChildError::os("mount", src, what(), std::io::Error::from(e)))?;
    if opts.attr_set != 0 || opts.attr_clr != 0 {
        // The fd still names the covered directory; reopen to reach the new mount on top of it.
        let mounted =
            open_in_root(root, dest).map_err(|e| ChildError::os("mount", dest, what(), e))?;
        setattr(&mounted, opts.attr_set, opts.attr_clr, opts.recursive).map_err(|e| {
            ChildError::os(
                "mount",
                dest,
                format!(
                    "cannot set the options of the mount on `{}`",
                    dest.display()
                ),
                e,
            )
        })?;
    }
    propagate(root, dest, opts)
}

fn propagate(root: &OwnedFd, dest: &Path, opts: &MountOpts) -> Result<(), ChildError> {
    let Some(prop) = opts.propagation else {
        return Ok(());
    };
    let what = || format!("cannot change the propagation of `{}`", dest.display());
    let mounted = open_in_root(root, dest).map_err(|e| ChildError::os("mount", dest, what(), e))?;
    mount(
        None::<&str>,
        fd_path(&mounted).as_str(),
        None::<&str>,
        prop,
        None::<&str>,
    )
    .map_err(|e| ChildError::os("mount", dest, what(), std::io::Error::from(e)))
}
