//! The low-level container runtime: user namespaces and id maps, the other namespaces, mounts,
//! the root filesystem, the container process and its sync channel, capabilities and seccomp.

pub mod idmap;
pub mod userns;
