//! A cgroup v2 cgroup of its own for each container, where the user may create one: it is what
//! `pause` freezes, what resource limits are written to, and what holds every process of the
//! container (exec'd ones too).
//!
//! Rootless, the kernel's delegation rule decides where that can be: moving (or cloning) a
//! process from cgroup A into cgroup B needs write access to `cgroup.procs` of the common
//! ancestor of A and B. So the container's cgroup must sit below an ancestor of our own cgroup
//! whose directory and `cgroup.procs` we may write. On systemd that is `user@UID.service`; on
//! the test bed a cgroup chowned to the test user; for real root, the root cgroup. The
//! highest such ancestor is used, and the containers live in `<delegated>/rctr/<id>` (no
//! `.scope` suffix, so that systemd does not take them for its units).
//!
//! Where no such ancestor exists (a root-owned session scope, a pure cgroup v1 system), nothing
//! is created and the run path pays a statfs and a read or two, nothing more.

use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Why a container's cgroup could not be created, limited or removed.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("cannot {action} cgroup `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set `{file}` of cgroup `{path}` to `{value}`: {source}")]
    Limit {
        file: &'static str,
        value: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> CgroupError {
    let path = path.to_path_buf();
    move |source| CgroupError::Io {
        action,
        path,
        source,
    }
}

/// The controllers rctr enables for containers when they are delegated to it.
const CONTROLLERS: [&str; 3] = ["cpu", "memory", "pids"];

/// The directory below the delegated cgroup that holds one cgroup per container. It never holds
/// processes itself, so controllers may be enabled in its `cgroup.subtree_control` (the kernel's
/// "no internal processes" rule).
const GROUP: &str = "rctr";

/// Where the cgroup v2 hierarchy is mounted: `/sys/fs/cgroup` on a pure v2 system,
/// `/sys/fs/cgroup/unified` on a hybrid one. The two usual places are checked with statfs
/// first, so that /proc/self/mountinfo (long on busy machines) is read only when neither is it.
pub fn cgroup2_mount() -> Option<PathBuf> {
    for p in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        if is_cgroup2(Path::new(p)) {
            return Some(p.into());
        }
    }
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    cgroup2_in_mountinfo(&info)
}

fn is_cgroup2(p: &Path) -> bool {
    nix::sys::statfs::statfs(p)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
}

/// The mount point of the first `cgroup2` file system in a mountinfo text. Fields: id, parent,
/// dev, root, mount point, options, optional fields, `-`, fstype, source, super options.
pub fn cgroup2_in_mountinfo(info: &str) -> Option<PathBuf> {
    info.lines().find_map(|l| {
        let (left, right) = l.split_once(" - ")?;
        if right.split_whitespace().next()? != "cgroup2" {
            return None;
        }
        let mnt = left.split_whitespace().nth(4)?;
        // mountinfo escapes spaces, tabs, newlines and backslashes as octal.
        Some(PathBuf::from(mnt.replace("\\040", " ")))
    })
}

/// Our own cgroup v2 path (`/user.slice/...`) from a /proc/PID/cgroup text: its `0::` line.
pub fn own_cgroup(proc_cgroup: &str) -> Option<&str> {
    proc_cgroup.lines().find_map(|l| l.strip_prefix("0::"))
}

/// The highest cgroup among `own` (a directory below `mount`) and its ancestors, up to and
/// including `mount`, whose directory and `cgroup.procs` pass `writable`; the walk stops at the
/// first that does not. None when `own` itself does not.
pub fn delegated_parent(
    mount: &Path,
    own: &Path,
    writable: impl Fn(&Path) -> bool,
) -> Option<PathBuf> {
    let ok = |d: &Path| writable(d) && writable(&d.join("cgroup.procs"));
    let mut best = None;
    let mut d = own;
    while d.starts_with(mount) && ok(d) {
        best = Some(d.to_path_buf());
        if d == mount {
            break;
        }
        d = d.parent()?;
    }
    best
}

/// Whether we may write `p` (effective ids, as the kernel checks a cgroup file's owner).
fn may_write(p: &Path) -> bool {
    nix::unistd::faccessat(
        None,
        p,
        nix::unistd::AccessFlags::W_OK,
        nix::fcntl::AtFlags::AT_EACCESS,
    )
    .is_ok()
}

/// Where this process may create container cgroups: `<delegated>/rctr`, or None when no
/// cgroup v2 ancestor of ours is writable.
pub fn locate() -> Option<PathBuf> {
    let mount = cgroup2_mount()?;
    let text = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let own = own_cgroup(&text)?.trim();
    let own = mount.join(own.trim_start_matches('/'));
    delegated_parent(&mount, &own, may_write).map(|d| d.join(GROUP))
}

/// The controllers listed in a `cgroup.controllers` or `cgroup.subtree_control` text.
fn listed(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

/// The controllers (of cpu, memory, pids) that containers created below `group` get: those
/// enabled in its `cgroup.subtree_control`.
pub fn delegated_controllers(group: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(group.join("cgroup.subtree_control")).unwrap_or_default();
    listed(&text)
        .into_iter()
        .filter(|c| CONTROLLERS.contains(c))
        .map(String::from)
        .collect()
}

/// The controllers (of cpu, memory, pids) that containers would get if rctr created its group
/// now: those the group's parent enables for its children. For `create`'s warning about limits.
pub fn available_controllers(group: &Path) -> Vec<String> {
    let parent = group.parent().unwrap_or(group);
    let text = std::fs::read_to_string(parent.join("cgroup.subtree_control")).unwrap_or_default();
    listed(&text)
        .into_iter()
        .filter(|c| CONTROLLERS.contains(c))
        .map(String::from)
        .collect()
}

/// A container's cgroup, created and open.
#[derive(Debug)]
pub struct Cgroup {
    /// `<delegated>/rctr/<id>`.
    pub path: PathBuf,
    /// The open directory, for clone3's CLONE_INTO_CGROUP.
    dir: OwnedFd,
}

impl Cgroup {
    /// Creates (or reuses, after a restart) the cgroup of container `id` below `group` (from
    /// [`locate`]), enabling in `group` the controllers its parent delegates.
    pub fn create(group: &Path, id: &str) -> Result<Cgroup, CgroupError> {
        mkdir(group)?;
        enable_controllers(group)?;
        let path = group.join(id);
        mkdir(&path)?;
        let dir = open_dir(&path)?;
        Ok(Cgroup { path, dir })
    }

    /// Opens an existing container cgroup (for `exec`).
    pub fn open(path: &Path) -> Result<Cgroup, CgroupError> {
        Ok(Cgroup {
            path: path.into(),
            dir: open_dir(path)?,
        })
    }

    /// A descriptor of the directory of its own, for the runtime's `LaunchOptions::cgroup`.
    pub fn dir_fd(&self) -> std::io::Result<OwnedFd> {
        self.dir.try_clone()
    }

    /// The directory descriptor that clone3 takes to start a process inside the cgroup.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// The controllers enabled for this cgroup.
    pub fn controllers(&self) -> Vec<String> {
        let text =
            std::fs::read_to_string(self.path.join("cgroup.controllers")).unwrap_or_default();
        listed(&text).into_iter().map(String::from).collect()
    }

    /// Writes a limit file of the cgroup.
    pub fn write(&self, file: &'static str, value: &str) -> Result<(), CgroupError> {
        std::fs::write(self.path.join(file), value).map_err(|source| CgroupError::Limit {
            file,
            value: value.into(),
            path: self.path.clone(),
            source,
        })
    }
}

fn mkdir(p: &Path) -> Result<(), CgroupError> {
    match std::fs::create_dir(p) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(io("create", p)(e)),
        _ => Ok(()),
    }
}

fn open_dir(p: &Path) -> Result<OwnedFd, CgroupError> {
    let c = CString::new(p.as_os_str().as_bytes())
        .map_err(|_| io("open", p)(std::io::Error::from(std::io::ErrorKind::InvalidInput)))?;
    // SAFETY: a NUL-terminated path; the descriptor is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(io("open", p)(std::io::Error::last_os_error()));
    }
    // SAFETY: a descriptor just opened and owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Enables in `group`'s subtree_control the controllers (of cpu, memory, pids) available in it
/// and not yet enabled. `group` never holds processes, so the kernel allows it.
fn enable_controllers(group: &Path) -> Result<(), CgroupError> {
    let avail = std::fs::read_to_string(group.join("cgroup.controllers")).unwrap_or_default();
    let wanted: Vec<&str> = listed(&avail)
        .into_iter()
        .filter(|c| CONTROLLERS.contains(c))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let ctl = group.join("cgroup.subtree_control");
    let on = std::fs::read_to_string(&ctl).unwrap_or_default();
    let missing: Vec<String> = wanted
        .into_iter()
        .filter(|c| !listed(&on).contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::write(&ctl, missing.join(" ")).map_err(io("enable controllers in", group))
}

/// What removing a container's cgroup achieved.
#[derive(Debug, PartialEq, Eq)]
pub enum Removed {
    /// The cgroup is gone (or was never there).
    Gone,
    /// Processes of the container still live in it (after a kill -9 of its owner, say); it
    /// goes with the last of them only if removed again.
    Busy,
}

/// Removes a container's cgroup once its processes are gone. Processes of a pid namespace whose
/// init just died are still being killed when this runs, so EBUSY is retried for a short while.
pub fn remove(path: &Path) -> Result<Removed, CgroupError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
    loop {
        match std::fs::remove_dir(path) {
            Ok(()) => return Ok(Removed::Gone),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Removed::Gone),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                if std::time::Instant::now() >= deadline {
                    return Ok(Removed::Busy);
                }
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Err(e) => return Err(io("remove", path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_cgroup2_mount_is_found_in_mountinfo() {
        let info = "\
30 1 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:9 - cgroup2 cgroup2 rw
42 31 0:39 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
";
        assert_eq!(
            cgroup2_in_mountinfo(info),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
        assert_eq!(
            cgroup2_in_mountinfo("30 1 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"),
            None
        );
    }

    #[test]
    fn the_own_cgroup_is_the_0_line() {
        let t = "9:name=systemd:/\n8:pids:/\n0::/user.slice/user-1000.slice/session-2.scope\n";
        assert_eq!(
            own_cgroup(t),
            Some("/user.slice/user-1000.slice/session-2.scope")
        );
        assert_eq!(own_cgroup("9:name=systemd:/\n"), None);
    }

    /// A fake hierarchy: `writable` lists the directories (with their cgroup.procs) that pass.
    fn pick(own: &str, writable: &[&str]) -> Option<PathBuf> {
        let mount = Path::new("/cg");
        let w: Vec<PathBuf> = writable
            .iter()
            .flat_map(|d| {
                let d = mount.join(d.trim_start_matches('/'));
                [d.join("cgroup.procs"), d]
            })
            .collect();
        delegated_parent(mount, &mount.join(own), |p| w.iter().any(|x| x == p))
    }

    #[test]
    fn the_highest_writable_ancestor_is_picked() {
        // systemd: user@1000.service is the user's, user-1000.slice is root's.
        let svc = "user.slice/user-1000.slice/user@1000.service";
        let own = format!("{svc}/app.slice/term.scope");
        let all = [svc, &format!("{svc}/app.slice"), &own];
        assert_eq!(pick(&own, &all), Some(PathBuf::from(format!("/cg/{svc}"))));
        // The walk stops at the first ancestor we may not write.
        assert_eq!(
            pick(&own, &[svc, &own]),
            Some(PathBuf::from(format!("/cg/{own}")))
        );
        // A root-owned session scope: nothing.
        assert_eq!(
            pick("user.slice/user-1000.slice/session-2.scope", &[]),
            None
        );
        // Real root: the root cgroup itself.
        assert_eq!(pick("", &["", "/"]), Some(PathBuf::from("/cg")));
        assert_eq!(pick("x", &["/", "x"]), Some(PathBuf::from("/cg")));
    }

    #[test]
    fn cgroup_procs_must_be_writable_too() {
        // The directory alone is not enough: the delegation rule checks cgroup.procs.
        let d = tempfile::tempdir().unwrap();
        let own = d.path().join("rctrtest");
        std::fs::create_dir(&own).unwrap();
        std::fs::write(own.join("cgroup.procs"), "").unwrap();
        std::fs::write(d.path().join("cgroup.procs"), "").unwrap();
        assert_eq!(
            delegated_parent(d.path(), &own, may_write).as_deref(),
            Some(d.path())
        );
        if nix::unistd::geteuid().is_root() {
            return; // root writes read-only files; the remaining checks need a user
        }
        std::fs::set_permissions(own.join("cgroup.procs"), PermissionsExt::from_mode(0o444))
            .unwrap();
        assert_eq!(delegated_parent(d.path(), &own, may_write), None);
    }

    #[test]
    fn controllers_are_enabled_only_when_available() {
        let d = tempfile::tempdir().unwrap();
        let g = d.path().join("rctr");
        std::fs::create_dir(&g).unwrap();
        std::fs::write(g.join("cgroup.controllers"), "hugetlb\n").unwrap();
        std::fs::write(g.join("cgroup.subtree_control"), "").unwrap();
        enable_controllers(&g).unwrap();
        assert_eq!(
            std::fs::read_to_string(g.join("cgroup.subtree_control")).unwrap(),
            ""
        );
        std::fs::write(g.join("cgroup.controllers"), "cpuset cpu io memory pids\n").unwrap();
        std::fs::write(g.join("cgroup.subtree_control"), "memory\n").unwrap();
        enable_controllers(&g).unwrap();
        assert_eq!(
            std::fs::read_to_string(g.join("cgroup.subtree_control")).unwrap(),
            "+cpu +pids"
        );
    }

    #[test]
    fn a_missing_cgroup_counts_as_removed() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(remove(&d.path().join("gone")).unwrap(), Removed::Gone);
        let c = d.path().join("c");
        std::fs::create_dir(&c).unwrap();
        assert_eq!(remove(&c).unwrap(), Removed::Gone);
        assert!(!c.exists());
    }
}
