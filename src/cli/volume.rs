//! `volume create|ls|inspect|rm|prune`, with podman's flags and output.

use crate::container::lifecycle;
use crate::container::state::{ContainerRecord, Containers};
use crate::container::volumes::{VolumeRecord, Volumes};
use crate::container::ContainerError;
use crate::context::Context;
use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum VolumeCommand {
    /// Manage volumes
    Volume {
        #[command(subcommand)]
        cmd: VolumeSub,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum VolumeSub {
    /// Create a new volume
    Create(CreateArgs),
    /// List volumes
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused volumes
    Prune(PruneArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Set metadata for a volume (key=value)
    #[arg(short, long)]
    pub label: Vec<String>,
    /// Do not fail if the volume already exists
    #[arg(long)]
    pub ignore: bool,
    /// The volume's name (default: a random ID)
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LsArgs {
    /// Print only volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Pretty-print volumes with a Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
    /// Filter output (name=, label=key[=value], dangling=true|false)
    #[arg(short, long)]
    pub filter: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Inspect all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Format the output with a Go template, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Remove all volumes
    #[arg(short, long)]
    pub all: bool,
    /// Remove volumes even when containers use them (removing those containers)
    #[arg(short, long)]
    pub force: bool,
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
    /// Only prune volumes matching a filter (label=key[=value])
    #[arg(long)]
    pub filter: Vec<String>,
}

pub fn dispatch(ctx: &Context, cmd: VolumeCommand) -> Result<i32> {
    let VolumeCommand::Volume { cmd } = cmd;
    match cmd {
        VolumeSub::Create(a) => create(ctx, a),
        VolumeSub::Ls(a) => ls(ctx, a),
        VolumeSub::Inspect(a) => inspect(ctx, a),
        VolumeSub::Rm(a) => rm(ctx, a),
        VolumeSub::Prune(a) => prune(ctx, a),
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
    let vols = Volumes::open(&ctx.root)?;
    let name = a
        .name
        .clone()
        .unwrap_or_else(crate::container::mounts::anonymous_name);
    match vols.create(&name, labels(&a.label), false) {
        Ok(_) => {}
        Err(ContainerError::VolumeExists(_)) if a.ignore => {}
        Err(e) => return Err(e.into()),
    }
    println!("{name}");
    Ok(0)
}

fn matches(v: &VolumeRecord, filters: &[String], users: &dyn Fn(&str) -> bool) -> Result<bool> {
    for f in filters {
        let (k, val) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter `{f}`: expected key=value"))?;
        let ok = match k {
            "name" => v.name.contains(val),
            "label" => match val.split_once('=') {
                Some((lk, lv)) => v.labels.get(lk).is_some_and(|x| x == lv),
                None => v.labels.contains_key(val),
            },
            "dangling" => match val {
                "true" | "1" => !users(&v.name),
                "false" | "0" => users(&v.name),
                _ => bail!("invalid dangling filter `{val}`: expected true or false"),
            },
            "driver" => v.driver == val,
            _ => bail!("invalid filter `{k}`: expected name, label, dangling or driver"),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn ls(ctx: &Context, a: LsArgs) -> Result<i32> {
    let vols = Volumes::open(&ctx.root)?;
    let containers = Containers::open(&ctx.root)?;
    let in_use = |n: &str| vols.users(n, &containers).is_ok_and(|u| !u.is_empty());
    let mut list = Vec::new();
    for v in vols.list()? {
        if matches(&v, &a.filter, &in_use)? {
            list.push(v);
        }
    }
    if a.quiet {
        for v in &list {
            println!("{}", v.name);
        }
        return Ok(0);
    }
    let items: Vec<Value> = list.iter().map(to_json).collect();
    let format = a
        .format
        .as_deref()
        .unwrap_or("table {{.Driver}}\t{{.Name}}");
    print!(
        "{}",
        super::format::render_list(format, &items, &[("Name", "VOLUME NAME")])?
    );
    Ok(0)
}

fn to_json(v: &VolumeRecord) -> Value {
    let mut j = serde_json::to_value(v).unwrap_or(Value::Null);
    if let Some(o) = j.as_object_mut() {
        o.remove("Anonymous");
        o.insert("CreatedAt".into(), json!(v.created_at.to_rfc3339()));
        o.insert("MountCount".into(), json!(0));
        o.insert("NeedsChown".into(), json!(false));
    }
    j
}

fn inspect(ctx: &Context, a: InspectArgs) -> Result<i32> {
    let vols = Volumes::open(&ctx.root)?;
    if a.all != a.names.is_empty() {
        bail!("provide one or more volume names or use --all");
    }
    let list = if a.all {
        vols.list()?
    } else {
        a.names
            .iter()
            .map(|n| vols.get(n))
            .collect::<Result<Vec<_>, _>>()?
    };
    let items: Vec<Value> = list.iter().map(to_json).collect();
    match a.format.as_deref() {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&items)?),
        Some(f) => {
            for i in &items {
                println!("{}", super::format::render(f, i)?);
            }
        }
    }
    Ok(0)
}

fn rm(ctx: &Context, a: RmArgs) -> Result<i32> {
    if a.all != a.names.is_empty() {
        bail!("choose either one or more volumes or --all");
    }
    let vols = Volumes::open(&ctx.root)?;
    let containers = Containers::open(&ctx.root)?;
    let names: Vec<String> = if a.all {
        vols.list()?.into_iter().map(|v| v.name).collect()
    } else {
        a.names.clone()
    };
    let mut code = 0;
    let mut refused = Vec::new();
    if a.force {
        // Containers using the volumes go too; stop them from the host's user namespace,
        // unless one cannot go (others depend on it): then that volume stays, and nothing of
        // it is stopped.
        for n in &names {
            let users = match users_in_removal_order(&vols, &containers, n) {
                Ok(users) => users,
                Err(e) => {
                    eprintln!("Error: {e:#}");
                    code = 125;
                    refused.push(n.clone());
                    continue;
                }
            };
            for rec in &users {
                lifecycle::stop(&containers, rec, lifecycle::STOP_TIMEOUT)?;
            }
        }
    }
    super::enter_userns(ctx)?;
    for n in names.into_iter().filter(|n| !refused.contains(n)) {
        if let Err(e) = remove_volume(&vols, &containers, &n, a.force) {
            eprintln!("Error: {e:#}");
            code = match e.downcast_ref::<ContainerError>() {
                Some(ContainerError::VolumeNotFound(_)) => 1,
                _ => 2,
            };
            continue;
        }
        println!("{n}");
    }
    Ok(code)
}

fn remove_volume(vols: &Volumes, containers: &Containers, name: &str, force: bool) -> Result<()> {
    vols.get(name)?;
    let users = vols.users(name, containers)?;
    if let Some(id) = users.first() {
        if !force {
            return Err(ContainerError::VolumeInUse {
                name: name.into(),
                id: id.clone(),
            }
            .into());
        }
        for rec in users_in_removal_order(vols, containers, name)? {
            lifecycle::remove(containers, vols, &rec, true, false)?;
        }
    }
    vols.remove(name)?;
    Ok(())
}

/// The containers using volume `name`, in the order `volume rm -f` removes them.
fn users_in_removal_order(
    vols: &Volumes,
    containers: &Containers,
    name: &str,
) -> Result<Vec<ContainerRecord>> {
    let mut users = Vec::new();
    for id in vols.users(name, containers)? {
        users.push(containers.record(&id)?);
    }
    lifecycle::removal_order(containers, users)
        .with_context(|| format!("cannot remove the containers using volume {name}"))
}

fn prune(ctx: &Context, a: PruneArgs) -> Result<i32> {
    let vols = Volumes::open(&ctx.root)?;
    let containers = Containers::open(&ctx.root)?;
    let in_use = |n: &str| vols.users(n, &containers).is_ok_and(|u| !u.is_empty());
    let mut doomed = Vec::new();
    for v in vols.list()? {
        if !in_use(&v.name) && matches(&v, &a.filter, &in_use)? {
            doomed.push(v.name);
        }
    }
    if !a.force {
        use std::io::{BufRead, Write};
        eprintln!("WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:");
        for n in &doomed {
            eprintln!("{n}");
        }
        eprint!("Are you sure you want to continue? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    super::enter_userns(ctx)?;
    for n in doomed {
        vols.remove(&n)?;
        println!("{n}");
    }
    Ok(0)
}
