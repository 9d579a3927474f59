//! Commands that act on existing containers: `stop`, `kill`, `wait`, `restart`.
//!
//! `stop` and `kill` signal the container's pid 1 from the host's user namespace, where the
//! invoking user holds CAP_KILL over rctr's namespace (see `container::lifecycle::stop`); they
//! never enter it.

use crate::container::lifecycle;
use crate::container::state::{ContainerRecord, Containers, Status};
use crate::context::Context;
use anyhow::{anyhow, bail, Result};
use clap::{Args, Subcommand};
use std::time::{Duration, Instant};

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum LifecycleCommand {
    /// Stop one or more running containers
    Stop(StopArgs),
    /// Send a signal to one or more running containers
    Kill(KillArgs),
    /// Wait for one or more containers to stop and print their exit codes
    Wait(WaitArgs),
    /// Restart one or more containers
    Restart(StopArgs),
    /// Fetch the logs of a container
    Logs(super::logs::LogsArgs),
    /// Run a process in a running container
    Exec(super::exec::ExecArgs),
    /// Display the configuration of containers or images as JSON
    Inspect(super::inspect::InspectArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Manage containers
    Container {
        #[command(subcommand)]
        cmd: ContainerSub,
    },
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Seconds to wait for the stop signal to work before killing the container
    #[arg(
        short = 't',
        long = "time",
        value_name = "SECONDS",
        default_value_t = 10
    )]
    pub time: u64,
    /// Act on all containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a container does not exist
    #[arg(short, long)]
    pub ignore: bool,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    #[command(flatten)]
    pub cidfile: super::pick::CidFiles,
    /// Containers (names or IDs)
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RenameArgs {
    /// The container (name or ID)
    pub container: String,
    /// Its new name
    pub name: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Do not ask for confirmation (rctr never asks)
    #[arg(short, long)]
    pub force: bool,
}

// `rctr container …`. A plain comment: clap would take a doc comment here as the description
// of `rctr container`, over the one its variant gives.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContainerSub {
    /// Remove all containers that are not running
    Prune(PruneArgs),
    /// Rename a container
    Rename(RenameArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(super::cp::CpArgs),
    /// Inspect changes to a container's filesystem
    Diff(super::diff::DiffArgs),
    /// Create a new image from a container's changes
    Commit(super::commit::CommitArgs),
    /// Export a container's filesystem contents as a tar archive
    Export(super::export::ExportArgs),
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// Signal to send (name or number)
    #[arg(short, long, default_value = "KILL", value_name = "SIGNAL")]
    pub signal: String,
    /// Signal all running containers
    #[arg(short, long)]
    pub all: bool,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    #[command(flatten)]
    pub cidfile: super::pick::CidFiles,
    /// Containers (names or IDs)
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Condition to wait for: stopped, exited, running or created
    #[arg(long, value_name = "STATE", default_value = "stopped")]
    pub condition: Vec<String>,
    /// Milliseconds between state checks
    #[arg(short = 'i', long, value_name = "MS", default_value_t = 50)]
    pub interval: u64,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// Containers (names or IDs)
    #[arg(required_unless_present = "latest", value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn dispatch(ctx: &Context, cmd: LifecycleCommand) -> Result<i32> {
    match cmd {
        LifecycleCommand::Stop(a) => stop(ctx, a),
        LifecycleCommand::Kill(a) => kill(ctx, a),
        LifecycleCommand::Wait(a) => wait(ctx, a),
        LifecycleCommand::Restart(a) => restart(ctx, a),
        LifecycleCommand::Logs(a) => super::logs::logs(ctx, a),
        LifecycleCommand::Exec(a) => super::exec::exec(ctx, a),
        LifecycleCommand::Inspect(a) => super::inspect::inspect(ctx, a),
        LifecycleCommand::Rename(a)
        | LifecycleCommand::Container {
            cmd: ContainerSub::Rename(a),
        } => rename(ctx, a),
        LifecycleCommand::Container {
            cmd: ContainerSub::Prune(_),
        } => prune(ctx),
        LifecycleCommand::Container {
            cmd: ContainerSub::Cp(a),
        } => super::cp::cp(ctx, a),
        LifecycleCommand::Container {
            cmd: ContainerSub::Diff(a),
        } => super::diff::diff(ctx, a),
        LifecycleCommand::Container {
            cmd: ContainerSub::Commit(a),
        } => super::commit::commit(ctx, a),
        LifecycleCommand::Container {
            cmd: ContainerSub::Export(a),
        } => super::export::export(ctx, a),
    }
}

/// Resolves the named containers (or all), printing an error for each unknown one. Returns the
/// records with the name each was asked by, and whether any lookup failed.
fn targets(
    containers: &Containers,
    all: bool,
    names: &[String],
    ignore: bool,
) -> Result<(Vec<(String, ContainerRecord)>, bool)> {
    if all != names.is_empty() {
        bail!("specify one or more containers, or --all");
    }
    if all {
        return Ok((
            containers
                .list()?
                .into_iter()
                .map(|r| (r.id.clone(), r))
                .collect(),
            false,
        ));
    }
    let mut out = Vec::new();
    let mut failed = false;
    for n in names {
        match containers.lookup(n) {
            Ok(r) => out.push((n.clone(), r)),
            Err(e) if ignore => ::log::debug!("{e}"),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = true;
            }
        }
    }
    Ok((out, failed))
}

fn stop(ctx: &Context, mut args: StopArgs) -> Result<i32> {
    super::pick::expand(&ctx.root, &args.latest, &args.cidfile, &mut args.containers)?;
    let containers = Containers::open(&ctx.root)?;
    let (list, failed) = targets(&containers, args.all, &args.containers, args.ignore)?;
    let mut code = if failed { 125 } else { 0 };
    for (name, rec) in &list {
        match lifecycle::stop(&containers, rec, Duration::from_secs(args.time)) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 125;
            }
        }
    }
    Ok(code)
}

fn kill(ctx: &Context, mut args: KillArgs) -> Result<i32> {
    super::pick::expand(&ctx.root, &args.latest, &args.cidfile, &mut args.containers)?;
    let sig = lifecycle::parse_signal(&args.signal)
        .ok_or_else(|| anyhow!("invalid signal `{}`", args.signal))?;
    let containers = Containers::open(&ctx.root)?;
    let (list, failed) = targets(&containers, args.all, &args.containers, false)?;
    let mut code = if failed { 125 } else { 0 };
    for (name, rec) in &list {
        let st = containers.state(&rec.id)?;
        let target = st.container_pid.filter(|_| st.status == Status::Running);
        if target.is_some() {
            // As podman: a container the user signalled is not restarted by its policy.
            lifecycle::mark_stopped_by_user(&containers, &rec.id)?;
            lifecycle::thaw_if_paused(&containers, &rec.id, &st);
        }
        let Some(pid) = target else {
            if args.all {
                continue;
            }
            eprintln!(
                "Error: can only kill running containers. {} is in state {}",
                rec.id,
                st.status.as_str()
            );
            code = 125;
            continue;
        };
        match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig) {
            Ok(()) => println!("{name}"),
            Err(e) => {
                eprintln!("Error: cannot signal container {}: {e}", rec.name);
                code = 125;
            }
        }
    }
    Ok(code)
}

fn wait(ctx: &Context, mut args: WaitArgs) -> Result<i32> {
    let none = super::pick::CidFiles::default();
    super::pick::expand(&ctx.root, &args.latest, &none, &mut args.containers)?;
    let containers = Containers::open(&ctx.root)?;
    let mut wanted = Vec::new();
    for c in &args.condition {
        wanted.push(match c.as_str() {
            "stopped" | "exited" => Status::Exited,
            "running" => Status::Running,
            "created" | "configured" => Status::Created,
            other => {
                bail!("invalid --condition `{other}`: use stopped, exited, running or created")
            }
        });
    }
    let (list, failed) = targets(&containers, false, &args.containers, false)?;
    for (_, rec) in &list {
        loop {
            let st = match containers.state(&rec.id) {
                Ok(s) => s,
                Err(_) if containers.record(&rec.id).is_err() => {
                    bail!(
                        "container {} was removed before it could be waited for",
                        rec.name
                    )
                }
                Err(e) => return Err(e.into()),
            };
            if wanted.contains(&st.status) {
                println!("{}", st.exit_code.unwrap_or(-1));
                break;
            }
            std::thread::sleep(Duration::from_millis(args.interval.max(1)));
        }
    }
    Ok(if failed { 125 } else { 0 })
}

fn restart(ctx: &Context, mut args: StopArgs) -> Result<i32> {
    super::pick::expand(&ctx.root, &args.latest, &args.cidfile, &mut args.containers)?;
    let containers = Containers::open(&ctx.root)?;
    let (list, failed) = targets(&containers, args.all, &args.containers, args.ignore)?;
    for (_, rec) in &list {
        lifecycle::stop(&containers, rec, Duration::from_secs(args.time))?;
    }
    // Wait for the monitors to record the exits before starting again.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline
        && list.iter().any(|(_, r)| {
            containers
                .state(&r.id)
                .is_ok_and(|s| s.status == Status::Running)
        })
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Containers on user-defined networks start in the shared network namespace's userns.
    let ids: Vec<String> = list.iter().map(|(_, r)| r.id.clone()).collect();
    let _net = super::network::enter_for_any(ctx, &ids)?;
    let e = super::container::engines(ctx)?;
    let mut code = if failed { 125 } else { 0 };
    for (name, rec) in &list {
        match super::container::start_detached(ctx, &e, &rec.id) {
            Ok(()) => println!("{name}"),
            Err(err) => {
                eprintln!("Error: {err:#}");
                code = crate::exit::code_of(&err);
            }
        }
    }
    Ok(code)
}

fn rename(ctx: &Context, args: RenameArgs) -> Result<i32> {
    let containers = Containers::open(&ctx.root)?;
    let rec = containers.lookup(&args.container)?;
    containers.rename(&rec.id, &args.name)?;
    Ok(0)
}

fn prune(ctx: &Context) -> Result<i32> {
    let e = super::container::engines(ctx)?;
    // Dependents first, so that a stopped container joined only by stopped ones goes too; one
    // that a running container still joins is kept.
    let all = lifecycle::with_dependents(&e.containers, e.containers.list()?)?;
    for rec in all {
        if e.containers
            .state(&rec.id)
            .is_ok_and(|s| s.status != Status::Running)
        {
            match lifecycle::remove(&e.containers, &e.volumes, &rec, false, false) {
                Err(crate::container::ContainerError::HasDependents { .. }) => continue,
                r => r?,
            };
            println!("{}", rec.id);
        }
    }
    Ok(0)
}
