//! The per-container link set-up in raw rtnetlink, done by one forked child that `setns`es into
//! the shared namespace (veth with its peer moved into the container, on the bridge, up), then
//! into the container's (loopback up, address, link up, default route). That replaces two
//! `ip` execs on the path of every `run`. The caller must be single-threaded (fork).

use super::UserNetError;
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const IFLA_IFNAME: u16 = 3;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_PID: u16 = 19;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const IFF_UP: u32 = 1;

/// One container attachment's links (see the module docs).
pub struct VethPlan<'a> {
    pub bridge: &'a str,
    pub host_if: &'a str,
    pub ctr_if: &'a str,
    pub pid: i32,
    pub addr: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
}

/// A netlink message under construction; nested attributes are tracked by offset.
struct Msg(Vec<u8>);

impl Msg {
    fn new(kind: u16, flags: u16) -> Msg {
        let mut m = Msg(Vec::with_capacity(256));
        m.0.extend_from_slice(&0u32.to_ne_bytes());
        m.0.extend_from_slice(&kind.to_ne_bytes());
        m.0.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        m.0.extend_from_slice(&1u32.to_ne_bytes());
        m.0.extend_from_slice(&0u32.to_ne_bytes());
        m
    }

    fn ifinfo(&mut self, index: i32, flags: u32, change: u32) -> &mut Msg {
        self.0.extend_from_slice(&[0u8, 0]); // AF_UNSPEC, pad
        self.0.extend_from_slice(&0u16.to_ne_bytes());
        self.0.extend_from_slice(&index.to_ne_bytes());
        self.0.extend_from_slice(&flags.to_ne_bytes());
        self.0.extend_from_slice(&change.to_ne_bytes());
        self
    }

    fn pad(&mut self) {
        while !self.0.len().is_multiple_of(4) {
            self.0.push(0);
        }
    }

    fn attr(&mut self, kind: u16, data: &[u8]) -> &mut Msg {
        self.0
            .extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
        self.0.extend_from_slice(&kind.to_ne_bytes());
        self.0.extend_from_slice(data);
        self.pad();
        self
    }

    fn name(&mut self, kind: u16, s: &str) -> &mut Msg {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.attr(kind, &b)
    }

    /// Opens a nested attribute; close it with `end`.
    fn begin(&mut self, kind: u16) -> usize {
        let at = self.0.len();
        self.attr(kind, &[]);
        at
    }

    fn end(&mut self, at: usize) {
        let len = (self.0.len() - at) as u16;
        self.0[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn finish(&mut self) -> &[u8] {
        let len = self.0.len() as u32;
        self.0[0..4].copy_from_slice(&len.to_ne_bytes());
        &self.0
    }
}

/// A NETLINK_ROUTE socket in the current network namespace.
struct Socket(OwnedFd);

impl Socket {
    fn open() -> Result<Socket, String> {
        // SAFETY: plain socket(2); the descriptor is owned right away.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(format!(
                "netlink socket: {}",
                std::io::Error::last_os_error()
            ));
        }
        // SAFETY: fd was just returned by socket(2).
        Ok(Socket(unsafe { OwnedFd::from_raw_fd(fd) }))
    }

    /// Sends one request and waits for its acknowledgement.
    fn request(&self, what: &str, m: &mut Msg) -> Result<(), String> {
        let buf = m.finish();
        // SAFETY: buf is a valid slice for the duration of the call.
        let n = unsafe { libc::send(self.0.as_raw_fd(), buf.as_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(format!("{what}: {}", std::io::Error::last_os_error()));
        }
        let mut reply = [0u8; 4096];
        // SAFETY: reply is a valid, writable buffer of its length.
        let n = unsafe {
            libc::recv(
                self.0.as_raw_fd(),
                reply.as_mut_ptr().cast(),
                reply.len(),
                0,
            )
        };
        if n < 20 {
            return Err(format!("{what}: short netlink reply"));
        }
        let kind = u16::from_ne_bytes([reply[4], reply[5]]);
        let code = i32::from_ne_bytes([reply[16], reply[17], reply[18], reply[19]]);
        match (kind, code) {
            (NLMSG_ERROR, 0) => Ok(()),
            (NLMSG_ERROR, e) => Err(format!("{what}: {}", std::io::Error::from_raw_os_error(-e))),
            _ => Err(format!("{what}: unexpected netlink reply {kind}")),
        }
    }
}

fn index_of(name: &str) -> Result<i32, String> {
    let c = std::ffi::CString::new(name).map_err(|e| e.to_string())?;
    // SAFETY: c is a valid NUL-terminated string.
    match unsafe { libc::if_nametoindex(c.as_ptr()) } {
        0 => Err(format!("no interface `{name}`")),
        i => Ok(i as i32),
    }
}

fn link_up(s: &Socket, index: i32, what: &str) -> Result<(), String> {
    let mut m = Msg::new(RTM_NEWLINK, 0);
    m.ifinfo(index, IFF_UP, IFF_UP);
    s.request(what, &mut m)
}

/// The child's work: both namespaces, in order.
fn configure(shared: i32, ctr: i32, p: &VethPlan) -> Result<(), String> {
    // SAFETY: setns on descriptors the parent keeps open.
    if unsafe { libc::setns(shared, libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns: {}", std::io::Error::last_os_error()));
    }
    let s = Socket::open()?;
    let bridge = index_of(p.bridge)?;
    let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.ifinfo(0, IFF_UP, IFF_UP)
        .name(IFLA_IFNAME, p.host_if)
        .attr(IFLA_MASTER, &(bridge as u32).to_ne_bytes());
    let info = m.begin(IFLA_LINKINFO);
    m.name(IFLA_INFO_KIND, "veth");
    let data = m.begin(IFLA_INFO_DATA);
    let peer = m.begin(VETH_INFO_PEER);
    m.ifinfo(0, 0, 0)
        .name(IFLA_IFNAME, p.ctr_if)
        .attr(IFLA_NET_NS_PID, &(p.pid as u32).to_ne_bytes());
    m.end(peer);
    m.end(data);
    m.end(info);
    s.request(&format!("create veth {}", p.host_if), &mut m)?;
    drop(s);
    // SAFETY: as above.
    if unsafe { libc::setns(ctr, libc::CLONE_NEWNET) } != 0 {
        return Err(format!("setns: {}", std::io::Error::last_os_error()));
    }
    let s = Socket::open()?;
    link_up(&s, 1, "raise lo")?;
    let idx = index_of(p.ctr_if)?;
    let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
    m.0.extend_from_slice(&[libc::AF_INET as u8, p.prefix, 0, 0]);
    m.0.extend_from_slice(&(idx as u32).to_ne_bytes());
    m.attr(IFA_LOCAL, &p.addr.octets())
        .attr(IFA_ADDRESS, &p.addr.octets());
    s.request(&format!("address {}", p.ctr_if), &mut m)?;
    link_up(&s, idx, &format!("raise {}", p.ctr_if))?;
    if let Some(gw) = p.gateway {
        let mut m = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        // family, dst_len, src_len, tos, table main, proto boot, scope universe, unicast
        m.0.extend_from_slice(&[libc::AF_INET as u8, 0, 0, 0, 254, 3, 0, 1]);
        m.0.extend_from_slice(&0u32.to_ne_bytes());
        m.attr(RTA_GATEWAY, &gw.octets())
            .attr(RTA_OIF, &(idx as u32).to_ne_bytes());
        s.request("default route", &mut m)?;
    }
    Ok(())
}

/// Creates and configures the attachment `p` (see the module docs) from a forked child, so that
/// this process never leaves its own network namespace.
pub fn attach(shared: &impl AsRawFd, ctr: &impl AsRawFd, p: &VethPlan) -> Result<(), UserNetError> {
    let fail = |detail: String| UserNetError::Command {
        what: format!("attach `{}` to bridge {}", p.ctr_if, p.bridge),
        detail,
    };
    let (r, w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| fail(e.to_string()))?;
    let (sfd, cfd) = (shared.as_raw_fd(), ctr.as_raw_fd());
    // SAFETY: the caller is single-threaded; the child only runs `configure` and exits.
    match unsafe { nix::unistd::fork() }.map_err(|e| fail(e.to_string()))? {
        nix::unistd::ForkResult::Child => {
            drop(r);
            let msg = configure(sfd, cfd, p).err().unwrap_or_default();
            let mut w = std::fs::File::from(w);
            let _ = w.write_all(msg.as_bytes());
            // SAFETY: _exit skips the parent's destructors and atexit handlers.
            unsafe { libc::_exit(0) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            let mut msg = String::new();
            let _ = std::fs::File::from(r).read_to_string(&mut msg);
            let _ = nix::sys::wait::waitpid(child, None);
            match msg.is_empty() {
                true => Ok(()),
                false => Err(fail(msg)),
            }
        }
    }
}
