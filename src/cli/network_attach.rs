//! How `run`, `start`, `restart` and the monitor put containers on user-defined networks
//! (see `network::user` for the design), and what `container inspect` shows of them.

use crate::container::options::NetworkMode;
use crate::container::state::{ContainerRecord, Containers};
use crate::context::{Context, Overrides};
use crate::network::user::config::DEFAULT_NETWORK;
use crate::network::user::session::{self, Member, NetAttach, Session};
use crate::network::user::{holder, Networks};
use anyhow::{Context as _, Result};
use serde_json::{json, Value};

/// When this process is the holder of the shared network namespace (see
/// `network::user::holder`), runs it and returns its exit status.
pub fn main_if_holder() -> Option<i32> {
    let root = std::env::var_os(holder::ENV_HOLDER)?;
    // Single-threaded: nothing else reads the environment concurrently.
    std::env::remove_var(holder::ENV_HOLDER);
    let over = Overrides {
        root: Some(root.clone().into()),
        ..Default::default()
    };
    let map = Context::resolve(&over)
        .map_err(anyhow::Error::from)
        .and_then(|ctx| super::id_map(&ctx));
    match map {
        Ok(map) => Some(holder::run(std::path::Path::new(&root), &map)),
        Err(_) => Some(crate::exit::FAILURE),
    }
}

/// `--network` as user-defined networks: None when `flag` names another mode (or is absent),
/// so that mode's parser reports on it. `podman`, the default network's name, is slirp4netns.
pub fn user_networks(
    ctx: &Context,
    flag: Option<&str>,
    aliases: &[String],
) -> Option<Result<NetworkMode>> {
    let flag = flag?;
    if flag == DEFAULT_NETWORK {
        return Some(Ok(NetworkMode::Slirp4netns(Default::default())));
    }
    if flag.contains(':') || ["none", "host", "slirp4netns", "pasta", "private"].contains(&flag) {
        return None;
    }
    let run = || -> Result<NetworkMode> {
        let nets = Networks::open(&ctx.root)?;
        let mut list = Vec::new();
        for n in flag.split(',') {
            let cfg = nets
                .get(n)
                .with_context(|| format!("unknown --network `{flag}`"))?;
            list.push(NetAttach {
                network: cfg.name,
                aliases: aliases.to_vec(),
            });
        }
        Ok(NetworkMode::Bridge(list))
    };
    Some(run())
}

/// For a container on user-defined networks, joins the shared network namespace's user
/// namespace (starting its holder if needed). Call it single-threaded from the host's user
/// namespace, before `enter_userns`, which then has nothing left to do. Launchers of detached
/// containers call it too, so that their monitors start inside that namespace already.
pub fn enter_for(ctx: &Context, mode: &NetworkMode) -> Result<Option<std::rc::Rc<Session>>> {
    if !matches!(mode, NetworkMode::Bridge(_)) {
        return Ok(None);
    }
    let s = session::enter(&ctx.root).context("cannot join the shared network namespace")?;
    Ok(Some(std::rc::Rc::new(s)))
}

/// `rec` as a member of user-defined networks: its /etc files in `run_dir` (see
/// `state::run_dir`) are the ones the networks keep up to date.
pub(super) fn member<'a>(rec: &'a ContainerRecord, run_dir: &std::path::Path) -> Member<'a> {
    Member {
        id: &rec.id,
        name: &rec.name,
        hosts: run_dir.join("hosts"),
        // rctr picks the resolver only without `--dns`.
        resolv: rec
            .options
            .dns
            .is_empty()
            .then(|| run_dir.join("resolv.conf")),
    }
}

/// Attaches the container process `pid` of `rec` to its user-defined networks. `run_dir`
/// holds its /etc files (see `state::run_dir`).
pub fn attach(
    session: &Option<std::rc::Rc<Session>>,
    rec: &ContainerRecord,
    run_dir: &std::path::Path,
    pid: i32,
) -> Result<(), String> {
    let Some(s) = session else { return Ok(()) };
    let m = member(rec, run_dir);
    s.attach(&m, rec.options.network.user_networks(), pid)
        .map_err(|e| e.to_string())
}

/// Releases the addresses of container `id` on every network (it exited or was removed).
pub fn release(root: &std::path::Path, rec: &ContainerRecord) {
    if rec.options.network.user_networks().is_empty() {
        return;
    }
    if let Err(e) = session::release(root, &rec.id, None) {
        ::log::warn!(
            "cannot release the addresses of container {}: {e}",
            rec.name
        );
    }
}

/// `enter_for` for the first of `keys` (containers) on user-defined networks, so that the
/// monitors of all of them start in the shared network namespace's user namespace.
pub fn enter_for_any(ctx: &Context, keys: &[String]) -> Result<Option<std::rc::Rc<Session>>> {
    let containers = Containers::open(&ctx.root)?;
    for k in keys {
        if let Ok(rec) = containers.lookup(k) {
            if let NetworkMode::Bridge(_) = rec.options.network {
                return enter_for(ctx, &rec.options.network);
            }
        }
    }
    Ok(None)
}

/// `NetworkSettings.Networks` of `container inspect`: each user-defined network with the
/// container's address while it runs, keyed by network name as podman does.
pub fn inspect_networks(c: &Containers, rec: &ContainerRecord) -> Value {
    let nets = rec.options.network.user_networks();
    if nets.is_empty() {
        return json!({});
    }
    // `<root>/containers/<id>`: the leases live under `<root>/networks`.
    let dir = c.dir(&rec.id);
    let Some(root) = dir.parent().and_then(|p| p.parent()) else {
        return json!({});
    };
    let leases = session::leases(root).unwrap_or_default();
    let configs = Networks::open(root).ok();
    let mut out = serde_json::Map::new();
    for a in nets {
        let lease = leases
            .iter()
            .find(|l| l.container == rec.id && l.network == a.network);
        let cfg = configs.as_ref().and_then(|n| n.get(&a.network).ok());
        let running = lease.is_some();
        out.insert(
            a.network.clone(),
            json!({
                "NetworkID": cfg.as_ref().map(|c| c.id.clone()).unwrap_or_default(),
                "IPAddress": lease.map(|l| l.ip.to_string()).unwrap_or_default(),
                "IPPrefixLen": cfg.as_ref().filter(|_| running).and_then(|c| c.cidr().ok()).map_or(0, |c| c.prefix),
                "Gateway": cfg.as_ref().filter(|_| running).map(|c| c.gateway().to_string()).unwrap_or_default(),
                "Aliases": a.aliases,
                "InterfaceName": lease.map(|l| l.interface.clone()).unwrap_or_default(),
            }),
        );
    }
    Value::Object(out)
}
