//! `rctr exec`: runs a process in a running container by joining its namespaces directly
//! (`runtime::join`), with the container's capabilities, seccomp filter, user, environment and
//! working directory, which the monitor saved as `exec.json` when it started the container.

use crate::container::state::{Containers, Status};
use crate::context::Context;
use crate::runtime::join::{exec_in, JoinOptions};
use anyhow::{anyhow, bail, Context as _, Result};
use clap::Args;
use oci_spec::runtime::Process;
use std::path::{Path, PathBuf};

#[derive(Debug, Args)]
#[command(trailing_var_arg = true)]
pub struct ExecArgs {
    /// Keep STDIN open
    #[arg(short, long)]
    pub interactive: bool,
    /// Run the process in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Allocate a pseudo-TTY (ignored with --detach, whose output goes nowhere)
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables (KEY=VALUE, or KEY to copy it from the host)
    #[arg(short, long, value_name = "ENV")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long, value_name = "FILE")]
    pub env_file: Vec<PathBuf>,
    /// User to run as: name or uid, with an optional group (user[:group]), looked up in the
    /// container's /etc/passwd and /etc/group
    #[arg(short, long, value_name = "USER")]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short, long, value_name = "DIR")]
    pub workdir: Option<String>,
    /// Keys that detach from an `exec -it` process, leaving it running (ctrl-<value> or single
    /// characters, comma-separated; empty disables detaching)
    #[arg(long, value_name = "KEYS", default_value = super::attach::DEFAULT_DETACH_KEYS)]
    pub detach_keys: String,
    #[command(flatten)]
    pub latest: super::pick::Latest,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER", required = true)]
    pub container: Option<String>,
    /// The command and its arguments
    #[arg(value_name = "COMMAND", allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Where the monitor saves a container's process settings for `exec`.
pub fn process_path(cdir: &Path) -> PathBuf {
    cdir.join("exec.json")
}

pub fn exec(ctx: &Context, mut args: ExecArgs) -> Result<i32> {
    if args.latest.latest {
        // With --latest the first argument is the command.
        if let Some(first) = args.container.take() {
            args.command.insert(0, first);
        }
    }
    if args.command.is_empty() {
        bail!("exec requires the name or ID of a container or the --latest flag, and a command");
    }
    let keys = super::attach::parse_detach_keys(&args.detach_keys)?;
    let containers = Containers::open(&ctx.root)?;
    let name = super::pick::one(&ctx.root, args.latest.latest, args.container.clone())?;
    let rec = containers.lookup(&name)?;
    let st = containers.state(&rec.id)?;
    let pid = match (st.status, st.container_pid) {
        // A frozen container would leave the new process frozen too, and exec waiting.
        (Status::Running, Some(_)) if st.paused => bail!(
            "can only create exec sessions on running containers: container {} is paused",
            rec.name
        ),
        (Status::Running, Some(p)) => p,
        _ => bail!(
            "can only create exec sessions on running containers: container {} is {}",
            rec.name,
            st.status.as_str()
        ),
    };
    let path = process_path(&containers.dir(&rec.id));
    let bytes = std::fs::read(&path).with_context(|| {
        format!(
            "cannot read `{}` (was container {} started by this version of rctr?)",
            path.display(),
            rec.name
        )
    })?;
    let mut p: Process = serde_json::from_slice(&bytes)
        .with_context(|| format!("cannot parse `{}`", path.display()))?;
    p.set_args(Some(args.command.clone()));
    p.set_terminal(Some(args.tty && !args.detach));
    let mut env = p.env().clone().unwrap_or_default();
    for f in &args.env_file {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read env file `{}`", f.display()))?;
        for l in text.lines().map(str::trim) {
            if !l.is_empty() && !l.starts_with('#') {
                set_env(&mut env, l);
            }
        }
    }
    if args.tty && !env.iter().any(|e| e.starts_with("TERM=")) {
        env.push("TERM=xterm".into());
    }
    for e in &args.env {
        set_env(&mut env, e);
    }
    p.set_env(Some(env));
    if let Some(w) = &args.workdir {
        if !w.starts_with('/') {
            bail!("invalid --workdir `{w}`: it must be an absolute path");
        }
        p.set_cwd(w.into());
    }
    // Names can only be resolved in the container's own /etc/passwd and /etc/group, which
    // `exec_in` reaches once it has joined the mount namespace.
    let base_user = p.user().clone();
    let spec = args.user.clone();
    let explicit_home = args
        .env
        .iter()
        .any(|e| e == "HOME" || e.starts_with("HOME="));
    let resolve = move || {
        let spec = spec.as_deref().unwrap_or_default();
        let r = crate::container::user::resolve(Path::new("/"), Some(spec), &[])
            .map_err(|e| e.to_string())?;
        let mut user = base_user.clone();
        user.set_uid(r.uid);
        user.set_gid(r.gid);
        user.set_additional_gids((!r.additional_gids.is_empty()).then_some(r.additional_gids));
        Ok((user, r.home.filter(|_| !explicit_home)))
    };
    let resolver: Option<&crate::runtime::join::UserResolver> = match args.user {
        Some(_) => Some(&resolve),
        None => None,
    };
    let seccomp = seccomp_for(&rec.options)?;
    // With -t the pty is the process's stdin even without -i (nothing is forwarded to it).
    let tty = args.tty && !args.detach;
    // Opened here: once `exec_in` joins the container's mount namespace, the host's cgroup
    // hierarchy is out of sight.
    let cgroup = st.cgroup.as_deref().and_then(|p| {
        crate::container::cgroup::Cgroup::open(p)
            .map_err(|e| ::log::warn!("{e}: the process runs outside the container's cgroup"))
            .ok()
    });
    let code = exec_in(
        pid,
        &JoinOptions {
            process: &p,
            seccomp: seccomp.as_ref(),
            null_stdin: !args.interactive && !tty,
            detach: args.detach,
            tty,
            detach_keys: &keys,
            resolve_user: resolver,
            cgroup: cgroup.as_ref().map(|c| c.fd()),
        },
    )
    .map_err(|e| crate::exit::with_code(e.exit_code(), anyhow!("{e}")))?;
    Ok(code)
}

/// `KEY=VALUE` sets, `KEY` copies the host's value (or nothing when unset).
fn set_env(env: &mut Vec<String>, spec: &str) {
    let entry = match spec.split_once('=') {
        Some(_) => spec.to_string(),
        None => match std::env::var(spec) {
            Ok(v) => format!("{spec}={v}"),
            Err(_) => return,
        },
    };
    let key = entry.split('=').next().unwrap_or_default().to_string();
    env.retain(|e| e.split('=').next() != Some(key.as_str()));
    env.push(entry);
}

fn seccomp_for(
    opts: &crate::container::CreateOptions,
) -> Result<Option<crate::runtime::SeccompProgram>> {
    use crate::container::options::SeccompChoice;
    let caps: Vec<String> = crate::container::spec::capabilities(opts)?
        .into_iter()
        .collect();
    Ok(match crate::container::spec::seccomp_choice(opts) {
        SeccompChoice::Unconfined => None,
        SeccompChoice::Default => Some(crate::runtime::default_seccomp(&caps)?),
        SeccompChoice::Profile(p) => Some(crate::runtime::load_profile(Path::new(p), &caps)?),
    })
}
