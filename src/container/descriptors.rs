//! podman's AIX-format descriptors for `top` (as psgo defines them): their names, AIX codes
//! and headers, and each one's value for a process of a [`Snapshot`].

use super::procs::{to_container, Proc, Snapshot};

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

/// The value of descriptor `name` for process `p` of `snap`.
pub fn value(snap: &Snapshot, p: &Proc, name: &str) -> String {
    let ns_pid = |host: i32| {
        snap.procs
            .iter()
            .find(|q| q.host_pid == host)
            .map_or(0, |q| q.pid)
    };
    let user = |host: u32| {
        let id = to_container(&snap.uid_map, host);
        snap.passwd.get(&id).cloned().unwrap_or(id.to_string())
    };
    let group = |host: u32| {
        let id = to_container(&snap.gid_map, host);
        snap.group.get(&id).cloned().unwrap_or(id.to_string())
    };
    let elapsed = (snap.uptime - p.start_ticks as f64 / snap.ticks).max(0.0);
    let cpu = p.cpu_ticks as f64 / snap.ticks;
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
    fn ttys_are_named() {
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
    }
}
