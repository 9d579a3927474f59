//! The command line: clap definitions (one file per command group) and all output. Handlers are
//! plain functions that take the resolved [`Context`] and their args, and return an exit status.

pub mod archive;
pub mod attach;
mod attach_socket;
mod cgroups;
pub mod commit;
pub mod complete;
pub mod completion;
pub mod container;
pub mod cp;
pub mod diff;
pub mod doctor;
pub mod exec;
pub mod export;
pub mod format;
mod format_fields;
pub mod fs;
pub mod generate;
pub mod human;
pub mod image;
pub mod image_inspect;
pub mod image_list;
pub mod image_pull;
pub mod image_rm;
pub mod info;
pub mod inspect;
pub mod inspect_size;
pub mod interact;
mod launch;
pub mod lifecycle;
pub mod log;
pub mod login;
pub mod logs;
mod monitor;
mod monitor_attach;
mod monitor_memory;
pub mod network;
mod network_attach;
mod network_connect;
pub mod pause;
pub mod pick;
pub mod pidfile;
pub mod port;
pub mod ps;
mod relaunch;
pub mod run_args;
pub mod system;
pub mod system_df;
pub mod systemd;
pub mod top;
pub mod volume;

use crate::context::{Context, Overrides};
use crate::runtime::idmap::IdMap;
use anyhow::{Context as _, Result};
use clap::{CommandFactory, Parser, Subcommand};
use std::path::{Path, PathBuf};

/// Rootless, daemonless containers: run, build and manage OCI containers and images as an
/// ordinary user, with podman's and docker's command line.
#[derive(Debug, Parser)]
#[command(name = "rctr", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Path to the persistent store (images, layers, containers, volumes)
    #[arg(long, global = true, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// Path to the runtime state directory (locks, sockets, pid files)
    #[arg(long, global = true, value_name = "PATH")]
    pub runroot: Option<PathBuf>,
    /// Path to the configuration file (default: ~/.config/rctr/config.toml, or $RCTR_CONFIG)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Storage driver: overlay, fuse-overlayfs or vfs (default: probe)
    #[arg(long, global = true, value_name = "DRIVER")]
    pub storage_driver: Option<String>,
    /// Log messages at or above this level: trace, debug, info, warn, error
    #[arg(long, global = true, default_value = "warn", value_parser = log::parse_level)]
    pub log_level: ::log::LevelFilter,
    #[command(subcommand)]
    pub command: Command,
}

/// Every top-level command. Each group of commands lives in its own file and is flattened here.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    #[command(flatten)]
    System(system::SystemCommand),
    #[command(flatten)]
    Login(login::LoginCommand),
    #[command(flatten)]
    Archive(archive::ArchiveCommand),
    #[command(flatten)]
    Image(image::ImageCommand),
    #[command(flatten)]
    Container(container::ContainerCommand),
    #[command(flatten)]
    Volume(volume::VolumeCommand),
    #[command(flatten)]
    Network(network::NetworkCommand),
    #[command(flatten)]
    Lifecycle(lifecycle::LifecycleCommand),
    #[command(flatten)]
    Port(port::PortCommand),
    #[command(flatten)]
    Interact(interact::InteractCommand),
    #[command(flatten)]
    Fs(fs::FsCommand),
    #[command(flatten)]
    Generate(systemd::GenerateCommand),
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> i32 {
    // Restore the default SIGPIPE so that `rctr images | head` ends quietly, and so that
    // container processes do not inherit an ignored SIGPIPE.
    // SAFETY: setting a signal disposition to SIG_DFL has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // A detached container's monitor is this binary re-executed (see `monitor`).
    if let Some(code) = monitor::main_if_monitor() {
        return code;
    }
    // The holder of the shared network namespace is too (see `network::user::holder`).
    if let Some(code) = network::main_if_holder() {
        return code;
    }
    // `COMPLETE=bash rctr ...` is the shell asking for completions (see `rctr completion`).
    clap_complete::CompleteEnv::with_factory(|| complete::with_dynamic_names(Cli::command()))
        .completer("rctr")
        .complete();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                crate::exit::FAILURE
            } else {
                0
            };
            let _ = e.print();
            return code;
        }
    };
    log::init(cli.log_level);
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("Error: {err:#}");
            crate::exit::code_of(&err)
        }
    }
}

fn run(cli: Cli) -> Result<i32> {
    let over = Overrides {
        root: cli.root.clone(),
        runroot: cli.runroot.clone(),
        config: cli.config.clone(),
        storage_driver: cli.storage_driver.clone(),
    };
    let ctx = Context::resolve(&over).context("cannot resolve rctr's configuration")?;
    match cli.command {
        Command::System(c) => system::dispatch(&ctx, c),
        Command::Login(c) => login::dispatch(&ctx, c),
        Command::Archive(c) => archive::dispatch(&ctx, c),
        Command::Image(c) => image::dispatch(&ctx, c),
        Command::Container(c) => container::dispatch(&ctx, c),
        Command::Port(c) => port::dispatch(&ctx, c),
        Command::Generate(c) => systemd::dispatch(&ctx, c),
        Command::Volume(c) => volume::dispatch(&ctx, c),
        Command::Network(c) => network::dispatch(&ctx, c),
        Command::Lifecycle(c) => lifecycle::dispatch(&ctx, c),
        Command::Interact(c) => interact::dispatch(&ctx, c),
        Command::Fs(c) => fs::dispatch(&ctx, c),
    }
}

/// The id mapping for this user, read from /etc/subuid and /etc/subgid (identity when real root).
pub fn id_map(ctx: &Context) -> Result<IdMap> {
    if !ctx.rootless() {
        return Ok(IdMap::identity());
    }
    Ok(IdMap::for_user(
        ctx.host_uid,
        ctx.host_gid,
        ctx.user_name.as_deref(),
        Path::new("/etc/subuid"),
        Path::new("/etc/subgid"),
    )?)
}

/// Makes this process root in rctr's user namespace (no-op when already root), warning when only
/// a single id can be mapped. Call before any thread or tokio runtime is started.
pub fn enter_userns(ctx: &Context) -> Result<IdMap> {
    let map = id_map(ctx)?;
    if ctx.rootless() && !map.full && !crate::runtime::userns::is_root() {
        let user = ctx
            .user_name
            .clone()
            .unwrap_or_else(|| ctx.host_uid.to_string());
        ::log::warn!(
            "no subordinate id ranges for user `{user}` in /etc/subuid and /etc/subgid; \
             mapping only uid {} as root, so images with other owners will fail to unpack\n\
             hint: run `sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}`",
            ctx.host_uid
        );
    }
    crate::runtime::userns::become_root(&map).context("cannot enter rctr's user namespace")?;
    ctx.ensure_dirs()?;
    Ok(map)
}

/// Builds a tokio runtime for network work. Only call it after any user namespace was entered.
pub fn tokio_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
