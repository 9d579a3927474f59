//! The on-disk state of the shared network namespace, `<root>/networks/ipam/state.json`, changed
//! only under the flock on `<root>/networks/ipam/lock`: which holder process owns the namespace,
//! which bridges it has, which launchers are about to attach, and the address leases of attached
//! containers.
//!
//! Every lease names its owner process by pid *and* start time (from /proc/PID/stat), so a
//! lease whose container died — even by `kill -9`, with its monitor — is recognised as dead and
//! dropped by the next reader, and a recycled pid is never mistaken for the old owner.

use super::config::Cidr;
use super::{lock_file, read_json, write_json, UserNetError};
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

/// A process identified beyond its pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Owner {
    pub pid: i32,
    /// Start time in clock ticks since boot (field 22 of /proc/PID/stat).
    pub start: u64,
}

impl Owner {
    /// The process `pid` as it is now, if it exists.
    pub fn of(pid: i32) -> Option<Owner> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // The command name may hold spaces and parentheses; fields resume after the last ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let start = rest.split_whitespace().nth(19)?.parse().ok()?;
        Some(Owner { pid, start })
    }

    /// Whether this very process still runs (and is not a zombie).
    pub fn alive(&self) -> bool {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) else {
            return false;
        };
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            return false;
        };
        let mut f = rest.split_whitespace();
        let state = f.next();
        state != Some("Z") && f.nth(18).and_then(|s| s.parse().ok()) == Some(self.start)
    }
}

/// One container's address on one network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lease {
    pub network: String,
    pub container: String,
    pub name: String,
    pub aliases: Vec<String>,
    pub ip: Ipv4Addr,
    /// The container's interface name inside its namespace (eth0, eth1, ...).
    pub interface: String,
    /// The launcher until the container exists, then the container's pid 1.
    pub owner: Owner,
    /// The container's /etc/hosts, rewritten as peers come and go.
    pub hosts: PathBuf,
}

/// A bridge that exists in the holder's namespace, and the network (by ID) it was made for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bridge {
    pub interface: String,
    pub network_id: String,
}

/// Everything in `state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub holder: Option<Owner>,
    /// The holder's keeper process, whose network namespace is the shared one.
    #[serde(default)]
    pub keeper: i32,
    /// Launchers between joining the holder's namespace and attaching their container; the
    /// holder stays while any of them lives.
    #[serde(default)]
    pub pending: Vec<Owner>,
    pub bridges: Vec<Bridge>,
    pub leases: Vec<Lease>,
}

impl State {
    /// Drops leases whose owner is gone; returns them (their peers' hosts files need updating).
    pub fn prune_dead(&mut self) -> Vec<Lease> {
        let (live, dead): (Vec<Lease>, Vec<Lease>) =
            self.leases.drain(..).partition(|l| l.owner.alive());
        self.leases = live;
        self.pending.retain(|o| o.alive());
        if !self.holder.is_some_and(|h| h.alive()) {
            self.holder = None;
            self.bridges.clear();
        }
        dead
    }

    /// The lowest free address of `cidr` (after the gateway) for `container` on `network`.
    pub fn free_ip(
        &self,
        network: &str,
        cidr: Cidr,
        gateway: Ipv4Addr,
        container: &str,
    ) -> Result<Ipv4Addr, UserNetError> {
        (1..=cidr.hosts())
            .map(|n| cidr.host(n))
            .find(|ip| {
                *ip != gateway
                    && !self
                        .leases
                        .iter()
                        .any(|l| l.network == network && l.ip == *ip)
            })
            .ok_or_else(|| UserNetError::Exhausted {
                network: network.into(),
                container: container.into(),
            })
    }

    /// The leases of one container.
    pub fn of_container<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a Lease> + 'a {
        self.leases.iter().filter(move |l| l.container == id)
    }
}

/// The state file and its lock.
pub struct Ipam {
    dir: PathBuf,
}

/// The state, loaded under the lock; `save` writes it back. The lock is released on drop.
pub struct Locked {
    pub state: State,
    path: PathBuf,
    _lock: std::fs::File,
}

impl Locked {
    /// Writes the state back atomically.
    pub fn save(&self) -> Result<(), UserNetError> {
        write_json(&self.path, &self.state)
    }
}

impl Ipam {
    /// The IPAM of the rctr root `root`.
    pub fn new(root: &Path) -> Ipam {
        Ipam {
            dir: root.join("networks").join("ipam"),
        }
    }

    /// Takes the lock and loads the state, with dead leases already dropped (returned too).
    pub fn lock(&self) -> Result<(Locked, Vec<Lease>), UserNetError> {
        let lock = lock_file(&self.dir.join("lock"))?;
        let path = self.dir.join("state.json");
        let mut state: State = read_json(&path)?.unwrap_or_default();
        let dead = state.prune_dead();
        Ok((
            Locked {
                state,
                path,
                _lock: lock,
            },
            dead,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_tracks_this_process_and_rejects_strangers() {
        let me = Owner::of(std::process::id() as i32).unwrap();
        assert!(me.alive());
        assert!(!Owner {
            start: me.start + 1,
            ..me
        }
        .alive());
        assert!(!Owner {
            pid: i32::MAX,
            ..me
        }
        .alive());
    }

    #[test]
    fn free_ip_skips_gateway_and_taken_addresses() {
        let cidr = Cidr::parse("10.89.0.0/24").unwrap();
        let mut s = State::default();
        let gw = cidr.host(1);
        assert_eq!(s.free_ip("n", cidr, gw, "c").unwrap(), cidr.host(2));
        s.leases.push(Lease {
            network: "n".into(),
            container: "c".into(),
            name: "c".into(),
            aliases: vec![],
            ip: cidr.host(2),
            interface: "eth0".into(),
            owner: Owner::of(std::process::id() as i32).unwrap(),
            hosts: PathBuf::new(),
        });
        assert_eq!(s.free_ip("n", cidr, gw, "d").unwrap(), cidr.host(3));
        assert_eq!(s.free_ip("m", cidr, gw, "d").unwrap(), cidr.host(2));
        let dead = s.prune_dead();
        assert!(dead.is_empty() && s.leases.len() == 1);
        s.leases[0].owner.start += 1;
        assert_eq!(s.prune_dead().len(), 1);
    }
}
