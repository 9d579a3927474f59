//! `rctr commit` (and `rctr container commit`): a new image from a container's changes, as
//! `podman commit` makes it. The container's own settings (command, entrypoint, env, user,
//! workdir, labels, published ports) become the image's config, then `--change` applies.

use crate::container::diff::{self, Changed};
use crate::container::state::{Containers, Status};
use crate::container::ContainerRecord;
use crate::context::Context;
use crate::image::store::manage::qualify_new_name;
use crate::image::store::newimage::{ManifestFormat, NewImage};
use crate::image::store::Store;
use anyhow::{bail, Context as _, Result};
use clap::Args;
use serde_json::{json, Value};

#[derive(Debug, Args)]
pub struct CommitArgs {
    /// Set the author for the committed image
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply an instruction to the image: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
    /// STOPSIGNAL, USER, VOLUME or WORKDIR (repeatable)
    #[arg(short, long = "change", value_name = "INSTRUCTION")]
    pub change: Vec<String>,
    /// Manifest and config format: oci or docker
    #[arg(short, long, default_value = "oci", value_parser = ["oci", "docker"])]
    pub format: String,
    /// Write the image ID to this file
    #[arg(long, value_name = "FILE")]
    pub iidfile: Option<std::path::PathBuf>,
    /// Include the container's volumes in the image's VOLUME list
    #[arg(long)]
    pub include_volumes: bool,
    /// Set a commit message (recorded in the image history)
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause the container while committing (warns where the cgroup freezer is missing)
    #[arg(short, long)]
    pub pause: bool,
    /// Print only the image ID
    #[arg(short, long)]
    pub quiet: bool,
    /// Squash the image's layers and the container's changes into a single layer
    #[arg(short, long)]
    pub squash: bool,
    /// The container (name or ID)
    #[arg(value_name = "CONTAINER")]
    pub container: String,
    /// The new image's name (default: none)
    #[arg(value_name = "IMAGE")]
    pub image: Option<String>,
}

/// `rctr commit`.
pub fn commit(ctx: &Context, a: CommitArgs) -> Result<i32> {
    check_changes(&a.change)?;
    let names = match &a.image {
        Some(n) => vec![qualify_new_name(n)?
            .tagged_name()
            .expect("qualified names have a tag")],
        None => Vec::new(),
    };
    super::enter_userns(ctx)?;
    let store = Store::open(&ctx.root).context("cannot open the image store")?;
    let containers = Containers::open(&ctx.root)?;
    let rec = containers.lookup(&a.container)?;
    let st = containers.state(&rec.id)?.effective();
    let running = st.status == Status::Running;
    // Frozen while its changes are read, and thawed on every way out (the guard's drop).
    let _frozen = if a.pause && running && !st.paused {
        match Frozen::freeze(st.cgroup.as_deref(), &rec.name) {
            Ok(f) => Some(f),
            Err(err) => {
                // Without a cgroup of its own (cgroup v1, no delegation) the layer is still
                // read consistently file by file.
                ::log::warn!(
                    "cannot pause container `{}`: {err}; committing it while it runs",
                    rec.name
                );
                None
            }
        }
    } else {
        None
    };
    let parent = store
        .resolve(&rec.image_id)
        .with_context(|| format!("the image of container `{}` is gone", rec.name))?;
    let cdir = containers.dir(&rec.id);
    let dir = diff::changed_dir(rec.driver, &cdir);
    let changed = match rec.driver {
        crate::storage::DriverKind::Vfs => Changed::Copy(&dir),
        _ => Changed::Upper(&dir),
    };
    let changes = diff::changes(changed, &store.layer_dirs(&parent))
        .with_context(|| format!("cannot compute the changes of container `{}`", rec.name))?;
    let mut config = store.image_config_json(&parent)?;
    apply_container(&mut config, &rec, a.include_volumes);
    crate::image::change::apply_all(&mut config, &a.change)?;

    let say = |s: &str| {
        if !a.quiet {
            eprintln!("{s}");
        }
    };
    say("Getting image source signatures");
    let lower = store.layer_dirs(&parent);
    let (digest, size) = store
        .write_layer_blob(|w| {
            if a.squash {
                let changed = match rec.driver {
                    crate::storage::DriverKind::Vfs => Changed::Copy(&dir),
                    _ => Changed::Upper(&dir),
                };
                crate::container::export::export(changed, &lower, w).map_err(std::io::Error::other)
            } else {
                crate::container::commit::write_layer(&changes, &dir, w)
            }
        })
        .with_context(|| format!("cannot write the changes of container `{}`", rec.name))?;
    if a.squash {
        // One layer now stands for all of them; the old entries would describe layers the
        // image no longer has.
        config["history"] = json!([]);
    }
    say(&format!("Copying blob {digest}"));
    let created_by = rec.command.join(" ");
    let img = store
        .add_layer_image(
            &digest,
            size,
            NewImage {
                parent: (!a.squash).then_some(&parent),
                config,
                author: a.author.as_deref(),
                created_by: &created_by,
                comment: a.message.as_deref(),
                format: if a.format == "docker" {
                    ManifestFormat::Docker
                } else {
                    ManifestFormat::Oci
                },
                names,
            },
        )
        .with_context(|| format!("cannot commit container `{}`", rec.name))?;
    say(&format!("Copying config sha256:{}", img.id));
    say("Writing manifest to image destination");
    say("Storing signatures");
    finish(&img.id, a.iidfile.as_deref())
}

/// Prints the new image's ID and writes it to `--iidfile`.
pub(super) fn finish(id: &str, iidfile: Option<&std::path::Path>) -> Result<i32> {
    if let Some(p) = iidfile {
        std::fs::write(p, format!("sha256:{id}"))
            .with_context(|| format!("cannot write the image ID to `{}`", p.display()))?;
    }
    println!("{id}");
    Ok(0)
}

/// The container's settings, as podman carries them into a committed image.
fn apply_container(config: &mut Value, rec: &ContainerRecord, include_volumes: bool) {
    if !config["config"].is_object() {
        config["config"] = json!({});
    }
    let o = &rec.options;
    let cfg = &mut config["config"];
    if !o.command.is_empty() {
        cfg["Cmd"] = json!(o.command);
    }
    if let Some(e) = &o.entrypoint {
        cfg["Entrypoint"] = json!(e);
    }
    if !o.env.is_empty() {
        let mut env: Vec<String> = cfg["Env"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for e in &o.env {
            let key = e.split_once('=').map(|(k, _)| k).unwrap_or(e);
            env.retain(|x| x.split_once('=').map(|(k, _)| k) != Some(key));
            env.push(e.clone());
        }
        cfg["Env"] = json!(env);
    }
    if let Some(w) = &o.workdir {
        cfg["WorkingDir"] = json!(w);
    }
    if let Some(u) = &o.user {
        cfg["User"] = json!(u);
    }
    if let Some(s) = &o.stop_signal {
        cfg["StopSignal"] = json!(s);
    }
    for (k, v) in &o.labels {
        if !cfg["Labels"].is_object() {
            cfg["Labels"] = json!({});
        }
        cfg["Labels"][k] = json!(v);
    }
    for p in &o.ports {
        if !cfg["ExposedPorts"].is_object() {
            cfg["ExposedPorts"] = json!({});
        }
        cfg["ExposedPorts"][format!("{}/{}", p.container_port, p.protocol)] = json!({});
    }
    if include_volumes {
        for m in &o.mounts {
            if matches!(m.kind, crate::container::options::MountKind::Volume { .. }) {
                if !cfg["Volumes"].is_object() {
                    cfg["Volumes"] = json!({});
                }
                cfg["Volumes"][&m.destination] = json!({});
            }
        }
    }
}

/// Refuses `--change` lists before any work is done (used by `import` too).
pub(super) fn check_changes(changes: &[String]) -> Result<()> {
    let mut probe = json!({});
    for c in changes {
        if let Err(e) = crate::image::change::apply(&mut probe, c) {
            bail!(e);
        }
    }
    Ok(())
}

/// A container frozen by `commit --pause`, thawed when dropped.
struct Frozen(crate::container::freezer::Freezer);

impl Frozen {
    fn freeze(cgroup: Option<&std::path::Path>, name: &str) -> Result<Frozen> {
        let f = crate::container::freezer::Freezer::of_container(cgroup, name, "pause")?;
        f.set(true)?;
        Ok(Frozen(f))
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        if let Err(err) = self.0.set(false) {
            ::log::warn!("{err}");
        }
    }
}
