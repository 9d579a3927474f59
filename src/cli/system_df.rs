//! `system df` (disk used by images, containers and volumes) and `system prune` (remove what is
//! unused), with podman's columns and messages.

use crate::container::state::{Containers, Status};
use crate::container::volumes::Volumes;
use crate::context::Context;
use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Args)]
pub struct DfArgs {
    /// Format the output with a Go template, or `json`
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all unused images, not only dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Also remove volumes no container uses
    #[arg(long)]
    pub volumes: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

/// Bytes used by the files under `dir` (allocated blocks, as du counts them).
fn du(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut stack = vec![dir.to_owned()];
    let mut seen = BTreeSet::new();
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let Ok(m) = e.metadata() else { continue };
            if m.nlink() > 1 && !seen.insert((m.dev(), m.ino())) {
                continue;
            }
            total += m.blocks() * 512;
            if m.is_dir() {
                stack.push(e.path());
            }
        }
    }
    total
}

struct Usage {
    rows: Vec<(String, usize, usize, u64, u64)>,
}

fn usage(ctx: &Context) -> Result<Usage> {
    let store = crate::image::Store::open(&ctx.root)?;
    let images = store.images()?;
    let containers = Containers::open(&ctx.root)?;
    let all = containers.list()?;
    let used_images: BTreeSet<&str> = all.iter().map(|c| c.image_id.as_str()).collect();
    // Layers are shared between images: count each once, and as reclaimable only when no image
    // that a container uses needs it.
    let mut layer_size = BTreeMap::new();
    let mut active_layers = BTreeSet::new();
    for img in &images {
        for l in &img.layers {
            let size = store.layer_meta(&l.chain_id).map(|m| m.size).unwrap_or(0);
            layer_size.insert(l.chain_id.clone(), size);
            if used_images.contains(img.id.as_str()) {
                active_layers.insert(l.chain_id.clone());
            }
        }
    }
    let img_total: u64 = layer_size.values().sum();
    let img_reclaim: u64 = layer_size
        .iter()
        .filter(|(k, _)| !active_layers.contains(*k))
        .map(|(_, v)| v)
        .sum();
    let active_imgs = images
        .iter()
        .filter(|i| used_images.contains(i.id.as_str()))
        .count();

    let mut c_total = 0;
    let mut c_reclaim = 0;
    let mut running = 0;
    for c in &all {
        let size = du(&containers.dir(&c.id));
        c_total += size;
        if matches!(
            containers.state(&c.id).map(|s| s.effective().status),
            Ok(Status::Running)
        ) {
            running += 1;
        } else {
            c_reclaim += size;
        }
    }

    let vols = Volumes::open(&ctx.root)?;
    let (mut v_total, mut v_reclaim, mut v_active) = (0, 0, 0);
    let vlist = vols.list()?;
    for v in &vlist {
        let size = du(&v.mountpoint);
        v_total += size;
        if vols
            .users(&v.name, &containers)
            .is_ok_and(|u| !u.is_empty())
        {
            v_active += 1;
        } else {
            v_reclaim += size;
        }
    }
    Ok(Usage {
        rows: vec![
            (
                "Images".into(),
                images.len(),
                active_imgs,
                img_total,
                img_reclaim,
            ),
            ("Containers".into(), all.len(), running, c_total, c_reclaim),
            (
                "Local Volumes".into(),
                vlist.len(),
                v_active,
                v_total,
                v_reclaim,
            ),
        ],
    })
}

/// podman prints df sizes docker-style, without a space: `5.59MB`.
fn compact(bytes: u64) -> String {
    super::human::size(bytes).replace(' ', "")
}

pub fn df(ctx: &Context, args: DfArgs) -> Result<i32> {
    // Container upper layers hold files owned by subordinate ids: read them as the namespace's root.
    super::enter_userns(ctx)?;
    let u = usage(ctx)?;
    let items: Vec<serde_json::Value> = u
        .rows
        .iter()
        .map(|(t, total, active, size, reclaim)| {
            let pct = if *size == 0 { 0 } else { reclaim * 100 / size };
            json!({
                "Type": t, "Total": total, "Active": active,
                "Size": compact(*size), "Reclaimable": format!("{} ({pct}%)", compact(*reclaim)),
                "RawSize": size, "RawReclaimable": reclaim,
            })
        })
        .collect();
    let format = args.format.unwrap_or_else(|| {
        "table {{.Type}}\t{{.Total}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}".into()
    });
    print!("{}", super::format::render_list(&format, &items, &[])?);
    Ok(0)
}

pub fn prune(ctx: &Context, args: PruneArgs) -> Result<i32> {
    if !args.force {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            anyhow::bail!(
                "`system prune` needs confirmation; run it with -f to prune without a prompt"
            );
        }
        eprintln!("WARNING! This command removes:");
        eprintln!("\t- all stopped containers");
        if args.volumes {
            eprintln!("\t- all volumes not used by at least one container");
        }
        eprintln!(
            "\t- all {} images",
            if args.all { "unused" } else { "dangling" }
        );
        eprint!("\nAre you sure you want to continue? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    super::enter_userns(ctx)?;
    let before = usage(ctx)?.rows.iter().map(|r| r.3).sum::<u64>();
    let containers = Containers::open(&ctx.root)?;
    let vols = Volumes::open(&ctx.root)?;
    let mut removed = Vec::new();
    for c in containers.list()? {
        let status = containers.state(&c.id).map(|s| s.effective().status);
        if !matches!(status, Ok(Status::Running)) {
            crate::container::lifecycle::remove(&containers, &vols, &c, false, false)
                .with_context(|| format!("cannot remove container `{}`", c.name))?;
            removed.push(c.id);
        }
    }
    if !removed.is_empty() {
        println!("Deleted Containers");
        removed.iter().for_each(|id| println!("{id}"));
    }
    if args.volumes {
        let mut gone = Vec::new();
        for v in vols.list()? {
            if vols.users(&v.name, &containers).is_ok_and(|u| u.is_empty()) {
                vols.remove(&v.name)
                    .with_context(|| format!("cannot remove volume `{}`", v.name))?;
                gone.push(v.name);
            }
        }
        if !gone.is_empty() {
            println!("Deleted Volumes");
            gone.iter().for_each(|n| println!("{n}"));
        }
    }
    let images = crate::image::Store::open(&ctx.root)?
        .prune(args.all)
        .context("cannot prune images")?;
    if !images.is_empty() {
        println!("Deleted Images");
        images.iter().for_each(|id| println!("{id}"));
    }
    let after = usage(ctx)?.rows.iter().map(|r| r.3).sum::<u64>();
    println!(
        "Total reclaimed space: {}",
        compact(before.saturating_sub(after))
    );
    Ok(0)
}
