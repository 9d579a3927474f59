//! The sync socket between rctr and the container child: a SOCK_SEQPACKET pair, so each message
//! keeps its boundary, and file descriptors (the pty master) can ride along with SCM_RIGHTS.
//! Both ends are close-on-exec: the parent sees end-of-file exactly when the child's execve
//! succeeds (or the child dies), which is how success is told apart from a reported error.

use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The child may start: the parent wrote the id maps of its user namespace.
pub const MAPPED: u8 = b'M';
/// The child finished its set-up and waits for [`GO`].
pub const READY: u8 = b'R';
/// The child sends the pty master (attached as SCM_RIGHTS).
pub const PTY: u8 = b'T';
/// The parent lets the child exec.
pub const GO: u8 = b'G';
/// The child failed; the payload is a JSON [`super::error::ChildError`].
pub const ERROR: u8 = b'E';
/// End of file: the peer closed its end (exec succeeded, or it died).
pub const EOF: u8 = 0;

/// One end of the sync socket.
pub struct SyncSocket {
    fd: OwnedFd,
}

/// A received message.
pub struct Message {
    pub tag: u8,
    pub payload: Vec<u8>,
    pub fd: Option<OwnedFd>,
}

impl SyncSocket {
    /// A connected pair (parent end, child end).
    pub fn pair() -> io::Result<(SyncSocket, SyncSocket)> {
        let (a, b) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )?;
        Ok((SyncSocket { fd: a }, SyncSocket { fd: b }))
    }

    /// Sends `tag` followed by `payload`, with `fd` attached when given.
    pub fn send(&self, tag: u8, payload: &[u8], fd: Option<RawFd>) -> io::Result<()> {
        let mut buf = Vec::with_capacity(1 + payload.len());
        buf.push(tag);
        buf.extend_from_slice(payload);
        let iov = [IoSlice::new(&buf)];
        let fds = fd.map(|f| [f]);
        let cmsgs: Vec<ControlMessage> = fds.iter().map(|f| ControlMessage::ScmRights(f)).collect();
        loop {
            match sendmsg::<()>(
                self.fd.as_raw_fd(),
                &iov,
                &cmsgs,
                MsgFlags::MSG_NOSIGNAL,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receives one message; a closed peer gives tag [`EOF`].
    pub fn recv(&self) -> io::Result<Message> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        loop {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let res = recvmsg::<()>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            );
            let msg = match res {
                Ok(m) => m,
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(e.into()),
            };
            let mut fd = None;
            for c in msg.cmsgs()? {
                if let ControlMessageOwned::ScmRights(list) = c {
                    for raw in list {
                        // SAFETY: the kernel just installed this descriptor for us.
                        let owned = unsafe { OwnedFd::from_raw_fd(raw) };
                        fd.get_or_insert(owned);
                    }
                }
            }
            let n = msg.bytes;
            if n == 0 {
                return Ok(Message {
                    tag: EOF,
                    payload: Vec::new(),
                    fd,
                });
            }
            buf.truncate(n);
            let payload = buf.split_off(1);
            return Ok(Message {
                tag: buf[0],
                payload,
                fd,
            });
        }
    }
}
