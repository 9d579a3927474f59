//! Resource limits (`--memory`, `--cpus`, `--pids-limit`) need cgroup controllers the user may
//! write to. A rootless user gets them only on cgroup v2 with systemd delegation; on cgroup v1
//! (this workstation class's default) podman warns and runs without them, and so does rctr.

use super::options::CreateOptions;

/// Why limits cannot be enforced here, or `None` when none were asked for.
pub fn unenforceable_reason(opts: &CreateOptions) -> Option<String> {
    if opts.memory.is_none() && opts.cpus.is_none() && opts.pids_limit.is_none() {
        return None;
    }
    Some(if !is_cgroup2("/sys/fs/cgroup") {
        "Resource limits are not supported and ignored on cgroups V1 rootless systems".into()
    } else {
        "Resource limits are ignored: no cgroup controllers are delegated to this user (enable systemd user delegation)".into()
    })
}

fn is_cgroup2(path: &str) -> bool {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}
