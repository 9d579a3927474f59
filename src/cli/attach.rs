//! `rctr attach`, and the attach session that `run -it` and `start -a` share with it.
//!
//! A detached container's monitor owns its pty or pipes and serves them on the attach socket
//! (`attach_socket`, `monitor_attach`). An attach session connects there, shows the output,
//! forwards stdin (the host terminal in raw mode, its size followed on SIGWINCH), proxies
//! signals, and ends in one of two ways: the container exits (the session returns its code) or
//! the user types the detach keys (default ctrl-p ctrl-q; the container keeps running).
//!
//! `run -it` is built the same way as in podman: a tty container is created, started under a
//! monitor that holds its output until the first client connects, and attached to. Detaching
//! then leaves the container running under its monitor, visible in `ps` and attachable again.
//! Runs without a tty keep the direct path (the container is rctr's own child, no monitor), so
//! `run --rm alpine true` stays as fast as it is.

use super::attach_socket::{self as proto};
use crate::container::state::{ContainerRecord, Containers, Status};
use crate::context::Context;
use crate::runtime::detach_keys::DetachMatcher;
use crate::runtime::signals::Watcher;
use crate::runtime::tty::{is_tty, RawMode};
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{ArgAction, Args};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

/// podman's default detach sequence.
pub const DEFAULT_DETACH_KEYS: &str = "ctrl-p,ctrl-q";

#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Keys to detach from the container (ctrl-<value> or single characters, comma-separated;
    /// empty disables detaching)
    #[arg(long, value_name = "KEYS", default_value = DEFAULT_DETACH_KEYS)]
    pub detach_keys: String,
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Proxy received signals to the container's process
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER", required_unless_present = "latest")]
    pub container: Option<String>,
}

/// `rctr attach`.
pub fn attach(ctx: &Context, args: AttachArgs) -> Result<i32> {
    let keys = parse_detach_keys(&args.detach_keys)?;
    let containers = Containers::open(&ctx.root)?;
    let name = super::pick::one(&ctx.root, args.latest.latest, args.container.clone())?;
    let rec = containers.lookup(&name)?;
    if containers.state(&rec.id)?.status != Status::Running {
        bail!(
            "you can only attach to running containers: container {} is not running",
            rec.name
        );
    }
    let stdin = !args.no_stdin && rec.options.interactive;
    session(ctx, &containers, &rec, stdin, &keys, args.sig_proxy)
}

/// Attaches to a container whose monitor was just started (`run -it`, `start -a`) or is running;
/// returns the container's exit code, or 0 after the user detached.
pub fn session(
    ctx: &Context,
    containers: &Containers,
    rec: &ContainerRecord,
    stdin: bool,
    detach_keys: &[u8],
    sig_proxy: bool,
) -> Result<i32> {
    let path = proto::path(&ctx.runroot, &rec.id);
    if !path.exists() {
        bail!(
            "container {} has no attach socket: only containers started under a monitor \
             (run -d, start, run -it) can be attached to",
            rec.name
        );
    }
    let sock = proto::connect(&path)?;
    let end = relay(
        &sock,
        Relay {
            stdin,
            tty: rec.options.tty,
            keys: detach_keys,
            sig_proxy,
            pid: &|| containers.state(&rec.id).ok().and_then(|s| s.container_pid),
        },
    )?;
    match end {
        End::Exited(code) => Ok(code),
        End::Detached => Ok(0),
        End::Signalled(sig) => Ok(128 + sig as i32),
        End::Lost => lost(containers, rec),
    }
}

/// The monitor closed the socket without an exit code (it was killed): the recorded code, once
/// the container is recorded as exited.
fn lost(containers: &Containers, rec: &ContainerRecord) -> Result<i32> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let st = containers.state(&rec.id)?.effective();
        if st.status != Status::Running {
            return Ok(st.exit_code.unwrap_or(crate::exit::FAILURE));
        }
        if Instant::now() > deadline {
            bail!(
                "lost the connection to the monitor of container {}",
                rec.name
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Parses podman's detach-keys syntax: comma-separated `ctrl-X` (X in a-z, @, [, \, ], ^, _)
/// or single characters. An empty string disables detaching.
pub fn parse_detach_keys(s: &str) -> Result<Vec<u8>> {
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || {
        anyhow!(
            "invalid detach keys `{s}`: use ctrl-<value> or single characters, separated by commas"
        )
    };
    s.split(',')
        .map(|k| {
            if let Some(c) = k.strip_prefix("ctrl-") {
                let &[b] = c.as_bytes() else {
                    return Err(bad());
                };
                match b {
                    b'a'..=b'z' => Ok(b - b'a' + 1),
                    b'@' => Ok(0),
                    b'[' => Ok(27),
                    b'\\' => Ok(28),
                    b']' => Ok(29),
                    b'^' => Ok(30),
                    b'_' => Ok(31),
                    _ => Err(bad()),
                }
            } else {
                match k.as_bytes() {
                    &[b] => Ok(b),
                    _ => Err(bad()),
                }
            }
        })
        .collect()
}

struct Relay<'a> {
    stdin: bool,
    tty: bool,
    keys: &'a [u8],
    sig_proxy: bool,
    pid: &'a dyn Fn() -> Option<i32>,
}

enum End {
    Exited(i32),
    Detached,
    Signalled(Signal),
    Lost,
}

fn relay(sock: &OwnedFd, r: Relay) -> Result<End> {
    let watcher = Watcher::new().context("cannot watch signals")?;
    let _raw = if r.tty && r.stdin && is_tty(0) {
        Some(RawMode::enter(0).context("cannot put the terminal into raw mode")?)
    } else {
        None
    };
    let host_tty = [0, 1].into_iter().find(|fd| is_tty(*fd));
    let send_size = || {
        if let (true, Some(t)) = (r.tty, host_tty) {
            // SAFETY: TIOCGWINSZ fills a properly sized winsize.
            let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
            if unsafe { libc::ioctl(t, libc::TIOCGWINSZ, &mut ws) } == 0 {
                let mut m = ws.ws_row.to_le_bytes().to_vec();
                m.extend_from_slice(&ws.ws_col.to_le_bytes());
                let _ = proto::send(sock, proto::IN_RESIZE, &m);
            }
        }
    };
    send_size();
    let mut matcher = DetachMatcher::new(r.keys);
    let mut stdin_open = r.stdin;
    let mut buf = vec![0u8; proto::MAX_MSG];
    loop {
        // SAFETY: stdin stays open for the life of the process.
        let stdin_fd = unsafe { BorrowedFd::borrow_raw(0) };
        let mut fds = vec![
            PollFd::new(watcher.fd.as_fd(), PollFlags::POLLIN),
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
        ];
        if stdin_open {
            fds.push(PollFd::new(stdin_fd, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(e).context("cannot wait for the attach socket"),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|x| !x.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            while let Ok(Some(info)) = watcher.fd.read_signal() {
                let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
                    continue;
                };
                match sig {
                    Signal::SIGCHLD => {}
                    Signal::SIGWINCH => send_size(),
                    s if r.sig_proxy => {
                        if let Some(p) = (r.pid)() {
                            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), s);
                        }
                    }
                    s @ (Signal::SIGINT | Signal::SIGTERM | Signal::SIGHUP) => {
                        return Ok(End::Signalled(s))
                    }
                    _ => {}
                }
            }
        }
        if ready[1] {
            match nix::unistd::read(sock.as_raw_fd(), &mut buf) {
                Ok(0) => return Ok(End::Lost),
                Ok(n) => match buf[0] {
                    proto::OUT_STDOUT => write_all(1, &buf[1..n]),
                    proto::OUT_STDERR => write_all(2, &buf[1..n]),
                    proto::OUT_EXIT if n >= 5 => {
                        return Ok(End::Exited(i32::from_le_bytes([
                            buf[1], buf[2], buf[3], buf[4],
                        ])))
                    }
                    _ => {}
                },
                Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
                Err(_) => return Ok(End::Lost),
            }
        }
        if ready.get(2) == Some(&true) {
            match nix::unistd::read(0, &mut buf[..proto::MAX_MSG - 1]) {
                Ok(0) | Err(_) => {
                    stdin_open = false;
                    let _ = proto::send(sock, proto::IN_EOF, &[]);
                }
                Ok(n) => {
                    let (data, detach) = matcher.feed(&buf[..n]);
                    if !data.is_empty() {
                        let _ = proto::send(sock, proto::IN_DATA, &data);
                    }
                    if detach {
                        return Ok(End::Detached);
                    }
                }
            }
        }
    }
}

fn write_all(fd: i32, mut data: &[u8]) {
    // SAFETY: stdout and stderr are open for the life of the process.
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    while !data.is_empty() {
        match nix::unistd::write(b, data) {
            Ok(n) => data = &data[n..],
            Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detach_keys_parse_as_podman_does() {
        assert_eq!(parse_detach_keys("ctrl-p,ctrl-q").unwrap(), vec![16, 17]);
        assert_eq!(
            parse_detach_keys("ctrl-@,ctrl-[,a").unwrap(),
            vec![0, 27, b'a']
        );
        assert!(parse_detach_keys("").unwrap().is_empty());
        assert!(parse_detach_keys("ctrl-").is_err());
        assert!(parse_detach_keys("ctrl-pq").is_err());
        assert!(parse_detach_keys("ab").is_err());
    }

    #[test]
    fn the_matcher_holds_partial_sequences_and_releases_mismatches() {
        let keys = [16, 17];
        let mut m = DetachMatcher::new(&keys);
        assert_eq!(m.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(m.feed(b"x"), (b"\x10x".to_vec(), false));
        assert_eq!(m.feed(b"\x10\x10"), (b"\x10".to_vec(), false));
        assert_eq!(m.feed(b"\x11rest"), (Vec::new(), true));
        let mut none = DetachMatcher::new(&[]);
        assert_eq!(none.feed(b"\x10\x11"), (b"\x10\x11".to_vec(), false));
    }
}
