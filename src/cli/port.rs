//! `port`: the ports a container publishes, in podman's `80/tcp -> 0.0.0.0:8080` form.

use crate::container::state::Containers;
use crate::context::Context;
use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum PortCommand {
    /// List the port mappings of a container
    Port(PortArgs),
}

#[derive(Debug, Args)]
pub struct PortArgs {
    /// List the port mappings of every container
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// The container, and optionally one PORT[/PROTOCOL] to show
    pub args: Vec<String>,
}

pub fn dispatch(ctx: &Context, cmd: PortCommand) -> Result<i32> {
    let PortCommand::Port(a) = cmd;
    let containers = Containers::open(&ctx.root)?;
    if a.all {
        if !a.args.is_empty() {
            bail!("--all takes no container");
        }
        for rec in containers.list()? {
            for p in &rec.options.ports {
                println!("{}\t{p}", &rec.id[..12]);
            }
        }
        return Ok(0);
    }
    let mut a = a;
    if a.latest.latest {
        if a.args.len() > 1 {
            bail!("--latest and containers cannot be used together");
        }
        a.args.insert(0, super::pick::latest_id(&containers)?);
    }
    let (name, filter) = match &a.args[..] {
        [n] => (n, None),
        [n, f] => (n, Some(f.as_str())),
        _ => bail!("specify one container, and optionally one PORT[/PROTOCOL]"),
    };
    let rec = containers
        .lookup(name)
        .with_context(|| format!("cannot list the ports of `{name}`"))?;
    let mut shown = false;
    for p in &rec.options.ports {
        let matches = match filter {
            None => true,
            Some(f) => {
                let (port, proto) = f.split_once('/').unwrap_or((f, "tcp"));
                port == p.container_port.to_string() && proto == p.protocol.to_string()
            }
        };
        if matches {
            match filter {
                None => println!("{p}"),
                Some(_) => println!("{}:{}", p.host_ip, p.host_port),
            }
            shown = true;
        }
    }
    if let (Some(f), false) = (filter, shown) {
        bail!("no public port {f} published for container {}", rec.name);
    }
    Ok(0)
}
