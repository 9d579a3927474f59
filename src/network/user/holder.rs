//! The holder of the shared network namespace: the rctr binary re-executed with
//! `_RCTR_NETNS_HOLDER=<root>` (argv[0] `rctr-netns`). It enters a user namespace with rctr's
//! mapping and forks a keeper child that creates the network namespace, prepares it (loopback,
//! forwarding, nftables) and then only sleeps. The holder itself stays in the host's network
//! namespace, because the slirp4netns it starts for egress must open its sockets there (started
//! from inside the shared namespace, it would route its own traffic back into itself). It forks
//! away from the launcher first, and reports `ok <holder pid> <keeper pid>` on fd 3. Then it polls the IPAM: it drops
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

/// Starts a holder for `root` and waits until its namespace is ready; returns the holder and
/// the pid of its keeper, whose `/proc/PID/ns/net` is the shared namespace. Call it with the
/// IPAM lock held.
pub fn spawn(root: &Path) -> Result<(Owner, i32), UserNetError> {
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
    let mut child = cmd
        .spawn()
        .map_err(|e| UserNetError::Holder(format!("cannot execute rctr: {e}")))?;
    drop(w);
    drop(cmd);
    let mut line = String::new();
    let _ = std::io::BufReader::new(std::fs::File::from(r)).read_line(&mut line);
    // The first process only forks the holder proper and exits (see `run`).
    let _ = child.wait();
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("ok"), Some(pid), Some(keeper)) => {
            let (pid, keeper) = (pid.parse().unwrap_or(0), keeper.parse().unwrap_or(0));
            let h =
                Owner::of(pid).ok_or_else(|| UserNetError::Holder("it exited at once".into()))?;
            Ok((h, keeper))
        }
        _ if line.is_empty() => Err(UserNetError::Holder(format!(
            "pid {} exited without reporting",
            child.id()
        ))),
        _ => Err(UserNetError::Holder(line.trim_end().into())),
    }
}

/// The holder's life (see the module docs); returns its exit status.
pub fn run(root: &Path, map: &IdMap) -> i32 {
    // Leave the launcher's process tree: the launcher reaps this first process at once, and the
    // holder proper, re-parented to init, never lingers as its zombie.
    // SAFETY: single-threaded at this point (nothing but main has run).
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Parent { .. }) => return 0,
        Ok(nix::unistd::ForkResult::Child) => {}
        Err(_) => return 1,
    }
    // SAFETY: fd 3 was set up by `spawn`; nothing else owns it.
    let mut report = unsafe {
        libc::fcntl(REPORT_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        std::fs::File::from_raw_fd(REPORT_FD)
    };
    let (keeper, slirp) = match prepare(root, map) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(report, "{}", e.to_string().replace('\n', " "));
            return 1;
        }
    };
    let _ = writeln!(report, "ok {} {keeper}", std::process::id());
    drop(report);
    let ipam = Ipam::new(root);
    let me = Owner::of(std::process::id() as i32);
    let dir = root.join("networks").join("ipam");
    loop {
        std::thread::sleep(POLL);
        // `system reset` removed the store: nothing can be attached any more.
        if !dir.is_dir() {
            slirp.stop();
            stop_keeper(keeper);
            return 0;
        }
        let Ok((mut locked, dead)) = ipam.lock() else {
            continue;
        };
        if !dead.is_empty() {
            let gone: Vec<&Path> = dead
                .iter()
                .filter(|d| {
                    !locked
                        .state
                        .leases
                        .iter()
                        .any(|l| l.container == d.container)
                })
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
            stop_keeper(keeper);
            return 0;
        }
        if !dead.is_empty() {
            let _ = locked.save();
        }
    }
}

/// Enters the user namespace, forks the keeper of the network namespace and starts
/// slirp4netns on it. Returns the keeper's pid and slirp4netns.
fn prepare(root: &Path, map: &IdMap) -> Result<(i32, slirp::Slirp), UserNetError> {
    crate::runtime::userns::become_root(map)
        .map_err(|e| UserNetError::Holder(format!("cannot enter a user namespace: {e}")))?;
    let keeper = fork_keeper()?;
    let log_dir = root.join("networks").join("ipam");
    std::fs::create_dir_all(&log_dir)
        .map_err(|e| UserNetError::io("create directory", &log_dir, e))?;
    let opts = SlirpOptions::default();
    match slirp::start(&opts, keeper, &log_dir) {
        Ok(s) => Ok((keeper, s)),
        Err(e) => {
            stop_keeper(keeper);
            Err(UserNetError::Holder(e.to_string()))
        }
    }
}

/// Forks the keeper: it creates and prepares the shared network namespace, reports on a pipe,
/// and sleeps until killed (or until the holder dies: PDEATHSIG).
fn fork_keeper() -> Result<i32, UserNetError> {
    use nix::unistd::{fork, ForkResult};
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| UserNetError::Holder(format!("cannot create a pipe: {e}")))?;
    // SAFETY: the holder is single-threaded, so the child may allocate and spawn commands.
    match unsafe { fork() }.map_err(|e| UserNetError::Holder(format!("cannot fork: {e}")))? {
        ForkResult::Child => {
            drop(r);
            // SAFETY: plain prctl; the keeper must not outlive the holder.
            unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
            let msg = match nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET) {
                Ok(()) => match links::init_shared() {
                    Ok(()) => "ok".to_string(),
                    Err(e) => e.to_string(),
                },
                Err(e) => format!("cannot create a network namespace: {e}"),
            };
            let mut w = std::fs::File::from(w);
            let _ = writeln!(w, "{}", msg.replace('\n', " "));
            drop(w);
            loop {
                nix::unistd::pause();
            }
        }
        ForkResult::Parent { child } => {
            drop(w);
            let mut line = String::new();
            let _ = std::io::BufReader::new(std::fs::File::from(r)).read_line(&mut line);
            if line.trim_end() != "ok" {
                stop_keeper(child.as_raw());
                return Err(UserNetError::Holder(line.trim_end().to_string()));
            }
            Ok(child.as_raw())
        }
    }
}

fn stop_keeper(pid: i32) {
    let pid = nix::unistd::Pid::from_raw(pid);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(pid, None);
}
