//! `rctr generate systemd`: a systemd user unit for a container, as podman generates one (see
//! `container::systemd` for the unit itself). Without `--new` the unit starts and stops the
//! existing container; with `--new` it recreates the container from the command line that
//! created it, rewritten to run detached, replace any leftover and write the pid file.

use crate::container::state::{ContainerRecord, Containers};
use crate::container::systemd::{Extra, Unit, UnitKind, Word, NEW_PIDFILE, RESTART_POLICIES};
use crate::context::Context;
use anyhow::{bail, Context as _, Result};
use clap::{Args, CommandFactory, Subcommand};

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum GenerateCommand {
    /// Generate structured data (systemd units) from containers
    Generate {
        #[command(subcommand)]
        cmd: GenerateSub,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum GenerateSub {
    /// Generate a systemd user unit that runs a container
    Systemd(SystemdArgs),
}

#[derive(Debug, Args)]
pub struct SystemdArgs {
    /// Use the container's name instead of its ID in the unit's name and commands
    #[arg(short, long)]
    pub name: bool,
    /// Create a new container on each start and remove it on stop
    #[arg(long)]
    pub new: bool,
    /// Write the unit to container-NAME.service in the current directory and print its path
    #[arg(short, long)]
    pub files: bool,
    /// Print the units (or with --files their paths) as JSON, keyed by unit name: json
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Prefix of the unit's name
    #[arg(long, value_name = "PREFIX", default_value = "container")]
    pub container_prefix: String,
    /// Separator between the prefix and the container's name or ID in the unit's name
    #[arg(long, value_name = "SEPARATOR", default_value = "-")]
    pub separator: String,
    /// Make a template unit (NAME@.service) whose instances %i are containers of their own
    /// (with --new: named NAME-%i)
    #[arg(long)]
    pub template: bool,
    /// Add a weak requirement dependency (Wants=) on a unit
    #[arg(long, value_name = "UNIT")]
    pub wants: Vec<String>,
    /// Add an ordering dependency (After=) on a unit
    #[arg(long, value_name = "UNIT")]
    pub after: Vec<String>,
    /// Add a requirement dependency (Requires=) on a unit
    #[arg(long, value_name = "UNIT")]
    pub requires: Vec<String>,
    /// Set an environment variable in the unit (KEY=VALUE, or KEY to copy it from here)
    #[arg(short, long, value_name = "ENV")]
    pub env: Vec<String>,
    /// systemd's RestartSec: seconds to sleep before restarting the service
    #[arg(long, value_name = "SECONDS")]
    pub restart_sec: Option<u64>,
    /// systemd's TimeoutStartSec: seconds the start may take
    #[arg(long, value_name = "SECONDS")]
    pub start_timeout: Option<u64>,
    /// systemd restart policy: no, on-success, on-failure, on-abnormal, on-watchdog, on-abort or always
    #[arg(long, value_name = "POLICY", default_value = "on-failure")]
    pub restart_policy: String,
    /// Seconds the container gets to stop before it is killed
    #[arg(
        short = 't',
        long = "stop-timeout",
        visible_alias = "time",
        value_name = "SECONDS",
        default_value_t = 10
    )]
    pub time: u64,
    /// Leave out the header comment (generator and date)
    #[arg(long)]
    pub no_header: bool,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
}

pub fn dispatch(ctx: &Context, cmd: GenerateCommand) -> Result<i32> {
    match cmd {
        GenerateCommand::Generate {
            cmd: GenerateSub::Systemd(a),
        } => systemd(ctx, a),
    }
}

fn systemd(ctx: &Context, args: SystemdArgs) -> Result<i32> {
    if !RESTART_POLICIES.contains(&args.restart_policy.as_str()) {
        bail!(
            "invalid --restart-policy `{}`: use one of {}",
            args.restart_policy,
            RESTART_POLICIES.join(", ")
        );
    }
    let containers = Containers::open(&ctx.root)?;
    let rec = containers.lookup(&args.container)?;
    let key = if args.name || args.new {
        rec.name.clone()
    } else {
        rec.id.clone()
    };
    if args.format.as_deref().is_some_and(|f| f != "json") {
        bail!(
            "invalid --format `{}`: only json is supported",
            args.format.unwrap_or_default()
        );
    }
    let unit_name = format!("{}{}{key}", args.container_prefix, args.separator);
    // A template's file is NAME@.service; its description and commands name the instance.
    let file_stem = if args.template {
        format!("{unit_name}@")
    } else {
        unit_name.clone()
    };
    // Under --new --template each instance is a container of its own, named NAME-%i.
    let key_word = if args.template && args.new {
        Word::Specifier(format!("{key}-%i"))
    } else {
        Word::Literal(key.clone())
    };
    let exe = std::env::current_exe().context("cannot find the rctr executable")?;
    let lit = |s: &str| Word::Literal(s.to_string());
    let mut base = vec![
        Word::Literal(exe.display().to_string()),
        lit("--root"),
        Word::Literal(ctx.root.display().to_string()),
        lit("--runroot"),
        Word::Literal(ctx.runroot.display().to_string()),
    ];
    let time = args.time.to_string();
    let kind = if args.new {
        let run = recreate_command(&rec, &base, &key_word)?;
        let stop = [
            &base[..],
            &[
                lit("stop"),
                lit("--ignore"),
                lit("-t"),
                lit(&time),
                key_word.clone(),
            ],
        ]
        .concat();
        let rm = [
            &base[..],
            &[
                lit("rm"),
                lit("-f"),
                lit("--ignore"),
                lit("-t"),
                lit(&time),
                key_word.clone(),
            ],
        ]
        .concat();
        UnitKind::New { run, stop, rm }
    } else {
        let start = [&base[..], &[lit("start"), lit(&key)]].concat();
        base.extend([lit("stop"), lit("-t"), lit(&time), lit(&key)]);
        UnitKind::Existing {
            start,
            stop: base,
            pidfile: super::pidfile::monitor_pidfile(&ctx.runroot, &rec.id),
        }
    };
    let header = if args.no_header {
        vec![]
    } else {
        vec![
            format!("{file_stem}.service"),
            format!("autogenerated by rctr {}", env!("CARGO_PKG_VERSION")),
            chrono::Local::now()
                .format("%a %b %e %H:%M:%S %Z %Y")
                .to_string(),
        ]
    };
    let unit = Unit {
        name: unit_name.clone(),
        header,
        restart: args.restart_policy.clone(),
        stop_timeout: args.time,
        requires_mounts_for: ctx.runroot.clone(),
        kind,
        extra: Extra {
            template: args.template,
            wants: args.wants.clone(),
            after: args.after.clone(),
            requires: args.requires.clone(),
            env: args.env.iter().filter_map(|e| unit_env(e)).collect(),
            restart_sec: args.restart_sec,
            start_timeout: args.start_timeout,
        },
    };
    let text = unit.render();
    let out = if args.files {
        let path = std::env::current_dir()
            .context("cannot read the current directory")?
            .join(format!("{file_stem}.service"));
        std::fs::write(&path, text)
            .with_context(|| format!("cannot write `{}`", path.display()))?;
        format!("{}\n", path.display())
    } else {
        text
    };
    if args.format.is_some() {
        // podman's JSON: unit name -> unit text (or, with --files, the file's path).
        let value = if args.files { out.trim_end() } else { &out };
        let mut m = serde_json::Map::new();
        m.insert(file_stem, value.into());
        println!("{}", serde_json::to_string_pretty(&m)?);
    } else {
        print!("{out}");
    }
    Ok(0)
}

/// One `--env` of the unit: `KEY=VALUE` as given, `KEY` with this process's value (left out
/// when unset).
fn unit_env(spec: &str) -> Option<String> {
    if spec.contains('=') {
        return Some(spec.to_string());
    }
    std::env::var(spec).ok().map(|v| format!("{spec}={v}"))
}

/// The flags `--new` replaces: the unit decides how the container runs and is named.
const REPLACED: &[&str] = &[
    "detach",
    "rm",
    "replace",
    "restart",
    "name",
    "conmon_pidfile",
    "cidfile",
    "root",
    "runroot",
];

/// The recorded `run`/`create` command line, as a `run` that recreates the container under
/// systemd: detached, replacing a leftover of the same name, removed when it exits, with the
/// unit's pid file, and without a restart policy of its own (systemd restarts it).
fn recreate_command(rec: &ContainerRecord, base: &[Word], name: &Word) -> Result<Vec<Word>> {
    let argv = &rec.options.create_command;
    if argv.is_empty() {
        bail!(
            "container {} has no recorded create command (it was created by an older rctr); \
             generate a unit without --new, or create it again",
            rec.name
        );
    }
    let mut root = super::Cli::command();
    root.build();
    let mut out = base.to_vec();
    let mut i = 1;
    // Global flags before the subcommand.
    while i < argv.len() {
        let Some((ids, n)) = option_at(&root, argv, i) else {
            break;
        };
        if !ids.iter().any(|id| REPLACED.contains(&id.as_str())) {
            out.extend(argv[i..i + n].iter().cloned().map(Word::Literal));
        }
        i += n;
    }
    match argv.get(i).map(String::as_str) {
        Some("run" | "create") => i += 1,
        _ => bail!(
            "the recorded command of container {} is not a run or create: {}",
            rec.name,
            argv.join(" ")
        ),
    }
    let run = root
        .find_subcommand("run")
        .expect("rctr has a run command")
        .clone();
    out.push(Word::Literal("run".into()));
    out.extend([
        Word::Literal("--conmon-pidfile".into()),
        Word::Specifier(NEW_PIDFILE.into()),
        Word::Literal("--replace".into()),
        Word::Literal("--rm".into()),
        Word::Literal("-d".into()),
        Word::Literal("--name".into()),
        name.clone(),
    ]);
    while i < argv.len() {
        let Some((ids, n)) = option_at(&run, argv, i).or_else(|| option_at(&root, argv, i)) else {
            break;
        };
        let token = &argv[i];
        if !token.starts_with("--") {
            // Short flags, maybe a cluster (`-dit`, `-de` VALUE, `-eK=V`): keep the letters of
            // the flags that stay, and the value when its flag stays.
            let letters: Vec<char> = token[1..].chars().take(ids.len()).collect();
            let inline: String = token[1..].chars().skip(ids.len()).collect();
            let kept: String = letters
                .iter()
                .zip(&ids)
                .filter(|(_, id)| !REPLACED.contains(&id.as_str()))
                .map(|(c, _)| *c)
                .collect();
            let last_kept = ids
                .last()
                .is_some_and(|id| !REPLACED.contains(&id.as_str()));
            if !kept.is_empty() {
                let value = if last_kept { inline.as_str() } else { "" };
                out.push(Word::Literal(format!("-{kept}{value}")));
            }
            if n == 2 && last_kept {
                out.push(Word::Literal(argv[i + 1].clone()));
            }
        } else if !REPLACED.contains(&ids[0].as_str()) {
            out.extend(argv[i..i + n].iter().cloned().map(Word::Literal));
        }
        i += n;
    }
    // The image, the command and its arguments, verbatim.
    out.extend(argv[i..].iter().cloned().map(Word::Literal));
    Ok(out)
}

/// When `argv[i]` is an option of `cmd`: the ids of the options it holds (several for a
/// cluster of short flags) and how many words it spans with its value.
fn option_at(cmd: &clap::Command, argv: &[String], i: usize) -> Option<(Vec<String>, usize)> {
    let t = argv[i].as_str();
    if let Some(long) = t.strip_prefix("--") {
        if long.is_empty() {
            return None;
        }
        let (name, inline) = match long.split_once('=') {
            Some((n, _)) => (n, true),
            None => (long, false),
        };
        let arg = cmd.get_arguments().find(|a| {
            a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
        })?;
        let n = if !inline && arg.get_action().takes_values() {
            2
        } else {
            1
        };
        return Some((vec![arg.get_id().to_string()], n));
    }
    let shorts = t.strip_prefix('-').filter(|s| !s.is_empty())?;
    let mut ids = Vec::new();
    for (pos, c) in shorts.char_indices() {
        let arg = cmd.get_arguments().find(|a| a.get_short() == Some(c))?;
        ids.push(arg.get_id().to_string());
        if arg.get_action().takes_values() {
            let rest = &shorts[pos + c.len_utf8()..];
            return Some((ids, if rest.is_empty() { 2 } else { 1 }));
        }
    }
    Some((ids, 1))
}
