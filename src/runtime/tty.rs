//! Terminals. In the child: a pty from the container's own devpts instance (so the container's
//! /dev/pts lists it and its owner is a container id), made the controlling terminal of the
//! container process. In the parent: raw mode for the host terminal, restored on drop, and
//! window-size copying.

use super::error::ChildError;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// TIOCGPTPEER from linux/tty.h (Linux 4.13): opens the peer of a master without a path lookup.
const TIOCGPTPEER: libc::c_ulong = 0x5441;

/// A pty opened in the container: the master goes to the parent, the slave becomes stdio.
pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

fn os(what: &str) -> ChildError {
    ChildError::os(
        "tty",
        "/dev/pts/ptmx",
        what.to_string(),
        std::io::Error::last_os_error(),
    )
}

/// Opens a new pty through `/dev/pts/ptmx` (after pivot_root, so it is the container's devpts).
pub fn open_in_container() -> Result<Pty, ChildError> {
    // SAFETY: plain syscalls on a valid path and on descriptors we own.
    unsafe {
        let m = libc::open(
            c"/dev/pts/ptmx".as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if m < 0 {
            return Err(os("cannot open a pty in the container's /dev/pts"));
        }
        let master = OwnedFd::from_raw_fd(m);
        let unlock: libc::c_int = 0;
        if libc::ioctl(m, libc::TIOCSPTLCK, &unlock) < 0 {
            return Err(os("cannot unlock the pty"));
        }
        let s = libc::ioctl(
            m,
            TIOCGPTPEER as _,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if s < 0 {
            return Err(os("cannot open the pty's slave"));
        }
        Ok(Pty {
            master,
            slave: OwnedFd::from_raw_fd(s),
        })
    }
}

/// Bind-mounts the pty's slave onto /dev/console, as podman and crun do for `-t`: programs that
/// write to the console (init systems, getty) then reach the user's terminal.
pub fn bind_console(pty: &Pty) -> Result<(), ChildError> {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes the pty number into `n`.
    if unsafe { libc::ioctl(pty.master.as_raw_fd(), libc::TIOCGPTN, &mut n) } < 0 {
        return Err(os("cannot read the pty's number"));
    }
    let slave = format!("/dev/pts/{n}");
    let what = || format!("cannot bind-mount `{slave}` on `/dev/console`");
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open("/dev/console")
        .map_err(|e| ChildError::os("tty", "/dev/console", what(), e))?;
    nix::mount::mount(
        Some(slave.as_str()),
        "/dev/console",
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| ChildError::os("tty", "/dev/console", what(), std::io::Error::from(e)))
}

/// Makes `slave` the controlling terminal (the caller already called setsid) and stdio.
pub fn make_stdio(slave: &OwnedFd) -> Result<(), ChildError> {
    let fd = slave.as_raw_fd();
    // SAFETY: ioctl and dup2 on descriptors we own.
    unsafe {
        if libc::ioctl(fd, libc::TIOCSCTTY, 0) < 0 {
            return Err(os("cannot make the pty the controlling terminal"));
        }
        for target in 0..3 {
            if libc::dup2(fd, target) < 0 {
                return Err(os("cannot make the pty the standard streams"));
            }
        }
    }
    Ok(())
}

/// The host terminal in raw mode; the saved settings come back on drop, on every exit path.
pub struct RawMode {
    fd: RawFd,
    saved: nix::sys::termios::Termios,
}

impl RawMode {
    /// Puts `fd` (a terminal) into raw mode.
    pub fn enter(fd: RawFd) -> std::io::Result<RawMode> {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        // SAFETY: the caller passes an open descriptor that outlives the guard (stdin).
        let b = unsafe { BorrowedFd::borrow_raw(fd) };
        let saved = tcgetattr(b)?;
        let mut raw = saved.clone();
        cfmakeraw(&mut raw);
        tcsetattr(b, SetArg::TCSANOW, &raw)?;
        Ok(RawMode { fd, saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        use nix::sys::termios::{tcsetattr, SetArg};
        // SAFETY: see `enter`.
        let b = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let _ = tcsetattr(b, SetArg::TCSANOW, &self.saved);
    }
}

/// Copies the window size of terminal `from` to the pty master `to`; a no-op when `from` is no
/// terminal.
pub fn copy_winsize(from: RawFd, to: RawFd) {
    // SAFETY: ioctls with a properly sized winsize struct.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(from, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to, libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Whether `fd` is a terminal.
pub fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty has no preconditions.
    unsafe { libc::isatty(fd) == 1 }
}
