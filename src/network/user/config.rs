//! Network configs: one JSON file per network at `<root>/networks/<name>.json`, written
//! atomically under an flock on `<root>/networks/.lock`, with podman's field names so that
//! `network inspect` prints the file's content.

use super::{lock_file, read_json, write_json, UserNetError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// The name of podman's default network, which stands for slirp4netns in rctr.
pub const DEFAULT_NETWORK: &str = "podman";

/// An IPv4 network `addr/prefix` with the host bits cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub addr: Ipv4Addr,
    pub prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n` (n from 8 to 30, so there is room for a gateway and containers).
    pub fn parse(s: &str) -> Result<Cidr, UserNetError> {
        let bad = |why: &str| UserNetError::BadSubnet {
            subnet: s.into(),
            why: why.into(),
        };
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| bad("expected ADDRESS/PREFIX"))?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u8 = p.parse().map_err(|_| bad("the prefix is not a number"))?;
        if !(8..=30).contains(&prefix) {
            return Err(bad("the prefix must be between 8 and 30"));
        }
        Ok(Cidr {
            addr: Ipv4Addr::from(u32::from(addr) & Self::mask_of(prefix)),
            prefix,
        })
    }

    fn mask_of(prefix: u8) -> u32 {
        u32::MAX << (32 - prefix)
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & Self::mask_of(self.prefix) == u32::from(self.addr)
    }

    /// Whether the two networks share any address.
    pub fn overlaps(&self, o: &Cidr) -> bool {
        let p = self.prefix.min(o.prefix);
        u32::from(self.addr) & Self::mask_of(p) == u32::from(o.addr) & Self::mask_of(p)
    }

    /// The address `n` hosts into the network.
    pub fn host(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.addr) + n)
    }

    /// How many host addresses there are (without network and broadcast).
    pub fn hosts(&self) -> u32 {
        (1u32 << (32 - self.prefix)) - 2
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One subnet of a network, as podman prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubnetConfig {
    pub subnet: String,
    pub gateway: Ipv4Addr,
}

/// A user-defined network, stored as podman 4 (netavark) describes one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkConfig {
    pub name: String,
    pub id: String,
    pub driver: String,
    /// The bridge's name in the shared network namespace.
    pub network_interface: String,
    pub created: chrono::DateTime<chrono::Utc>,
    pub subnets: Vec<SubnetConfig>,
    pub ipv6_enabled: bool,
    pub internal: bool,
    pub dns_enabled: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    pub ipam_options: BTreeMap<String, String>,
}

impl NetworkConfig {
    /// The network's (first) subnet.
    pub fn cidr(&self) -> Result<Cidr, UserNetError> {
        let s = self
            .subnets
            .first()
            .ok_or_else(|| UserNetError::BadSubnet {
                subnet: String::new(),
                why: format!("network {} has no subnet", self.name),
            })?;
        Cidr::parse(&s.subnet)
    }

    /// The bridge's own address, the containers' default gateway.
    pub fn gateway(&self) -> Ipv4Addr {
        self.subnets
            .first()
            .map(|s| s.gateway)
            .unwrap_or(Ipv4Addr::UNSPECIFIED)
    }
}

/// What `network create` asks for.
#[derive(Debug, Default)]
pub struct NewNetwork {
    pub name: Option<String>,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    pub driver: Option<String>,
}

/// The network configs of one rctr root.
pub struct Networks {
    dir: PathBuf,
}

impl Networks {
    /// Opens `<root>/networks`, creating it if needed.
    pub fn open(root: &Path) -> Result<Networks, UserNetError> {
        let dir = root.join("networks");
        std::fs::create_dir_all(&dir).map_err(|e| UserNetError::io("create directory", &dir, e))?;
        Ok(Networks { dir })
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// Every network, oldest first.
    pub fn list(&self) -> Result<Vec<NetworkConfig>, UserNetError> {
        let mut out = Vec::new();
        let rd = std::fs::read_dir(&self.dir)
            .map_err(|e| UserNetError::io("read directory", &self.dir, e))?;
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if let Some(stem) = n.strip_suffix(".json") {
                if let Some(c) = read_json::<NetworkConfig>(&self.path(stem))? {
                    out.push(c);
                }
            }
        }
        out.sort_by_key(|c| c.created);
        Ok(out)
    }

    /// The network called `key`, or whose ID starts with it.
    pub fn get(&self, key: &str) -> Result<NetworkConfig, UserNetError> {
        if valid_name(key) {
            if let Some(c) = read_json::<NetworkConfig>(&self.path(key))? {
                return Ok(c);
            }
        }
        let hits: Vec<_> = self
            .list()?
            .into_iter()
            .filter(|c| !key.is_empty() && c.id.starts_with(key))
            .collect();
        match <[NetworkConfig; 1]>::try_from(hits) {
            Ok([c]) => Ok(c),
            Err(_) => Err(UserNetError::NotFound(key.into())),
        }
    }

    /// Validates and stores a new network; picks a free 10.89.N.0/24 when no subnet is given.
    pub fn create(&self, n: NewNetwork) -> Result<NetworkConfig, UserNetError> {
        let driver = n.driver.unwrap_or_else(|| "bridge".into());
        if driver != "bridge" {
            return Err(UserNetError::Driver(driver));
        }
        if n.gateway.is_some() && n.subnet.is_none() {
            return Err(UserNetError::GatewayWithoutSubnet);
        }
        let _lock = lock_file(&self.dir.join(".lock"))?;
        let existing = self.list()?;
        let name = match n.name {
            Some(name) => name,
            None => (1..)
                .map(|i| format!("podman{i}"))
                .find(|c| !existing.iter().any(|e| &e.name == c))
                .unwrap_or_default(),
        };
        if !valid_name(&name) {
            return Err(UserNetError::BadName(name));
        }
        if name == DEFAULT_NETWORK || existing.iter().any(|e| e.name == name) {
            return Err(UserNetError::Exists(name));
        }
        let used: Vec<Cidr> = existing
            .iter()
            .filter_map(|e| e.cidr().ok())
            .chain(host_routes())
            .collect();
        let cidr = match &n.subnet {
            Some(s) => {
                let c = Cidr::parse(s)?;
                if used.iter().any(|u| u.overlaps(&c)) {
                    return Err(UserNetError::SubnetUsed(c.to_string()));
                }
                c
            }
            None => (0..=255u32)
                .map(|i| Cidr {
                    addr: Ipv4Addr::new(10, 89, i as u8, 0),
                    prefix: 24,
                })
                .find(|c| !used.iter().any(|u| u.overlaps(c)))
                .ok_or(UserNetError::NoFreeSubnet)?,
        };
        let gateway = match &n.gateway {
            Some(g) => {
                let ip: Ipv4Addr = g.parse().map_err(|_| UserNetError::BadGateway {
                    gateway: g.clone(),
                    subnet: cidr.to_string(),
                })?;
                if !cidr.contains(ip) || ip == cidr.addr || ip == cidr.host(cidr.hosts() + 1) {
                    return Err(UserNetError::BadGateway {
                        gateway: g.clone(),
                        subnet: cidr.to_string(),
                    });
                }
                ip
            }
            None => cidr.host(1),
        };
        let interface = (1..)
            .map(|i| format!("podman{i}"))
            .find(|c| !existing.iter().any(|e| &e.network_interface == c))
            .unwrap_or_default();
        let cfg = NetworkConfig {
            name: name.clone(),
            id: crate::container::state::random_id(),
            driver,
            network_interface: interface,
            created: chrono::Utc::now(),
            subnets: vec![SubnetConfig {
                subnet: cidr.to_string(),
                gateway,
            }],
            ipv6_enabled: false,
            internal: n.internal,
            dns_enabled: false,
            labels: n.labels,
            ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
        };
        write_json(&self.path(&name), &cfg)?;
        Ok(cfg)
    }

    /// Deletes the config of network `name`.
    pub fn remove(&self, name: &str) -> Result<(), UserNetError> {
        let _lock = lock_file(&self.dir.join(".lock"))?;
        let p = self.path(name);
        std::fs::remove_file(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => UserNetError::NotFound(name.into()),
            _ => UserNetError::io("remove", &p, e),
        })
    }
}

/// Whether `n` is a valid network name (podman's rule).
pub fn valid_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_ascii_alphanumeric())
        && c.all(|ch| ch.is_ascii_alphanumeric() || "_.-".contains(ch))
}

/// The IPv4 networks routed on the host (except the default route), which a new network's
/// subnet must not overlap, or containers could not reach those hosts.
fn host_routes() -> Vec<Cidr> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dest = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            let prefix = mask.count_ones() as u8;
            // /proc/net/route prints addresses in host byte order of a little-endian u32.
            let addr = Ipv4Addr::from(u32::from_be(dest.to_le()));
            (prefix > 0).then_some(Cidr { addr, prefix })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse_and_overlap() {
        let a = Cidr::parse("10.89.3.7/24").unwrap();
        assert_eq!(a.to_string(), "10.89.3.0/24");
        assert!(a.contains("10.89.3.200".parse().unwrap()));
        assert!(a.overlaps(&Cidr::parse("10.89.0.0/16").unwrap()));
        assert!(!a.overlaps(&Cidr::parse("10.89.4.0/24").unwrap()));
        assert_eq!(a.hosts(), 254);
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("300.0.0.0/24").is_err());
        assert!(Cidr::parse("10.0.0.0").is_err());
    }

    #[test]
    fn names() {
        assert!(valid_name("my-net_1.x"));
        assert!(!valid_name("-x") && !valid_name("") && !valid_name("a/b"));
    }

    #[test]
    fn create_picks_free_subnets_and_rejects_clashes() {
        let d = tempfile::tempdir().unwrap();
        let nets = Networks::open(d.path()).unwrap();
        let a = nets
            .create(NewNetwork {
                name: Some("alpha".into()),
                ..Default::default()
            })
            .unwrap();
        let b = nets
            .create(NewNetwork {
                name: Some("beta".into()),
                ..Default::default()
            })
            .unwrap();
        assert_ne!(a.subnets[0].subnet, b.subnets[0].subnet);
        assert_eq!(a.gateway(), a.cidr().unwrap().host(1));
        assert!(matches!(
            nets.create(NewNetwork {
                name: Some("alpha".into()),
                ..Default::default()
            }),
            Err(UserNetError::Exists(_))
        ));
        assert!(matches!(
            nets.create(NewNetwork {
                name: Some("gamma".into()),
                subnet: Some(a.subnets[0].subnet.clone()),
                ..Default::default()
            }),
            Err(UserNetError::SubnetUsed(_))
        ));
        assert_eq!(nets.get(&b.id[..12]).unwrap().name, "beta");
        // Not hex, so that no id prefix matches it once the network is gone.
        nets.remove("alpha").unwrap();
        assert!(matches!(nets.get("alpha"), Err(UserNetError::NotFound(_))));
    }
}
