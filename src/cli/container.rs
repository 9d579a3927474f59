//! Container commands: `run`, `create`, `start`, `rm` (and `ps` in ps.rs).

use super::run_args::CreateArgs;
use crate::container::lifecycle::{self, NewContainer};
use crate::container::resources;
use crate::container::state::{run_dir, ContainerRecord, Containers, Status};
use crate::container::volumes::Volumes;
use crate::context::Context;
use crate::image::{self, Store};
use crate::runtime::idmap::IdMap;
use crate::storage;
use anyhow::{Context as _, Result};
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ContainerCommand {
    /// Run a command in a new container
    #[command(disable_help_flag = true)]
    Run(Box<CreateArgs>),
    /// Create a container without starting it
    #[command(disable_help_flag = true)]
    Create(Box<CreateArgs>),
    /// Start a created or exited container
    Start(StartArgs),
    /// Remove one or more containers
    Rm(RmArgs),
    /// List containers
    Ps(super::ps::PsArgs),
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Attach the container's output (and exit with its code)
    #[arg(short, long)]
    pub attach: bool,
    /// Attach the container's STDIN
    #[arg(short, long)]
    pub interactive: bool,
    /// Keys to detach from the container (ctrl-<value> or single characters, comma-separated)
    #[arg(long, value_name = "KEYS", default_value = super::attach::DEFAULT_DETACH_KEYS)]
    pub detach_keys: String,
    /// Proxy received signals to the container's process (with --attach)
    #[arg(long, value_name = "BOOL", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// The container (name or ID)
    #[arg(required_unless_present = "latest", value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RmArgs {
    /// Remove running containers too (they are stopped first)
    #[arg(short, long)]
    pub force: bool,
    /// Remove the anonymous volumes of the containers
    #[arg(short, long)]
    pub volumes: bool,
    /// Remove all containers
    #[arg(short, long)]
    pub all: bool,
    /// Ignore errors when a container does not exist
    #[arg(short, long)]
    pub ignore: bool,
    /// Remove the containers that depend on the selected ones (`--network container:`) first
    #[arg(long)]
    pub depend: bool,
    /// Seconds to wait for the stop signal before killing the container (with --force)
    #[arg(short = 't', long = "time", value_name = "SECONDS")]
    pub time: Option<u64>,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    #[command(flatten)]
    pub cidfile: super::pick::CidFiles,
    /// Containers (names or IDs)
    #[arg(value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

pub fn dispatch(ctx: &Context, cmd: ContainerCommand) -> Result<i32> {
    match cmd {
        ContainerCommand::Run(a) => run(ctx, *a),
        ContainerCommand::Create(a) => create_cmd(ctx, *a),
        ContainerCommand::Start(a) => start(ctx, a),
        ContainerCommand::Rm(a) => rm(ctx, a),
        ContainerCommand::Ps(a) => super::ps::ps(ctx, a),
    }
}

/// The engine handles a command needs once it is inside rctr's user namespace.
pub(super) struct Engines {
    pub(super) map: IdMap,
    pub(super) store: Store,
    pub(super) containers: Containers,
    pub(super) volumes: Volumes,
}

pub(super) fn engines(ctx: &Context) -> Result<Engines> {
    let map = super::enter_userns(ctx)?;
    Ok(Engines {
        map,
        store: Store::open(&ctx.root).context("cannot open the image store")?,
        containers: Containers::open(&ctx.root)?,
        volumes: Volumes::open(&ctx.root)?,
    })
}

/// For `--network container:` and `ns:`, enters the user namespace that owns the target network
/// namespace instead of making a new one (see `network::join`). Call it before `engines`.
fn enter_network_owner(ctx: &Context, mode: &crate::container::options::NetworkMode) -> Result<()> {
    let containers = Containers::open(&ctx.root)?;
    crate::network::join::prepare(mode, &containers)?;
    Ok(())
}

/// Ensures the image, then records the container. Leaves the process in a private mount
/// namespace (needed to probe the storage driver, and by `start` to mount the rootfs).
fn create(
    ctx: &Context,
    args: &CreateArgs,
    mut opts: crate::container::CreateOptions,
    e: &Engines,
) -> Result<ContainerRecord> {
    let progress = super::image_pull::Progress::new(args.quiet);
    let img = image::ensure(ctx, args.image(), args.pull.into(), &progress)
        .with_context(|| format!("cannot get image `{}`", args.image()))?;
    progress.finish();
    let cfg = e
        .store
        .image_config(&img)
        .with_context(|| format!("cannot read the config of image `{}`", args.image()))?;
    if opts.publish_all {
        let exposed = cfg
            .config()
            .as_ref()
            .and_then(|c| c.exposed_ports().clone())
            .unwrap_or_default();
        crate::network::ports::publish_exposed(&mut opts.ports, &exposed, &opts.expose)?;
    }
    storage::private_mount_namespace()?;
    let driver = storage::resolve_driver(&ctx.config.storage.driver, &ctx.root, &ctx.runroot)?;
    if let Some(why) = resources::drop_unenforceable(&mut opts) {
        ::log::warn!("{why}");
    }
    let rec = lifecycle::create(
        &e.containers,
        &e.volumes,
        NewContainer {
            name: args.name.clone(),
            image_ref: args.image(),
            image: &img,
            image_config: &cfg,
            options: opts,
            driver,
            replace: args.replace,
        },
    )?;
    if let Some(f) = &args.cidfile {
        super::pick::write_cidfile(f, &rec.id)?;
    }
    Ok(rec)
}

/// `--replace`: stops a running container of that name while still in the host's user
/// namespace, where its processes can be signalled (see `lifecycle::stop`).
fn stop_replaced(ctx: &Context, args: &CreateArgs) -> Result<()> {
    if let (true, Some(name)) = (args.replace, &args.name) {
        let containers = Containers::open(&ctx.root)?;
        if let Ok(old) = containers.lookup(name) {
            if old.name == *name {
                lifecycle::stop(&containers, &old, lifecycle::STOP_TIMEOUT)?;
            }
        }
    }
    Ok(())
}

fn run(ctx: &Context, args: CreateArgs) -> Result<i32> {
    // Validate the flags before entering the namespace or pulling anything.
    let opts = args.to_options(ctx)?;
    if let Some(f) = &args.cidfile {
        super::pick::check_cidfile_free(f)?;
    }
    stop_replaced(ctx, &args)?;
    enter_network_owner(ctx, &opts.network)?;
    // Joined before anything else; a detached container's monitor inherits it.
    let session = super::network::enter_for(ctx, &opts.network)?;
    let e = engines(ctx)?;
    let rec = create(ctx, &args, opts, &e)?;
    if args.detach {
        super::monitor::spawn(ctx, &rec)?;
        println!("{}", rec.id);
        return Ok(0);
    }
    if rec.options.tty {
        // `run -it` is create + a monitored start + attach (see `attach`), so that detaching
        // leaves the container running; runs without a tty keep the direct path below.
        let keys = super::attach::parse_detach_keys(&args.detach_keys)?;
        super::monitor::spawn_attached(ctx, &rec)?;
        let stdin = rec.options.interactive;
        return super::attach::session(ctx, &e.containers, &rec, stdin, &keys, args.sig_proxy);
    }
    let interactive = rec.options.interactive;
    start_foreground(ctx, &e, &rec, interactive, session)
}

fn create_cmd(ctx: &Context, args: CreateArgs) -> Result<i32> {
    let opts = args.to_options(ctx)?;
    if let Some(f) = &args.cidfile {
        super::pick::check_cidfile_free(f)?;
    }
    stop_replaced(ctx, &args)?;
    let e = engines(ctx)?;
    let rec = create(ctx, &args, opts, &e)?;
    println!("{}", rec.id);
    Ok(0)
}

fn start(ctx: &Context, mut args: StartArgs) -> Result<i32> {
    args.containers = super::pick::names(
        &ctx.root,
        args.latest.latest,
        &[],
        std::mem::take(&mut args.containers),
    )?;
    if args.containers.len() > 1 && (args.attach || args.interactive) {
        anyhow::bail!("you cannot start and attach multiple containers at once");
    }
    let keys = super::attach::parse_detach_keys(&args.detach_keys)?;
    {
        // A container joining another's network must run in that one's user namespace.
        let containers = Containers::open(&ctx.root)?;
        if let Some(r) = args
            .containers
            .iter()
            .filter_map(|c| containers.lookup(c).ok())
            .find(|r| {
                crate::network::join::netns_path(&r.options.network, &containers)
                    .is_ok_and(|p| p.is_some())
            })
        {
            enter_network_owner(ctx, &r.options.network)?;
        }
    }
    // Kept alive while this process works in the shared network's namespaces.
    let _session = super::network::enter_for_any(ctx, &args.containers)?;
    let e = engines(ctx)?;
    if args.attach || args.interactive {
        let rec = e.containers.lookup(&args.containers[0])?;
        if e.containers.state(&rec.id)?.status == Status::Running {
            anyhow::bail!("container {} is already running", rec.name);
        }
        // As podman does: the container runs under its monitor, and this is an attach
        // session, so the detach keys leave it running.
        super::monitor::spawn_attached(ctx, &rec)?;
        let stdin = args.interactive && rec.options.interactive;
        return super::attach::session(ctx, &e.containers, &rec, stdin, &keys, args.sig_proxy);
    }
    let mut code = 0;
    for c in &args.containers {
        if let Err(err) = start_detached(ctx, &e, c) {
            eprintln!("Error: {err:#}");
            code = crate::exit::code_of(&err);
        } else {
            println!("{c}");
        }
    }
    Ok(code)
}

/// Starts a created or exited container under a monitor; a running one is left alone, as
/// podman does.
pub(super) fn start_detached(ctx: &Context, e: &Engines, key: &str) -> Result<()> {
    let rec = e.containers.lookup(key)?;
    if e.containers.state(&rec.id)?.status == Status::Running {
        return Ok(());
    }
    super::monitor::spawn(ctx, &rec)
}

/// Mounts, runs and waits for a container in the foreground, records its exit, and removes it
/// when it was created with --rm. Returns the container's exit code.
fn start_foreground(
    ctx: &Context,
    e: &Engines,
    rec: &ContainerRecord,
    interactive: bool,
    session: Option<std::rc::Rc<crate::network::user::session::Session>>,
) -> Result<i32> {
    lifecycle::mark_user_start(&e.containers, &rec.id)?;
    let result = run_prepared(ctx, e, rec, interactive, session);
    let driver = rec.driver.driver();
    // A --rm container's native overlay is only mounted in this process's private mount
    // namespace: the child that deletes its files detaches it there, after this returns.
    if !(rec.options.remove && driver.kind() == storage::DriverKind::Overlay) {
        let _ = driver.unmount(&e.containers.dir(&rec.id));
    }
    // A restart under a monitor writes them afresh.
    let _ = std::fs::remove_dir_all(run_dir(&ctx.runroot, &rec.id));
    if rec.options.remove {
        lifecycle::remove_exited(&e.containers, &e.volumes, rec)
            .and_then(|()| lifecycle::purge_detached(&e.containers))
            .with_context(|| format!("cannot remove container {}", rec.name))?;
    }
    result
}

fn run_prepared(
    ctx: &Context,
    e: &Engines,
    rec: &ContainerRecord,
    interactive: bool,
    session: Option<std::rc::Rc<crate::network::user::session::Session>>,
) -> Result<i32> {
    let run_dir = run_dir(&ctx.runroot, &rec.id);
    let prepared = lifecycle::prepare(
        &e.store,
        &e.containers,
        &e.volumes,
        rec,
        &run_dir,
        &e.map,
        (ctx.host_uid, ctx.host_gid),
    )
    .with_context(|| format!("cannot prepare container {}", rec.name))?;
    let (containers, id) = (e.containers.clone(), rec.id.clone());
    // The network helpers live as long as this process waits for the container.
    let net = std::rc::Rc::new(std::cell::RefCell::new(None));
    let ports = rec.options.ports.clone();
    let (net_slot, network, cdir) = (
        net.clone(),
        rec.options.network.clone(),
        e.containers.dir(&rec.id),
    );
    let rec_c = rec.clone();
    let cgroup = prepared.cgroup.as_ref().map(|c| c.path.clone());
    let cg = cgroup.clone();
    let on_created: crate::runtime::OnCreated = Box::new(move |pid| {
        // User networks fork a netlink helper: do it before the forwarder starts threads.
        super::network::attach(&session, &rec_c, &run_dir, pid.as_raw())?;
        let handle = crate::network::attach(network.attach(), &ports, pid.as_raw(), &cdir)
            .map_err(|e| e.to_string())?;
        *net_slot.borrow_mut() = Some(handle);
        lifecycle::mark_running(&containers, &id, pid.as_raw(), cg.as_deref())
            .map_err(|e| e.to_string())
    });
    let code = super::launch::run(&prepared, &rec.options, interactive, on_created);
    drop(net.borrow_mut().take());
    if let Some(p) = &cgroup {
        super::cgroups::remove(p, &rec.name);
    }
    let recorded = match &code {
        Ok(c) => *c,
        Err(err) => crate::exit::code_of(err),
    };
    if rec.options.remove {
        // `--rm` (never combined with a restart policy): the record is about to go, and
        // recording the exit would only cost an ext4 flush of the replaced state file.
        super::network::release(&ctx.root, rec);
        return code;
    }
    let policy = rec.options.restart;
    let again = lifecycle::record_exit(&e.containers, &rec.id, recorded, |st| {
        policy.should_restart(recorded, st.restart_count, st.stopped_by_user)
    });
    super::network::release(&ctx.root, rec);
    if again.unwrap_or(false) {
        // As with podman, the restart policy applies to a foreground run too: the container
        // carries on in the background, under a monitor, once this command returns.
        let _ = rec.driver.driver().unmount(&e.containers.dir(&rec.id));
        if let Err(err) = super::monitor::spawn_keeping_count(ctx, rec) {
            let _ = lifecycle::clear_restarting(&e.containers, &rec.id);
            ::log::warn!("cannot restart container {}: {err:#}", rec.name);
        }
    }
    code
}

fn rm(ctx: &Context, mut args: RmArgs) -> Result<i32> {
    super::pick::expand(&ctx.root, &args.latest, &args.cidfile, &mut args.containers)?;
    if args.all != args.containers.is_empty() {
        anyhow::bail!("specify one or more containers to remove, or --all");
    }
    let timeout = args
        .time
        .map_or(lifecycle::STOP_TIMEOUT, std::time::Duration::from_secs);
    if args.force || args.depend {
        // Stop running targets from the host's user namespace (see `lifecycle::stop`).
        let containers = Containers::open(&ctx.root)?;
        let mut targets = if args.all {
            containers.list()?
        } else {
            args.containers
                .iter()
                .filter_map(|c| containers.lookup(c).ok())
                .collect()
        };
        if args.depend {
            targets = lifecycle::with_dependents(&containers, targets)?;
        }
        for r in targets.iter().filter(|_| args.force) {
            // One that others join is refused below: leave it running.
            if !args.depend && !lifecycle::dependents(&containers, &r.id)?.is_empty() {
                continue;
            }
            lifecycle::stop(&containers, r, timeout)?;
        }
    }
    let e = engines(ctx)?;
    let targets: Vec<ContainerRecord> = if args.all {
        e.containers.list()?
    } else {
        let mut v = Vec::new();
        let mut failed = None;
        for c in &args.containers {
            match e.containers.lookup(c) {
                Ok(r) => v.push(r),
                Err(err) if args.ignore => ::log::debug!("{err}"),
                Err(err) => {
                    eprintln!("Error: {err}");
                    failed = Some(1);
                }
            }
        }
        if let Some(code) = failed {
            for r in &v {
                remove_one(ctx, &e, r, &args)?;
            }
            return Ok(code);
        }
        v
    };
    // `--all` too removes dependents before the containers they join, as podman does.
    let targets = if args.depend || args.all {
        lifecycle::with_dependents(&e.containers, targets)?
    } else {
        targets
    };
    let mut code = 0;
    for r in &targets {
        super::network::release(&ctx.root, r);
        if let Err(err) = remove_one(ctx, &e, r, &args) {
            eprintln!("Error: {err:#}");
            // As podman: a container that others depend on is a usage error (125), a running
            // one without --force a state error (2).
            code = match err.downcast_ref::<crate::container::ContainerError>() {
                Some(crate::container::ContainerError::HasDependents { .. }) => 125,
                _ => 2,
            };
        }
    }
    Ok(code)
}

fn remove_one(ctx: &Context, e: &Engines, r: &ContainerRecord, args: &RmArgs) -> Result<()> {
    let cgroup = lifecycle::remove(&e.containers, &e.volumes, r, args.force, args.volumes)?;
    if cgroup == crate::container::cgroup::Removed::Busy {
        ::log::debug!(
            "the cgroup of container {} still holds processes: it stays until they exit",
            r.name
        );
    }
    // What the owner of a killed container could not remove.
    let _ = std::fs::remove_dir_all(run_dir(&ctx.runroot, &r.id));
    println!("{}", r.id);
    Ok(())
}
