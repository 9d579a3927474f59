//! `rctr image inspect` and `rctr history`: podman's JSON shape and history table.

use super::{format, human};
use crate::context::Context;
use crate::image::{ImageRecord, Store};
use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Images to inspect (name, id or id prefix)
    #[arg(required = true, num_args = 1..)]
    pub images: Vec<String>,
    /// Format the output with a Go template, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Image whose history to show
    pub image: String,
    /// Show sizes and dates in a human-readable form (the default)
    #[arg(short = 'H', long, num_args = 0..=1, default_value = "true", default_missing_value = "true")]
    pub human: bool,
    /// Do not truncate ids and commands
    #[arg(long)]
    pub no_trunc: bool,
    /// Show only layer ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Format the output with a Go template, `table …`, or `json`
    #[arg(long)]
    pub format: Option<String>,
}

/// podman's `image inspect` object for one image.
pub fn inspect_value(store: &Store, rec: &ImageRecord) -> Result<Value> {
    let cfg = store
        .image_config_json(rec)
        .with_context(|| format!("cannot read the config of image {}", rec.id))?;
    let created = cfg["created"].clone();
    Ok(json!({
        "Id": rec.id,
        "Digest": rec.digest,
        "RepoTags": rec.names,
        "RepoDigests": rec.repo_digests,
        "Parent": "",
        "Comment": cfg["comment"].as_str().unwrap_or(""),
        "Created": created,
        "Config": cfg["config"].clone(),
        "Version": cfg["docker_version"].as_str().unwrap_or(""),
        "Author": cfg["author"].as_str().unwrap_or(""),
        "Architecture": cfg["architecture"].clone(),
        "Os": cfg["os"].clone(),
        "Variant": cfg["variant"].as_str().unwrap_or(""),
        "Size": rec.size,
        "VirtualSize": rec.size,
        "GraphDriver": {
            "Name": "overlay",
            "Data": {
                "LowerDir": store.layer_dirs(rec).iter().rev().map(|p| p.display().to_string()).collect::<Vec<_>>().join(":"),
            }
        },
        "RootFS": {
            "Type": cfg["rootfs"]["type"].as_str().unwrap_or("layers"),
            "Layers": rec.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>(),
        },
        "Labels": cfg["config"]["Labels"].clone(),
        "Annotations": {},
        "ManifestType": rec.layers.first().map(|l| if l.media_type.contains("docker") {
            "application/vnd.docker.distribution.manifest.v2+json"
        } else {
            "application/vnd.oci.image.manifest.v1+json"
        }),
        "User": cfg["config"]["User"].as_str().unwrap_or(""),
        "History": cfg["history"].clone(),
        "NamesHistory": rec.names,
    }))
}

pub fn inspect(ctx: &Context, args: InspectArgs) -> Result<i32> {
    let store = Store::open(&ctx.root)?;
    let mut out = Vec::new();
    let mut failed = None;
    for name in &args.images {
        match store.resolve(name) {
            Ok(rec) => out.push(inspect_value(&store, &rec)?),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = Some(e);
            }
        }
    }
    match args.format.as_deref() {
        None | Some("json") => println!("{}", serde_json::to_string_pretty(&out)?),
        Some(f) => {
            for v in &out {
                println!("{}", format::render(f, v)?);
            }
        }
    }
    Ok(if failed.is_some() { 125 } else { 0 })
}

pub fn history(ctx: &Context, args: HistoryArgs) -> Result<i32> {
    let store = Store::open(&ctx.root)?;
    let rec = store.resolve(&args.image)?;
    let cfg = store.image_config_json(&rec)?;
    let hist = cfg["history"].as_array().cloned().unwrap_or_default();
    let mut layer_sizes = rec
        .layers
        .iter()
        .map(|l| store.layer_meta(&l.chain_id).map(|m| m.size).unwrap_or(0));
    let mut rows: Vec<Value> = Vec::new();
    let entries: Vec<Value> = if hist.is_empty() {
        rec.layers.iter().map(|_| json!({})).collect()
    } else {
        hist
    };
    let n = entries.len();
    for (i, h) in entries.iter().enumerate() {
        let empty = h["empty_layer"].as_bool().unwrap_or(false);
        let size = if empty {
            0
        } else {
            layer_sizes.next().unwrap_or(0)
        };
        let top = i + 1 == n;
        let id = if top {
            if args.no_trunc {
                format!("sha256:{}", rec.id)
            } else {
                rec.id[..12].to_string()
            }
        } else {
            "<missing>".to_string()
        };
        let created = h["created"]
            .as_str()
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            .map(|c| c.with_timezone(&chrono::Utc));
        let by = h["created_by"].as_str().unwrap_or("").to_string();
        let by_shown = if args.no_trunc || by.chars().count() <= 45 {
            by.clone()
        } else {
            format!("{}...", by.chars().take(42).collect::<String>())
        };
        rows.push(json!({
            "ID": id,
            "Created": match (created, args.human) {
                (Some(c), true) => human::ago(c),
                (Some(c), false) => c.to_rfc3339(),
                (None, _) => String::new(),
            },
            "CreatedAt": created.map(|c| c.to_rfc3339()).unwrap_or_default(),
            "CreatedBy": by_shown,
            "Size": if args.human { human::size(size) } else { size.to_string() },
            "Comment": h["comment"].as_str().unwrap_or(""),
            "Tags": if top { rec.names.join(",") } else { String::new() },
        }));
    }
    rows.reverse();
    if args.quiet {
        for r in &rows {
            println!("{}", r["ID"].as_str().unwrap_or(""));
        }
        return Ok(0);
    }
    let fmt = args.format.unwrap_or_else(|| {
        "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".into()
    });
    print!(
        "{}",
        format::render_list(&fmt, &rows, &[("ID", "ID"), ("CreatedBy", "CREATED BY")])?
    );
    Ok(0)
}
