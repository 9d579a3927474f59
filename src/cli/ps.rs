//! `ps`: podman's container list (CONTAINER ID, IMAGE, COMMAND, CREATED, STATUS, PORTS, NAMES).

use crate::container::options::MountKind;
use crate::container::state::{ContainerRecord, ContainerState, Containers, Status};
use crate::context::Context;
use anyhow::Result;
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct PsArgs {
    /// Show all containers, not only running ones
    #[arg(short, long)]
    pub all: bool,
    /// Print only the container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Pretty-print containers with a Go template, `table ...`, or `json`
    #[arg(long)]
    pub format: Option<String>,
}

const DEFAULT_FORMAT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("CreatedHuman", "CREATED"),
    ("CreatedAt", "CREATED"),
    ("Names", "NAMES"),
];

/// Lists containers. Records are plain files, so no user namespace is needed.
pub fn ps(ctx: &Context, args: PsArgs) -> Result<i32> {
    let containers = Containers::open(&ctx.root)?;
    let mut rows = Vec::new();
    for rec in containers.list()?.into_iter().rev() {
        let Ok(st) = containers.state(&rec.id) else {
            continue;
        };
        if args.all || st.status == Status::Running {
            rows.push((rec, st));
        }
    }
    if args.quiet {
        for (r, _) in &rows {
            println!(
                "{}",
                if args.no_trunc {
                    &r.id[..]
                } else {
                    &r.id[..12]
                }
            );
        }
        return Ok(0);
    }
    let format = args.format.as_deref().unwrap_or(DEFAULT_FORMAT);
    let items: Vec<Value> = if format.trim() == "json" {
        rows.iter().map(|(r, s)| json_item(r, s)).collect()
    } else {
        rows.iter()
            .map(|(r, s)| template_item(r, s, args.no_trunc))
            .collect()
    };
    print!("{}", super::format::render_list(format, &items, HEADERS)?);
    Ok(0)
}

/// podman's STATUS text.
pub fn status_text(st: &ContainerState) -> String {
    match st.status {
        Status::Created => "Created".into(),
        Status::Running => format!(
            "Up {}",
            st.started_at.map(super::human::ago).unwrap_or_default()
        ),
        Status::Exited => format!(
            "Exited ({}) {}",
            st.exit_code.unwrap_or(-1),
            st.finished_at.map(super::human::ago).unwrap_or_default()
        )
        .trim_end()
        .to_string(),
    }
}

fn template_item(r: &ContainerRecord, st: &ContainerState, no_trunc: bool) -> Value {
    let mut command = r.command.join(" ");
    if !no_trunc && command.chars().count() > 17 {
        command = command.chars().take(17).collect::<String>() + "...";
    }
    let mut v = json_item(r, st);
    v["ID"] = json!(if no_trunc { &r.id[..] } else { &r.id[..12] });
    v["Command"] = json!(command);
    v["Names"] = json!(r.name);
    v["Ports"] = json!("");
    v["Labels"] = json!(r
        .options
        .labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(","));
    v
}

/// The JSON object for one container, with podman's field names.
fn json_item(r: &ContainerRecord, st: &ContainerState) -> Value {
    json!({
        "AutoRemove": r.options.remove,
        "Command": r.command,
        "Created": r.created.timestamp(),
        "CreatedAt": r.created.to_rfc3339(),
        "CreatedHuman": super::human::ago(r.created),
        "Exited": st.status == Status::Exited,
        "ExitedAt": st.finished_at.map_or(0, |t| t.timestamp()),
        "ExitCode": st.exit_code.unwrap_or(0),
        "Id": r.id,
        "ID": r.id,
        "Image": r.image_name,
        "ImageID": r.image_id,
        "Labels": r.options.labels,
        "Mounts": r.options.mounts.iter().map(|m| m.destination.clone()).collect::<Vec<_>>(),
        "Names": [r.name],
        "Pid": st.pid.unwrap_or(0),
        "Ports": [],
        "StartedAt": st.started_at.map_or(0, |t| t.timestamp()),
        "State": st.status.as_str(),
        "Status": status_text(st),
        "Volumes": r.options.mounts.iter().filter_map(|m| match &m.kind {
            MountKind::Volume { name } => Some(name.clone()),
            _ => None,
        }).collect::<Vec<_>>(),
    })
}
