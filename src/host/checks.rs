//! The checks behind `rctr doctor`. Each says what is wrong and gives the exact command that fixes
//! it. Where a guess from configuration could mislead (user namespaces, rootless overlay), the
//! check tries the real thing in a short-lived forked child.

use super::facts::{self, HelperPrivilege};
use crate::runtime::idmap::{read_subid, SubRange};
use std::path::{Path, PathBuf};

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One check's result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// The command (or step) that fixes a failure.
    pub fix: Option<String>,
    /// Whether rctr cannot run containers at all while this fails.
    pub essential: bool,
}

/// What the checks look at; paths are parameters so tests can point them elsewhere.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub uid: u32,
    pub gid: u32,
    pub user_name: Option<String>,
    /// The PATH to search for helpers.
    pub path: String,
    pub subuid: PathBuf,
    pub subgid: PathBuf,
    pub xdg_runtime_dir: Option<PathBuf>,
    pub store_root: PathBuf,
}

fn check(
    name: &'static str,
    status: Status,
    detail: impl Into<String>,
    fix: Option<String>,
    essential: bool,
) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
        fix,
        essential,
    }
}

/// Runs every check, in the order `doctor` prints them.
pub fn run_all(inp: &Inputs) -> Vec<Check> {
    let mut out = Vec::new();
    let user = inp.user_name.clone().unwrap_or_else(|| inp.uid.to_string());
    let rootless = inp.uid != 0;
    if rootless {
        out.push(subids(inp, &user, "subuid", &inp.subuid, inp.uid));
        out.push(subids(inp, &user, "subgid", &inp.subgid, inp.gid));
        for tool in ["newuidmap", "newgidmap"] {
            out.push(id_helper(tool, &inp.path));
        }
        out.push(userns());
    }
    out.push(tun());
    for (tool, pkg) in [("slirp4netns", "slirp4netns"), ("pasta", "passt")] {
        out.push(optional_tool(tool, pkg, &inp.path));
    }
    out.push(native_overlay(rootless));
    out.push(fuse_overlayfs(&inp.path));
    out.push(cgroups(inp.uid));
    if rootless {
        out.push(runtime_dir(inp, &user));
    }
    out.push(disk(&inp.store_root));
    out
}

fn subids(inp: &Inputs, user: &str, kind: &'static str, file: &Path, own: u32) -> Check {
    let name = if kind == "subuid" { "subuid" } else { "subgid" };
    let fix = format!("sudo usermod --add-{kind}s 100000-165535 {user}");
    match read_subid(file, inp.user_name.as_deref(), inp.uid) {
        Err(e) => check(name, Status::Fail, e.to_string(), Some(fix), true),
        Ok(r) if r.is_empty() => check(
            name,
            Status::Fail,
            format!(
                "no {kind} range for `{user}` in {}; only one id can be mapped",
                file.display()
            ),
            Some(fix),
            true,
        ),
        Ok(r) => {
            let overlap = r
                .iter()
                .find(|s: &&SubRange| own >= s.start && own < s.start.saturating_add(s.count));
            match overlap {
                Some(s) => check(
                    name,
                    Status::Fail,
                    format!(
                        "the {kind} range {}:{} in {} contains your own id {own}",
                        s.start,
                        s.count,
                        file.display()
                    ),
                    Some(format!(
                        "sudo usermod --del-{kind}s {}-{} --add-{kind}s 100000-165535 {user}",
                        s.start,
                        s.start + s.count - 1
                    )),
                    true,
                ),
                None => {
                    let total: u64 = r.iter().map(|s| s.count as u64).sum();
                    let status = if total < 65536 {
                        Status::Warn
                    } else {
                        Status::Ok
                    };
                    let fix = (total < 65536).then_some(fix);
                    check(
                        name,
                        status,
                        format!("{total} ids in {}", file.display()),
                        fix,
                        false,
                    )
                }
            }
        }
    }
}

fn id_helper(tool: &'static str, path: &str) -> Check {
    let fix = Some("sudo apt-get install uidmap   # or: sudo dnf install shadow-utils".to_string());
    let Some(p) = facts::find_in_path(tool, path) else {
        return check(
            tool,
            Status::Fail,
            format!("`{tool}` not found in PATH"),
            fix,
            true,
        );
    };
    match facts::helper_privilege(&p) {
        HelperPrivilege::Setuid => check(
            tool,
            Status::Ok,
            format!("{} (setuid root)", p.display()),
            None,
            false,
        ),
        HelperPrivilege::FileCaps => check(
            tool,
            Status::Ok,
            format!("{} (file capabilities)", p.display()),
            None,
            false,
        ),
        HelperPrivilege::None => check(
            tool,
            Status::Fail,
            format!(
                "{} is neither setuid root nor has file capabilities",
                p.display()
            ),
            Some(format!("sudo chmod u+s {}", p.display())),
            true,
        ),
    }
}

/// Runs `f` in a forked child and returns its exit status (0 = success). The child never returns.
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    use nix::sys::wait::{waitpid, WaitStatus};
    // SAFETY: doctor runs single-threaded; the child only makes syscalls and exits.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            let code = f();
            // SAFETY: leave without running the parent's destructors.
            unsafe { libc::_exit(code) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, c)) => c,
            _ => 255,
        },
        Err(_) => 255,
    }
}

fn userns() -> Check {
    let code = in_child(
        || match nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWUSER) {
            Ok(()) => 0,
            Err(e) => e as i32,
        },
    );
    if code == 0 {
        return check(
            "userns",
            Status::Ok,
            "unprivileged user namespaces are allowed",
            None,
            false,
        );
    }
    let fix = if facts::sysctl("kernel/apparmor_restrict_unprivileged_userns").as_deref()
        == Some("1")
    {
        "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0   # Ubuntu's AppArmor restriction".to_string()
    } else if facts::sysctl("kernel/unprivileged_userns_clone").as_deref() == Some("0") {
        "sudo sysctl -w kernel.unprivileged_userns_clone=1".to_string()
    } else if facts::sysctl("user/max_user_namespaces").as_deref() == Some("0") {
        "sudo sysctl -w user.max_user_namespaces=15000".to_string()
    } else {
        "enable unprivileged user namespaces in the kernel (CONFIG_USER_NS)".to_string()
    };
    check(
        "userns",
        Status::Fail,
        format!(
            "cannot create a user namespace: {}",
            nix::errno::Errno::from_raw(code)
        ),
        Some(fix),
        true,
    )
}

fn tun() -> Check {
    let p = Path::new("/dev/net/tun");
    if !p.exists() {
        return check(
            "tun",
            Status::Fail,
            "/dev/net/tun does not exist; slirp4netns and pasta need it",
            Some("sudo modprobe tun".into()),
            false,
        );
    }
    if facts::can_open_rw(p) {
        check("tun", Status::Ok, "/dev/net/tun is usable", None, false)
    } else {
        check(
            "tun",
            Status::Fail,
            "/dev/net/tun cannot be opened for reading and writing; slirp4netns and pasta need it",
            Some("sudo chmod 666 /dev/net/tun".into()),
            false,
        )
    }
}

fn optional_tool(tool: &'static str, pkg: &str, path: &str) -> Check {
    match facts::find_in_path(tool, path) {
        Some(p) => {
            let v = facts::tool_version(&p).unwrap_or_default();
            check(
                tool,
                Status::Ok,
                format!("{} {v}", p.display()).trim().to_string(),
                None,
                false,
            )
        }
        None => check(
            tool,
            Status::Warn,
            format!("`{tool}` not found in PATH"),
            Some(format!("sudo apt-get install {pkg}")),
            false,
        ),
    }
}

/// Tries a real overlay mount with `userxattr` inside a new user and mount namespace.
pub fn try_native_overlay(rootless: bool) -> Result<(), nix::errno::Errno> {
    let dir = tempfile::tempdir().map_err(|_| nix::errno::Errno::EIO)?;
    for d in ["l", "u", "w", "m"] {
        std::fs::create_dir(dir.path().join(d)).map_err(|_| nix::errno::Errno::EIO)?;
    }
    let base = dir.path().to_owned();
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let code = in_child(move || {
        use nix::sched::{unshare, CloneFlags};
        let mut flags = CloneFlags::CLONE_NEWNS;
        if rootless {
            flags |= CloneFlags::CLONE_NEWUSER;
        }
        if let Err(e) = unshare(flags) {
            return e as i32;
        }
        if rootless {
            let w = |p: &str, s: String| std::fs::write(p, s).is_ok();
            if !(w("/proc/self/setgroups", "deny".into())
                && w("/proc/self/uid_map", format!("0 {uid} 1"))
                && w("/proc/self/gid_map", format!("0 {gid} 1")))
            {
                return libc::EPERM;
            }
        }
        let opts = format!(
            "lowerdir={},upperdir={},workdir={}{}",
            base.join("l").display(),
            base.join("u").display(),
            base.join("w").display(),
            if rootless { ",userxattr" } else { "" }
        );
        match nix::mount::mount(
            Some("overlay"),
            &base.join("m"),
            Some("overlay"),
            nix::mount::MsFlags::empty(),
            Some(opts.as_str()),
        ) {
            Ok(()) => 0,
            Err(e) => e as i32,
        }
    });
    match code {
        0 => Ok(()),
        c => Err(nix::errno::Errno::from_raw(c)),
    }
}

fn native_overlay(rootless: bool) -> Check {
    let kernel = facts::kernel_release();
    match try_native_overlay(rootless) {
        Ok(()) => check("overlay", Status::Ok, format!("native overlay mounts work (kernel {kernel})"), None, false),
        Err(e) => check(
            "overlay",
            Status::Warn,
            format!("native overlay in a user namespace failed ({e}, kernel {kernel}; 5.11 or later is needed); rctr will use fuse-overlayfs or vfs"),
            Some("sudo apt-get install fuse-overlayfs".into()),
            false,
        ),
    }
}

fn fuse_overlayfs(path: &str) -> Check {
    if facts::find_in_path("fuse-overlayfs", path).is_none() {
        return check(
            "fuse-overlayfs",
            Status::Warn,
            "`fuse-overlayfs` not found in PATH (the fallback when native overlay is unavailable)",
            Some("sudo apt-get install fuse-overlayfs".into()),
            false,
        );
    }
    if !facts::can_open_rw(Path::new("/dev/fuse")) {
        return check(
            "fuse-overlayfs",
            Status::Warn,
            "/dev/fuse cannot be opened",
            Some("sudo modprobe fuse && sudo chmod 666 /dev/fuse".into()),
            false,
        );
    }
    check(
        "fuse-overlayfs",
        Status::Ok,
        "fuse-overlayfs and /dev/fuse are usable",
        None,
        false,
    )
}

fn cgroups(uid: u32) -> Check {
    use super::facts::CgroupVersion;
    match facts::cgroup_version() {
        CgroupVersion::V1 => check(
            "cgroups",
            Status::Warn,
            "cgroup v1: --memory, --cpus and --pids-limit are not applied to rootless containers",
            Some("boot with systemd.unified_cgroup_hierarchy=1 (add it to GRUB_CMDLINE_LINUX, then sudo update-grub)".into()),
            false,
        ),
        CgroupVersion::V2 if uid == 0 => check("cgroups", Status::Ok, "cgroup v2", None, false),
        CgroupVersion::V2 => {
            let have = facts::delegated_controllers(uid);
            let missing: Vec<&str> =
                ["cpu", "memory", "pids"].into_iter().filter(|c| !have.iter().any(|h| h == c)).collect();
            if missing.is_empty() {
                check("cgroups", Status::Ok, format!("cgroup v2, delegated: {}", have.join(" ")), None, false)
            } else {
                check(
                    "cgroups",
                    Status::Warn,
                    format!("cgroup v2 without delegation of {}", missing.join(", ")),
                    Some("sudo mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' | sudo tee /etc/systemd/system/user@.service.d/delegate.conf && sudo systemctl daemon-reload".into()),
                    false,
                )
            }
        }
    }
}

fn runtime_dir(inp: &Inputs, user: &str) -> Check {
    use std::os::unix::fs::MetadataExt;
    let fix = Some(format!(
        "log in with a full session (`machinectl shell {user}@` or `su -l`), or: sudo loginctl enable-linger {user}"
    ));
    match &inp.xdg_runtime_dir {
        None => check(
            "XDG_RUNTIME_DIR",
            Status::Warn,
            format!(
                "XDG_RUNTIME_DIR is not set (common under su); rctr falls back to /tmp/rctr-{}",
                inp.uid
            ),
            fix,
            false,
        ),
        Some(d) => match std::fs::metadata(d) {
            Ok(m) if m.is_dir() && m.uid() == inp.uid => check(
                "XDG_RUNTIME_DIR",
                Status::Ok,
                d.display().to_string(),
                None,
                false,
            ),
            Ok(m) => check(
                "XDG_RUNTIME_DIR",
                Status::Warn,
                format!(
                    "{} is owned by uid {}, not {}",
                    d.display(),
                    m.uid(),
                    inp.uid
                ),
                fix,
                false,
            ),
            Err(e) => check(
                "XDG_RUNTIME_DIR",
                Status::Warn,
                format!("{}: {e}", d.display()),
                fix,
                false,
            ),
        },
    }
}

fn disk(root: &Path) -> Check {
    const GIB: u64 = 1 << 30;
    match facts::free_bytes(root) {
        None => check(
            "disk",
            Status::Warn,
            format!("cannot read free space for {}", root.display()),
            None,
            false,
        ),
        Some(b) if b < GIB / 10 => check(
            "disk",
            Status::Fail,
            format!("only {} MB free for {}", b / 1_000_000, root.display()),
            Some("rctr system prune -a   # or free space on that filesystem".into()),
            true,
        ),
        Some(b) if b < GIB => check(
            "disk",
            Status::Warn,
            format!("only {} MB free for {}", b / 1_000_000, root.display()),
            Some("rctr system prune -a".into()),
            false,
        ),
        Some(b) => check(
            "disk",
            Status::Ok,
            format!("{} GB free for {}", b / 1_000_000_000, root.display()),
            None,
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(dir: &Path, sub: &str) -> Inputs {
        std::fs::write(dir.join("subuid"), sub).unwrap();
        std::fs::write(dir.join("subgid"), sub).unwrap();
        Inputs {
            uid: 1000,
            gid: 1000,
            user_name: Some("alice".into()),
            path: String::new(),
            subuid: dir.join("subuid"),
            subgid: dir.join("subgid"),
            xdg_runtime_dir: None,
            store_root: dir.to_owned(),
        }
    }

    #[test]
    fn missing_subuid_fails_with_usermod_fix() {
        let d = tempfile::tempdir().unwrap();
        let inp = inputs(d.path(), "bob:100000:65536\n");
        let c = subids(&inp, "alice", "subuid", &inp.subuid, 1000);
        assert_eq!(c.status, Status::Fail);
        assert!(c.essential);
        assert_eq!(
            c.fix.as_deref(),
            Some("sudo usermod --add-subuids 100000-165535 alice")
        );
    }

    #[test]
    fn range_overlapping_own_uid_fails() {
        let d = tempfile::tempdir().unwrap();
        let inp = inputs(d.path(), "alice:900:200\n");
        let c = subids(&inp, "alice", "subuid", &inp.subuid, 1000);
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.detail.contains("contains your own id 1000"),
            "{}",
            c.detail
        );
    }

    #[test]
    fn good_range_is_ok() {
        let d = tempfile::tempdir().unwrap();
        let inp = inputs(d.path(), "alice:100000:65536\n");
        assert_eq!(
            subids(&inp, "alice", "subuid", &inp.subuid, 1000).status,
            Status::Ok
        );
    }

    #[test]
    fn helper_missing_from_path_is_essential() {
        let c = id_helper("newuidmap", "/nonexistent");
        assert_eq!(c.status, Status::Fail);
        assert!(c.essential);
        assert!(c.fix.unwrap().contains("uidmap"));
    }

    #[test]
    fn unset_runtime_dir_warns_with_fix() {
        let d = tempfile::tempdir().unwrap();
        let inp = inputs(d.path(), "");
        let c = runtime_dir(&inp, "alice");
        assert_eq!(c.status, Status::Warn);
        assert!(c.fix.unwrap().contains("enable-linger alice"));
    }
}
