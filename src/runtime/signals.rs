//! Signals rctr proxies to the container while it runs in the foreground, as podman's
//! `--sig-proxy` does: everything a user or a supervisor may send, except those that concern
//! rctr's own bookkeeping (SIGCHLD, SIGWINCH handled separately, SIGPIPE, SIGURG) or cannot be
//! caught.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// The signals forwarded to the container.
pub const FORWARDED: &[Signal] = &[
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGALRM,
    Signal::SIGCONT,
    Signal::SIGTSTP,
    Signal::SIGPROF,
    Signal::SIGVTALRM,
    Signal::SIGXCPU,
    Signal::SIGXFSZ,
    Signal::SIGIO,
    Signal::SIGPWR,
    Signal::SIGSYS,
    Signal::SIGTRAP,
];

/// Blocks the forwarded signals, SIGCHLD and SIGWINCH and reads them from a signalfd. The old
/// mask comes back on drop. Created before the container is launched so that no signal is lost
/// in between; the child clears the inherited mask first thing.
pub struct Watcher {
    pub fd: SignalFd,
    old: SigSet,
}

impl Watcher {
    pub fn new() -> nix::Result<Watcher> {
        let mut set = SigSet::empty();
        for s in FORWARDED {
            set.add(*s);
        }
        set.add(Signal::SIGCHLD);
        set.add(Signal::SIGWINCH);
        let mut old = SigSet::empty();
        nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), Some(&mut old))?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(Watcher { fd, old })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.old), None);
    }
}
