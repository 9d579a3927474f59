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

impl std::fmt::Display for PortMapping {
    /// podman's `rctr port` line: `80/tcp -> 0.0.0.0:8080`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} -> {}:{}",
            self.container_port, self.protocol, self.host_ip, self.host_port
        )
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
    let parts: Vec<&str> = rest.split(':').collect();
    let (ip, host, cont) = match parts[..] {
        [c] => ("", "", c),
        [h, c] => ("", h, c),
        [i, h, c] => (i, h, c),
        _ => {
            return Err(bad(
                spec,
                "expected [IP:][HOSTPORT:]CONTAINERPORT[/PROTOCOL]",
            ))
        }
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
        for bad in [
            "x",
            "80/sctp",
            "1:2:3:4",
            "0",
            "70000",
            "9000-9002:80-81",
            "5-3",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
