//! The attach socket of a monitored container, shared by the monitor (server, see
//! `monitor_attach`) and `attach`, `run -it` and `start -a` (clients, see `attach`).
//!
//! Like conmon's attach socket, it is a `SOCK_SEQPACKET` unix socket in the runtime directory
//! (`$XDG_RUNTIME_DIR/rctr/attach/<id>`): each message keeps its boundaries, so a one-byte kind
//! prefix is all the framing needed. Clients send [`IN_DATA`], [`IN_EOF`] and [`IN_RESIZE`];
//! the monitor sends [`OUT_STDOUT`], [`OUT_STDERR`] and finally [`OUT_EXIT`] with the exit code.
//! Unix socket paths are limited to 108 bytes, so both sides reach the socket through an
//! `O_PATH` descriptor of its directory (`/proc/self/fd/N/<id>`), whatever the runroot's length.

use anyhow::{Context as _, Result};
use nix::sys::socket::{self, AddressFamily, Backlog, SockFlag, SockType, UnixAddr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Client → monitor: bytes for the container's stdin.
pub const IN_DATA: u8 = 0;
/// Client → monitor: the client's stdin ended (closes a pipe stdin; a pty gets VEOF).
pub const IN_EOF: u8 = 1;
/// Client → monitor: the terminal size, rows then columns, as two little-endian u16.
pub const IN_RESIZE: u8 = 2;
/// Monitor → client: container output on stdout (or the pty).
pub const OUT_STDOUT: u8 = 1;
/// Monitor → client: container output on stderr.
pub const OUT_STDERR: u8 = 2;
/// Monitor → client: the container exited; an i32 little-endian exit code follows.
pub const OUT_EXIT: u8 = 3;
/// The largest message either side sends (kind byte included).
pub const MAX_MSG: usize = 32 * 1024 + 1;

/// Where the attach socket of container `id` lives.
pub fn path(runroot: &Path, id: &str) -> PathBuf {
    runroot.join("attach").join(id)
}

/// The socket's directory held open, and a short path to the socket through it.
struct ShortPath {
    _dir: OwnedFd,
    addr: UnixAddr,
}

fn short_path(path: &Path) -> Result<ShortPath> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or_default();
    let fd = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .with_context(|| format!("cannot open `{}`", dir.display()))?;
    // SAFETY: `open` returned a new descriptor that nothing else owns.
    let dir_fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let short = Path::new("/proc/self/fd")
        .join(dir_fd.as_raw_fd().to_string())
        .join(name);
    let addr = UnixAddr::new(&short)
        .with_context(|| format!("invalid socket path `{}`", path.display()))?;
    Ok(ShortPath { _dir: dir_fd, addr })
}

/// Creates the listening socket (replacing a stale one), non-blocking and close-on-exec.
pub fn listen(path: &Path) -> Result<OwnedFd> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let _ = std::fs::remove_file(path);
    let sock = socket::socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
        None,
    )
    .context("cannot create the attach socket")?;
    let sp = short_path(path)?;
    socket::bind(sock.as_raw_fd(), &sp.addr)
        .with_context(|| format!("cannot bind the attach socket `{}`", path.display()))?;
    socket::listen(&sock, Backlog::new(16).unwrap_or(Backlog::MAXCONN))
        .with_context(|| format!("cannot listen on `{}`", path.display()))?;
    Ok(sock)
}

/// Connects to the attach socket at `path` (blocking, close-on-exec).
pub fn connect(path: &Path) -> Result<OwnedFd> {
    let sock = socket::socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .context("cannot create a socket")?;
    let sp = short_path(path)?;
    socket::connect(sock.as_raw_fd(), &sp.addr)
        .with_context(|| format!("cannot connect to the attach socket `{}`", path.display()))?;
    Ok(sock)
}

/// Sends `data` as messages of `kind` (split at [`MAX_MSG`]; empty data is one bare message).
pub fn send(fd: &OwnedFd, kind: u8, data: &[u8]) -> nix::Result<()> {
    let empty: &[u8] = &[];
    let parts = data
        .chunks(MAX_MSG - 1)
        .chain(data.is_empty().then_some(empty));
    for part in parts {
        let mut msg = Vec::with_capacity(part.len() + 1);
        msg.push(kind);
        msg.extend_from_slice(part);
        loop {
            match socket::send(fd.as_raw_fd(), &msg, socket::MsgFlags::MSG_NOSIGNAL) {
                Ok(_) => break,
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_runroots_still_bind_and_messages_keep_their_boundaries() {
        let d = tempfile::tempdir().unwrap();
        let deep = d.path().join("x".repeat(90)).join("y".repeat(90));
        let p = path(&deep, &"a".repeat(64));
        let l = listen(&p).unwrap();
        let c = connect(&p).unwrap();
        let s = socket::accept4(l.as_raw_fd(), SockFlag::SOCK_CLOEXEC).unwrap();
        // SAFETY: accept4 returned a new descriptor.
        let s = unsafe { OwnedFd::from_raw_fd(s) };
        send(&c, IN_DATA, b"hello").unwrap();
        send(&c, IN_RESIZE, &[1, 0, 2, 0]).unwrap();
        let mut buf = [0u8; 64];
        let n = nix::unistd::read(s.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"\0hello");
        let n = nix::unistd::read(s.as_raw_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], &[IN_RESIZE, 1, 0, 2, 0]);
    }
}
