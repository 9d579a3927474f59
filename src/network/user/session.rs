//! A container's side of user-defined networks: `enter` (join the holder's user namespace
//! before anything else happens), `Session::attach` (leases, veths and addresses once the
//! container's namespaces exist), and `release` (when it exits, is removed or disconnects).

use super::config::Networks;
use super::ipam::{Ipam, Lease, Owner};
use super::{holder, hosts, links, UserNetError};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

/// One network a container is attached to, as `--network NAME` and `--network-alias` ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetAttach {
    pub network: String,
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// What peers know a container by.
pub struct Member<'a> {
    pub id: &'a str,
    pub name: &'a str,
    /// The container's generated /etc/hosts.
    pub hosts: PathBuf,
    /// Its generated /etc/resolv.conf, when rctr picks the resolver (no `--dns`).
    pub resolv: Option<PathBuf>,
}

/// The launcher's hold on the shared namespace: it has joined the holder's user namespace and
/// keeps the holder alive (as a pending user) until its container is attached.
pub struct Session {
    root: PathBuf,
    shared: File,
}

/// Ensures the holder runs and joins its user namespace. Call it single-threaded, from the
/// host's user namespace, before entering any other (see the module docs of `user`).
pub fn enter(root: &Path) -> Result<Session, UserNetError> {
    let ipam = Ipam::new(root);
    let (mut locked, _) = ipam.lock()?;
    let (holder, keeper) = match locked.state.holder {
        Some(h) => (h, locked.state.keeper),
        None => {
            let (h, k) = holder::spawn(root)?;
            locked.state.holder = Some(h);
            locked.state.keeper = k;
            locked.state.bridges.clear();
            (h, k)
        }
    };
    let me = Owner::of(std::process::id() as i32)
        .ok_or_else(|| UserNetError::Holder("cannot read this process's start time".into()))?;
    locked.state.pending.push(me);
    locked.save()?;
    drop(locked);
    let open = |pid: i32, kind: &str| {
        let p = format!("/proc/{pid}/ns/{kind}");
        File::open(&p).map_err(|e| UserNetError::io("open", Path::new(&p), e))
    };
    let (user, shared) = (open(holder.pid, "user")?, open(keeper, "net")?);
    // Already in the holder's user namespace (a monitor started by a launcher that joined it,
    // or a holder started from inside it): nothing to join.
    if same_file(&user, Path::new("/proc/self/ns/user")) {
        return Ok(Session {
            root: root.to_path_buf(),
            shared,
        });
    }
    // The owner of a user namespace holds every capability in it when seen from the parent,
    // which is where this process still is: so setns is allowed, and makes us its root.
    nix::sched::setns(&user, nix::sched::CloneFlags::CLONE_NEWUSER).map_err(|source| {
        UserNetError::Join {
            path: format!("/proc/{}/ns/user", holder.pid),
            source,
        }
    })?;
    use nix::unistd::{setresgid, setresuid, Gid, Uid};
    let (g, u) = (Gid::from_raw(0), Uid::from_raw(0));
    setresgid(g, g, g)
        .and_then(|_| setresuid(u, u, u))
        .map_err(|source| UserNetError::Join {
            path: format!("/proc/{}/ns/user", holder.pid),
            source,
        })?;
    Ok(Session {
        root: root.to_path_buf(),
        shared,
    })
}

/// Whether the open namespace `f` is the one at `p` (same device and inode).
fn same_file(f: &File, p: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (f.metadata(), std::fs::metadata(p)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

impl Session {
    /// Attaches container process `pid` to `nets`: leases an address on each, creates missing
    /// bridges, moves a veth into its namespace, and updates every peer's /etc/hosts. The first
    /// network with egress provides the default route.
    pub fn attach(&self, m: &Member, nets: &[NetAttach], pid: i32) -> Result<(), UserNetError> {
        {
            let (mut locked, _) = Ipam::new(&self.root).lock()?;
            locked.state.leases.retain(|l| l.container != m.id);
            locked.save()?;
        }
        let r = self.add(m, nets, pid, true);
        if r.is_err() {
            let _ = release(&self.root, m.id, None);
        }
        r
    }

    /// Connects the running container process `pid` to one more network.
    pub fn connect(&self, m: &Member, net: &NetAttach, pid: i32) -> Result<(), UserNetError> {
        let current: Vec<String> = {
            let (locked, _) = Ipam::new(&self.root).lock()?;
            let v = locked
                .state
                .of_container(m.id)
                .map(|l| l.network.clone())
                .collect();
            v
        };
        if current.contains(&net.network) {
            return Err(UserNetError::Connected {
                container: m.name.into(),
                network: net.network.clone(),
            });
        }
        // The existing leases and interfaces stay; only the new network is set up, and it
        // provides the default route only when the container had no network yet.
        self.add(m, std::slice::from_ref(net), pid, current.is_empty())
    }

    /// Leases, bridges and veths for `nets`; with `route`, the first network with egress
    /// provides the default route.
    fn add(
        &self,
        m: &Member,
        nets: &[NetAttach],
        pid: i32,
        route: bool,
    ) -> Result<(), UserNetError> {
        let networks = Networks::open(&self.root)?;
        let ctr_ns = File::open(format!("/proc/{pid}/ns/net"))
            .map_err(|e| UserNetError::io("open", Path::new("/proc/PID/ns/net"), e))?;
        let (mut locked, _) = Ipam::new(&self.root).lock()?;
        let me = Owner::of(std::process::id() as i32);
        locked.state.pending.retain(|o| Some(*o) != me);
        let owner = locked
            .state
            .of_container(m.id)
            .next()
            .map(|l| l.owner)
            .or_else(|| Owner::of(pid))
            .ok_or(UserNetError::Gone(pid))?;
        let mut routed = false;
        let mut result = Ok(());
        for a in nets {
            match self.add_one(
                &mut locked.state,
                &networks,
                m,
                a,
                pid,
                owner,
                &ctr_ns,
                route && !routed,
            ) {
                Ok(r) => routed |= r,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        locked.save()?;
        hosts::refresh(&locked.state.leases, &[]);
        if let (true, Some(p)) = (routed, &m.resolv) {
            // slirp4netns's DNS forwarder, reached through the egress like any other address;
            // it also serves hosts whose own resolver listens on loopback.
            if let Err(e) = hosts::set_nameserver(p, super::links::EGRESS_DNS) {
                ::log::warn!("cannot update `{}`: {e}", p.display());
            }
        }
        result
    }

    /// Attaches one network; returns whether it gave the container its default route.
    #[allow(clippy::too_many_arguments)]
    fn add_one(
        &self,
        state: &mut super::ipam::State,
        networks: &Networks,
        m: &Member,
        a: &NetAttach,
        pid: i32,
        owner: Owner,
        ctr_ns: &File,
        route: bool,
    ) -> Result<bool, UserNetError> {
        let cfg = networks.get(&a.network)?;
        let cidr = cfg.cidr()?;
        if !state
            .bridges
            .iter()
            .any(|b| b.network_id == cfg.id && b.interface == cfg.network_interface)
        {
            state
                .bridges
                .retain(|b| b.interface != cfg.network_interface);
            links::create_bridge(&self.shared, &cfg)?;
            state.bridges.push(super::ipam::Bridge {
                interface: cfg.network_interface.clone(),
                network_id: cfg.id.clone(),
            });
        }
        let used: Vec<String> = state
            .of_container(m.id)
            .map(|l| l.interface.clone())
            .collect();
        let n = (0..)
            .find(|n| !used.contains(&format!("eth{n}")))
            .unwrap_or(0);
        let short = &m.id[..8.min(m.id.len())];
        let (ctr_if, host_if) = (format!("eth{n}"), format!("rv{short}{n}"));
        let ip = state.free_ip(&cfg.name, cidr, cfg.gateway(), m.id)?;
        let gw = (route && !cfg.internal).then(|| cfg.gateway());
        super::netlink::attach(
            &self.shared,
            ctr_ns,
            &super::netlink::VethPlan {
                bridge: &cfg.network_interface,
                host_if: &host_if,
                ctr_if: &ctr_if,
                pid,
                addr: ip,
                prefix: cidr.prefix,
                gateway: gw,
            },
        )?;
        state.leases.push(Lease {
            network: cfg.name.clone(),
            container: m.id.into(),
            name: m.name.into(),
            aliases: a.aliases.clone(),
            ip,
            interface: ctr_if,
            owner,
            hosts: m.hosts.clone(),
        });
        Ok(gw.is_some())
    }

    /// Disconnects the running container process `pid` from `network`: its interface goes,
    /// its lease is released, and its peers forget it.
    pub fn disconnect(&self, container: &str, network: &str, pid: i32) -> Result<(), UserNetError> {
        let ctr_ns = File::open(format!("/proc/{pid}/ns/net"))
            .map_err(|e| UserNetError::io("open", Path::new("/proc/PID/ns/net"), e))?;
        let iface = {
            let (locked, _) = Ipam::new(&self.root).lock()?;
            let i = locked
                .state
                .of_container(container)
                .find(|l| l.network == network)
                .map(|l| l.interface.clone());
            i
        };
        if let Some(i) = iface {
            links::remove_interface(&ctr_ns, &i)?;
        }
        release(&self.root, container, Some(network))
    }
}

/// Drops the leases of `container` (on `network` only, when given) and updates the peers'
/// /etc/hosts. Needs no namespace: the files and the state belong to the invoking user.
pub fn release(root: &Path, container: &str, network: Option<&str>) -> Result<(), UserNetError> {
    let (mut locked, dead) = Ipam::new(root).lock()?;
    let before = locked.state.leases.len();
    let mut hosts_file = None;
    locked.state.leases.retain(|l| {
        let drop = l.container == container && network.is_none_or(|n| n == l.network);
        if drop {
            hosts_file = Some(l.hosts.clone());
        }
        !drop
    });
    if before == locked.state.leases.len() && dead.is_empty() {
        return Ok(());
    }
    locked.save()?;
    let still = locked.state.leases.iter().any(|l| l.container == container);
    let gone: Vec<&Path> = hosts_file
        .as_deref()
        .filter(|_| !still)
        .into_iter()
        .chain(dead.iter().map(|d| d.hosts.as_path()))
        .collect();
    hosts::refresh(&locked.state.leases, &gone);
    Ok(())
}

/// The leases of every container, live ones only (for inspect and `network rm`).
pub fn leases(root: &Path) -> Result<Vec<Lease>, UserNetError> {
    let (locked, _) = Ipam::new(root).lock()?;
    Ok(locked.state.leases.clone())
}
