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
    /// Show only the latest container created (all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Show the N latest containers created (all states)
    #[arg(short = 'n', long, value_name = "N")]
    pub last: Option<usize>,
    /// Filter: name=, id=, status=, label=KEY[=VALUE], ancestor=, exited=CODE
    #[arg(short, long, value_name = "FILTER")]
    pub filter: Vec<String>,
    /// Display the total file sizes (adds a SIZE column)
    #[arg(short, long)]
    pub size: bool,
}

/// Whether a container passes every `--filter` (podman's semantics: values of the same key
/// are alternatives, different keys must all match).
fn passes(filters: &[(String, String)], r: &ContainerRecord, st: &ContainerState) -> bool {
    let mut keys: Vec<&str> = filters.iter().map(|(k, _)| k.as_str()).collect();
    keys.dedup();
    keys.iter().all(|k| {
        filters
            .iter()
            .filter(|(fk, _)| fk == k)
            .any(|(_, v)| match *k {
                "name" => r.name.contains(v.as_str()),
                "id" => r.id.starts_with(v.as_str()),
                "status" => st.status.as_str() == v,
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => r.options.labels.get(lk).is_some_and(|x| x == lv),
                    None => r.options.labels.contains_key(v.as_str()),
                },
                "ancestor" => {
                    r.image == *v
                        || r.image_name == *v
                        || r.image_id.starts_with(v.as_str())
                        || r.image_name
                            .rsplit('/')
                            .next()
                            .is_some_and(|n| n == v || n.split(':').next() == Some(v.as_str()))
                }
                "exited" => {
                    st.status == Status::Exited
                        && st.exit_code.map(|c| c.to_string()).as_deref() == Some(v.as_str())
                }
                _ => false,
            })
    })
}

const DEFAULT_FORMAT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";

const SIZE_FORMAT: &str = "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}\t{{.Size}}";

const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("CreatedHuman", "CREATED"),
    ("CreatedAt", "CREATED"),
    ("Names", "NAMES"),
];

/// Lists containers. Records are plain files, so no user namespace is needed.
pub fn ps(ctx: &Context, args: PsArgs) -> Result<i32> {
    let containers = Containers::open(&ctx.root)?;
    let mut filters = Vec::new();
    for f in &args.filter {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter `{f}`: use KEY=VALUE"))?;
        if !["name", "id", "status", "label", "ancestor", "exited"].contains(&k) {
            anyhow::bail!(
                "invalid filter `{f}`: rctr supports name, id, status, label, ancestor and exited"
            );
        }
        filters.push((k.to_string(), v.to_string()));
    }
    let any_state = args.all || args.latest || args.last.is_some() || !filters.is_empty();
    let mut rows = Vec::new();
    for rec in containers.list()?.into_iter().rev() {
        let Ok(st) = containers.state(&rec.id) else {
            continue;
        };
        if (any_state || st.status == Status::Running) && passes(&filters, &rec, &st) {
            rows.push((rec, st));
        }
    }
    let keep = if args.latest { Some(1) } else { args.last };
    if let Some(n) = keep {
        rows.truncate(n);
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
    let format = args.format.as_deref().unwrap_or(if args.size {
        SIZE_FORMAT
    } else {
        DEFAULT_FORMAT
    });
    let json_out = format.trim() == "json";
    let mut items: Vec<Value> = if json_out {
        rows.iter().map(|(r, s)| json_item(r, s)).collect()
    } else {
        rows.iter()
            .map(|(r, s)| template_item(r, s, args.no_trunc))
            .collect()
    };
    if args.size {
        super::enter_userns(ctx)?;
        let store = crate::image::Store::open(&ctx.root)?;
        for ((r, _), item) in rows.iter().zip(items.iter_mut()) {
            let s = super::inspect_size::sizes(&store, &containers, r)?;
            item["Size"] = if json_out {
                json!({"rootFsSize": s.root_fs, "rwSize": s.rw})
            } else {
                json!(crate::container::size::column(s))
            };
        }
    }
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
    v["Ports"] = json!(r
        .options
        .ports
        .iter()
        .map(|p| format!(
            "{}:{}->{}/{}",
            p.host_ip, p.host_port, p.container_port, p.protocol
        ))
        .collect::<Vec<_>>()
        .join(", "));
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
        "Ports": r.options.ports.iter().map(|p| json!({
            "host_ip": p.host_ip.to_string(),
            "container_port": p.container_port,
            "host_port": p.host_port,
            "range": 1,
            "protocol": p.protocol.to_string(),
        })).collect::<Vec<_>>(),
        "StartedAt": st.started_at.map_or(0, |t| t.timestamp()),
        "State": st.status.as_str(),
        "Status": status_text(st),
        "Volumes": r.options.mounts.iter().filter_map(|m| match &m.kind {
            MountKind::Volume { name } => Some(name.clone()),
            _ => None,
        }).collect::<Vec<_>>(),
    })
}
