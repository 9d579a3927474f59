//! `network create|ls|inspect|rm|prune|connect|disconnect`, with podman's flags and output.
//! connect/disconnect live in `network_connect`, and what puts `run --network NAME` containers
//! on user-defined networks in `network_attach` (see `network::user` for the design).

use crate::container::lifecycle;
use crate::container::state::{ContainerRecord, Containers};
use crate::container::volumes::Volumes;
use crate::context::Context;
use crate::network::user::config::{NewNetwork, DEFAULT_NETWORK};
use crate::network::user::{NetworkConfig, Networks, UserNetError};
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum NetworkCommand {
    /// Manage networks
    Network {
        #[command(subcommand)]
        cmd: NetworkSub,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
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

pub use super::network_attach::{
    attach, enter_for, enter_for_any, inspect_networks, main_if_holder, release, user_networks,
};

pub fn dispatch(ctx: &Context, cmd: NetworkCommand) -> Result<i32> {
    let NetworkCommand::Network { cmd } = cmd;
    match cmd {
        NetworkSub::Create(a) => create(ctx, a),
        NetworkSub::Ls(a) => ls(ctx, a),
        NetworkSub::Inspect(a) => inspect(ctx, a),
        NetworkSub::Rm(a) => rm(ctx, a),
        NetworkSub::Prune(a) => prune(ctx, a),
        NetworkSub::Connect(a) => super::network_connect::connect(ctx, a),
        NetworkSub::Disconnect(a) => super::network_connect::disconnect(ctx, a),
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
                // Dependents first; none may stay behind (see `lifecycle::removal_order`).
                let using = lifecycle::removal_order(&containers, using)?;
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
