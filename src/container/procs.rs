//! The processes of a running container, read from the host's /proc for `top`: every process
//! in the pid namespace of the container's pid 1, with the fields podman's AIX-format
//! descriptors show (as psgo computes them), translated into the container's view: pids from
//! `NSpid`, user and group ids through the container's uid_map and gid_map, names from the
//! container's own /etc/passwd and /etc/group.
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

/// One descriptor: its name, its AIX alias, and its header.
struct Descriptor {
    name: &'static str,
    aix: &'static str,
    header: &'static str,
}

const DESCRIPTORS: &[Descriptor] = &[
    d("args", "%a", "COMMAND"),
    d("comm", "%c", "COMMAND"),
    d("etime", "%t", "ELAPSED"),
    d("group", "%G", "GROUP"),
    d("hgroup", "", "HGROUP"),
    d("hpid", "", "HPID"),
    d("huser", "", "HUSER"),
    d("nice", "%n", "NI"),
    d("pcpu", "%C", "%CPU"),
    d("pgid", "%r", "PGID"),
    d("pid", "%p", "PID"),
    d("ppid", "%P", "PPID"),
    d("rgroup", "%g", "RGROUP"),
    d("ruser", "%u", "RUSER"),
    d("seccomp", "", "SECCOMP"),
    d("state", "", "STATE"),
    d("time", "%x", "TIME"),
    d("tty", "%y", "TTY"),
    d("user", "%U", "USER"),
    d("vsz", "%z", "VSZ"),
];

const fn d(name: &'static str, aix: &'static str, header: &'static str) -> Descriptor {
    Descriptor { name, aix, header }
}

/// podman's default: `user pid ppid pcpu etime tty time args`.
pub const DEFAULT_DESCRIPTORS: &[&str] = &[
    "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
];

/// The canonical names of `args` when every one is a descriptor (AIX aliases accepted, and
/// comma-separated lists as psgo splits them); None when any is not, so the caller runs ps(1).
pub fn parse_descriptors(args: &[String]) -> Option<Vec<&'static str>> {
    let mut out = Vec::new();
    for a in args
        .iter()
        .flat_map(|a| a.split(','))
        .filter(|a| !a.is_empty())
    {
        let d = DESCRIPTORS.iter().find(|d| d.name == a || d.aix == a)?;
        out.push(d.name);
    }
    (!out.is_empty()).then_some(out)
}

/// The header of a descriptor returned by `parse_descriptors`.
pub fn header(name: &str) -> &'static str {
    DESCRIPTORS
        .iter()
        .find(|d| d.name == name)
        .map_or("", |d| d.header)
}

/// A process of the container, as read from /proc.
#[derive(Debug, Clone)]
pub struct Proc {
    pub host_pid: i32,
    /// The pid inside the container's pid namespace.
    pub pid: i32,
    host_ppid: i32,
    host_pgid: i32,
    state: String,
    comm: String,
    args: Vec<String>,
    tty_nr: u64,
    /// utime + stime, in clock ticks.
    cpu_ticks: u64,
    start_ticks: u64,
    nice: i64,
    vsize: u64,
    /// Real and effective ids, as seen on the host.
    ruid: u32,
    euid: u32,
    rgid: u32,
    egid: u32,
    seccomp: u32,
}

/// The container's processes and what is needed to show them.
pub struct Snapshot {
    pub procs: Vec<Proc>,
    uid_map: Vec<(u32, u32, u32)>,
    gid_map: Vec<(u32, u32, u32)>,
    passwd: HashMap<u32, String>,
    group: HashMap<u32, String>,
    uptime: f64,
    ticks: f64,
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
fn to_container(map: &[(u32, u32, u32)], host: u32) -> u32 {
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

impl Snapshot {
    /// The value of descriptor `name` for process `p`.
    pub fn value(&self, p: &Proc, name: &str) -> String {
        let ns_pid = |host: i32| {
            self.procs
                .iter()
                .find(|q| q.host_pid == host)
                .map_or(0, |q| q.pid)
        };
        let user = |host: u32| {
            let id = to_container(&self.uid_map, host);
            self.passwd.get(&id).cloned().unwrap_or(id.to_string())
        };
        let group = |host: u32| {
            let id = to_container(&self.gid_map, host);
            self.group.get(&id).cloned().unwrap_or(id.to_string())
        };
        let elapsed = (self.uptime - p.start_ticks as f64 / self.ticks).max(0.0);
        let cpu = p.cpu_ticks as f64 / self.ticks;
        match name {
            "args" if p.args.is_empty() => format!("[{}]", p.comm),
            // psgo splits the NUL-terminated cmdline into a trailing empty argument, so
            // podman's COMMAND ends in a space; keep that, for output that compares equal.
            "args" => format!("{} ", p.args.join(" ")),
            "comm" => p.comm.clone(),
            "etime" => go_duration(elapsed),
            "group" => group(p.egid),
            "hgroup" => host_group(p.egid),
            "hpid" => p.host_pid.to_string(),
            "huser" => host_user(p.euid),
            "nice" => p.nice.to_string(),
            "pcpu" => {
                let pc = if elapsed > 0.0 {
                    cpu / elapsed * 100.0
                } else {
                    0.0
                };
                format!("{pc:.3}")
            }
            "pgid" => ns_pid(p.host_pgid).to_string(),
            "pid" => p.pid.to_string(),
            "ppid" => ns_pid(p.host_ppid).to_string(),
            "rgroup" => group(p.rgid),
            "ruser" => user(p.ruid),
            "seccomp" => match p.seccomp {
                0 => "disabled",
                1 => "strict",
                _ => "filter",
            }
            .into(),
            "state" => p.state.clone(),
            "time" => go_duration(cpu),
            "tty" => tty_name(p.tty_nr),
            "user" => user(p.euid),
            "vsz" => (p.vsize / 1024).to_string(),
            _ => String::new(),
        }
    }
}

fn host_user(uid: u32) -> String {
    nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map_or(uid.to_string(), |u| u.name)
}

fn host_group(gid: u32) -> String {
    nix::unistd::Group::from_gid(gid.into())
        .ok()
        .flatten()
        .map_or(gid.to_string(), |g| g.name)
}

/// `pts/N` for a pseudo-terminal (majors 136-143), `?` for none or another device.
fn tty_name(nr: u64) -> String {
    let major = (nr >> 8) & 0xfff;
    let minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
    match major {
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        _ => "?".into(),
    }
}

/// Seconds as Go's `time.Duration.String()` prints them (psgo's ELAPSED and TIME).
pub fn go_duration(secs: f64) -> String {
    let ns = (secs * 1e9).round() as u128;
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000_000_000 {
        let (unit, div) = if ns < 1_000 {
            ("ns", 1)
        } else if ns < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        return format!("{}{unit}", frac(ns, div));
    }
    let (h, rest) = (ns / 3_600_000_000_000, ns % 3_600_000_000_000);
    let (m, s) = (rest / 60_000_000_000, rest % 60_000_000_000);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", frac(s, 1_000_000_000)));
    out
}

/// `n / div` with the fraction's trailing zeros dropped.
fn frac(n: u128, div: u128) -> String {
    let (whole, rest) = (n / div, n % div);
    if rest == 0 {
        return whole.to_string();
    }
    let digits = div.to_string().len() - 1;
    let f = format!("{rest:0digits$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go_does() {
        assert_eq!(go_duration(0.0), "0s");
        assert_eq!(go_duration(0.5), "500ms");
        assert_eq!(go_duration(1.5), "1.5s");
        assert_eq!(go_duration(8.365467253), "8.365467253s");
        assert_eq!(go_duration(90.0), "1m30s");
        assert_eq!(go_duration(3600.0 + 2.25), "1h0m2.25s");
        assert_eq!(go_duration(0.000_001_5), "1.5µs");
    }

    #[test]
    fn descriptors_and_aix_aliases_parse_and_anything_else_does_not() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            parse_descriptors(&v(&["pid", "%C", "args,comm"])),
            Some(vec!["pid", "pcpu", "args", "comm"])
        );
        assert_eq!(parse_descriptors(&v(&["-ef"])), None);
        assert_eq!(parse_descriptors(&v(&["pid", "aux"])), None);
        assert_eq!(header("pcpu"), "%CPU");
    }

    #[test]
    fn ids_map_into_the_container_and_ttys_are_named() {
        let map = parse_map("         0       1001          1\n         1     100000      65536\n");
        assert_eq!(to_container(&map, 1001), 0);
        assert_eq!(to_container(&map, 100999), 1000);
        assert_eq!(to_container(&map, 5), 65534);
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
        assert_eq!(names("root:x:0:0::/root:/bin/sh\n")[&0], "root");
    }
}
