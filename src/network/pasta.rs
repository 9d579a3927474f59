//! pasta (Debian's `passt` package) on the container's network namespace.
//!
//! pasta copies the host's addresses and routes into the namespace (`--config-net`) and maps
//! the gateway address to the host's loopback. Three rootless subtleties shape how it starts:
//! - rctr runs it from inside rctr's user namespace, where the container's network namespace
//!   lives, and pasta drops all but three capabilities before it opens the namespace. With fewer
//!   capabilities than the container's process, the kernel's ptrace check refuses it
//!   `/proc/PID/ns/net`, so rctr opens the namespace itself and hands pasta the descriptor as
//!   `--netns /proc/self/fd/N --netns-only` (a process may always reopen its own descriptors).
//! - It runs in the foreground (`-f`) as rctr's child, so rctr can reap it and it gets SIGKILL
//!   if rctr dies (PR_SET_PDEATHSIG). `--runas 0:0` keeps the user it already is: pasta would
//!   otherwise switch to `nobody`, and any change of credentials clears the parent-death signal.
//! - Readiness: pasta writes its pid file (`-P`) once its initialisation, including the
//!   namespace's addresses and routes, is done; rctr waits for that file, or for pasta to exit.
//!
//! Two egress paths reach a service on the host's loopback, and they differ in speed:
//! - Through the gateway address (`host.containers.internal`): the container's segments cross
//!   the tap device into pasta's own TCP translation, one thread and two copies. Debian 12's
//!   pasta (0.0~git20230309) carries about 3 Gbit/s this way while no frame is lost, but when it
//!   is short of CPU it drops frames and recovers slowly: iperf3 then shows retransmissions and
//!   seconds without progress, and 0.3 to 0.9 Gbit/s.
//! - `--network pasta:-T,PORT`: pasta listens on the container's own 127.0.0.1:PORT and splices
//!   each connection to the host's 127.0.0.1:PORT, the kernel path rctr's `-p` forwarder uses.
//!   It is not the default (rctr passes `-T none`, as podman does) because it takes ports on the
//!   container's loopback that the container's own services may want.

use super::NetworkError;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long pasta may take to configure the namespace.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// The address the container sends DNS queries to when the host's resolvers are all on its
/// loopback (unreachable from the namespace): pasta forwards it to the host's first resolver.
pub const DNS_FORWARD: Ipv4Addr = Ipv4Addr::new(169, 254, 1, 1);

/// `--network pasta[:OPTION,OPTION...]`: the options are passed to pasta as arguments, split at
/// commas, as podman does (`pasta:-t,8080` forwards host port 8080 with pasta's own forwarder).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastaOptions {
    pub args: Vec<String>,
}

/// Options rctr sets itself; passing them would break the readiness or lifetime handling.
const RESERVED: &[&str] = &[
    "-f",
    "--foreground",
    "-P",
    "--pid",
    "--netns",
    "--userns",
    "--netns-only",
    "--runas",
    "-1",
    "--one-off",
];

impl PastaOptions {
    /// Parses the comma-separated arguments after `pasta:`.
    pub fn parse(opts: &str) -> Result<PastaOptions, NetworkError> {
        let args: Vec<String> = opts
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        for a in &args {
            let name = a.split_once('=').map_or(a.as_str(), |(n, _)| n);
            if RESERVED.contains(&name) {
                return Err(NetworkError::BadOption {
                    option: a.clone(),
                    why: "rctr sets this pasta option itself".into(),
                });
            }
        }
        Ok(PastaOptions { args })
    }

    /// Whether the user gave pasta option `short` or `long` (with or without a value).
    fn has(&self, short: &str, long: &str) -> bool {
        self.args.iter().any(|a| {
            a == short || a == long || a.starts_with(&format!("{long}=")) || {
                a.len() > 2 && a.starts_with(short) && !a.starts_with("--")
            }
        })
    }
}

/// What the container sees with pasta: the host's own IPv4 address and gateway (copied from
/// the interface of the host's default route), and the resolver to put in resolv.conf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PastaAddresses {
    pub address: Ipv4Addr,
    pub gateway: Ipv4Addr,
    pub dns: Ipv4Addr,
}

/// Reads the host's default IPv4 route and its interface's address, as pasta does to pick its
/// template interface, and the host's first resolver that the namespace can reach.
pub fn addresses() -> PastaAddresses {
    let routes = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    let (iface, gateway) = default_route(&routes).unwrap_or_default();
    let (_iface, gateway) = (iface, gateway.unwrap_or(Ipv4Addr::UNSPECIFIED));
    // The source address the host would use towards its gateway: connecting a UDP socket only
    // consults the routing table, it sends nothing.
    let address = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))
        .and_then(|s| s.connect((gateway, 9)).and_then(|()| s.local_addr()))
        .ok()
        .and_then(|a| match a.ip() {
            IpAddr::V4(v) => Some(v),
            IpAddr::V6(_) => None,
        })
        .unwrap_or(Ipv4Addr::UNSPECIFIED);
    let resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    PastaAddresses {
        address,
        gateway,
        dns: reachable_resolver(&resolv).unwrap_or(DNS_FORWARD),
    }
}

/// The interface and gateway of the default route in /proc/net/route (hex, little-endian).
fn default_route(routes: &str) -> Option<(String, Option<Ipv4Addr>)> {
    routes.lines().skip(1).find_map(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 3 || f[1] != "00000000" {
            return None;
        }
        let gw = u32::from_str_radix(f[2], 16).ok().map(|g| {
            let b = g.to_le_bytes();
            Ipv4Addr::new(b[0], b[1], b[2], b[3])
        });
        Some((f[0].to_string(), gw.filter(|g| !g.is_unspecified())))
    })
}

/// The host's first IPv4 resolver that is not on its loopback.
fn reachable_resolver(resolv: &str) -> Option<Ipv4Addr> {
    resolv.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        match (w.next(), w.next().map(str::parse::<IpAddr>)) {
            (Some("nameserver"), Some(Ok(IpAddr::V4(a)))) if !a.is_loopback() => Some(a),
            _ => None,
        }
    })
}

/// A running pasta.
pub struct Pasta {
    child: Child,
}

impl Pasta {
    /// Its process id.
    pub(super) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Stops pasta and reaps it. SIGKILL: pasta keeps no state worth saving, and in this
    /// version it does not act on SIGTERM while it serves a namespace.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_error(source: std::io::Error) -> NetworkError {
    NetworkError::Spawn {
        helper: "pasta",
        package: "passt",
        source,
    }
}

/// Starts pasta on the network namespace of container process `pid` and waits until the
/// namespace is configured.
pub fn start(o: &PastaOptions, pid: i32, log_dir: &Path) -> Result<Pasta, NetworkError> {
    let ns_path = std::path::PathBuf::from(format!("/proc/{pid}/ns/net"));
    let netns: OwnedFd = File::open(&ns_path)
        .map_err(|e| NetworkError::io("open", &ns_path, e))?
        .into();
    let fd = netns.as_raw_fd();
    let log_path = log_dir.join("pasta.log");
    let pid_path = log_dir.join("pasta.pid");
    let _ = std::fs::remove_file(&pid_path);
    let log = File::create(&log_path).map_err(|e| NetworkError::io("create", &log_path, e))?;
    let mut cmd = Command::new("pasta");
    cmd.args(["-f", "-q", "--runas", "0:0", "--config-net"]);
    // Like podman: nothing is forwarded unless asked (rctr's own forwarder serves -p).
    for (short, long) in [
        ("-t", "--tcp-ports"),
        ("-u", "--udp-ports"),
        ("-T", "--tcp-ns"),
        ("-U", "--udp-ns"),
    ] {
        if !o.has(short, long) {
            cmd.args([short, "none"]);
        }
    }
    if !o.has("-D", "--dns") && !o.has("--dns-forward", "--dns-forward") {
        cmd.args(["--dns-forward", &DNS_FORWARD.to_string()]);
    }
    cmd.args(&o.args)
        .arg("-P")
        .arg(&pid_path)
        .args(["--netns", &format!("/proc/self/fd/{fd}"), "--netns-only"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(spawn_error)?;
    drop(netns);
    let mut pasta = Pasta { child };
    match wait_ready(&mut pasta.child, &pid_path) {
        Ok(()) => Ok(pasta),
        Err(why) => {
            pasta.stop();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let detail = match log.trim() {
                "" => why,
                l => format!("{why}: {}", l.lines().last().unwrap_or(l)),
            };
            Err(NetworkError::NotReady {
                helper: "pasta",
                pid,
                detail,
            })
        }
    }
}

/// Waits for pasta's pid file, which it writes once the namespace is configured.
fn wait_ready(child: &mut Child, pid_path: &Path) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        if std::fs::metadata(pid_path).is_ok_and(|m| m.len() > 0) {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited ({status}) before it was ready"));
        }
        if Instant::now() > deadline {
            return Err(format!("not ready after {}s", READY_TIMEOUT.as_secs()));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_at_commas_and_keep_rctrs_own() {
        let o = PastaOptions::parse("-t,8080,--mtu=1500").unwrap();
        assert_eq!(o.args, ["-t", "8080", "--mtu=1500"]);
        assert!(o.has("-t", "--tcp-ports"));
        assert!(!o.has("-u", "--udp-ports"));
        assert!(PastaOptions::parse("-f").is_err());
        assert!(PastaOptions::parse("--netns=/x").is_err());
        assert_eq!(PastaOptions::parse("").unwrap().args.len(), 0);
    }

    #[test]
    fn reads_default_route_and_resolver() {
        let routes = "Iface\tDestination\tGateway\tFlags\n\
                      eth0\t0002000A\t00000000\t0001\n\
                      eth0\t00000000\t010200C0\t0003\n";
        assert_eq!(
            default_route(routes),
            Some(("eth0".into(), Some(Ipv4Addr::new(192, 0, 2, 1))))
        );
        assert_eq!(
            reachable_resolver("nameserver 127.0.0.53\nnameserver 10.1.2.3\n"),
            Some(Ipv4Addr::new(10, 1, 2, 3))
        );
        assert_eq!(reachable_resolver("nameserver 127.0.0.53\n"), None);
    }
}
