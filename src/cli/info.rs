//! `rctr info`: podman-shaped facts about the host, the store and the registries. The default
//! output is YAML as podman prints it; `--format json` gives JSON with the same (camelCase) keys;
//! any other `--format` is a Go template over podman's field names (`{{.Host.Kernel}}`,
//! `{{.Store.GraphDriverName}}`).

use crate::container::state::{Containers, Status};
use crate::context::Context;
use crate::host::facts;
use anyhow::{Context as _, Result};
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Format the output as `json` or with a Go template
    #[arg(short, long)]
    pub format: Option<String>,
}

pub fn info(ctx: &Context, args: InfoArgs) -> Result<i32> {
    let map = super::enter_userns(ctx)?;
    // The driver probe mounts a test overlay: keep it out of the host's mount namespace.
    crate::storage::private_mount_namespace().context("cannot probe the storage driver")?;
    let driver =
        crate::storage::probe::resolve_driver(&ctx.config.storage.driver, &ctx.root, &ctx.runroot)
            .context("cannot choose a storage driver")?;
    let data = json!({
        "host": host(ctx, &map),
        "store": store(ctx, driver.name())?,
        "registries": {
            "search": ctx.config.registries.search,
            "insecure": ctx.config.registries.insecure,
            "mirrors": ctx.config.registries.mirrors,
        },
        "version": {
            "Version": env!("CARGO_PKG_VERSION"),
            "OsArch": format!("linux/{}", super::system::go_arch()),
        },
    });
    match args.format.as_deref() {
        None => print!("{}", yaml(&data, 0)),
        Some("json") => println!("{}", serde_json::to_string_pretty(&data)?),
        Some(f) => println!("{}", super::format::render(f, &go_names(&data))?),
    }
    Ok(0)
}

fn host(ctx: &Context, map: &crate::runtime::idmap::IdMap) -> Value {
    let ids = |r: &[crate::runtime::idmap::IdRange]| -> Vec<Value> {
        r.iter()
            .map(|r| json!({"container_id": r.container, "host_id": r.host, "size": r.size}))
            .collect()
    };
    let path = std::env::var("PATH").unwrap_or_default();
    let tool = |name: &str| match facts::find_in_path(name, &path) {
        Some(p) => json!({"executable": p, "version": facts::tool_version(&p).unwrap_or_default()}),
        None => json!({"executable": "", "version": ""}),
    };
    let mem = meminfo();
    json!({
        "arch": super::system::go_arch(),
        "cgroupVersion": facts::cgroup_version().as_str(),
        "cgroupControllers": facts::delegated_controllers(ctx.host_uid),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        "distribution": facts::os_name(),
        "hostname": nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_default(),
        "idMappings": {"uidmap": ids(&map.uids), "gidmap": ids(&map.gids)},
        "kernel": facts::kernel_release(),
        "memTotal": mem.0,
        "memFree": mem.1,
        "os": "linux",
        "rootless": ctx.rootless(),
        "security": {
            "rootless": ctx.rootless(),
            "seccompEnabled": std::fs::read_to_string("/proc/self/status").is_ok_and(|s| s.contains("Seccomp:")),
            "capabilities": crate::runtime::DEFAULT_CAPS.join(","),
        },
        "slirp4netns": tool("slirp4netns"),
        "pasta": tool("pasta"),
        "fuseOverlayfs": tool("fuse-overlayfs"),
    })
}

fn meminfo() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0)
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

fn store(ctx: &Context, driver: &str) -> Result<Value> {
    let images = crate::image::Store::open(&ctx.root)?.images()?.len();
    let containers = Containers::open(&ctx.root)?;
    let (mut running, mut paused, mut stopped) = (0, 0, 0);
    let all = containers.list()?;
    for c in &all {
        match containers.state(&c.id).map(|s| s.effective()) {
            // As podman counts them: a paused container is not also running.
            Ok(s) if s.status == Status::Running && s.paused => paused += 1,
            Ok(s) if s.status == Status::Running => running += 1,
            _ => stopped += 1,
        }
    }
    Ok(json!({
        "configFile": ctx.config_home.join("rctr/config.toml"),
        "containerStore": {"number": all.len(), "paused": paused, "running": running, "stopped": stopped},
        "graphDriverName": driver,
        "graphRoot": ctx.root,
        "runRoot": ctx.runroot,
        "imageStore": {"number": images},
        "volumePath": ctx.root.join("volumes"),
    }))
}

/// podman's Go field names for templates: `cgroupVersion` → `CgroupVersion`, `idMappings` →
/// `IDMappings`; keys that are data (registry names, ids) stay as they are.
fn go_names(v: &Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| {
                    let key = match k.as_str() {
                        "idMappings" => "IDMappings".to_string(),
                        "mirrors" => return (String::from("Mirrors"), v.clone()),
                        _ => {
                            let mut c = k.chars();
                            c.next()
                                .map(|f| f.to_uppercase().chain(c).collect())
                                .unwrap_or_default()
                        }
                    };
                    (key, go_names(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(go_names).collect()),
        other => other.clone(),
    }
}

/// A small YAML emitter for info's data (maps, lists, scalars), in podman's layout.
fn yaml(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                match v {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n{}", yaml(v, indent + 2)))
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        for item in a {
                            let inner = yaml(item, indent + 2);
                            let inner = inner.trim_start();
                            out.push_str(&format!("{pad}- {inner}"));
                            if !inner.ends_with('\n') {
                                out.push('\n');
                            }
                        }
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(v))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
    out
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Object(_) => "{}".into(),
        Value::Array(_) => "[]".into(),
        Value::String(s) if s.is_empty() => "\"\"".into(),
        Value::String(s)
            if s.contains(": ") || s.starts_with(['-', '[', '{', '*', '&', '!', '#']) =>
        {
            format!("{s:?}")
        }
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_layout() {
        let v = json!({"host": {"arch": "amd64", "ids": [{"a": 1, "b": 2}], "none": []}, "x": ""});
        assert_eq!(
            yaml(&v, 0),
            "host:\n  arch: amd64\n  ids:\n  - a: 1\n    b: 2\n  none: []\nx: \"\"\n"
        );
    }

    #[test]
    fn go_field_names() {
        let v = go_names(&json!({"host": {"idMappings": {"uidmap": []}, "cgroupVersion": "v1"}}));
        assert_eq!(v["Host"]["CgroupVersion"], "v1");
        assert!(v["Host"]["IDMappings"]["Uidmap"].is_array());
    }
}
