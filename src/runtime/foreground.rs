//! Running a container in the foreground: signals proxied to it, the pty relayed both ways with
//! the host terminal in raw mode and its window size followed, and the container's exit code.

use super::error::RuntimeError;
use super::process::{launch, try_wait};
use super::signals::Watcher;
use super::tty::{copy_winsize, is_tty, RawMode};
use super::LaunchOptions;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

/// Launches the container, proxies signals and (with [`super::StdioMode::Pty`]) the terminal until it
/// exits, and returns its exit code. `interactive` relays our stdin to the pty and puts the host
/// terminal into raw mode; the terminal is restored on every way out of this function.
pub fn run_foreground(
    spec: &Spec,
    opts: LaunchOptions,
    interactive: bool,
) -> Result<i32, RuntimeError> {
    let watcher = Watcher::new().map_err(RuntimeError::Signals)?;
    let launched = launch(spec, opts)?;
    match follow(
        &watcher,
        launched.pid,
        launched.pty_master,
        interactive,
        &[],
    )? {
        Followed::Exited(code) => Ok(code),
        // No detach keys were given, so there is no detaching.
        Followed::Detached(_) => Ok(0),
    }
}

/// How relaying a process ended.
pub enum Followed {
    /// The process exited with this code.
    Exited(i32),
    /// The user typed the detach keys: the process runs on, and this is its pty's master, which
    /// must stay open (closing it would hang the terminal up and end the process).
    Detached(OwnedFd),
}

/// For `exec -t`: relays the pty of process `pid` (our child) as `run_foreground` does, until
/// it exits or, when `detach_keys` is not empty and stdin is relayed, the user types them.
pub fn relay_pty(
    pid: Pid,
    master: OwnedFd,
    interactive: bool,
    detach_keys: &[u8],
) -> Result<Followed, RuntimeError> {
    let watcher = Watcher::new().map_err(RuntimeError::Signals)?;
    follow(&watcher, pid, Some(master), interactive, detach_keys)
}

/// Proxies signals to `pid` and relays its pty (if any) until it exits or is detached from.
fn follow(
    watcher: &Watcher,
    pid: Pid,
    pty_master: Option<OwnedFd>,
    interactive: bool,
    detach_keys: &[u8],
) -> Result<Followed, RuntimeError> {
    let _raw = match &pty_master {
        Some(_) if interactive && is_tty(0) => {
            Some(RawMode::enter(0).map_err(|source| RuntimeError::Terminal {
                what: "cannot put the terminal into raw mode",
                source,
            })?)
        }
        _ => None,
    };
    let host_tty = [0, 1].into_iter().find(|fd| is_tty(*fd));
    if let (Some(m), Some(t)) = (&pty_master, host_tty) {
        copy_winsize(t, m.as_raw_fd());
    }
    let mut relay = pty_master.map(|m| Relay {
        master: Some(m),
        stdin_open: interactive,
        keys: super::detach_keys::DetachMatcher::new(detach_keys),
        detached: false,
    });
    loop {
        let sig_fd = watcher.fd.as_fd();
        let mut fds = vec![PollFd::new(sig_fd, PollFlags::POLLIN)];
        if let Some(r) = &relay {
            r.add_fds(&mut fds);
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(RuntimeError::Signals(e)),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if let Some(r) = &mut relay {
            r.pump(&ready[1..])?;
            if r.detached {
                if let Some(m) = r.master.take() {
                    return Ok(Followed::Detached(m));
                }
            }
        }
        if ready[0] {
            while let Ok(Some(info)) = watcher.fd.read_signal() {
                let sig = Signal::try_from(info.ssi_signo as i32).ok();
                match sig {
                    Some(Signal::SIGCHLD) | None => {}
                    Some(Signal::SIGWINCH) => {
                        if let (
                            Some(Relay {
                                master: Some(m), ..
                            }),
                            Some(t),
                        ) = (&relay, host_tty)
                        {
                            copy_winsize(t, m.as_raw_fd());
                        }
                    }
                    Some(s) => {
                        let _ = kill(pid, s);
                    }
                }
            }
        }
        if let Some(code) = try_wait(pid)? {
            if let Some(r) = &mut relay {
                r.drain();
            }
            return Ok(Followed::Exited(code));
        }
    }
}

/// The pty relay: host stdin → master, master → host stdout, watching the input for the
/// detach keys.
struct Relay<'k> {
    master: Option<OwnedFd>,
    stdin_open: bool,
    keys: super::detach_keys::DetachMatcher<'k>,
    detached: bool,
}

impl Relay<'_> {
    fn add_fds<'a>(&'a self, fds: &mut Vec<PollFd<'a>>) {
        if let Some(m) = &self.master {
            fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
            if self.stdin_open {
                // SAFETY: stdin stays open for the life of the process.
                fds.push(PollFd::new(
                    unsafe { BorrowedFd::borrow_raw(0) },
                    PollFlags::POLLIN,
                ));
            }
        }
    }

    /// Moves whatever is ready; `ready` matches the fds `add_fds` pushed.
    fn pump(&mut self, ready: &[bool]) -> Result<(), RuntimeError> {
        let Some(m) = &self.master else { return Ok(()) };
        let mfd = m.as_raw_fd();
        let mut buf = [0u8; 32 * 1024];
        if ready.first() == Some(&true) {
            match nix::unistd::read(mfd, &mut buf) {
                Ok(0) | Err(nix::Error::EIO) => self.master = None,
                Ok(n) => write_all(1, &buf[..n]),
                Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
                Err(_) => self.master = None,
            }
        }
        if ready.get(1) == Some(&true) && self.master.is_some() {
            match nix::unistd::read(0, &mut buf) {
                Ok(0) | Err(_) => {
                    // End of our input: let the program read end-of-file (VEOF, Ctrl-D).
                    self.stdin_open = false;
                    write_all(mfd, &[4]);
                }
                Ok(n) => {
                    let (data, detach) = self.keys.feed(&buf[..n]);
                    write_all(mfd, &data);
                    self.detached = detach;
                }
            }
        }
        Ok(())
    }

    /// After the container exited: copy what is still buffered in the pty.
    fn drain(&mut self) {
        let Some(m) = self.master.take() else { return };
        let fd = m.as_raw_fd();
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            )
        };
        let mut buf = [0u8; 32 * 1024];
        while let Ok(n) = nix::unistd::read(fd, &mut buf) {
            if n == 0 {
                break;
            }
            write_all(1, &buf[..n]);
        }
    }
}

fn write_all(fd: i32, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: fd is one of stdio or the master, open for the life of the relay.
        let b = unsafe { BorrowedFd::borrow_raw(fd) };
        match nix::unistd::write(b, data) {
            Ok(n) => data = &data[n..],
            Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => continue,
            Err(_) => return,
        }
    }
}
