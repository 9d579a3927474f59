//! The processes of a running container, read from the host's /proc for `top` and `pause`:
//! every process in the pid namespace of the container's pid 1, with the fields podman's
//! AIX-format descriptors show (see `descriptors`), and what translates them into the
//! container's view: pids from `NSpid`, the container's uid_map and gid_map, and the names in
//! its own /etc/passwd and /etc/group.
//!
//! The invoking user owns the container's user namespace, which gives it ptrace-read access to
//! every process in it (even those running as subordinate ids), so no namespace is entered.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why the container's processes could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unexpected content in `{0}`")]
    Parse(PathBuf),
}

/// A process of the container, as read from /proc.
#[derive(Debug, Clone)]
pub struct Proc {
    pub host_pid: i32,
    /// The pid inside the container's pid namespace.
    pub pid: i32,
    pub(crate) host_ppid: i32,
    pub(crate) host_pgid: i32,
    pub(crate) state: String,
    pub(crate) comm: String,
    pub(crate) args: Vec<String>,
    pub(crate) tty_nr: u64,
    /// utime + stime, in clock ticks.
    pub(crate) cpu_ticks: u64,
    pub(crate) start_ticks: u64,
    pub(crate) nice: i64,
    pub(crate) vsize: u64,
    /// Real and effective ids, as seen on the host.
    pub(crate) ruid: u32,
    pub(crate) euid: u32,
    pub(crate) rgid: u32,
    pub(crate) egid: u32,
    pub(crate) seccomp: u32,
}

/// The container's processes and what is needed to show them.
pub struct Snapshot {
    pub procs: Vec<Proc>,
    pub(crate) uid_map: Vec<(u32, u32, u32)>,
    pub(crate) gid_map: Vec<(u32, u32, u32)>,
    pub(crate) passwd: HashMap<u32, String>,
    pub(crate) group: HashMap<u32, String>,
    pub(crate) uptime: f64,
    pub(crate) ticks: f64,
}

fn read(path: impl AsRef<Path>) -> Result<String, ProcError> {
    std::fs::read_to_string(path.as_ref()).map_err(|source| ProcError::Read {
        path: path.as_ref().into(),
        source,
    })
}

/// Reads every process in the pid namespace of host pid `pid1`.
pub fn snapshot(pid1: i32) -> Result<Snapshot, ProcError> {
    let ns_path = PathBuf::from(format!("/proc/{pid1}/ns/pid"));
    let ns = std::fs::read_link(&ns_path).map_err(|source| ProcError::Read {
        path: ns_path.clone(),
        source,
    })?;
    let mut procs = Vec::new();
    let dir = std::fs::read_dir("/proc").map_err(|source| ProcError::Read {
        path: "/proc".into(),
        source,
    })?;
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if std::fs::read_link(format!("/proc/{pid}/ns/pid"))
            .ok()
            .as_ref()
            != Some(&ns)
        {
            continue;
        }
        // A process that exits while we read it is simply not shown.
        if let Ok(p) = read_proc(pid) {
            procs.push(p);
        }
    }
    procs.sort_by_key(|p| p.pid);
    let root = PathBuf::from(format!("/proc/{pid1}/root/etc"));
    Ok(Snapshot {
        procs,
        uid_map: parse_map(&read(format!("/proc/{pid1}/uid_map"))?),
        gid_map: parse_map(&read(format!("/proc/{pid1}/gid_map"))?),
        passwd: names(&std::fs::read_to_string(root.join("passwd")).unwrap_or_default()),
        group: names(&std::fs::read_to_string(root.join("group")).unwrap_or_default()),
        uptime: read("/proc/uptime")?
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| ProcError::Parse("/proc/uptime".into()))?,
        // SAFETY: sysconf has no preconditions.
        ticks: unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64,
    })
}

fn read_proc(pid: i32) -> Result<Proc, ProcError> {
    let stat_path = PathBuf::from(format!("/proc/{pid}/stat"));
    let stat = read(&stat_path)?;
    let bad = || ProcError::Parse(stat_path.clone());
    let open = stat.find('(').ok_or_else(bad)?;
    let close = stat.rfind(')').ok_or_else(bad)?;
    let comm = stat[open + 1..close].to_string();
    // Fields from 3 (state) on; field N is at index N - 3.
    let f: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let num = |n: usize| -> Result<i64, ProcError> {
        f.get(n - 3).and_then(|s| s.parse().ok()).ok_or_else(bad)
    };
    let status = read(format!("/proc/{pid}/status"))?;
    let field = |key: &str| -> Vec<String> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let ids =
        |key: &str| -> Vec<u32> { field(key).iter().filter_map(|s| s.parse().ok()).collect() };
    let (uids, gids) = (ids("Uid:"), ids("Gid:"));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    Ok(Proc {
        host_pid: pid,
        pid: field("NSpid:")
            .last()
            .and_then(|s| s.parse().ok())
            .unwrap_or(pid),
        host_ppid: num(4)? as i32,
        host_pgid: num(5)? as i32,
        state: f.first().ok_or_else(bad)?.to_string(),
        comm,
        args: cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect(),
        tty_nr: num(7)? as u64,
        cpu_ticks: (num(14)? + num(15)?) as u64,
        start_ticks: num(22)? as u64,
        nice: num(19)?,
        vsize: num(23)? as u64,
        ruid: uids.first().copied().unwrap_or(0),
        euid: uids.get(1).copied().unwrap_or(0),
        rgid: gids.first().copied().unwrap_or(0),
        egid: gids.get(1).copied().unwrap_or(0),
        seccomp: field("Seccomp:")
            .first()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
    })
}

/// `inside outside count` lines.
fn parse_map(text: &str) -> Vec<(u32, u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let v: Vec<u32> = l
                .split_whitespace()
                .filter_map(|s| s.parse().ok())
                .collect();
            (v.len() == 3).then(|| (v[0], v[1], v[2]))
        })
        .collect()
}

/// A host id as the container sees it (the overflow id 65534 when unmapped, as the kernel does).
pub(crate) fn to_container(map: &[(u32, u32, u32)], host: u32) -> u32 {
    map.iter()
        .find(|(_, out, n)| host >= *out && host - out < *n)
        .map_or(65534, |(inside, out, _)| inside + (host - out))
}

/// `name:x:id:...` lines (passwd and group alike) by id; the first name for an id wins.
fn names(text: &str) -> HashMap<u32, String> {
    let mut m = HashMap::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split(':').collect();
        if let (Some(n), Some(id)) = (f.first(), f.get(2).and_then(|s| s.parse().ok())) {
            m.entry(id).or_insert_with(|| n.to_string());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_into_the_container_and_are_named_from_its_files() {
        let map = parse_map("         0       1001          1\n         1     100000      65536\n");
        assert_eq!(to_container(&map, 1001), 0);
        assert_eq!(to_container(&map, 100999), 1000);
        assert_eq!(to_container(&map, 5), 65534);
        assert_eq!(names("root:x:0:0::/root:/bin/sh\n")[&0], "root");
    }
}
