//! `network create|ls|inspect|rm|prune|connect|disconnect`, with podman's flags and output, and
//! the glue that puts `run --network NAME` containers on user-defined networks (see
//! `network::user` for the design).

use crate::container::lifecycle;
use crate::container::options::NetworkMode;
use crate::container::state::{ContainerRecord, Containers, Status};
use crate::container::volumes::Volumes;
use crate::context::{Context, Overrides};
use crate::network::user::config::{NewNetwork, DEFAULT_NETWORK};
use crate::network::user::session::{self, Member, NetAttach, Session};
use crate::network::user::{holder, NetworkConfig, Networks, UserNetError};
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Manage networks
    Network {
        #[command(subcommand)]
        cmd: NetworkSub,
    },
}

#[derive(Debug, Subcommand)]
pub enum NetworkSub {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display the configuration of one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove all networks no container uses
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The subnet in CIDR notation (default: a free 10.89.N.0/24)
    #[arg(long, value_name = "CIDR")]
    pub subnet: Option<String>,
    /// The IPv4 gateway of the subnet (default: its first address)
    #[arg(long, value_name = "IP")]
    pub gateway: Option<String>,
    /// Restrict external access from this network
    #[arg(long)]
    pub internal: bool,
    /// Set metadata on the network (key=value)
    #[arg(long)]
    pub label: Vec<String>,
    /// The driver (only `bridge`)
    #[arg(short, long, value_name = "DRIVER")]
    pub driver: Option<String>,
    /// The network's name (default: podmanN)
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print only network names
    #[arg(short, long)]
    pub quiet: bool,
    /// Pretty-print networks with a Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
    /// Filter output (name=, id=, driver=, label=key[=value])
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Do not truncate the network ID
    #[arg(long)]
    pub no_trunc: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Format the output with a Go template, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true, value_name = "NETWORK")]
    pub networks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Remove the containers using the networks too
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true, value_name = "NETWORK")]
    pub networks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Only prune networks matching a filter (label=key[=value])
    #[arg(long)]
    pub filter: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// A network-scoped alias for the container
    #[arg(long, value_name = "NAME")]
    pub alias: Vec<String>,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

#[derive(Debug, Args)]
pub struct DisconnectArgs {
    /// Accepted for podman compatibility: disconnecting never waits
    #[arg(short, long)]
    pub force: bool,
    #[arg(value_name = "NETWORK")]
    pub network: String,
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn dispatch(ctx: &Context, cmd: NetworkCommand) -> Result<i32> {
    let NetworkCommand::Network { cmd } = cmd;
    match cmd {
        NetworkSub::Create(a) => create(ctx, a),
        NetworkSub::Ls(a) => ls(ctx, a),
        NetworkSub::Inspect(a) => inspect(ctx, a),
        NetworkSub::Rm(a) => rm(ctx, a),
        NetworkSub::Prune(a) => prune(ctx, a),
        NetworkSub::Connect(a) => connect(ctx, a),
        NetworkSub::Disconnect(a) => disconnect(ctx, a),
    }
}

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
    if flag.contains(':') || ["none", "host", "slirp4netns", "private"].contains(&flag) {
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

/// Attaches the container process `pid` of `rec` to its user-defined networks.
pub fn attach(
    session: &Option<std::rc::Rc<Session>>,
    rec: &ContainerRecord,
    cdir: &std::path::Path,
    pid: i32,
) -> Result<(), String> {
    let Some(s) = session else { return Ok(()) };
    let m = Member {
        id: &rec.id,
        name: &rec.name,
        hosts: cdir.join("hosts"),
        resolv: rec.options.dns.is_empty().then(|| cdir.join("resolv.conf")),
    };
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

/// podman's default network, which rctr serves with slirp4netns.
fn default_network() -> NetworkConfig {
    NetworkConfig {
        name: DEFAULT_NETWORK.into(),
        id: "2f259bab93aaaaa2542ba43ef33eb990d0999ee1b9924b557b7be53c0b7a1bb9".into(),
        driver: "bridge".into(),
        network_interface: "podman0".into(),
        created: chrono::Utc::now(),
        subnets: vec![crate::network::user::config::SubnetConfig {
            subnet: "10.88.0.0/16".into(),
            gateway: [10, 88, 0, 1].into(),
        }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
        labels: BTreeMap::new(),
        ipam_options: BTreeMap::from([("driver".into(), "host-local".into())]),
    }
}

fn labels(list: &[String]) -> BTreeMap<String, String> {
    list.iter()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn create(ctx: &Context, a: CreateArgs) -> Result<i32> {
    let nets = Networks::open(&ctx.root)?;
    let cfg = nets.create(NewNetwork {
        name: a.name,
        subnet: a.subnet,
        gateway: a.gateway,
        internal: a.internal,
        labels: labels(&a.label),
        driver: a.driver,
    })?;
    println!("{}", cfg.name);
    Ok(0)
}

/// Every network with the default one, sorted by name as podman lists them.
fn all_networks(ctx: &Context) -> Result<Vec<NetworkConfig>> {
    let mut v = vec![default_network()];
    v.extend(Networks::open(&ctx.root)?.list()?);
    v.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(v)
}

fn get(ctx: &Context, key: &str) -> Result<NetworkConfig> {
    let d = default_network();
    if key == d.name || (key.len() >= 3 && d.id.starts_with(key)) {
        return Ok(d);
    }
    Ok(Networks::open(&ctx.root)?.get(key)?)
}

fn matches(n: &NetworkConfig, filters: &[String]) -> Result<bool> {
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow!("invalid filter `{f}`: expected KEY=VALUE"))?;
        let ok = match k {
            "name" => n.name.contains(v),
            "id" => n.id.starts_with(v),
            "driver" => n.driver == v,
            "label" => {
                let (lk, lv) = v.split_once('=').map_or((v, None), |(a, b)| (a, Some(b)));
                n.labels
                    .get(lk)
                    .is_some_and(|x| lv.is_none_or(|lv| lv == x))
            }
            _ => bail!("invalid filter `{f}`: expected name=, id=, driver= or label="),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The fields Go templates see, named as in podman's Network struct.
fn template_view(n: &NetworkConfig, trunc: bool) -> Value {
    json!({
        "Name": n.name,
        "ID": if trunc { &n.id[..12] } else { &n.id[..] },
        "Driver": n.driver,
        "NetworkInterface": n.network_interface,
        "Created": n.created.to_rfc3339(),
        "Subnets": n.subnets.iter().map(|s| json!({"Subnet": s.subnet, "Gateway": s.gateway.to_string()})).collect::<Vec<_>>(),
        "IPv6Enabled": n.ipv6_enabled,
        "Internal": n.internal,
        "DNSEnabled": n.dns_enabled,
        "Labels": n.labels,
        "IPAMOptions": n.ipam_options,
    })
}

fn ls(ctx: &Context, a: LsArgs) -> Result<i32> {
    let mut list = Vec::new();
    for n in all_networks(ctx)? {
        if matches(&n, &a.filter)? {
            list.push(n);
        }
    }
    if a.quiet {
        for n in &list {
            println!("{}", n.name);
        }
        return Ok(0);
    }
    let format = a
        .format
        .as_deref()
        .unwrap_or("table {{.ID}}\t{{.Name}}\t{{.Driver}}");
    if matches!(super::format::style(format), super::format::Style::Json) {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    let items: Vec<Value> = list.iter().map(|n| template_view(n, !a.no_trunc)).collect();
    print!(
        "{}",
        super::format::render_list(
            format,
            &items,
            &[("ID", "NETWORK ID"), ("Name", "NAME"), ("Driver", "DRIVER")]
        )?
    );
    Ok(0)
}

fn inspect(ctx: &Context, a: InspectArgs) -> Result<i32> {
    let mut list = Vec::new();
    for n in &a.networks {
        list.push(get(ctx, n).with_context(|| format!("network {n}"))?);
    }
    match a.format.as_deref() {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&list)?),
        Some(f) => {
            for n in &list {
                println!("{}", super::format::render(f, &template_view(n, false))?);
            }
        }
    }
    Ok(0)
}

/// The containers (any state) whose records attach them to network `name`.
fn users(containers: &Containers, name: &str) -> Result<Vec<ContainerRecord>> {
    Ok(containers
        .list()?
        .into_iter()
        .filter(|r| {
            r.options
                .network
                .user_networks()
                .iter()
                .any(|a| a.network == name)
        })
        .collect())
}

fn rm(ctx: &Context, a: RmArgs) -> Result<i32> {
    let nets = Networks::open(&ctx.root)?;
    let containers = Containers::open(&ctx.root)?;
    let mut code = 0;
    let mut entered = false;
    for key in &a.networks {
        let result = (|| -> Result<String> {
            if key == DEFAULT_NETWORK {
                bail!("default network {DEFAULT_NETWORK} cannot be removed");
            }
            let cfg = nets.get(key)?;
            let using = users(&containers, &cfg.name)?;
            if !using.is_empty() {
                if !a.force {
                    return Err(crate::exit::with_code(
                        2,
                        anyhow!(
                            "\"{}\" has associated containers with it. Use -f to forcibly delete containers and pods: network is being used",
                            cfg.name
                        ),
                    ));
                }
                // Stop from the host's user namespace, where the processes can be signalled.
                for r in &using {
                    lifecycle::stop(&containers, r, lifecycle::STOP_TIMEOUT)?;
                }
                if !entered {
                    super::enter_userns(ctx)?;
                    entered = true;
                }
                let vols = Volumes::open(&ctx.root)?;
                for r in &using {
                    release(&ctx.root, r);
                    lifecycle::remove(&containers, &vols, r, true, false)?;
                }
            }
            nets.remove(&cfg.name)?;
            Ok(cfg.name)
        })();
        match result {
            Ok(name) => println!("{name}"),
            Err(e) => {
                eprintln!("Error: {e:#}");
                code = match e.downcast_ref::<UserNetError>() {
                    Some(UserNetError::NotFound(_)) => 1,
                    _ => crate::exit::code_of(&e).max(2),
                };
            }
        }
    }
    Ok(code)
}

fn prune(ctx: &Context, a: PruneArgs) -> Result<i32> {
    let nets = Networks::open(&ctx.root)?;
    let containers = Containers::open(&ctx.root)?;
    let mut doomed = Vec::new();
    for n in nets.list()? {
        if users(&containers, &n.name)?.is_empty() && matches(&n, &a.filter)? {
            doomed.push(n.name);
        }
    }
    if !a.force {
        use std::io::{BufRead, Write};
        eprintln!("WARNING! This will remove all networks not used by at least one container.");
        eprint!("Are you sure you want to continue? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    for n in doomed {
        nets.remove(&n)?;
        println!("{n}");
    }
    Ok(0)
}

/// The running container's pid 1, when it runs.
fn running_pid(containers: &Containers, rec: &ContainerRecord) -> Result<Option<i32>> {
    let st = containers.state(&rec.id)?;
    Ok(match st.status {
        Status::Running => st.container_pid,
        _ => None,
    })
}

/// Rewrites the container's record with `nets` as its user-defined networks.
fn save_networks(
    containers: &Containers,
    rec: &ContainerRecord,
    nets: Vec<NetAttach>,
) -> Result<()> {
    let _lock = containers.lock()?;
    let mut r = containers.record(&rec.id)?;
    r.options.network = NetworkMode::Bridge(nets);
    crate::container::state::write_json(&containers.dir(&rec.id).join("config.json"), &r)?;
    Ok(())
}

/// Joins the running container's user namespace through the holder, checking it is the same.
fn join_running(ctx: &Context, rec: &ContainerRecord, pid: i32) -> Result<std::rc::Rc<Session>> {
    let s = enter_for(ctx, &rec.options.network)?
        .ok_or_else(|| anyhow!("container {} is not on a user-defined network", rec.name))?;
    let same = |a: &str, b: String| {
        use std::os::unix::fs::MetadataExt;
        let ino = |p: &str| std::fs::metadata(p).map(|m| m.ino()).ok();
        ino(a).is_some() && ino(a) == ino(&b)
    };
    if !same("/proc/self/ns/user", format!("/proc/{pid}/ns/user")) {
        bail!(
            "container {} runs outside the shared network namespace's user namespace; restart it to change its networks",
            rec.name
        );
    }
    Ok(s)
}

fn connect(ctx: &Context, a: ConnectArgs) -> Result<i32> {
    let containers = Containers::open(&ctx.root)?;
    let rec = containers.lookup(&a.container)?;
    let cfg = Networks::open(&ctx.root)?.get(&a.network)?;
    let mut nets = match &rec.options.network {
        NetworkMode::Bridge(n) => n.clone(),
        _ => bail!(
            "container {} does not use user-defined networks (its network mode cannot change)",
            rec.name
        ),
    };
    if nets.iter().any(|n| n.network == cfg.name) {
        bail!(
            "container {} is already connected to network {}",
            rec.name,
            cfg.name
        );
    }
    let attach = NetAttach {
        network: cfg.name.clone(),
        aliases: a.alias.clone(),
    };
    if let Some(pid) = running_pid(&containers, &rec)? {
        let s = join_running(ctx, &rec, pid)?;
        let m = Member {
            id: &rec.id,
            name: &rec.name,
            hosts: containers.dir(&rec.id).join("hosts"),
            resolv: rec
                .options
                .dns
                .is_empty()
                .then(|| containers.dir(&rec.id).join("resolv.conf")),
        };
        s.connect(&m, &attach, pid)?;
    }
    nets.push(attach);
    save_networks(&containers, &rec, nets)?;
    Ok(0)
}

fn disconnect(ctx: &Context, a: DisconnectArgs) -> Result<i32> {
    let containers = Containers::open(&ctx.root)?;
    let rec = containers.lookup(&a.container)?;
    let cfg = Networks::open(&ctx.root)?.get(&a.network)?;
    let mut nets = rec.options.network.user_networks().to_vec();
    if !nets.iter().any(|n| n.network == cfg.name) {
        bail!(
            "container {} is not connected to network {}",
            rec.name,
            cfg.name
        );
    }
    if let Some(pid) = running_pid(&containers, &rec)? {
        let s = join_running(ctx, &rec, pid)?;
        s.disconnect(&rec.id, &cfg.name, pid)?;
    }
    nets.retain(|n| n.network != cfg.name);
    save_networks(&containers, &rec, nets)?;
    Ok(0)
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
