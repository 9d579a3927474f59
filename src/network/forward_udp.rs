//! The UDP half of rctr's port forwarder. UDP has no connections to follow, so the relay keeps
//! one socket inside the container per client address, as docker-proxy and rootlessport do: the
//! container sees each client as a distinct peer and its replies find their way back. A client
//! silent for [`IDLE`] in both directions is forgotten, so a long-lived container that served
//! many clients (a DNS server, say) does not keep a socket for every one of them.
//!
//! One thread serves a published port and all its clients with poll(2); only creating a client's
//! socket needs the container's network namespace (see `forward::start`).

use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a client may stay silent before its relay socket is closed: docker-proxy's UDP
/// connection-tracking timeout.
pub const IDLE: Duration = Duration::from_secs(90);

/// How often the relay looks at the stop flag while nothing arrives.
const TICK: Duration = Duration::from_millis(200);

/// The largest datagram (a UDP payload fits in 64 KiB).
const MAX_DATAGRAM: usize = 65536;

struct Client {
    peer: SocketAddr,
    sock: UdpSocket,
    last: Instant,
}

/// Relays datagrams between the host socket and per-client sockets made by `connect` (each
/// connected to the container's port), until `stop` is set.
pub fn run(host: UdpSocket, stop: &AtomicBool, connect: impl Fn() -> std::io::Result<UdpSocket>) {
    let mut relay = Relay::new(host, IDLE);
    while !stop.load(Ordering::SeqCst) {
        relay.turn(TICK, &connect);
    }
}

/// The relay's state: the host socket and the clients it has seen recently.
struct Relay {
    host: UdpSocket,
    clients: Vec<Client>,
    idle: Duration,
    buf: Vec<u8>,
}

impl Relay {
    /// A relay on `host` that forgets clients silent for `idle`.
    fn new(host: UdpSocket, idle: Duration) -> Relay {
        let _ = host.set_nonblocking(true);
        Relay {
            host,
            clients: Vec::new(),
            idle,
            buf: vec![0; MAX_DATAGRAM],
        }
    }

    /// How many clients have a relay socket.
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Waits up to `wait` for datagrams, relays every one that arrived, and forgets idle
    /// clients. A datagram that cannot be relayed (the container's port is closed, a socket
    /// cannot be made) is dropped, as the network would drop it.
    fn turn(&mut self, wait: Duration, connect: &impl Fn() -> std::io::Result<UdpSocket>) {
        let ready = self.wait(wait);
        if ready.first() == Some(&true) {
            self.relay_host_datagrams(connect);
        }
        let now = Instant::now();
        for (i, r) in ready.iter().skip(1).enumerate() {
            if *r {
                let c = &mut self.clients[i];
                c.last = now;
                while let Ok(n) = c.sock.recv(&mut self.buf) {
                    let _ = self.host.send_to(&self.buf[..n], c.peer);
                }
            }
        }
        let idle = self.idle;
        self.clients.retain(|c| now.duration_since(c.last) < idle);
    }

    /// Which of the host socket and the client sockets (in that order) are readable.
    fn wait(&self, wait: Duration) -> Vec<bool> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        let mut fds: Vec<PollFd> = std::iter::once(self.host.as_fd())
            .chain(self.clients.iter().map(|c| c.sock.as_fd()))
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        if poll(&mut fds, timeout).is_err() {
            return vec![false; fds.len()];
        }
        fds.iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect()
    }

    fn relay_host_datagrams(&mut self, connect: &impl Fn() -> std::io::Result<UdpSocket>) {
        loop {
            let (n, peer) = match self.host.recv_from(&mut self.buf) {
                Ok(got) => got,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            let now = Instant::now();
            let i = match self.clients.iter().position(|c| c.peer == peer) {
                Some(i) => i,
                None => {
                    let Ok(sock) = connect() else { continue };
                    let _ = sock.set_nonblocking(true);
                    self.clients.push(Client {
                        peer,
                        sock,
                        last: now,
                    });
                    self.clients.len() - 1
                }
            };
            let c = &mut self.clients[i];
            c.last = now;
            let _ = c.sock.send(&self.buf[..n]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for the container's service: echoes every datagram, prefixed with "re:".
    fn echo_server() -> (SocketAddr, std::thread::JoinHandle<()>) {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let addr = s.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            let mut b = [0u8; 512];
            while let Ok((n, from)) = s.recv_from(&mut b) {
                if &b[..n] == b"quit" {
                    return;
                }
                let mut reply = b"re:".to_vec();
                reply.extend_from_slice(&b[..n]);
                s.send_to(&reply, from).unwrap();
            }
        });
        (addr, t)
    }

    fn client() -> UdpSocket {
        let c = UdpSocket::bind("127.0.0.1:0").unwrap();
        c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        c
    }

    /// Turns the relay until `done` holds (or a few seconds pass).
    fn turn_until(
        relay: &mut Relay,
        connect: &impl Fn() -> std::io::Result<UdpSocket>,
        done: impl Fn(&Relay) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !done(relay) && Instant::now() < deadline {
            relay.turn(Duration::from_millis(20), connect);
        }
    }

    #[test]
    fn each_client_gets_its_own_replies_and_idle_clients_are_forgotten() {
        let (service, server) = echo_server();
        let connect = || {
            let s = UdpSocket::bind("127.0.0.1:0")?;
            s.connect(service)?;
            Ok(s)
        };
        let host = UdpSocket::bind("127.0.0.1:0").unwrap();
        let published = host.local_addr().unwrap();
        let mut relay = Relay::new(host, Duration::from_millis(300));
        let (a, b) = (client(), client());
        a.send_to(b"from a", published).unwrap();
        b.send_to(b"from b", published).unwrap();
        turn_until(&mut relay, &connect, |r| r.clients() == 2);
        let mut buf = [0u8; 64];
        // The replies come back through the relay, each to the client that asked.
        for (sock, want) in [(&a, &b"re:from a"[..]), (&b, &b"re:from b"[..])] {
            let mut got = None;
            for _ in 0..100 {
                relay.turn(Duration::from_millis(20), &connect);
                sock.set_nonblocking(true).unwrap();
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    got = Some((buf[..n].to_vec(), from));
                    break;
                }
            }
            let (data, from) = got.expect("a reply through the relay");
            assert_eq!(data, want);
            assert_eq!(from, published, "replies come from the published port");
        }
        // The same client reuses its socket.
        a.send_to(b"again", published).unwrap();
        relay.turn(Duration::from_millis(100), &connect);
        assert_eq!(relay.clients(), 2);
        // Silence forgets both.
        turn_until(&mut relay, &connect, |r| r.clients() == 0);
        assert_eq!(relay.clients(), 0, "idle clients are forgotten");
        // A forgotten client that speaks again gets a new socket.
        b.send_to(b"back", published).unwrap();
        turn_until(&mut relay, &connect, |r| r.clients() == 1);
        assert_eq!(relay.clients(), 1);
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .send_to(b"quit", service)
            .unwrap();
        server.join().unwrap();
    }

    #[test]
    fn run_returns_once_stopped() {
        let host = UdpSocket::bind("127.0.0.1:0").unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let t = std::thread::spawn(move || {
            run(host, &s, || Err(std::io::Error::other("no container")));
        });
        stop.store(true, Ordering::SeqCst);
        t.join().unwrap();
    }
}
