//! `network connect` and `network disconnect`: a running container changes its links at once
//! (through the shared namespace's user namespace), a stopped one only its record.

use super::network::{ConnectArgs, DisconnectArgs};
use super::network_attach::enter_for;
use crate::container::options::NetworkMode;
use crate::container::state::{run_dir, ContainerRecord, Containers, Status};
use crate::context::Context;
use crate::network::user::session::{NetAttach, Session};
use crate::network::user::Networks;
use anyhow::{anyhow, bail, Result};

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

pub fn connect(ctx: &Context, a: ConnectArgs) -> Result<i32> {
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
        let m = super::network_attach::member(&rec, &run_dir(&ctx.runroot, &rec.id));
        s.connect(&m, &attach, pid)?;
    }
    nets.push(attach);
    save_networks(&containers, &rec, nets)?;
    Ok(0)
}

pub fn disconnect(ctx: &Context, a: DisconnectArgs) -> Result<i32> {
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
