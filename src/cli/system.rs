//! System-wide commands: `version`, `info`, `completion`, `doctor` and `system reset|df|prune|info`.

use crate::container::lifecycle;
use crate::container::state::Containers;
use crate::context::Context;
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SystemCommand {
    /// Show the rctr version
    Version(VersionArgs),
    /// Print a shell completion script (bash, zsh, fish)
    #[command(
        after_long_help = "Examples:\n  source <(rctr completion bash)\n  rctr completion fish > ~/.config/fish/completions/rctr.fish"
    )]
    Completion(super::completion::CompletionArgs),
    /// Display system information: host, store, registries
    Info(super::info::InfoArgs),
    /// Check the host's rootless set-up and print how to fix what is wrong
    Doctor(super::doctor::DoctorArgs),
    /// Manage rctr's storage and state
    System {
        #[command(subcommand)]
        cmd: SystemSub,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SystemSub {
    /// Remove all images, containers, volumes and state, returning rctr to its initial state
    Reset(ResetArgs),
    /// Show disk space used by images, containers and volumes
    Df(super::system_df::DfArgs),
    /// Remove stopped containers, dangling (with -a: unused) images and, with --volumes, unused volumes
    Prune(super::system_df::PruneArgs),
    /// Display system information (as `rctr info`)
    Info(super::info::InfoArgs),
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format the output with a Go template, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

pub fn dispatch(ctx: &Context, cmd: SystemCommand) -> Result<i32> {
    match cmd {
        SystemCommand::Version(a) => version(ctx, a),
        SystemCommand::Completion(a) => super::completion::completion(a),
        SystemCommand::Doctor(a) => super::doctor::doctor(ctx, a),
        SystemCommand::Info(a) => super::info::info(ctx, a),
        SystemCommand::System { cmd } => match cmd {
            SystemSub::Reset(a) => reset(ctx, a),
            SystemSub::Df(a) => super::system_df::df(ctx, a),
            SystemSub::Prune(a) => super::system_df::prune(ctx, a),
            SystemSub::Info(a) => super::info::info(ctx, a),
        },
    }
}

/// Removes the whole store and runtime directory. Layer files belong to subordinate ids, so the
/// removal happens inside rctr's user namespace.
fn reset(ctx: &Context, args: ResetArgs) -> Result<i32> {
    if !args.force {
        anyhow::bail!(
            "`system reset` removes every image, container and volume in `{}`; run it again with -f to confirm",
            ctx.root.display()
        );
    }
    // Like podman, stop every container first, from the host's user namespace where their
    // processes can be signalled: a monitor whose store is gone would keep its container
    // running with nothing left to stop it.
    if ctx.root.join("containers").is_dir() {
        let containers = Containers::open(&ctx.root)?;
        for r in containers.list()? {
            lifecycle::stop(&containers, &r, std::time::Duration::ZERO)
                .with_context(|| format!("cannot stop container {}", r.name))?;
            // Its own cgroup, which the store no longer records once it is gone.
            super::cgroups::remove_recorded(&containers, &r.id, &r.name);
        }
    }
    super::enter_userns(ctx)?;
    for dir in [&ctx.root, &ctx.runroot] {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(
                    anyhow::Error::new(e).context(format!("cannot remove `{}`", dir.display()))
                )
            }
        }
    }
    Ok(0)
}

fn version(_ctx: &Context, args: VersionArgs) -> Result<i32> {
    let data = serde_json::json!({
        "Client": {
            "Version": env!("CARGO_PKG_VERSION"),
            "OsArch": format!("{}/{}", std::env::consts::OS, go_arch()),
        }
    });
    match args.format.as_deref() {
        Some("json") => println!("{}", serde_json::to_string_pretty(&data)?),
        Some(f) => println!("{}", super::format::render(f, &data)?),
        None => {
            println!("Version:      {}", env!("CARGO_PKG_VERSION"));
            println!("OS/Arch:      {}/{}", std::env::consts::OS, go_arch());
        }
    }
    Ok(0)
}

/// The platform architecture in OCI/Go naming (`amd64`, `arm64`), as used in image indexes.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
