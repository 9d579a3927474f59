//! The holder of the shared network namespace: the rctr binary re-executed with
//! `_RCTR_NETNS_HOLDER=<root>` (argv[0] `rctr-netns`). It enters a user namespace with rctr's
//! mapping and a new network namespace, prepares it (loopback, forwarding, nftables), starts
//! slirp4netns on it for egress, and reports `ok` on fd 3. Then it polls the IPAM: it drops
//! leases of dead containers (updating their peers' /etc/hosts), and exits once no container
//! and no launcher needs the namespace any more, which tears down everything inside it.
//!
//! It is spawned by a launcher holding the IPAM lock, so two holders never race, and it never
//! takes part in a container's lifetime otherwise: killing it only cuts the networks off.

use super::ipam::{Ipam, Owner};
use super::{hosts, links, UserNetError};
use crate::network::{slirp, SlirpOptions};
use crate::runtime::idmap::IdMap;
use std::io::{BufRead, Write};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The environment variable that makes the binary a holder; its value is rctr's root.
pub const ENV_HOLDER: &str = "_RCTR_NETNS_HOLDER";
/// How often the holder looks for dead leases and whether it is still needed.
pub const POLL: Duration = Duration::from_millis(250);
const REPORT_FD: i32 = 3;

/// Starts a holder for `root` and waits until its namespace is ready. Call it from the host's
/// user namespace (the holder maps its own), with the IPAM lock held.
pub fn spawn(root: &Path) -> Result<Owner, UserNetError> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| UserNetError::Holder(format!("cannot create a pipe: {e}")))?;
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0("rctr-netns")
        .env(ENV_HOLDER, root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls (dup2, fcntl, setsid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if wfd == REPORT_FD {
                libc::fcntl(REPORT_FD, libc::F_SETFD, 0);
            } else if libc::dup2(wfd, REPORT_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| UserNetError::Holder(format!("cannot execute rctr: {e}")))?;
    drop(w);
    drop(cmd);
    let mut line = String::new();
    let _ = std::io::BufReader::new(std::fs::File::from(r)).read_line(&mut line);
    let pid = child.id() as i32;
    match line.trim_end() {
        "ok" => Owner::of(pid).ok_or_else(|| UserNetError::Holder("it exited at once".into())),
        "" => Err(UserNetError::Holder(format!(
            "pid {pid} exited without reporting"
        ))),
        msg => Err(UserNetError::Holder(msg.into())),
    }
}

/// The holder's life (see the module docs); returns its exit status.
pub fn run(root: &Path, map: &IdMap) -> i32 {
    // SAFETY: fd 3 was set up by `spawn`; nothing else owns it.
    let mut report = unsafe {
        libc::fcntl(REPORT_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        std::fs::File::from_raw_fd(REPORT_FD)
    };
    let slirp = match prepare(root, map) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(report, "{}", e.to_string().replace('\n', " "));
            return 1;
        }
    };
    let _ = report.write_all(b"ok\n");
    drop(report);
    let ipam = Ipam::new(root);
    let me = Owner::of(std::process::id() as i32);
    loop {
        std::thread::sleep(POLL);
        let Ok((mut locked, dead)) = ipam.lock() else {
            continue;
        };
        if !dead.is_empty() {
            let gone: Vec<&Path> = dead
                .iter()
                .filter(|d| !locked.state.leases.iter().any(|l| l.container == d.container))
                .map(|d| d.hosts.as_path())
                .collect();
            hosts::refresh(&locked.state.leases, &gone);
        }
        // Another holder took over (this one was thought dead): leave quietly.
        let ours = locked.state.holder == me;
        if !ours || (locked.state.leases.is_empty() && locked.state.pending.is_empty()) {
            if ours {
                locked.state.holder = None;
                locked.state.bridges.clear();
            }
            let _ = locked.save();
            drop(locked);
            slirp.stop();
            return 0;
        }
        if !dead.is_empty() {
            let _ = locked.save();
        }
    }
}

/// Enters the namespaces, prepares the network and starts slirp4netns.
fn prepare(root: &Path, map: &IdMap) -> Result<slirp::Slirp, UserNetError> {
    crate::runtime::userns::become_root(map)
        .map_err(|e| UserNetError::Holder(format!("cannot enter a user namespace: {e}")))?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
        .map_err(|e| UserNetError::Holder(format!("cannot create a network namespace: {e}")))?;
    links::init_shared()?;
    let log_dir = root.join("networks").join("ipam");
    let opts = SlirpOptions::default();
    slirp::start(&opts, std::process::id() as i32, &log_dir)
        .map_err(|e| UserNetError::Holder(e.to_string()))
}
