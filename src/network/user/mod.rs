//! User-defined networks (`network create`, `run --network NAME`): one Linux bridge per
//! network, a veth pair per container attachment, addresses from a small on-disk IPAM, egress
//! through one slirp4netns, and peer names written into each container's /etc/hosts.
//!
//! # Where the bridges live, and who owns that namespace
//! Rootless rctr cannot create bridges in the host's network namespace, so all bridges live in
//! one *shared* network namespace per user. It is created and held by a small holder process
//! (the rctr binary re-executed with `_RCTR_NETNS_HOLDER`, see `holder`), which also owns the
//! slirp4netns that gives the shared namespace its way out (`tap0`, 10.0.2.100). The holder
//! lives exactly as long as some container is attached: it checks the leases every
//! `holder::POLL`, drops those whose owner died (so `kill -9` never pins an address), and exits
//! — taking the namespace, the bridges and slirp4netns with it — once none is left.
//!
//! Moving one end of a veth pair into the container's network namespace needs CAP_NET_ADMIN
//! over *both* namespaces, and `setns` into the shared one needs CAP_SYS_ADMIN in the user
//! namespace that owns it. Every rctr invocation normally creates a fresh user namespace with
//! the same mapping; sibling namespaces hold no capabilities over each other. So a container on
//! a user network is launched from the holder's user namespace instead: the launching process
//! (foreground `run`, or the monitor) `setns`es into `/proc/HOLDER/ns/user` while still in the
//! host's user namespace, where the owner of a child namespace holds every capability in it.
//! The mapping is identical, so file ownership on disk does not change, and the container's own
//! new network namespace is then owned by the same user namespace as the bridges.
//!
//! If the holder itself is killed, its keeper and slirp4netns die with it (PDEATHSIG), and so do
//! the bridges: running containers lose their user networks (their leases stay until they exit)
//! and the next container starts a new holder. Joining a user-network container's namespaces
//! from elsewhere (`exec`, `--network container:`) needs the same user namespace, which `exec`
//! gets by joining the container's own.
//!
//! # Isolation and egress
//! The shared namespace forwards (ip_forward=1) through one nftables table, `ip rctr`: the
//! forward chain drops by default, accepts replies (`ct state established,related`), traffic
//! within one bridge, and traffic from bridges in the `egress` set out of `tap0`, where it is
//! masqueraded to slirp4netns's guest address. Two networks therefore cannot reach each other,
//! and an `--internal` network (never added to `egress`) has no way out. nftables is used
//! rather than `ip rule ... prohibit` because one set membership per network expresses both
//! isolation and egress, and masquerading needs netfilter anyway.
//!
//! # Name resolution
//! Each container's /etc/hosts (bind-mounted from its directory) gets a managed section listing
//! every container on its networks by name, alias and short ID. It is rewritten in place (same
//! inode, so the bind mount sees it) whenever a container joins or leaves. This was chosen over
//! a DNS responder on the bridge because it needs no extra process per network, works for
//! `--internal` networks, and costs nothing while containers run.
//!
//! # Speed
//! What every container pays is done in raw rtnetlink by one forked child (`netlink`): veth
//! creation with the peer moved into the container, address, link state and default route,
//! without exec. Bridges and nftables rules, made once per network while the holder lives, use
//! `ip` and `nft` (10-15 ms per exec on the loaded test machine). No netlink crate is in the
//! dependency tree, and rtnetlink would bring an async runtime into a launcher that must stay
//! single-threaded until the container is cloned. Measured best-of-10 on the loaded 2-core test
//! machine: `run --rm busybox true` takes 116 ms with `--network none` and 132 ms on a warm user
//! network; the first container on a network also pays for the holder, slirp4netns, nftables
//! and the bridge (about 100 ms).

pub mod config;
pub mod holder;
pub mod hosts;
pub mod ipam;
pub mod links;
pub mod netlink;
pub mod session;

pub use config::{NetworkConfig, Networks};

use std::path::{Path, PathBuf};

/// Errors from user-defined networks. Each names the network, container or path concerned.
#[derive(Debug, thiserror::Error)]
pub enum UserNetError {
    #[error("unable to find network with name or ID {0}: network not found")]
    NotFound(String),
    #[error("network name {0} already used: network already exists")]
    Exists(String),
    #[error("invalid network name `{0}`: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    BadName(String),
    #[error("invalid CIDR address: {subnet}: {why}")]
    BadSubnet { subnet: String, why: String },
    #[error("subnet {0} is already used on the host or by another config")]
    SubnetUsed(String),
    #[error("gateway {gateway} is not in subnet {subnet}")]
    BadGateway { gateway: String, subnet: String },
    #[error("cannot set gateway or range without subnet")]
    GatewayWithoutSubnet,
    #[error("could not find free subnet from subnet pool 10.89.0.0/16")]
    NoFreeSubnet,
    #[error("only the bridge driver is supported, not `{0}`")]
    Driver(String),
    #[error("network {network} has no free address left for container {container}")]
    Exhausted { network: String, container: String },
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot parse `{path}`: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot {what} in the shared network namespace: {detail}")]
    Command { what: String, detail: String },
    #[error("container {container} is already connected to network {network}")]
    Connected { container: String, network: String },
    #[error("container process {0} exited before its networks were set up")]
    Gone(i32),
    #[error("the network holder process did not start: {0}")]
    Holder(String),
    #[error("cannot join the namespace `{path}`: {source}")]
    Join { path: String, source: nix::Error },
}

impl UserNetError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        UserNetError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Takes an exclusive `flock` on `path` (created if needed), released when the file drops.
pub(crate) fn lock_file(path: &Path) -> Result<std::fs::File, UserNetError> {
    use std::os::fd::AsRawFd;
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| UserNetError::io("create directory", d, e))?;
    }
    let f = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| UserNetError::io("open", path, e))?;
    loop {
        // SAFETY: flock on a valid, owned descriptor.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } == 0 {
            return Ok(f);
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(UserNetError::io("lock", path, e));
        }
    }
}

/// Writes JSON atomically: a temp file beside `path`, fsync, rename.
pub(crate) fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> Result<(), UserNetError> {
    use std::io::Write;
    let bytes = serde_json::to_vec_pretty(v).map_err(|source| UserNetError::Json {
        path: path.into(),
        source,
    })?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp).map_err(|e| UserNetError::io("create", &tmp, e))?;
    f.write_all(&bytes)
        .and_then(|_| f.sync_all())
        .map_err(|e| UserNetError::io("write", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| UserNetError::io("rename", &tmp, e))
}

/// Reads JSON from `path`; None when the file does not exist.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    path: &Path,
) -> Result<Option<T>, UserNetError> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|source| UserNetError::Json {
                path: path.into(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(UserNetError::io("read", path, e)),
    }
}
