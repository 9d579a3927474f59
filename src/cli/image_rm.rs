//! `rmi`, `tag`, `untag`, `image exists` and `image prune`.

use crate::container::lifecycle;
use crate::container::state::{ContainerRecord, Containers};
use crate::context::Context;
use crate::image::{Store, StoreError};
use anyhow::{Context as _, Result};
use clap::Args;
use std::io::BufRead;

#[derive(Debug, Args)]
pub struct RmiArgs {
    /// Images to remove (name, id or id prefix)
    pub images: Vec<String>,
    /// Remove all images
    #[arg(short, long)]
    pub all: bool,
    /// Remove an image even when it has several names, and remove the containers that use it
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct TagArgs {
    /// Image to tag
    pub image: String,
    /// New names (short names go under `localhost/`)
    #[arg(required = true, num_args = 1..)]
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct UntagArgs {
    /// Image to untag
    pub image: String,
    /// Names to remove (all names when none are given)
    pub names: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExistsArgs {
    /// Image name or id
    pub image: String,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Remove all images not used by a container, not only dangling ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not ask for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub fn rmi(ctx: &Context, args: RmiArgs) -> Result<i32> {
    if args.all != args.images.is_empty() {
        anyhow::bail!("give image names or ids, or --all, but not both");
    }
    // With --force, podman removes the containers that use the image. Running ones are stopped
    // from the host's user namespace, where their processes can be signalled.
    let users = users_of(ctx, &args)?;
    super::enter_userns(ctx)?;
    if args.force && !users.is_empty() {
        let containers = Containers::open(&ctx.root)?;
        let volumes = crate::container::volumes::Volumes::open(&ctx.root)?;
        for c in &users {
            lifecycle::remove(&containers, &volumes, c, true, false)
                .with_context(|| format!("cannot remove container {}", c.name))?;
        }
    }
    let store = Store::open(&ctx.root)?;
    let names: Vec<String> = if args.all {
        store.images()?.into_iter().map(|r| r.id).collect()
    } else {
        args.images.clone()
    };
    let mut code = 0;
    for name in &names {
        match store.remove_image(name, args.force || args.all) {
            Ok(rm) => {
                for u in &rm.untagged {
                    println!("Untagged: {u}");
                }
                if let Some(id) = &rm.deleted {
                    println!("Deleted: {id}");
                }
            }
            Err(e @ StoreError::ImageNotKnown(_)) => {
                eprintln!("Error: {e}");
                code = code.max(1);
            }
            Err(e @ (StoreError::InUse { .. } | StoreError::SeveralNames { .. })) => {
                eprintln!("Error: {e}");
                code = 2;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(code)
}

/// The containers using the images `rmi --force` names (all images with --all), stopped.
fn users_of(ctx: &Context, args: &RmiArgs) -> Result<Vec<ContainerRecord>> {
    if !args.force {
        return Ok(Vec::new());
    }
    let store = Store::open(&ctx.root)?;
    let ids: Vec<String> = if args.all {
        store.images()?.into_iter().map(|r| r.id).collect()
    } else {
        args.images
            .iter()
            .filter_map(|n| store.resolve(n).ok().map(|r| r.id))
            .collect()
    };
    let containers = Containers::open(&ctx.root)?;
    let users: Vec<ContainerRecord> = containers
        .list()?
        .into_iter()
        .filter(|c| ids.contains(&c.image_id))
        .collect();
    // Dependents go first; a user that others depend on refuses the whole removal before
    // anything is stopped.
    let users = lifecycle::removal_order(&containers, users)
        .context("cannot remove the containers using the image")?;
    for c in &users {
        lifecycle::stop(&containers, c, lifecycle::STOP_TIMEOUT)
            .with_context(|| format!("cannot stop container {}", c.name))?;
    }
    Ok(users)
}

pub fn tag(ctx: &Context, args: TagArgs) -> Result<i32> {
    let store = Store::open(&ctx.root)?;
    for n in &args.names {
        store
            .tag(&args.image, n)
            .with_context(|| format!("cannot tag `{}` as `{n}`", args.image))?;
    }
    Ok(0)
}

pub fn untag(ctx: &Context, args: UntagArgs) -> Result<i32> {
    let store = Store::open(&ctx.root)?;
    store
        .untag(&args.image, &args.names)
        .with_context(|| format!("cannot untag `{}`", args.image))?;
    Ok(0)
}

pub fn exists(ctx: &Context, args: ExistsArgs) -> Result<i32> {
    let store = Store::open(&ctx.root)?;
    match store.resolve(&args.image) {
        Ok(_) => Ok(0),
        Err(StoreError::ImageNotKnown(_)) => Ok(1),
        Err(e) => Err(e.into()),
    }
}

pub fn prune(ctx: &Context, args: PruneArgs) -> Result<i32> {
    if !args.force {
        let what = if args.all {
            "all images not used by a container"
        } else {
            "all dangling images"
        };
        eprint!("WARNING! This command removes {what}.\nAre you sure you want to continue? [y/N] ");
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            return Ok(0);
        }
    }
    super::enter_userns(ctx)?;
    let store = Store::open(&ctx.root)?;
    for id in store.prune(args.all)? {
        println!("{id}");
    }
    Ok(0)
}
