//! Pausing a container through the cgroup v2 freezer (`cgroup.freeze`, Linux 5.2), as podman
//! does. The container must have a cgroup of its own (see `container::cgroup`): freezing a
//! shared cgroup would stop the user's own shell too. A rootless user gets one only where a
//! cgroup v2 subtree is delegated to it (systemd's user@UID.service, or a cgroup chowned to the
//! user). cgroup v1's freezer controller is never delegated to ordinary users, so on a v1
//! system without a writable v2 hierarchy rootless pause is impossible; podman refuses it with
//! the same reason.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a container cannot be frozen or thawed.
#[derive(Debug, thiserror::Error)]
pub enum FreezerError {
    #[error("{action} is not supported for cgroupv1 rootless containers: /sys/fs/cgroup is cgroup v1, and no cgroup v2 subtree is delegated to this user (the container needs a cgroup of its own, which rctr creates below a cgroup v2 directory whose cgroup.procs the user may write)")]
    CgroupV1 { action: &'static str },
    #[error("container {name} has no cgroup of its own: no cgroup v2 subtree is delegated to this user (rctr needs an ancestor of its own cgroup, such as systemd's user@UID.service, whose directory and cgroup.procs the user may write)")]
    NotDelegated { name: String },
    #[error("container {name} has no cgroup of its own: it was started where none could be created; restart it to {action} it")]
    StartedWithout { name: String, action: &'static str },
    #[error("cgroup `{0}` has no cgroup.freeze: the cgroup v2 freezer needs Linux 5.2 or later")]
    NoFreezer(PathBuf),
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cgroup `{path}` did not become {state} within {secs} s")]
    Timeout {
        path: PathBuf,
        state: &'static str,
        secs: u64,
    },
}

/// The cgroup v2 directory of a container, which holds the container's processes alone.
#[derive(Debug)]
pub struct Freezer {
    dir: PathBuf,
}

/// How long to wait for the kernel to report the cgroup frozen or thawed.
const SETTLE: Duration = Duration::from_secs(5);

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FreezerError {
    let path = path.to_path_buf();
    move |source| FreezerError::Io {
        action,
        path,
        source,
    }
}

impl Freezer {
    /// The freezer of container `name`'s own cgroup `dir` (recorded in its state), or why it
    /// has none. `action` names the command for the messages ("pause", "unpause").
    pub fn of_container(
        dir: Option<&Path>,
        name: &str,
        action: &'static str,
    ) -> Result<Freezer, FreezerError> {
        let Some(dir) = dir else {
            return Err(why_none(
                super::cgroup::locate().is_some(),
                super::cgroup::cgroup2_mount().as_deref(),
                name,
                action,
            ));
        };
        if !dir.join("cgroup.freeze").exists() {
            return Err(FreezerError::NoFreezer(dir.into()));
        }
        Ok(Freezer { dir: dir.into() })
    }

    /// Freezes (`true`) or thaws the cgroup and waits until the kernel reports it done.
    pub fn set(&self, frozen: bool) -> Result<(), FreezerError> {
        let f = self.dir.join("cgroup.freeze");
        std::fs::write(&f, if frozen { "1" } else { "0" }).map_err(io("write", &f))?;
        let events = self.dir.join("cgroup.events");
        let deadline = Instant::now() + SETTLE;
        loop {
            let text = std::fs::read_to_string(&events).map_err(io("read", &events))?;
            if is_frozen(&text) == frozen {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(FreezerError::Timeout {
                    path: self.dir.clone(),
                    state: if frozen { "frozen" } else { "thawed" },
                    secs: SETTLE.as_secs(),
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Why a container has no cgroup of its own, from what the host offers now: whether a
/// delegated cgroup v2 subtree exists (`delegated`) and where cgroup v2 is mounted (`v2`).
fn why_none(delegated: bool, v2: Option<&Path>, name: &str, action: &'static str) -> FreezerError {
    if delegated {
        FreezerError::StartedWithout {
            name: name.into(),
            action,
        }
    } else if v2 == Some(Path::new("/sys/fs/cgroup")) {
        FreezerError::NotDelegated { name: name.into() }
    } else {
        FreezerError::CgroupV1 { action }
    }
}

/// The `frozen` key of cgroup.events.
fn is_frozen(events: &str) -> bool {
    events
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["frozen", "1"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_cgroup(frozen: bool) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("cgroup.freeze"), "0").unwrap();
        let ev = format!("populated 1\nfrozen {}\n", u8::from(frozen));
        std::fs::write(d.path().join("cgroup.events"), ev).unwrap();
        d
    }

    #[test]
    fn freezing_writes_cgroup_freeze_and_waits_for_the_event() {
        // The kernel would flip `frozen` in cgroup.events; here it already reads frozen.
        let d = fake_cgroup(true);
        let f = Freezer::of_container(Some(d.path()), "c", "pause").unwrap();
        f.set(true).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("cgroup.freeze")).unwrap(),
            "1"
        );
        assert!(is_frozen("populated 1\nfrozen 1\n") && !is_frozen("frozen 0\n"));
    }

    #[test]
    fn a_cgroup_without_the_freezer_is_named() {
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            Freezer::of_container(Some(empty.path()), "c", "pause").unwrap_err(),
            FreezerError::NoFreezer(_)
        ));
    }

    #[test]
    fn a_container_without_a_cgroup_is_told_what_is_missing() {
        let hybrid = Path::new("/sys/fs/cgroup/unified");
        let v1 = why_none(false, Some(hybrid), "c", "pause").to_string();
        assert!(
            v1.starts_with("pause is not supported for cgroupv1 rootless containers: "),
            "{v1}"
        );
        assert!(why_none(false, None, "c", "unpause")
            .to_string()
            .starts_with("unpause is not supported for cgroupv1 rootless containers"));
        let v2 = why_none(false, Some(Path::new("/sys/fs/cgroup")), "c", "pause").to_string();
        assert!(v2.contains("no cgroup v2 subtree is delegated"), "{v2}");
        let old = why_none(true, Some(hybrid), "c", "pause").to_string();
        assert!(old.contains("restart it to pause it"), "{old}");
    }
}
