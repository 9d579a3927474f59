//! The monitor's side of the attach socket (see `attach_socket` for the protocol): it accepts
//! clients, copies the container's output to each of them as well as to the log, writes their
//! input to the container's pty or stdin pipe, applies their window size, and tells them the
//! exit code when the container exits.
//!
//! With `hold` (set for `run -it` and `start -a`, whose client connects right after the monitor
//! reports), the monitor reads no output and reports no exit until the first client is there,
//! so a container that prints and exits at once loses nothing. A client that never comes (its
//! `rctr` was killed) releases the hold after [`HOLD_LIMIT`].

use super::attach_socket::{self as proto};
use crate::container::logs::Stream;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, sockopt, SockFlag};
use nix::sys::time::TimeVal;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a held monitor waits for its first client.
const HOLD_LIMIT: Duration = Duration::from_secs(10);
/// A client that takes longer than this to accept output is disconnected, so one stuck client
/// cannot stall the container's output for everyone else (and the log).
const SEND_LIMIT: TimeVal = TimeVal::new(5, 0);
/// How long the monitor waits for a client to close after the exit code.
const CLOSE_LIMIT: TimeVal = TimeVal::new(1, 0);

/// Where the container's input goes.
pub struct Input {
    pub fd: OwnedFd,
    /// A pty master (resizable; end of input is not forwarded) rather than a pipe.
    pub tty: bool,
}

/// The attach socket's listener, its clients and the container's input.
pub struct Hub {
    path: PathBuf,
    listener: OwnedFd,
    clients: Vec<OwnedFd>,
    input: Option<Input>,
    hold_until: Option<Instant>,
}

impl Hub {
    /// A hub on the listening socket at `path` (see `attach_socket::listen`).
    pub fn new(path: PathBuf, listener: OwnedFd, input: Option<Input>, hold: bool) -> Hub {
        if let Some(i) = &input {
            // Input that nobody reads must never block the monitor: drop it instead.
            set_nonblocking(i.fd.as_raw_fd());
        }
        Hub {
            path,
            listener,
            clients: Vec::new(),
            input,
            hold_until: hold.then(|| Instant::now() + HOLD_LIMIT),
        }
    }

    /// Whether output and exit are held back for the first client.
    pub fn holding(&mut self) -> bool {
        match self.hold_until {
            Some(t) if self.clients.is_empty() && Instant::now() < t => true,
            Some(_) => {
                self.hold_until = None;
                false
            }
            None => false,
        }
    }

    /// The poll timeout: short while holding, so the hold limit is noticed.
    pub fn timeout(&self) -> PollTimeout {
        if self.hold_until.is_some() {
            PollTimeout::from(100u16)
        } else {
            PollTimeout::NONE
        }
    }

    /// Adds the listener, then each client, to a poll set.
    pub fn add_fds<'a>(&'a self, fds: &mut Vec<PollFd<'a>>) {
        fds.push(PollFd::new(self.listener.as_fd(), PollFlags::POLLIN));
        for c in &self.clients {
            fds.push(PollFd::new(c.as_fd(), PollFlags::POLLIN));
        }
    }

    /// Accepts new clients and handles client messages; `ready` matches `add_fds`.
    pub fn handle(&mut self, ready: &[bool]) {
        let mut gone = Vec::new();
        let mut buf = vec![0u8; proto::MAX_MSG];
        for (i, r) in ready.iter().enumerate().skip(1) {
            if !*r || i > self.clients.len() {
                continue;
            }
            let fd = self.clients[i - 1].as_raw_fd();
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) | Err(_) => gone.push(i - 1),
                Ok(n) => self.message(&buf[..n]),
            }
        }
        for i in gone.into_iter().rev() {
            self.clients.remove(i);
        }
        if ready.first() == Some(&true) {
            self.accept();
        }
    }

    fn accept(&mut self) {
        while let Ok(fd) = socket::accept4(self.listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC) {
            // SAFETY: accept4 returned a new descriptor that nothing else owns.
            let c = unsafe { OwnedFd::from_raw_fd(fd) };
            let _ = socket::setsockopt(&c, sockopt::SendTimeout, &SEND_LIMIT);
            self.clients.push(c);
        }
    }

    fn message(&mut self, msg: &[u8]) {
        let Some(input) = &self.input else { return };
        let fd = input.fd.as_raw_fd();
        match msg[0] {
            proto::IN_DATA => {
                // SAFETY: the input descriptor is open for the life of the hub.
                let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                let mut data = &msg[1..];
                while !data.is_empty() {
                    match nix::unistd::write(b, data) {
                        Ok(n) => data = &data[n..],
                        Err(nix::Error::EINTR) => {}
                        Err(_) => break,
                    }
                }
            }
            // A pipe is closed, so the container reads end-of-file; a pty stays (other clients
            // may still type) and gets VEOF (ctrl-d), as the direct `run -it` path sends.
            proto::IN_EOF if !input.tty => self.input = None,
            proto::IN_EOF => {
                // SAFETY: the input descriptor is open for the life of the hub.
                let b = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
                let _ = nix::unistd::write(b, &[4]);
            }
            proto::IN_RESIZE if input.tty && msg.len() >= 5 => {
                // SAFETY: winsize is plain data; TIOCSWINSZ reads it.
                unsafe {
                    let mut ws: libc::winsize = std::mem::zeroed();
                    ws.ws_row = u16::from_le_bytes([msg[1], msg[2]]);
                    ws.ws_col = u16::from_le_bytes([msg[3], msg[4]]);
                    libc::ioctl(fd, libc::TIOCSWINSZ, &ws);
                }
            }
            _ => {}
        }
    }

    /// Sends container output to every client; one that cannot take it is dropped.
    pub fn broadcast(&mut self, stream: Stream, data: &[u8]) {
        let kind = match stream {
            Stream::Stdout => proto::OUT_STDOUT,
            Stream::Stderr => proto::OUT_STDERR,
        };
        self.clients.retain(|c| proto::send(c, kind, data).is_ok());
    }

    /// Tells the clients the container's exit code and closes the socket.
    pub fn finish(&mut self, code: i32) {
        for c in self.clients.drain(..) {
            let _ = proto::send(&c, proto::OUT_EXIT, &code.to_le_bytes());
            // Closing a unix socket that has unread messages resets the connection, and the
            // peer loses what it has not read yet (the output, the exit code). So wait for
            // the client to close first, discarding its last input, for at most a moment.
            let _ = socket::shutdown(c.as_raw_fd(), socket::Shutdown::Write);
            let _ = socket::setsockopt(&c, sockopt::ReceiveTimeout, &CLOSE_LIMIT);
            let mut buf = [0u8; 512];
            while matches!(nix::unistd::read(c.as_raw_fd(), &mut buf), Ok(n) if n > 0) {}
        }
        let _ = std::fs::remove_file(&self.path);
    }

    /// Describes the hub for the re-executed monitor, keeping its descriptors open across exec.
    pub fn pass(&self) -> String {
        clear_cloexec(self.listener.as_raw_fd());
        let (input, kind) = match &self.input {
            Some(i) => {
                clear_cloexec(i.fd.as_raw_fd());
                (i.fd.as_raw_fd().to_string(), if i.tty { "t" } else { "i" })
            }
            None => ("-".into(), "-"),
        };
        format!(
            "a:{}:{input}:{kind}:{}:{}",
            self.listener.as_raw_fd(),
            u8::from(self.hold_until.is_some()),
            self.path.display()
        )
    }

    /// The hub `pass` described, in the re-executed monitor; None for anything else.
    pub fn from_passed(s: &str) -> Option<Hub> {
        let mut f = s.strip_prefix("a:")?.splitn(5, ':');
        let listener: i32 = f.next()?.parse().ok()?;
        let input: Option<i32> = f.next()?.parse().ok();
        let tty = f.next()? == "t";
        let hold = f.next()? == "1";
        let path = PathBuf::from(f.next()?);
        // SAFETY: `pass` kept these descriptors open for us, and nothing else owns them.
        let take = |fd: i32| unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            OwnedFd::from_raw_fd(fd)
        };
        let input = input.map(|fd| Input { fd: take(fd), tty });
        Some(Hub::new(path, take(listener), input, hold))
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn clear_cloexec(fd: i32) {
    // SAFETY: fcntl on a descriptor the hub owns.
    unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
}

fn set_nonblocking(fd: i32) {
    // SAFETY: fcntl on a descriptor the hub owns.
    unsafe {
        libc::fcntl(
            fd,
            libc::F_SETFL,
            libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
        )
    };
}
