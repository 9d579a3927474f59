//! Container records on disk: `<root>/containers/<id>/config.json` (what the container is, written
//! once) and `state.json` (what it is doing), both written atomically. Names are unique; a
//! container is found by name, full ID or unique ID prefix. Creation and removal hold an `flock`
//! on `<root>/containers/lock` so that two `rctr` processes cannot take the same name.

use super::options::CreateOptions;
use super::ContainerError;
use crate::storage::DriverKind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What a container is: fixed at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerRecord {
    /// 64 hex digits.
    pub id: String,
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    /// The image's full name (or its ID when it has none).
    pub image_name: String,
    /// The image ID (config digest hex).
    pub image_id: String,
    /// Entrypoint + Cmd after options were applied, for `ps` and `inspect`.
    pub command: Vec<String>,
    pub created: DateTime<Utc>,
    pub driver: DriverKind,
    pub options: CreateOptions,
}

/// Lifecycle status, with podman's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Created,
    Running,
    Exited,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        }
    }
}

/// What a container is doing: rewritten at each transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerState {
    pub status: Status,
    /// The process that owns the running container (the foreground `rctr`).
    pub pid: Option<i32>,
    /// The container's pid 1, as seen from the host.
    #[serde(default)]
    pub container_pid: Option<i32>,
    pub exit_code: Option<i32>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Start times (clock ticks since boot, /proc/PID/stat field 22) of the owner and of the
    /// container's pid 1, so that a pid reused after they died (or after a reboot) is not
    /// taken for them.
    #[serde(default)]
    pub pid_start: Option<u64>,
    #[serde(default)]
    pub container_pid_start: Option<u64>,
    /// How many times the monitor restarted the container under its restart policy since the
    /// user last started it (podman's `RestartCount`).
    #[serde(default)]
    pub restart_count: u32,
    /// Set by `stop`, `kill` and `rm -f`: the restart policy no longer applies (podman's
    /// `StoppedByUser`). A user's `start` clears it.
    #[serde(default)]
    pub stopped_by_user: bool,
    /// The container exited and its monitor (`pid`) waits to restart it.
    #[serde(default)]
    pub restarting: bool,
    /// A running container frozen by `pause` (podman's "paused" state).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// The container's own cgroup v2 directory (`<delegated>/rctr/<id>`, see
    /// `container::cgroup`), when it got one: what `pause` freezes, and what is removed once
    /// its processes are gone. Kept after the exit, so that `rm` finds a leftover.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<PathBuf>,
}

impl ContainerState {
    pub fn created() -> ContainerState {
        ContainerState {
            status: Status::Created,
            pid: None,
            container_pid: None,
            exit_code: None,
            started_at: None,
            finished_at: None,
            pid_start: None,
            container_pid_start: None,
            restart_count: 0,
            stopped_by_user: false,
            restarting: false,
            paused: false,
            cgroup: None,
        }
    }

    /// The status corrected for processes that died without recording it. A running container
    /// whose owner is gone but whose pid 1 lives is still running (its monitor was killed; the
    /// container, like podman's after a dead conmon, carries on). One whose pid 1 is gone too
    /// is exited, with an unknown code. A monitor that died while waiting to restart is no
    /// longer restarting anything.
    pub fn effective(mut self) -> ContainerState {
        let owner_alive = self.pid.is_some_and(|p| process_alive(p, self.pid_start));
        if !owner_alive {
            self.pid = None;
            self.pid_start = None;
            self.restarting = false;
        }
        if self.status == Status::Running && !owner_alive {
            let pid1_alive = self
                .container_pid
                .is_some_and(|p| process_alive(p, self.container_pid_start));
            if !pid1_alive {
                self.status = Status::Exited;
                self.container_pid = None;
                self.container_pid_start = None;
                self.paused = false;
            }
        }
        self
    }

    /// Whether the container runs without a monitor (it was killed): nothing will record its
    /// exit, so whoever stops it must.
    pub fn orphaned(&self) -> bool {
        self.status == Status::Running && self.pid.is_none()
    }
}

/// Whether process `pid` exists, is not a zombie, and (when `start` is known) is the process
/// that started at that time rather than a later one that reused the pid.
pub fn process_alive(pid: i32, start: Option<u64>) -> bool {
    match proc_stat(pid) {
        Some((state, started)) => {
            !matches!(state, 'Z' | 'X' | 'x') && start.is_none_or(|s| s == started)
        }
        None => false,
    }
}

/// The start time of process `pid` (clock ticks since boot), if it exists.
pub fn process_start(pid: i32) -> Option<u64> {
    proc_stat(pid).map(|(_, s)| s)
}

/// The state letter and start time from /proc/PID/stat. The command name (field 2) may hold
/// spaces and parentheses, so fields are counted after its last `)`.
fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let mut f = rest.split_whitespace();
    let state = f.next()?.chars().next()?;
    // Fields 4..=22 follow the state; starttime is field 22, the 20th after the state.
    let start = f.nth(18)?.parse().ok()?;
    Some((state, start))
}

/// The containers directory of a store.
#[derive(Debug, Clone)]
pub struct Containers {
    dir: PathBuf,
}

/// An exclusive lock on the containers directory, released on drop.
pub struct Lock(#[allow(dead_code)] File);

impl Containers {
    /// Opens `<root>/containers`, creating it if needed.
    pub fn open(root: &Path) -> Result<Containers, ContainerError> {
        let dir = root.join("containers");
        std::fs::create_dir_all(&dir)
            .map_err(|e| ContainerError::io("create directory", &dir, e))?;
        Ok(Containers { dir })
    }

    /// The directory of one container.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    /// Takes the lock that serialises creation, renaming and removal.
    pub fn lock(&self) -> Result<Lock, ContainerError> {
        let path = self.dir.join("lock");
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| ContainerError::io("open", &path, e))?;
        // SAFETY: flock on a valid, owned descriptor.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(ContainerError::io(
                "lock",
                &path,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(Lock(f))
    }

    /// Every container with a readable record, oldest first.
    pub fn list(&self) -> Result<Vec<ContainerRecord>, ContainerError> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| ContainerError::io("read directory", &self.dir, e))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.len() != 64 {
                continue;
            }
            if let Ok(rec) = self.record(&name) {
                out.push(rec);
            }
        }
        out.sort_by_key(|r| r.created);
        Ok(out)
    }

    /// The record of container `id` (a full ID).
    pub fn record(&self, id: &str) -> Result<ContainerRecord, ContainerError> {
        read_json(&self.dir(id).join("config.json"))
    }

    /// The state of container `id`, corrected for a dead owner.
    pub fn state(&self, id: &str) -> Result<ContainerState, ContainerError> {
        Ok(read_state(&self.dir(id).join("state.json"))?.effective())
    }

    /// Reads, changes and writes the state of container `id` under its own lock, so that the
    /// monitor recording an exit and a user's `stop` or `start` never lose each other's
    /// changes. The state is read as recorded, not corrected (see [`ContainerState::effective`]).
    pub fn update_state<T>(
        &self,
        id: &str,
        change: impl FnOnce(&mut ContainerState) -> T,
    ) -> Result<T, ContainerError> {
        let _lock = self.state_lock(id)?;
        let path = self.dir(id).join("state.json");
        let mut st = read_state(&path)?;
        let before = st.clone();
        let out = change(&mut st);
        if st == before {
            return Ok(out); // nothing to write (e.g. the first start of a new container)
        }
        let durable = !self.record(id).is_ok_and(|r| r.options.remove);
        write_json_synced(&path, &st, durable)?;
        Ok(out)
    }

    /// The lock on one container's state: an flock on its directory, so that no lock file has
    /// to be created (and later deleted) for every container.
    fn state_lock(&self, id: &str) -> Result<Lock, ContainerError> {
        let path = self.dir(id);
        let f = File::options()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&path)
            .map_err(|e| ContainerError::io("open", &path, e))?;
        // SAFETY: flock on a valid, owned descriptor.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(ContainerError::io(
                "lock",
                &path,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(Lock(f))
    }

    /// Finds a container by name, full ID or unique ID prefix.
    pub fn lookup(&self, key: &str) -> Result<ContainerRecord, ContainerError> {
        let all = self.list()?;
        if let Some(r) = all.iter().find(|r| r.name == key || r.id == key) {
            return Ok(r.clone());
        }
        let matches: Vec<_> = all.iter().filter(|r| r.id.starts_with(key)).collect();
        match matches.as_slice() {
            [one] if !key.is_empty() => Ok((*one).clone()),
            [] | [_] => Err(ContainerError::NotFound(key.into())),
            _ => Err(ContainerError::Ambiguous(key.into())),
        }
    }

    /// Writes a new container's record. The caller holds [`Containers::lock`] and has checked
    /// the name with [`Containers::check_name`]. Its state file is written at its first change:
    /// until then the container is created (see [`read_state`]), which saves `run` a file.
    pub fn insert(&self, rec: &ContainerRecord) -> Result<(), ContainerError> {
        let dir = self.dir(&rec.id);
        std::fs::create_dir(&dir).map_err(|e| ContainerError::io("create directory", &dir, e))?;
        write_json_synced(&dir.join("config.json"), rec, !rec.options.remove)
    }

    /// Gives container `id` a new, unused name (holds the lock while checking and writing).
    pub fn rename(&self, id: &str, name: &str) -> Result<(), ContainerError> {
        let _lock = self.lock()?;
        self.check_name(name)?;
        let mut rec = self.record(id)?;
        rec.name = name.to_string();
        write_json(&self.dir(id).join("config.json"), &rec)
    }

    /// Fails when `name` is invalid or taken, naming the container that holds it.
    pub fn check_name(&self, name: &str) -> Result<(), ContainerError> {
        valid_name(name)?;
        match self.list()?.into_iter().find(|r| r.name == name) {
            Some(r) => Err(ContainerError::NameInUse {
                name: name.into(),
                id: r.id,
            }),
            None => Ok(()),
        }
    }

    /// Deletes a container's directory. Its files may belong to subordinate ids, so the caller
    /// must be root in rctr's user namespace.
    pub fn delete(&self, id: &str) -> Result<(), ContainerError> {
        if let Some(doomed) = self.retire(id)? {
            remove_tree(&doomed)?;
        }
        Ok(())
    }

    /// The first half of [`Containers::delete`]: renames the container's directory out of the
    /// way, so that the container is gone for every listing and its name is free, and returns
    /// where its files now are (None when it was gone already). [`Containers::purge_retired`]
    /// deletes them later, here or from another process; a crash in between leaves them to the
    /// next purge.
    pub fn retire(&self, id: &str) -> Result<Option<PathBuf>, ContainerError> {
        let dir = self.dir(id);
        // Rename first so that a half-removed container never looks like a real one.
        let doomed = self.dir.join(format!("{RETIRED}{id}"));
        match std::fs::rename(&dir, &doomed) {
            Ok(()) => Ok(Some(doomed)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ContainerError::io("rename", &dir, e)),
        }
        // The root filesystem is only ever mounted in the private mount namespace of the
        // process that runs the container, and is gone with it; nothing to unmount here.
    }

    /// Deletes every retired container directory: those [`Containers::retire`] left, including
    /// any a crash interrupted. Another process purging at the same time is harmless: what one
    /// deletes, the other skips.
    pub fn purge_retired(&self) -> Result<(), ContainerError> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| ContainerError::io("read directory", &self.dir, e))?;
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(RETIRED) {
                // `run --rm` leaves a native overlay mounted in its own mount namespace, which
                // this process shares when it is the purging child (see
                // `lifecycle::purge_detached`): detach it, or the deletion would descend into
                // the container's merged view. Elsewhere nothing is mounted there.
                let _ = crate::storage::unmount_path(&crate::storage::merged_dir(&e.path()));
                remove_tree(&e.path())?;
            }
        }
        Ok(())
    }
}

/// A container's directory of volatile files under the runtime directory `runroot`: the
/// /etc files (hosts, hostname, resolv.conf) generated at each start, as podman keeps them in
/// its runroot. `$XDG_RUNTIME_DIR` is a tmpfs, so creating them costs no disk inodes, and a
/// reboot clears them with the containers that used them.
pub fn run_dir(runroot: &Path, id: &str) -> PathBuf {
    runroot.join("containers").join(id)
}

/// The prefix of a retired container directory's name (see [`Containers::retire`]).
const RETIRED: &str = ".removing-";

fn remove_tree(dir: &Path) -> Result<(), ContainerError> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ContainerError::io("remove", dir, e))
        }
        _ => Ok(()),
    }
}

fn valid_name(name: &str) -> Result<(), ContainerError> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ContainerError::BadName(name.into()))
    }
}

/// A fresh 64-hex-digit ID.
pub fn random_id() -> String {
    let mut b = [0u8; 32];
    getrandom::getrandom(&mut b).expect("the kernel's random source is available");
    hex::encode(b)
}

/// A readable default name, as podman and docker generate (`adjective_surname`).
pub fn random_name() -> String {
    const ADJ: &[&str] = &[
        "brave",
        "calm",
        "eager",
        "fervent",
        "gifted",
        "happy",
        "jolly",
        "keen",
        "lucid",
        "modest",
        "nifty",
        "optimistic",
        "quirky",
        "relaxed",
        "serene",
        "tender",
        "upbeat",
        "vigilant",
        "wizardly",
        "zealous",
    ];
    const NAMES: &[&str] = &[
        "lovelace",
        "turing",
        "hopper",
        "ritchie",
        "thompson",
        "torvalds",
        "knuth",
        "dijkstra",
        "hamilton",
        "liskov",
        "lamport",
        "kernighan",
        "babbage",
        "noether",
        "curie",
        "shannon",
        "hypatia",
        "euclid",
        "gauss",
        "ramanujan",
    ];
    let mut b = [0u8; 2];
    getrandom::getrandom(&mut b).expect("the kernel's random source is available");
    format!(
        "{}_{}",
        ADJ[b[0] as usize % ADJ.len()],
        NAMES[b[1] as usize % NAMES.len()]
    )
}

/// A container's state file; a container that never changed state has none and is created.
/// Without its record too, the container is gone, and the error says so.
fn read_state(path: &Path) -> Result<ContainerState, ContainerError> {
    match read_json(path) {
        Err(ContainerError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound
                && path.with_file_name("config.json").exists() =>
        {
            Ok(ContainerState::created())
        }
        r => r,
    }
}

pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ContainerError> {
    let bytes = std::fs::read(path).map_err(|e| ContainerError::io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| ContainerError::Json {
        path: path.to_owned(),
        source,
    })
}

/// Writes JSON atomically: a temp file in the same directory, fsync, rename.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ContainerError> {
    write_json_synced(path, value, true)
}

/// Writes JSON through a temp file and a rename, with an fsync first when `durable`.
fn write_json_synced<T: Serialize>(
    path: &Path,
    value: &T,
    durable: bool,
) -> Result<(), ContainerError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|source| ContainerError::Json {
        path: path.to_owned(),
        source,
    })?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = File::create(&tmp).map_err(|e| ContainerError::io("create", &tmp, e))?;
    f.write_all(&bytes)
        .and_then(|_| if durable { f.sync_all() } else { Ok(()) })
        .map_err(|e| ContainerError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ContainerError::io("rename", &tmp, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, name: &str) -> ContainerRecord {
        ContainerRecord {
            id: id.into(),
            name: name.into(),
            image: "alpine".into(),
            image_name: "x/alpine:latest".into(),
            image_id: "ab".into(),
            command: vec!["sh".into()],
            created: Utc::now(),
            driver: DriverKind::Vfs,
            options: CreateOptions::default(),
        }
    }

    #[test]
    fn lookup_by_name_id_and_prefix() {
        let d = tempfile::tempdir().unwrap();
        let c = Containers::open(d.path()).unwrap();
        let a = format!("aa{}", "0".repeat(62));
        let b = format!("ab{}", "0".repeat(62));
        c.insert(&rec(&a, "one")).unwrap();
        c.insert(&rec(&b, "two")).unwrap();
        assert_eq!(c.lookup("one").unwrap().id, a);
        assert_eq!(c.lookup(&b).unwrap().name, "two");
        assert_eq!(c.lookup("ab").unwrap().id, b);
        assert!(matches!(c.lookup("a"), Err(ContainerError::Ambiguous(_))));
        assert!(matches!(c.lookup("zz"), Err(ContainerError::NotFound(_))));
        assert!(matches!(
            c.check_name("one"),
            Err(ContainerError::NameInUse { .. })
        ));
        assert!(matches!(
            c.check_name("-x"),
            Err(ContainerError::BadName(_))
        ));
        assert_eq!(c.state(&a).unwrap().status, Status::Created);
        c.delete(&a).unwrap();
        assert_eq!(c.list().unwrap().len(), 1);
    }

    #[test]
    fn the_state_file_is_written_at_the_first_change() {
        let d = tempfile::tempdir().unwrap();
        let c = Containers::open(d.path()).unwrap();
        let id = "c".repeat(64);
        c.insert(&rec(&id, "one")).unwrap();
        let file = c.dir(&id).join("state.json");
        assert!(!file.exists(), "a new container has no state file");
        assert_eq!(c.state(&id).unwrap().status, Status::Created);
        // No change, no file.
        c.update_state(&id, |st| st.restart_count = 0).unwrap();
        assert!(!file.exists());
        c.update_state(&id, |st| st.status = Status::Exited)
            .unwrap();
        assert_eq!(c.state(&id).unwrap().status, Status::Exited);
        // A container whose directory is gone is not taken for a created one.
        c.delete(&id).unwrap();
        assert!(c.state(&id).is_err());
        assert!(c
            .update_state(&id, |st| st.status = Status::Exited)
            .is_err());
    }
}
