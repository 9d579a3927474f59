//! The flags shared by `run` and `create`, and their translation into `CreateOptions`.

use crate::container::mounts;
use crate::container::options::{
    parse_size, parse_ulimit, CreateOptions, NetworkMode, SeccompChoice, UsernsMode,
};
use crate::context::Context;
use crate::image::PullPolicy;
use anyhow::{anyhow, bail, Context as _, Result};
use clap::{ArgAction, Args, ValueEnum};

/// `--pull`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PullArg {
    Always,
    Missing,
    Never,
    Newer,
}

impl From<PullArg> for PullPolicy {
    fn from(p: PullArg) -> PullPolicy {
        match p {
            PullArg::Always => PullPolicy::Always,
            PullArg::Missing => PullPolicy::Missing,
            PullArg::Never => PullPolicy::Never,
            PullArg::Newer => PullPolicy::Newer,
        }
    }
}

// Flags for creating a container (`run` and `create`). A plain comment: clap would take a doc
// comment here as the description of both commands, over their own.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Print usage
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY for the container
    #[arg(short, long)]
    pub tty: bool,
    /// Run the container in the background and print its ID
    #[arg(short, long)]
    pub detach: bool,
    /// Keys to detach from a `run -it` container (ctrl-<value> or single characters,
    /// comma-separated; empty disables detaching)
    #[arg(long, value_name = "KEYS", default_value = super::attach::DEFAULT_DETACH_KEYS)]
    pub detach_keys: String,
    /// Write the container ID to the file (which must not exist yet)
    #[arg(long, value_name = "FILE")]
    pub cidfile: Option<std::path::PathBuf>,
    /// Proxy received signals to the container's process
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set,
          num_args = 0..=1, default_missing_value = "true")]
    pub sig_proxy: bool,
    /// Logging driver for a detached container: k8s-file or none
    #[arg(long, value_name = "DRIVER", default_value = "k8s-file")]
    pub log_driver: String,
    /// Logging driver options (max-size=SIZE)
    #[arg(long, value_name = "OPT")]
    pub log_opt: Vec<String>,
    /// Remove the container (and its anonymous volumes) when it exits
    #[arg(long)]
    pub rm: bool,
    /// Restart policy: no, on-failure[:N], always or unless-stopped
    ///
    /// The container's monitor applies it after each exit, waiting 100 ms, doubling up to 30 s
    /// between quick failures; `stop`, `kill` and `rm -f` end it. Nothing restarts a container
    /// after a reboot or after its monitor is killed: use `rctr generate systemd` for that.
    #[arg(long, value_name = "POLICY")]
    pub restart: Option<String>,
    /// Write the pid of the container's monitor to this file (podman's conmon pid file)
    #[arg(long, value_name = "PATH")]
    pub conmon_pidfile: Option<std::path::PathBuf>,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// If a container with the same name exists, replace it
    #[arg(long)]
    pub replace: bool,
    /// Pull the image: always, missing, never or newer
    #[arg(long, value_enum, default_value = "missing", value_name = "POLICY")]
    pub pull: PullArg,
    /// Suppress output about pulling the image
    #[arg(short, long)]
    pub quiet: bool,
    /// Run an init inside the container that forwards signals and reaps processes
    #[arg(long)]
    pub init: bool,
    /// Set environment variables (KEY=VALUE, or KEY to copy it from the host)
    #[arg(short, long, value_name = "ENV")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<std::path::PathBuf>,
    /// Use all of the host's environment inside the container
    #[arg(long)]
    pub env_host: bool,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Username or UID, optionally with a group (user[:group])
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,
    /// Add additional groups to the container process
    #[arg(long, value_name = "GROUP")]
    pub group_add: Vec<String>,
    /// Override the image's entrypoint (a string, or a JSON array)
    #[arg(long, value_name = "CMD", allow_hyphen_values = true)]
    pub entrypoint: Option<String>,
    /// Set the container's hostname
    #[arg(short = 'h', long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Set metadata on the container (key=value)
    #[arg(short, long, value_name = "LABEL")]
    pub label: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip; ip may be host-gateway)
    #[arg(long, value_name = "HOST:IP")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers
    #[arg(long, value_name = "IP")]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long, value_name = "DOMAIN")]
    pub dns_search: Vec<String>,
    /// Set custom DNS options
    #[arg(long, value_name = "OPTION")]
    pub dns_option: Vec<String>,
    /// Bind mount a volume (SRC:DST[:OPTIONS], SRC a host path or a volume name)
    #[arg(short, long, value_name = "VOLUME")]
    pub volume: Vec<String>,
    /// Attach a filesystem mount (type=bind|volume|tmpfs,source=..,target=..)
    #[arg(long, value_name = "MOUNT")]
    pub mount: Vec<String>,
    /// Mount a tmpfs (DST[:OPTIONS])
    #[arg(long, value_name = "TMPFS")]
    pub tmpfs: Vec<String>,
    /// Make the container's root filesystem read-only
    #[arg(long)]
    pub read_only: bool,
    /// Signal to stop the container
    #[arg(long, value_name = "SIGNAL")]
    pub stop_signal: Option<String>,
    /// Size of /dev/shm (e.g. 64m)
    #[arg(long, value_name = "SIZE")]
    pub shm_size: Option<String>,
    /// Ulimit options (name=soft[:hard])
    #[arg(long, value_name = "ULIMIT")]
    pub ulimit: Vec<String>,
    /// Network mode: none, host, slirp4netns[:allow_host_loopback=true,mtu=N,cidr=A/P], or
    /// user-defined networks NAME[,NAME2] (`podman` is slirp4netns)
    #[arg(long, alias = "net", value_name = "MODE")]
    pub network: Option<String>,
    /// Add a network-scoped alias for the container on its user-defined networks
    #[arg(long, value_name = "ALIAS")]
    pub network_alias: Vec<String>,

    /// Publish a container's port to the host: [ip:][hostPort:]containerPort[/tcp|/udp]
    #[arg(short = 'p', long = "publish", value_name = "PORT")]
    pub publish: Vec<String>,
    /// Publish all exposed ports (the image's and --expose) to random host ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports (published with -P): port[-port][/tcp|/udp]
    #[arg(long, value_name = "PORT")]
    pub expose: Vec<String>,
    /// Add capabilities (or ALL)
    #[arg(long, value_name = "CAP")]
    pub cap_add: Vec<String>,
    /// Drop capabilities (or ALL)
    #[arg(long, value_name = "CAP")]
    pub cap_drop: Vec<String>,
    /// Give extended privileges to the container (as far as a rootless user has them)
    #[arg(long)]
    pub privileged: bool,
    /// Security options: no-new-privileges, seccomp=unconfined|PROFILE.json, label=disable
    #[arg(long, value_name = "OPT")]
    pub security_opt: Vec<String>,
    /// User namespace mode: host or keep-id
    #[arg(long, value_name = "MODE")]
    pub userns: Option<String>,
    /// Memory limit (e.g. 512m)
    #[arg(short, long, value_name = "SIZE")]
    pub memory: Option<String>,
    /// Number of CPUs
    #[arg(long, value_name = "N")]
    pub cpus: Option<f64>,
    /// Limit the number of processes (-1 for unlimited)
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// The image, then the command and its arguments
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "IMAGE [COMMAND [ARG...]]"
    )]
    pub image_and_command: Vec<String>,
}

impl CreateArgs {
    /// The image as given.
    pub fn image(&self) -> &str {
        &self.image_and_command[0]
    }

    /// Validates the flags and turns them into engine options. Host paths are made absolute and
    /// host environment is read here, in the invoking shell's context.
    pub fn to_options(&self, ctx: &Context) -> Result<CreateOptions> {
        let cwd = std::env::current_dir().context("cannot read the current directory")?;
        let mut o = CreateOptions {
            command: self.image_and_command[1..].to_vec(),
            entrypoint: self
                .entrypoint
                .as_deref()
                .map(parse_entrypoint)
                .transpose()?,
            env: self.environment()?,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            group_add: self.group_add.clone(),
            hostname: self.hostname.clone(),
            read_only: self.read_only,
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_option: self.dns_option.clone(),
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            privileged: self.privileged,
            tty: self.tty,
            interactive: self.interactive,
            init: self.init,
            remove: self.rm,
            cpus: self.cpus,
            pids_limit: self.pids_limit,
            ..Default::default()
        };
        o.monitor_pidfile = self.conmon_pidfile.as_ref().map(|p| cwd.join(p));
        o.create_command = std::env::args().collect();
        if let Some(r) = &self.restart {
            o.restart = crate::container::restart::RestartPolicy::parse(r)?;
            if o.restart.restarts() && o.remove {
                bail!("the --rm option conflicts with --restart, when the restart policy is not \"\" and \"no\"");
            }
        }
        match self.log_driver.as_str() {
            "k8s-file" => {}
            "none" => o.log_none = true,
            d => bail!("invalid --log-driver `{d}`: rctr supports k8s-file and none"),
        }
        for opt in &self.log_opt {
            match opt.split_once('=') {
                Some(("max-size", v)) => {
                    o.log_max_size =
                        Some(parse_size(v).map_err(|e| anyhow!("invalid --log-opt `{opt}`: {e}"))?)
                }
                _ => bail!("invalid --log-opt `{opt}`: rctr supports max-size=SIZE"),
            }
        }
        if let Some(w) = &o.workdir {
            if !w.starts_with('/') {
                bail!("invalid --workdir `{w}`: it must be an absolute path");
            }
        }
        for v in &self.volume {
            o.mounts
                .push(mounts::parse_volume(v, &cwd).map_err(|e| anyhow!(e))?);
        }
        for m in &self.mount {
            o.mounts
                .push(mounts::parse_mount(m, &cwd).map_err(|e| anyhow!(e))?);
        }
        for t in &self.tmpfs {
            o.mounts
                .push(mounts::parse_tmpfs(t).map_err(|e| anyhow!(e))?);
        }
        let mut seen = std::collections::HashSet::new();
        for m in &o.mounts {
            if !seen.insert(m.destination.trim_end_matches('/')) {
                bail!("duplicate mount destination `{}`", m.destination);
            }
        }
        for h in &self.add_host {
            let (name, ip) = h
                .split_once(':')
                .filter(|(n, i)| !n.is_empty() && !i.is_empty())
                .ok_or_else(|| anyhow!("invalid --add-host `{h}`: expected HOST:IP"))?;
            if ip != "host-gateway" && ip.parse::<std::net::IpAddr>().is_err() {
                bail!("invalid --add-host `{h}`: `{ip}` is not an IP address or host-gateway");
            }
            o.add_hosts.push((name.into(), ip.into()));
        }
        for d in &self.dns {
            if d.parse::<std::net::IpAddr>().is_err() {
                bail!("invalid --dns `{d}`: not an IP address");
            }
        }
        for l in &self.label {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            o.labels.insert(k.into(), v.into());
        }
        if let Some(s) = &self.stop_signal {
            crate::container::lifecycle::parse_signal(s)
                .ok_or_else(|| anyhow!("invalid --stop-signal `{s}`"))?;
            o.stop_signal = Some(s.clone());
        }
        if let Some(s) = &self.shm_size {
            o.shm_size = Some(parse_size(s).map_err(|e| anyhow!(e))?);
        }
        if let Some(m) = &self.memory {
            o.memory = Some(parse_size(m).map_err(|e| anyhow!(e))?);
        }
        for u in &self.ulimit {
            o.ulimits.push(parse_ulimit(u).map_err(|e| anyhow!(e))?);
        }
        let nets = self.network.as_deref();
        o.network = match super::network::user_networks(ctx, nets, &self.network_alias) {
            Some(mode) => mode?,
            None => network_mode(nets, &ctx.config.network.default)?,
        };
        if !self.network_alias.is_empty() && o.network.user_networks().is_empty() {
            bail!("--network-alias can only be used with user-defined networks");
        }
        if let NetworkMode::Container(c) = &mut o.network {
            // The joined container's /etc/hosts and resolv.conf are shared, not generated.
            if !o.add_hosts.is_empty() || !o.dns.is_empty() {
                bail!(
                    "cannot set --add-host or --dns when the container joins another container's \
                     network (--network container:{c}): it shares that container's files"
                );
            }
            let containers = crate::container::state::Containers::open(&ctx.root)?;
            *c = containers
                .lookup(c)
                .with_context(|| format!("invalid --network container:{c}"))?
                .id;
        }
        for p in &self.publish {
            o.ports.extend(crate::network::ports::parse(p)?);
        }
        for e in &self.expose {
            crate::network::ports::parse_exposed(e, "--expose")?;
        }
        o.expose = self.expose.clone();
        o.publish_all = self.publish_all;
        if (!o.ports.is_empty() || o.publish_all) && !o.network.new_netns() {
            bail!("--publish needs a network namespace of its own; it cannot be used with --network host, container: or ns:");
        }
        crate::network::ports::choose_random_ports(&mut o.ports)?;
        for s in &self.security_opt {
            match s.split_once(['=', ':']) {
                None if s == "no-new-privileges" => o.no_new_privileges = true,
                Some(("no-new-privileges", v)) => {
                    o.no_new_privileges = v.parse().map_err(|_| {
                        anyhow!("invalid --security-opt `{s}`: expected true or false")
                    })?
                }
                Some(("seccomp", "unconfined")) => o.seccomp = SeccompChoice::Unconfined,
                Some(("seccomp", path)) => {
                    let abs = cwd.join(path);
                    crate::container::spec::read_profile(&abs.display().to_string())
                        .with_context(|| format!("invalid --security-opt `{s}`"))?;
                    o.seccomp = SeccompChoice::Profile(abs.display().to_string());
                }
                // Neither SELinux nor AppArmor confines rootless containers on this kind of host,
                // so disabling them is what already happens.
                Some(("label", "disable")) | Some(("apparmor", "unconfined")) => {}
                _ => bail!("unsupported --security-opt `{s}`"),
            }
        }
        o.userns = match self.userns.as_deref() {
            None | Some("") | Some("host") => UsernsMode::Host,
            Some("keep-id") => {
                if !ctx.rootless() {
                    bail!("--userns=keep-id is only supported in rootless mode");
                }
                UsernsMode::KeepId
            }
            Some(u) => bail!("unsupported --userns `{u}`: expected host or keep-id"),
        };
        Ok(o)
    }

    /// --env-host, then --env-file, then --env: later ones win (podman's precedence).
    fn environment(&self) -> Result<Vec<String>> {
        let mut env = Vec::new();
        if self.env_host {
            env.extend(std::env::vars().map(|(k, v)| format!("{k}={v}")));
        }
        for f in &self.env_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read --env-file `{}`", f.display()))?;
            for line in text.lines() {
                let line = line.trim_start();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                env.extend(env_entry(line));
            }
        }
        for e in &self.env {
            env.extend(env_entry(e));
        }
        Ok(env)
    }
}

/// `KEY=VALUE` as given; a bare `KEY` takes the host's value, or nothing when unset.
fn env_entry(e: &str) -> Option<String> {
    if e.contains('=') {
        Some(e.to_string())
    } else {
        std::env::var(e).ok().map(|v| format!("{e}={v}"))
    }
}

/// `--entrypoint`: a JSON array, or a single command (`""` clears the image's entrypoint).
fn parse_entrypoint(s: &str) -> Result<Vec<String>> {
    if s.trim_start().starts_with('[') {
        return serde_json::from_str(s).with_context(|| format!("invalid --entrypoint `{s}`"));
    }
    Ok(if s.is_empty() {
        vec![]
    } else {
        vec![s.to_string()]
    })
}

/// The network mode from `--network`, else the configured default.
fn network_mode(flag: Option<&str>, default: &str) -> Result<NetworkMode> {
    let spec = flag.unwrap_or(default);
    let (name, opts) = spec.split_once(':').unwrap_or((spec, ""));
    let what = if flag.is_some() {
        "--network"
    } else {
        "the configured network.default"
    };
    match (name, opts) {
        ("none", "") => Ok(NetworkMode::None),
        ("host", "") => Ok(NetworkMode::Host),
        ("slirp4netns", o) => Ok(NetworkMode::Slirp4netns(
            crate::network::SlirpOptions::parse(o)
                .with_context(|| format!("invalid {what} `{spec}`"))?,
        )),
        ("container", c) if !c.is_empty() => Ok(NetworkMode::Container(c.into())),
        ("ns", p) if p.starts_with('/') => Ok(NetworkMode::Ns(p.into())),
        ("container" | "ns", _) => {
            bail!("invalid {what} `{spec}`: expected container:NAME|ID or ns:/ABSOLUTE/PATH")
        }
        ("pasta", o) => Ok(NetworkMode::Pasta(
            crate::network::PastaOptions::parse(o)
                .with_context(|| format!("invalid {what} `{spec}`"))?,
        )),
        _ => bail!(
            "unknown {what} `{spec}`: expected none, host, slirp4netns[:OPTIONS], pasta[:OPTIONS], \
             container:NAME|ID or ns:PATH"
        ),
    }
}
