//! The container's root: the propagation change, the self bind that pivot_root needs, the spec's
//! mounts and devices, pivot_root itself, masked and read-only paths, and a read-only root.

use super::devices;
use super::error::ChildError;
use super::mountopts::{propagation, ATTR_RDONLY};
use super::mounts::{mount_one, setattr};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use oci_spec::runtime::Spec;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;

fn err(step: &str, path: impl AsRef<Path>, what: String, e: nix::Error) -> ChildError {
    ChildError::os(step, path, what, std::io::Error::from(e))
}

/// Makes the mount tree private to the container, bind-mounts `rootfs` onto itself (pivot_root
/// needs the new root to be a mount point) and performs the spec's mounts and devices below it.
/// Returns an O_PATH fd of the new root mount.
pub fn prepare(spec: &Spec, rootfs: &Path, use_mknod: bool) -> Result<OwnedFd, ChildError> {
    let linux = spec.linux().as_ref();
    // rslave by default: the host's unmounts still reach us, ours never reach the host.
    let prop = linux
        .and_then(|l| l.rootfs_propagation().as_deref())
        .and_then(propagation)
        .unwrap_or(MsFlags::MS_SLAVE | MsFlags::MS_REC);
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        prop | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| {
        err(
            "mount",
            "/",
            "cannot change the propagation of `/`".into(),
            e,
        )
    })?;
    // An overlay root is a mount point already; a plain directory (the vfs driver, a runtime
    // spec's bundle) becomes one by being bound onto itself. So does any root in a user
    // namespace of the container's own (keep-id): mounts inherited from a more privileged
    // namespace are locked there, and pivot_root refuses a locked new root (EINVAL).
    let own_userns = linux
        .and_then(|l| l.uid_mappings().as_ref())
        .is_some_and(|m| !m.is_empty());
    if own_userns || !is_mount_root(rootfs) {
        mount(
            Some(rootfs),
            rootfs,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| {
            err(
                "mount",
                rootfs,
                format!(
                    "cannot bind-mount the root file system `{}` onto itself",
                    rootfs.display()
                ),
                e,
            )
        })?;
    }
    let root = open_path(rootfs)?;
    let mut dev_tmpfs = false;
    for m in spec.mounts().as_deref().unwrap_or(&[]) {
        mount_one(&root, m)?;
        if m.destination() == Path::new("/dev") {
            let opts = m.options().as_deref().unwrap_or(&[]);
            dev_tmpfs = m.typ().as_deref() != Some("bind")
                && !opts.iter().any(|o| o == "bind" || o == "rbind");
        }
    }
    let extra = linux.and_then(|l| l.devices().as_deref()).unwrap_or(&[]);
    if dev_tmpfs {
        devices::populate(&root, extra, use_mknod)?;
    }
    Ok(root)
}

/// Whether `p` is the root of a mount (statx's STATX_ATTR_MOUNT_ROOT, Linux 5.8). False when
/// the kernel cannot tell, so that the caller binds it to be sure.
fn is_mount_root(p: &Path) -> bool {
    let Ok(c) = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: statx fills the zeroed buffer it is given; the path is a valid C string.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    let r = unsafe {
        libc::statx(
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
            libc::STATX_TYPE,
            &mut stx,
        )
    };
    let mask = libc::STATX_ATTR_MOUNT_ROOT as u64;
    r == 0 && stx.stx_attributes_mask & mask != 0 && stx.stx_attributes & mask != 0
}

fn open_path(p: &Path) -> Result<OwnedFd, ChildError> {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes())
        .map_err(|e| ChildError::os("open", p, format!("cannot open `{}`", p.display()), e))?;
    // SAFETY: plain syscall on a valid C string.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(ChildError::os(
            "open",
            p,
            format!("cannot open the root file system `{}`", p.display()),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: we own the new descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Makes `rootfs` the root. pivot_root(".", ".") stacks the old root on top of the new one, so no
/// directory for it is needed in the image; it is then detached. Making it a slave first keeps
/// the detach from propagating back to the host's mounts.
pub fn pivot(rootfs: &Path) -> Result<(), ChildError> {
    nix::unistd::chdir(rootfs).map_err(|e| {
        err(
            "pivot_root",
            rootfs,
            format!("cannot enter `{}`", rootfs.display()),
            e,
        )
    })?;
    nix::unistd::pivot_root(".", ".").map_err(|e| {
        err(
            "pivot_root",
            rootfs,
            format!("cannot pivot_root to `{}`", rootfs.display()),
            e,
        )
    })?;
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| {
        err(
            "pivot_root",
            "/",
            "cannot make the old root a slave".into(),
            e,
        )
    })?;
    umount2(".", MntFlags::MNT_DETACH)
        .map_err(|e| err("pivot_root", "/", "cannot detach the old root".into(), e))?;
    nix::unistd::chdir("/")
        .map_err(|e| err("pivot_root", "/", "cannot enter the new root".into(), e))
}

/// Hides `paths` (after pivot_root): /dev/null over files, an empty read-only tmpfs over
/// directories. Paths missing from this kernel are skipped.
pub fn mask(paths: &[String]) -> Result<(), ChildError> {
    for p in paths {
        let meta = match std::fs::symlink_metadata(p) {
            Ok(m) => m,
            Err(_) => continue,
        };
        let res = if meta.is_dir() {
            mount(
                Some("tmpfs"),
                p.as_str(),
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                Some("size=0k"),
            )
        } else {
            mount(
                Some("/dev/null"),
                p.as_str(),
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        res.map_err(|e| err("mask", p, format!("cannot mask `{p}`"), e))?;
    }
    Ok(())
}

/// Makes `paths` read-only (after pivot_root) by binding each onto itself and setting the
/// read-only attribute on the whole subtree.
pub fn readonly(paths: &[String]) -> Result<(), ChildError> {
    for p in paths {
        if std::fs::symlink_metadata(p).is_err() {
            continue;
        }
        let what = || format!("cannot make `{p}` read-only");
        mount(
            Some(p.as_str()),
            p.as_str(),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| err("readonly", p, what(), e))?;
        let fd = open_path(Path::new(p))
            .or_else(|_| open_file_path(p))
            .map_err(|e| ChildError { what: what(), ..e })?;
        setattr(&fd, ATTR_RDONLY, 0, true).map_err(|e| ChildError::os("readonly", p, what(), e))?;
    }
    Ok(())
}

fn open_file_path(p: &str) -> Result<OwnedFd, ChildError> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(p)
        .map(OwnedFd::from)
        .map_err(|e| ChildError::os("open", p, format!("cannot open `{p}`"), e))
}

use std::os::unix::fs::OpenOptionsExt;

/// Makes the root mount itself read-only (after pivot_root); mounts below it keep their options.
pub fn root_readonly() -> Result<(), ChildError> {
    let fd = open_path(Path::new("/"))?;
    setattr(&fd, ATTR_RDONLY, 0, false).map_err(|e| {
        ChildError::os(
            "readonly",
            "/",
            "cannot make the root file system read-only".into(),
            e,
        )
    })
}
