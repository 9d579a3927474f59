//! `rctr pause` and `rctr unpause`: freeze and thaw every process of running containers
//! through the cgroup v2 freezer (see `container::freezer`), recording the paused state that
//! `ps` and `inspect` show.

use crate::container::freezer::Freezer;
use crate::container::state::{ContainerRecord, Containers, Status};
use crate::context::Context;
use anyhow::{bail, Context as _, Result};
use clap::Args;

#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Act on all running containers
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

pub fn pause(ctx: &Context, args: PauseArgs) -> Result<i32> {
    each(ctx, args, true)
}

pub fn unpause(ctx: &Context, args: PauseArgs) -> Result<i32> {
    each(ctx, args, false)
}

fn each(ctx: &Context, mut args: PauseArgs, freeze: bool) -> Result<i32> {
    super::pick::expand(&ctx.root, &args.latest, &args.cidfile, &mut args.containers)?;
    if args.all != args.containers.is_empty() {
        bail!("specify one or more containers, or --all");
    }
    let containers = Containers::open(&ctx.root)?;
    let targets: Vec<ContainerRecord> = if args.all {
        containers
            .list()?
            .into_iter()
            .filter(|r| {
                containers.state(&r.id).is_ok_and(|s| {
                    let s = s.effective();
                    s.status == Status::Running && s.paused != freeze
                })
            })
            .collect()
    } else {
        let mut v = Vec::new();
        for c in &args.containers {
            v.push(containers.lookup(c)?);
        }
        v
    };
    let mut code = 0;
    for rec in &targets {
        match set(&containers, rec, freeze) {
            Ok(()) => println!("{}", rec.id),
            Err(err) if targets.len() == 1 => return Err(err),
            Err(err) => {
                eprintln!("Error: {err:#}");
                code = crate::exit::FAILURE;
            }
        }
    }
    Ok(code)
}

fn set(containers: &Containers, rec: &ContainerRecord, freeze: bool) -> Result<()> {
    let action = if freeze { "pause" } else { "unpause" };
    let st = containers.state(&rec.id)?.effective();
    if st.status != Status::Running || st.container_pid.is_none() {
        bail!(
            "cannot {action} container {}: it is {}, not running",
            rec.name,
            st.status.as_str()
        );
    }
    // The container's own cgroup holds all its processes (exec'd ones too) and nothing else.
    let freezer = Freezer::of_container(st.cgroup.as_deref(), &rec.name, action)
        .with_context(|| format!("cannot {action} container {}", rec.name))?;
    if st.paused == freeze {
        bail!(
            "cannot {action} container {}: it is {}",
            rec.name,
            if freeze {
                "already paused"
            } else {
                "not paused"
            }
        );
    }
    freezer
        .set(freeze)
        .with_context(|| format!("cannot {action} container {}", rec.name))?;
    containers.update_state(&rec.id, |st| st.paused = freeze)?;
    Ok(())
}
