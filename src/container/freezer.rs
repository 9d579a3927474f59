//! Pausing a container through the cgroup v2 freezer (`cgroup.freeze`, Linux 5.2), as podman
//! does. A rootless user can only freeze a cgroup that systemd delegated to it and that holds
//! the container alone: freezing a shared cgroup would stop the user's own shell too. cgroup
//! v1's freezer controller is never delegated to ordinary users, so on v1 (and hybrid systems,
//! whose v2 hierarchy has no controllers or delegation) rootless pause is impossible; podman
//! refuses it with the same reason.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why a container cannot be frozen or thawed.
#[derive(Debug, thiserror::Error)]
pub enum FreezerError {
    #[error("{action} is not supported for cgroupv1 rootless containers: `{root}` is not a cgroup v2 hierarchy, and rootless pause needs cgroup v2")]
    CgroupV1 { action: &'static str, root: PathBuf },
    #[error("cgroup `{0}` has no cgroup.freeze: the cgroup v2 freezer needs Linux 5.2 or later")]
    NoFreezer(PathBuf),
    #[error("cgroup `{0}` is shared with processes outside the container, so freezing it would stop them too: rootless pause needs a delegated cgroup v2 for the container")]
    Shared(PathBuf),
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

/// The cgroup v2 directory of a container, checked to hold only the container's processes.
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
    /// The freezer of the cgroup of host pid `pid1` under the hierarchy at `cgroup_root`
    /// (`/sys/fs/cgroup`); `pids` are all the container's host pids. `action` names the
    /// command for the cgroup v1 error ("pause", "unpause").
    pub fn locate(
        cgroup_root: &Path,
        pid1: i32,
        pids: &[i32],
        action: &'static str,
    ) -> Result<Freezer, FreezerError> {
        let v2 = nix::sys::statfs::statfs(cgroup_root)
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC);
        if !v2 {
            return Err(FreezerError::CgroupV1 {
                action,
                root: cgroup_root.into(),
            });
        }
        let cg_file = PathBuf::from(format!("/proc/{pid1}/cgroup"));
        let text = std::fs::read_to_string(&cg_file).map_err(io("read", &cg_file))?;
        let rel = text
            .lines()
            .find_map(|l| l.strip_prefix("0::"))
            .unwrap_or("/");
        Freezer::at(&cgroup_root.join(rel.trim_start_matches('/')), pids)
    }

    /// The freezer of cgroup directory `dir`, which must hold only `pids`.
    pub fn at(dir: &Path, pids: &[i32]) -> Result<Freezer, FreezerError> {
        if !dir.join("cgroup.freeze").exists() {
            return Err(FreezerError::NoFreezer(dir.into()));
        }
        let procs = dir.join("cgroup.procs");
        let text = std::fs::read_to_string(&procs).map_err(io("read", &procs))?;
        let outside = text
            .lines()
            .filter_map(|l| l.trim().parse::<i32>().ok())
            .any(|p| !pids.contains(&p));
        if outside {
            return Err(FreezerError::Shared(dir.into()));
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

/// The `frozen` key of cgroup.events.
fn is_frozen(events: &str) -> bool {
    events
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["frozen", "1"])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_cgroup(procs: &str, frozen: bool) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("cgroup.freeze"), "0").unwrap();
        std::fs::write(d.path().join("cgroup.procs"), procs).unwrap();
        let ev = format!("populated 1\nfrozen {}\n", u8::from(frozen));
        std::fs::write(d.path().join("cgroup.events"), ev).unwrap();
        d
    }

    #[test]
    fn freezing_writes_cgroup_freeze_and_waits_for_the_event() {
        // The kernel would flip `frozen` in cgroup.events; here it already reads frozen.
        let d = fake_cgroup("10\n11\n", true);
        let f = Freezer::at(d.path(), &[10, 11, 12]).unwrap();
        f.set(true).unwrap();
        assert_eq!(
            std::fs::read_to_string(d.path().join("cgroup.freeze")).unwrap(),
            "1"
        );
    }

    #[test]
    fn a_cgroup_shared_with_other_processes_is_refused() {
        let d = fake_cgroup("10\n99\n", false);
        let err = Freezer::at(d.path(), &[10]).unwrap_err();
        assert!(matches!(err, FreezerError::Shared(_)), "{err}");
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            Freezer::at(empty.path(), &[10]).unwrap_err(),
            FreezerError::NoFreezer(_)
        ));
    }

    #[test]
    fn cgroup_v1_is_named_as_the_reason() {
        // A tmpfs or ext4 directory is no cgroup v2 hierarchy, as /sys/fs/cgroup on v1.
        let d = tempfile::tempdir().unwrap();
        let err = Freezer::locate(d.path(), 1, &[1], "pause").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("pause is not supported for cgroupv1 rootless containers"),
            "{err}"
        );
        assert!(is_frozen("populated 1\nfrozen 1\n") && !is_frozen("frozen 0\n"));
    }
}
