//! Process attributes applied in the child: sysctls, resource limits, oom_score_adj, and the
//! user and groups the container process runs as.

use super::error::ChildError;
use oci_spec::runtime::{PosixRlimitType, Process, User};
use std::collections::HashMap;

/// Writes the spec's sysctls below the container's /proc/sys (after pivot_root).
pub fn sysctl(map: Option<&HashMap<String, String>>) -> Result<(), ChildError> {
    for (k, v) in map.into_iter().flatten() {
        let path = format!("/proc/sys/{}", k.replace('.', "/"));
        std::fs::write(&path, v).map_err(|e| {
            ChildError::os(
                "sysctl",
                &path,
                format!("cannot set the sysctl `{k}` to `{v}`"),
                e,
            )
        })?;
    }
    Ok(())
}

fn resource(t: PosixRlimitType) -> libc::__rlimit_resource_t {
    use PosixRlimitType::*;
    match t {
        RlimitCpu => libc::RLIMIT_CPU,
        RlimitFsize => libc::RLIMIT_FSIZE,
        RlimitData => libc::RLIMIT_DATA,
        RlimitStack => libc::RLIMIT_STACK,
        RlimitCore => libc::RLIMIT_CORE,
        RlimitRss => libc::RLIMIT_RSS,
        RlimitNproc => libc::RLIMIT_NPROC,
        RlimitNofile => libc::RLIMIT_NOFILE,
        RlimitMemlock => libc::RLIMIT_MEMLOCK,
        RlimitAs => libc::RLIMIT_AS,
        RlimitLocks => libc::RLIMIT_LOCKS,
        RlimitSigpending => libc::RLIMIT_SIGPENDING,
        RlimitMsgqueue => libc::RLIMIT_MSGQUEUE,
        RlimitNice => libc::RLIMIT_NICE,
        RlimitRtprio => libc::RLIMIT_RTPRIO,
        RlimitRttime => libc::RLIMIT_RTTIME,
    }
}

/// Sets the spec's rlimits and oom_score_adj. Raising a hard limit needs CAP_SYS_RESOURCE in the
/// initial user namespace, which a rootless container lacks; such a limit is clamped to the
/// current hard limit, as podman does rootless.
pub fn apply(p: &Process) -> Result<(), ChildError> {
    for r in p.rlimits().as_deref().unwrap_or(&[]) {
        let res = resource(r.typ());
        let mut lim = libc::rlimit {
            rlim_cur: r.soft(),
            rlim_max: r.hard(),
        };
        // SAFETY: setrlimit/getrlimit with a valid struct.
        unsafe {
            if libc::setrlimit(res, &lim) == 0 {
                continue;
            }
            let mut cur = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::getrlimit(res, &mut cur);
            lim.rlim_max = lim.rlim_max.min(cur.rlim_max);
            lim.rlim_cur = lim.rlim_cur.min(lim.rlim_max);
            if libc::setrlimit(res, &lim) != 0 {
                return Err(ChildError::os(
                    "rlimit",
                    format!("{:?}", r.typ()),
                    format!(
                        "cannot set the resource limit {:?} to {}:{}",
                        r.typ(),
                        r.soft(),
                        r.hard()
                    ),
                    std::io::Error::last_os_error(),
                ));
            }
        }
    }
    if let Some(adj) = p.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string()).map_err(|e| {
            ChildError::os(
                "oom_score_adj",
                "/proc/self/oom_score_adj",
                format!("cannot set oom_score_adj to {adj}"),
                e,
            )
        })?;
    }
    Ok(())
}

/// Switches to the spec's user: supplementary groups, then gid, then uid. A user namespace whose
/// gid_map was written without a helper has setgroups denied; then only an empty-or-own group
/// list is possible, and the call is skipped rather than failing every container.
pub fn set_user(u: &User) -> Result<(), ChildError> {
    let gids: Vec<nix::unistd::Gid> = u
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| nix::unistd::Gid::from_raw(*g))
        .collect();
    if let Err(e) = nix::unistd::setgroups(&gids) {
        let denied =
            std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|s| s.trim() == "deny");
        if !denied {
            return Err(ChildError::os(
                "setgroups",
                "",
                format!("cannot set the supplementary groups {gids:?}"),
                std::io::Error::from(e),
            ));
        }
    }
    let gid = nix::unistd::Gid::from_raw(u.gid());
    nix::unistd::setresgid(gid, gid, gid).map_err(|e| {
        ChildError::os(
            "setgid",
            u.gid().to_string(),
            format!(
                "cannot switch to group {} (is it mapped in the user namespace?)",
                u.gid()
            ),
            std::io::Error::from(e),
        )
    })?;
    let uid = nix::unistd::Uid::from_raw(u.uid());
    nix::unistd::setresuid(uid, uid, uid).map_err(|e| {
        ChildError::os(
            "setuid",
            u.uid().to_string(),
            format!(
                "cannot switch to user {} (is it mapped in the user namespace?)",
                u.uid()
            ),
            std::io::Error::from(e),
        )
    })
}
