//! `-p [ip:][hostPort:]containerPort[/tcp|/udp]`: the published ports of a container, parsed
//! and with random host ports chosen when the container is created, so `rctr port` can show them.

use super::NetworkError;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, TcpListener, UdpSocket};

/// TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        })
    }
}

/// One published port: the host address and port that forward to a container port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortMapping {
    pub host_ip: IpAddr,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl PortMapping {
    /// Where the forwarder listens. Without an address (`0.0.0.0`, podman's default) it serves
    /// both families: one dual-stack socket on `[::]`, unless the host makes IPv6 sockets
    /// v6-only (net.ipv6.bindv6only=1) or has no IPv6, where it stays on `0.0.0.0`.
    pub fn listen_addrs(&self) -> Vec<std::net::SocketAddr> {
        let v4 = std::net::SocketAddr::new(self.host_ip, self.host_port);
        if self.host_ip != IpAddr::from([0, 0, 0, 0]) {
            return vec![v4];
        }
        let v6only = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only")
            .map(|s| s.trim() != "0")
            .unwrap_or(true);
        let mut out = vec![];
        if !v6only {
            out.push(std::net::SocketAddr::new(
                IpAddr::from([0u16; 8]),
                self.host_port,
            ));
        }
        out.push(v4);
        out
    }
}

impl std::fmt::Display for PortMapping {
    /// podman's `rctr port` line: `80/tcp -> 0.0.0.0:8080`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let host = std::net::SocketAddr::new(self.host_ip, self.host_port);
        write!(f, "{}/{} -> {host}", self.container_port, self.protocol)
    }
}

fn bad(spec: &str, why: &str) -> NetworkError {
    NetworkError::BadOption {
        option: format!("--publish {spec}"),
        why: why.into(),
    }
}

/// `N` or `N-M`, as an inclusive range.
fn range(spec: &str, s: &str) -> Result<(u16, u16), NetworkError> {
    let num = |v: &str| match v.parse::<u16>() {
        Ok(0) | Err(_) => Err(bad(spec, &format!("`{v}` is not a port number (1-65535)"))),
        Ok(n) => Ok(n),
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(s)?, num(s)?),
    };
    if b < a {
        return Err(bad(spec, &format!("the range `{s}` ends before it starts")));
    }
    Ok((a, b))
}

/// Parses one `-p` value into its mappings (a range gives one per port). A missing host port
/// stays 0 until `choose_random_ports`.
pub fn parse(spec: &str) -> Result<Vec<PortMapping>, NetworkError> {
    let (rest, protocol) = match spec.rsplit_once('/') {
        Some((r, "tcp")) => (r, Protocol::Tcp),
        Some((r, "udp")) => (r, Protocol::Udp),
        Some((_, p)) => {
            return Err(bad(
                spec,
                &format!("unknown protocol `{p}`: use tcp or udp"),
            ))
        }
        None => (spec, Protocol::Tcp),
    };
    let form = || bad(spec, "expected [IP:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]");
    // An IPv6 address is written in brackets: `[::1]:8080:80`.
    let (ip, rest) = match rest.strip_prefix('[') {
        Some(r) => {
            let (ip, after) = r.split_once(']').ok_or_else(form)?;
            (Some(ip), after.strip_prefix(':').ok_or_else(form)?)
        }
        None => (None, rest),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, cont) = match (ip, &parts[..]) {
        (None, [c]) => ("", "", *c),
        (None, [h, c]) => ("", *h, *c),
        (Some(i), [h, c]) => (i, *h, *c),
        (None, [i, h, c]) => (*i, *h, *c),
        _ => return Err(form()),
    };
    let host_ip: IpAddr = match ip {
        "" => IpAddr::from([0, 0, 0, 0]),
        i => i
            .parse()
            .map_err(|_| bad(spec, &format!("`{i}` is not an IP address")))?,
    };
    let (c0, c1) = range(spec, cont)?;
    let hosts = match host {
        "" => None,
        h => Some(range(spec, h)?),
    };
    if let Some((h0, h1)) = hosts {
        if h1 - h0 != c1 - c0 {
            return Err(bad(
                spec,
                "the host and container port ranges differ in length",
            ));
        }
    }
    Ok((c0..=c1)
        .map(|c| PortMapping {
            host_ip,
            host_port: hosts.map_or(0, |(h0, _)| h0 + (c - c0)),
            container_port: c,
            protocol,
        })
        .collect())
}

/// Parses an exposed port as in the image's ExposedPorts or `--expose`: `80`, `80/udp`,
/// `8000-8002/tcp`. `what` names where it came from in errors.
pub fn parse_exposed(spec: &str, what: &str) -> Result<Vec<(u16, Protocol)>, NetworkError> {
    let bad = |why: String| NetworkError::BadOption {
        option: format!("{what} {spec}"),
        why,
    };
    let (ports, protocol) = match spec.rsplit_once('/') {
        Some((p, "tcp")) => (p, Protocol::Tcp),
        Some((p, "udp")) => (p, Protocol::Udp),
        Some((_, p)) => return Err(bad(format!("unknown protocol `{p}`: use tcp or udp"))),
        None => (spec, Protocol::Tcp),
    };
    let (a, b) = range(spec, ports).map_err(|e| bad(e.to_string()))?;
    Ok((a..=b).map(|p| (p, protocol)).collect())
}

/// `-P`: adds a mapping with a random host port for each exposed port (from the image's
/// ExposedPorts and `--expose`) that `-p` does not already publish.
pub fn publish_exposed(
    ports: &mut Vec<PortMapping>,
    image_exposed: &[String],
    expose: &[String],
) -> Result<(), NetworkError> {
    let mut add = vec![];
    for e in image_exposed {
        add.extend(parse_exposed(e, "the image's ExposedPorts")?);
    }
    for e in expose {
        add.extend(parse_exposed(e, "--expose")?);
    }
    for (port, protocol) in add {
        let published = ports
            .iter()
            .any(|p| p.container_port == port && p.protocol == protocol);
        if !published {
            ports.push(PortMapping {
                host_ip: IpAddr::from([0, 0, 0, 0]),
                host_port: 0,
                container_port: port,
                protocol,
            });
        }
    }
    choose_random_ports(ports)
}

/// Gives each mapping without a host port a free one, as podman does when the container is
/// created (the kernel picks it; there is a small window before the container binds it).
pub fn choose_random_ports(ports: &mut [PortMapping]) -> Result<(), NetworkError> {
    for p in ports.iter_mut().filter(|p| p.host_port == 0) {
        let addr = (p.host_ip, 0);
        let port = match p.protocol {
            Protocol::Tcp => TcpListener::bind(addr).and_then(|l| l.local_addr()),
            Protocol::Udp => UdpSocket::bind(addr).and_then(|s| s.local_addr()),
        }
        .map_err(|e| NetworkError::Bind {
            what: format!("a random {} port on {}", p.protocol, p.host_ip),
            detail: e.to_string(),
        })?
        .port();
        p.host_port = port;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_all_adds_each_exposed_port_once() {
        let mut ports = parse("8080:80").unwrap();
        publish_exposed(
            &mut ports,
            &["80/tcp".into(), "53/udp".into()],
            &["9000-9001".into()],
        )
        .unwrap();
        let list: Vec<_> = ports
            .iter()
            .map(|p| (p.container_port, p.protocol))
            .collect();
        assert_eq!(
            list,
            [
                (80, Protocol::Tcp),
                (53, Protocol::Udp),
                (9000, Protocol::Tcp),
                (9001, Protocol::Tcp)
            ]
        );
        assert!(ports.iter().all(|p| p.host_port != 0));
        assert!(parse_exposed("80/sctp", "--expose").is_err());
        assert!(parse_exposed("x", "--expose").is_err());
    }

    #[test]
    fn parses_podman_forms() {
        let p = parse("8080:80").unwrap();
        assert_eq!(p[0].to_string(), "80/tcp -> 0.0.0.0:8080");
        let p = parse("127.0.0.1:5353:53/udp").unwrap();
        assert_eq!(p[0].to_string(), "53/udp -> 127.0.0.1:5353");
        let p = parse("9000-9001:80-81").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].to_string(), "81/tcp -> 0.0.0.0:9001");
        assert_eq!(parse("80").unwrap()[0].host_port, 0);
        assert_eq!(parse("127.0.0.1::80").unwrap()[0].host_port, 0);
        let p = parse("[::1]:8080:80/udp").unwrap();
        assert_eq!(p[0].host_ip.to_string(), "::1");
        assert_eq!((p[0].host_port, p[0].container_port), (8080, 80));
        assert_eq!(parse("[::]::80").unwrap()[0].host_port, 0);
        for bad in [
            "x",
            "80/sctp",
            "1:2:3:4",
            "0",
            "70000",
            "9000-9002:80-81",
            "5-3",
            "[::1]8080:80",
            "[::1:80",
            "[nope]:1:2",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
