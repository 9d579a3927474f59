//! `rctr inspect`: podman's JSON for containers, falling back to images for names that are not
//! containers (`--type` narrows it), with `--format` templates.

use super::format;
use crate::container::options::MountKind;
use crate::container::state::{ContainerRecord, ContainerState, Containers, Status};
use crate::context::Context;
use crate::image::Store;
use anyhow::{bail, Result};
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// What to look for: container, image or all
    #[arg(short, long = "type", default_value = "all", value_name = "TYPE")]
    pub kind: String,
    /// Format the output with a Go template, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
    /// Display the total file size of containers (SizeRw and SizeRootFs)
    #[arg(short, long)]
    pub size: bool,
    /// Containers or images (names or IDs)
    #[command(flatten)]
    pub latest: super::pick::Latest,
    #[arg(required_unless_present = "latest", value_name = "NAME")]
    pub names: Vec<String>,
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(crate::container::logs::timestamp)
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into())
}

/// podman's `container inspect` object for one container.
pub fn container_value(c: &Containers, r: &ContainerRecord, st: &ContainerState) -> Value {
    let o = &r.options;
    let running = st.status == Status::Running;
    let mounts: Vec<Value> = o
        .mounts
        .iter()
        .map(|m| {
            let (kind, name, source) = match &m.kind {
                MountKind::Volume { name } => ("volume", name.clone(), String::new()),
                MountKind::Bind { source } => ("bind", String::new(), source.clone()),
                MountKind::Tmpfs => ("tmpfs", String::new(), "tmpfs".into()),
            };
            json!({"Type": kind, "Name": name, "Source": source, "Destination": m.destination,
                   "RW": !m.read_only, "Options": m.options})
        })
        .collect();
    json!({
        "Id": r.id,
        "Created": crate::container::logs::timestamp(r.created),
        "Path": r.command.first().cloned().unwrap_or_default(),
        "Args": r.command.iter().skip(1).collect::<Vec<_>>(),
        "State": {
            "Status": if st.paused { "paused" } else { st.status.as_str() },
            "Running": running && !st.paused,
            "Paused": st.paused,
            "Restarting": st.restarting,
            "OOMKilled": false,
            "Dead": false,
            "Pid": st.container_pid.filter(|_| running).unwrap_or(0),
            "ConmonPid": st.pid.filter(|_| running).unwrap_or(0),
            "ExitCode": st.exit_code.unwrap_or(0),
            "StartedAt": time(st.started_at),
            "FinishedAt": time(st.finished_at),
        },
        "Image": r.image_id,
        "ImageName": r.image_name,
        "Name": r.name,
        "RestartCount": st.restart_count,
        "LogPath": crate::container::logs::log_path(&c.dir(&r.id)),
        "Driver": r.driver.name(),
        "Mounts": mounts,
        "Config": {
            "Hostname": o.hostname.clone().unwrap_or_else(|| r.id[..12].to_string()),
            "User": o.user.clone().unwrap_or_default(),
            "Env": o.env,
            "Cmd": o.command,
            "Image": r.image_name,
            "WorkingDir": o.workdir.clone().unwrap_or_default(),
            "Entrypoint": o.entrypoint.clone().unwrap_or_default(),
            "Labels": o.labels,
            "StopSignal": o.stop_signal.clone().unwrap_or_else(|| "SIGTERM".into()),
            "Tty": o.tty,
            "OpenStdin": o.interactive,
            "CreateCommand": o.create_command,
        },
        "HostConfig": {
            "AutoRemove": o.remove,
            "RestartPolicy": {
                "Name": o.restart.name(),
                "MaximumRetryCount": o.restart.max_retries(),
            },
            "Privileged": o.privileged,
            "ReadonlyRootfs": o.read_only,
            "CapAdd": o.cap_add,
            "CapDrop": o.cap_drop,
            "Init": o.init,
            "Memory": o.memory.unwrap_or(0),
            "PidsLimit": o.pids_limit.unwrap_or(0),
            "NanoCpus": o.cpus.map_or(0, |c| (c * 1e9).round() as u64),
            "LogConfig": {
                "Type": if o.log_none { "none" } else { "k8s-file" },
                "Size": o.log_max_size.map(|s| s.to_string()).unwrap_or_default(),
            },
            "NetworkMode": o.network.name(),
        },
        "NetworkSettings": {"Ports": {}, "Networks": super::network::inspect_networks(c, r)},
    })
}

pub fn inspect(ctx: &Context, mut args: InspectArgs) -> Result<i32> {
    if args.latest.latest {
        args.names = super::pick::names(&ctx.root, true, &[], std::mem::take(&mut args.names))?;
        args.kind = "container".into();
    }
    let (want_c, want_i) = match args.kind.as_str() {
        "all" => (true, true),
        "container" => (true, false),
        "image" => (false, true),
        k => bail!("invalid --type `{k}`: use container, image or all"),
    };
    if args.size {
        // Reading a container's layer needs the ids it is owned by.
        super::enter_userns(ctx)?;
    }
    let containers = Containers::open(&ctx.root)?;
    let store = if want_i || args.size {
        Store::open(&ctx.root).ok()
    } else {
        None
    };
    let mut out = Vec::new();
    let mut failed = false;
    for n in &args.names {
        if want_c {
            if let Ok(r) = containers.lookup(n) {
                if let Ok(st) = containers.state(&r.id) {
                    let mut v = container_value(&containers, &r, &st);
                    if let (true, Some(s)) = (args.size, &store) {
                        let sz = super::inspect_size::sizes(s, &containers, &r)?;
                        v["SizeRw"] = sz.rw.into();
                        v["SizeRootFs"] = sz.root_fs.into();
                    }
                    out.push(v);
                    continue;
                }
            }
        }
        if let Some(s) = &store {
            if let Ok(rec) = s.resolve(n) {
                out.push(super::image_inspect::inspect_value(s, &rec)?);
                continue;
            }
        }
        eprintln!("Error: no such object: `{n}`");
        failed = true;
    }
    match args.format.as_deref() {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&out)?),
        Some(f) => {
            for v in &out {
                println!("{}", format::render(f, v)?);
            }
        }
    }
    Ok(if failed { 125 } else { 0 })
}
