//! `--network container:NAME|ID` and `--network ns:PATH`: the container joins a network
//! namespace that already exists instead of getting its own.
//!
//! Each rctr command makes its own user namespace, and a network namespace belongs to the user
//! namespace it was created in: joining it needs CAP_SYS_ADMIN *there*. So before rctr would
//! create its user namespace, it enters the one that owns the target (found with the
//! NS_GET_USERNS ioctl; setns into a user namespace is allowed to its owner) and uses that one.
//! Containers created by rctr all carry the same id mapping, so the rootfs stays owned right.

use super::NetworkError;
use crate::container::options::NetworkMode;
use crate::container::state::{Containers, Status};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// `ioctl(NS_GET_USERNS)`: a descriptor for the user namespace owning a namespace.
const NS_GET_USERNS: libc::c_ulong = 0xb701;

fn target_error(target: &str, why: impl Into<String>) -> NetworkError {
    NetworkError::Target {
        target: target.into(),
        why: why.into(),
    }
}

/// The network namespace a mode joins, or None when it creates or shares one otherwise.
/// For `container:`, the target must be running: its pid 1 holds the namespace.
pub fn netns_path(
    mode: &NetworkMode,
    containers: &Containers,
) -> Result<Option<PathBuf>, NetworkError> {
    match mode {
        NetworkMode::Container(id) => {
            let what = format!("container:{id}");
            let rec = containers
                .record(id)
                .map_err(|_| target_error(&what, "the container no longer exists"))?;
            let st = containers
                .state(id)
                .map_err(|e| target_error(&what, e.to_string()))?
                .effective();
            match (st.status, st.container_pid) {
                (Status::Running, Some(pid)) => {
                    Ok(Some(PathBuf::from(format!("/proc/{pid}/ns/net"))))
                }
                _ => Err(target_error(
                    &format!("container:{}", rec.name),
                    format!("container {} is not running", rec.name),
                )),
            }
        }
        NetworkMode::Ns(path) => Ok(Some(PathBuf::from(path))),
        _ => Ok(None),
    }
}

/// Enters the user namespace that owns the network namespace at `path`, unless this process is
/// in it already. Call it single-threaded, before rctr's own user namespace would be made.
pub fn enter_owner_userns(path: &Path) -> Result<(), NetworkError> {
    let what = path.display().to_string();
    let ns = File::open(path).map_err(|e| NetworkError::io("open", path, e))?;
    // SAFETY: an ioctl without arguments on a descriptor we own; it returns a new descriptor.
    let fd = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_USERNS) };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return Err(target_error(
            &what,
            format!("not a namespace, or its owner is out of reach: {e}"),
        ));
    }
    // SAFETY: the ioctl returned a new descriptor that nothing else owns.
    let owner = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let mine = std::fs::metadata("/proc/self/ns/user")
        .map_err(|e| NetworkError::io("stat", Path::new("/proc/self/ns/user"), e))?;
    let theirs = owner
        .metadata()
        .map_err(|e| NetworkError::io("stat", path, e))?;
    if mine.ino() == theirs.ino() && mine.dev() == theirs.dev() {
        return Ok(());
    }
    nix::sched::setns(&owner, nix::sched::CloneFlags::CLONE_NEWUSER).map_err(|e| {
        target_error(
            &what,
            format!("cannot enter the user namespace that owns it: {e}"),
        )
    })
}

/// For a joining mode, enters the owner of the target's namespace (see the module docs).
pub fn prepare(mode: &NetworkMode, containers: &Containers) -> Result<(), NetworkError> {
    match netns_path(mode, containers)? {
        Some(p) => enter_owner_userns(&p),
        None => Ok(()),
    }
}
