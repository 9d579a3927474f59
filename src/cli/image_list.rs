//! `rctr images` (`image ls`): one row per name, podman's columns and `--format` fields.

use super::{format, human};
use crate::context::Context;
use crate::image::{ImageRecord, Store};
use anyhow::Result;
use clap::Args;
use serde_json::json;

#[derive(Debug, Args)]
pub struct ImagesArgs {
    /// Show all images, including intermediate ones
    #[arg(short, long)]
    pub all: bool,
    /// Show only image ids
    #[arg(short, long)]
    pub quiet: bool,
    /// Show digests
    #[arg(long)]
    pub digests: bool,
    /// Do not truncate ids
    #[arg(long)]
    pub no_trunc: bool,
    /// Format the output with a Go template, `table …`, or `json`
    #[arg(long)]
    pub format: Option<String>,
    /// Only images whose name matches this reference (e.g. `busybox`, `busybox:latest`)
    pub reference: Option<String>,
}

const HEADERS: &[(&str, &str)] = &[("ID", "IMAGE ID"), ("CreatedSince", "CREATED")];

/// One row of `images`: the image under one of its names (or `<none>`).
fn rows(rec: &ImageRecord, no_trunc: bool) -> Vec<serde_json::Value> {
    let id = if no_trunc {
        format!("sha256:{}", rec.id)
    } else {
        rec.id[..12].to_string()
    };
    let mut names: Vec<(String, String)> = rec
        .names
        .iter()
        .map(|n| {
            let repo = crate::image::store::split_repo(n);
            (repo.to_string(), n[repo.len() + 1..].to_string())
        })
        .collect();
    if names.is_empty() {
        let repo = rec
            .repo_digests
            .first()
            .map(|d| crate::image::store::split_repo(d).to_string())
            .unwrap_or_else(|| "<none>".into());
        names.push((repo, "<none>".into()));
    }
    let created = rec.created.unwrap_or_default();
    names
        .into_iter()
        .map(|(repo, tag)| {
            json!({
                "ID": id,
                "Id": rec.id,
                "Repository": repo,
                "Tag": tag,
                "Digest": rec.digest,
                "Created": human::ago(created),
                "CreatedSince": human::ago(created),
                "CreatedAt": created.to_rfc3339(),
                "Size": human::size(rec.size),
                "VirtualSize": rec.size,
                "Names": rec.names,
                "RepoDigests": rec.repo_digests,
                "Dangling": rec.names.is_empty(),
            })
        })
        .collect()
}

pub fn images(ctx: &Context, args: ImagesArgs) -> Result<i32> {
    let store = Store::open(&ctx.root)?;
    let mut all = store.images()?;
    all.sort_by_key(|r| std::cmp::Reverse(r.created));
    if let Some(r) = &args.reference {
        all.retain(|rec| crate::image::store::find(std::slice::from_ref(rec), r).is_ok());
    }
    if args.quiet {
        let mut seen = std::collections::HashSet::new();
        for rec in &all {
            if seen.insert(&rec.id) {
                if args.no_trunc {
                    println!("sha256:{}", rec.id);
                } else {
                    println!("{}", &rec.id[..12]);
                }
            }
        }
        return Ok(0);
    }
    let items: Vec<serde_json::Value> = all.iter().flat_map(|r| rows(r, args.no_trunc)).collect();
    let fmt = match &args.format {
        Some(f) => f.clone(),
        None if args.digests => {
            "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
                .into()
        }
        None => "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".into(),
    };
    if matches!(format::style(&fmt), format::Style::Json) {
        let summaries: Vec<serde_json::Value> = all.iter().map(summary).collect();
        println!("{}", serde_json::to_string_pretty(&summaries)?);
        return Ok(0);
    }
    print!("{}", format::render_list(&fmt, &items, HEADERS)?);
    Ok(0)
}

/// podman's `images --format json` entry.
fn summary(rec: &ImageRecord) -> serde_json::Value {
    json!({
        "Id": rec.id,
        "ParentId": "",
        "RepoTags": rec.names,
        "RepoDigests": rec.repo_digests,
        "Created": rec.created.map(|c| c.timestamp()).unwrap_or(0),
        "Size": rec.size,
        "SharedSize": 0,
        "VirtualSize": rec.size,
        "Containers": 0,
        "Names": rec.names,
        "Digest": rec.digest,
        "Dangling": rec.names.is_empty(),
        "CreatedAt": rec.created.map(|c| c.to_rfc3339()),
    })
}
