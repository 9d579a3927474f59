//! slirp4netns on the container's network namespace: started with a ready fd (it writes once
//! tap0 is configured) and an exit fd (it exits when the write end closes, which also happens
//! if rctr itself dies), and killed and reaped on teardown.

use super::{NetworkError, SlirpOptions};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long slirp4netns may take to configure tap0.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A running slirp4netns.
pub struct Slirp {
    child: Child,
    /// Closing this makes slirp4netns exit on its own (`--exit-fd`).
    exit_w: Option<OwnedFd>,
}

impl Slirp {
    /// Its process id.
    pub(super) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The write end of its exit fd (see `NetworkHandle::pass`).
    pub(super) fn exit_fd(&self) -> Option<i32> {
        self.exit_w.as_ref().map(|f| f.as_raw_fd())
    }

    /// Stops slirp4netns and reaps it.
    pub fn stop(mut self) {
        drop(self.exit_w.take());
        // The exit fd asks it to leave; SIGTERM makes sure it does if it is stuck.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let _ = self.child.wait();
    }
}

fn pipe() -> Result<(OwnedFd, OwnedFd), NetworkError> {
    nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| NetworkError::Spawn {
        helper: "slirp4netns",
        package: "slirp4netns",
        source: e.into(),
    })
}

/// Starts slirp4netns for container process `pid` and waits until its network is configured.
pub fn start(o: &SlirpOptions, pid: i32, log_dir: &Path) -> Result<Slirp, NetworkError> {
    let (ready_r, ready_w) = pipe()?;
    let (exit_r, exit_w) = pipe()?;
    let log_path = log_dir.join("slirp4netns.log");
    let log = File::create(&log_path).map_err(|e| NetworkError::io("create", &log_path, e))?;
    let mut cmd = Command::new("slirp4netns");
    cmd.args(["--configure", "--mtu", &o.mtu.to_string()])
        .args(["--enable-sandbox", "--enable-seccomp"])
        .args(["--cidr", &o.cidr.to_string()]);
    if o.enable_ipv6 {
        cmd.arg("--enable-ipv6");
    }
    if !o.allow_host_loopback {
        cmd.arg("--disable-host-loopback");
    }
    let (rfd, efd) = (ready_w.as_raw_fd(), exit_r.as_raw_fd());
    cmd.args(["-r", &rfd.to_string(), "-e", &efd.to_string()])
        .arg(pid.to_string())
        .arg("tap0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // The two pipe ends slirp4netns uses must survive exec; everything else stays
            // close-on-exec. PDEATHSIG backs up the exit fd should rctr be killed.
            for fd in [rfd, efd] {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    let child = cmd.spawn().map_err(|e| NetworkError::Spawn {
        helper: "slirp4netns",
        package: "slirp4netns",
        source: e,
    })?;
    drop(ready_w);
    drop(exit_r);
    let slirp = Slirp {
        child,
        exit_w: Some(exit_w),
    };
    match wait_ready(ready_r) {
        Ok(()) => Ok(slirp),
        Err(why) => {
            slirp.stop();
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let detail = match log.trim() {
                "" => why,
                l => format!("{why}: {}", l.lines().last().unwrap_or(l)),
            };
            Err(NetworkError::NotReady {
                helper: "slirp4netns",
                pid,
                detail,
            })
        }
    }
}

/// Waits for slirp4netns to write to its ready fd.
fn wait_ready(ready_r: OwnedFd) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("not ready after {}s", READY_TIMEOUT.as_secs()));
        }
        let mut fds = [PollFd::new(ready_r.as_fd(), PollFlags::POLLIN)];
        let ms =
            PollTimeout::try_from(left.as_millis().min(60_000) as i32).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, ms) {
            Ok(0) => continue,
            Ok(_) => break,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(format!("cannot wait for it: {e}")),
        }
    }
    let mut b = [0u8; 1];
    match File::from(ready_r).read(&mut b) {
        Ok(1) => Ok(()),
        Ok(_) => Err("it exited before it was ready".into()),
        Err(e) => Err(format!("cannot read its ready fd: {e}")),
    }
}
