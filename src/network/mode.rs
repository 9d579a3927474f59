//! The options of the user-mode network modes, parsed from `--network slirp4netns:a=b,c=d`,
//! and the addresses they imply (gateway, DNS, the container's own address).

use super::NetworkError;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// An IPv4 subnet, `10.0.2.0/24` by default for slirp4netns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Parses `a.b.c.d/n`; slirp4netns needs room for .2, .3 and .100, so /25 is the smallest.
    pub fn parse(s: &str) -> Result<Subnet, NetworkError> {
        let bad = |why: &str| NetworkError::BadOption {
            option: format!("cidr={s}"),
            why: why.into(),
        };
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| bad("expected ADDRESS/PREFIX"))?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = p.parse().map_err(|_| bad("the prefix is not a number"))?;
        if !(1..=25).contains(&prefix) {
            return Err(bad("the prefix must be between 1 and 25"));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Subnet {
            addr: Ipv4Addr::from(u32::from(addr) & mask),
            prefix,
        })
    }

    /// The address `n` hosts into the subnet.
    pub fn host(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) + n)
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// `--network slirp4netns[:allow_host_loopback=true,enable_ipv6=true,mtu=N,cidr=A/P]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlirpOptions {
    /// Let the container reach the host's loopback through the gateway address.
    pub allow_host_loopback: bool,
    /// Give the container IPv6 too (fd00::100/64, slirp4netns's `--enable-ipv6`).
    #[serde(default)]
    pub enable_ipv6: bool,
    pub mtu: u32,
    pub cidr: Subnet,
}

impl Default for SlirpOptions {
    fn default() -> Self {
        SlirpOptions {
            allow_host_loopback: false,
            enable_ipv6: false,
            mtu: 65520,
            cidr: Subnet {
                addr: Ipv4Addr::new(10, 0, 2, 0),
                prefix: 24,
            },
        }
    }
}

impl SlirpOptions {
    /// Parses the comma-separated options after `slirp4netns:`.
    pub fn parse(opts: &str) -> Result<SlirpOptions, NetworkError> {
        let mut o = SlirpOptions::default();
        for item in opts.split(',').filter(|s| !s.is_empty()) {
            let bad = |why: &str| NetworkError::BadOption {
                option: item.into(),
                why: why.into(),
            };
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| bad("expected KEY=VALUE"))?;
            match k {
                "allow_host_loopback" => {
                    o.allow_host_loopback = v.parse().map_err(|_| bad("expected true or false"))?
                }
                "enable_ipv6" => {
                    o.enable_ipv6 = v.parse().map_err(|_| bad("expected true or false"))?
                }
                "mtu" => {
                    o.mtu = v.parse().map_err(|_| bad("expected a number"))?;
                    if !(68..=65521).contains(&o.mtu) {
                        return Err(bad("the MTU must be between 68 and 65521"));
                    }
                }
                "cidr" => o.cidr = Subnet::parse(v)?,
                _ => {
                    return Err(bad(
                        "slirp4netns takes allow_host_loopback=, enable_ipv6=, mtu= and cidr=",
                    ))
                }
            }
        }
        Ok(o)
    }

    /// The host as the container sees it (slirp's gateway, `host.containers.internal`).
    pub fn gateway(&self) -> Ipv4Addr {
        self.cidr.host(2)
    }

    /// slirp4netns's built-in DNS forwarder.
    pub fn dns(&self) -> Ipv4Addr {
        self.cidr.host(3)
    }

    /// The container's own address on tap0.
    pub fn address(&self) -> Ipv4Addr {
        self.cidr.host(100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slirp_options_parse() {
        let o = SlirpOptions::parse("allow_host_loopback=true,mtu=1500,cidr=10.5.0.7/16").unwrap();
        assert!(o.allow_host_loopback);
        assert!(!o.enable_ipv6);
        assert!(SlirpOptions::parse("enable_ipv6=true").unwrap().enable_ipv6);
        assert_eq!(o.mtu, 1500);
        assert_eq!(o.cidr.to_string(), "10.5.0.0/16");
        assert_eq!(o.gateway().to_string(), "10.5.0.2");
        assert_eq!(o.dns().to_string(), "10.5.0.3");
        assert_eq!(o.address().to_string(), "10.5.0.100");
        assert_eq!(SlirpOptions::parse("").unwrap(), SlirpOptions::default());
        assert!(SlirpOptions::parse("bogus=1").is_err());
        assert!(SlirpOptions::parse("mtu=x").is_err());
        assert!(SlirpOptions::parse("cidr=10.0.0.0/30").is_err());
    }
}
