//! `rctr diff` (and `rctr container diff`): the files a container changed, as podman lists
//! them (`A /new`, `C /etc`, `D /gone`), or an image's changes against its parent layer.

use crate::container::diff::{self, Change, Changed, Kind};
use crate::container::state::Containers;
use crate::context::Context;
use crate::image::store::Store;
use anyhow::{bail, Context as _, Result};
use clap::Args;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Output format: json (the only format podman accepts)
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<String>,
    /// Act on the most recently created container
    #[arg(short, long)]
    pub latest: bool,
    /// The container or image
    #[arg(value_name = "CONTAINER|IMAGE", required_unless_present = "latest")]
    pub name: Option<String>,
}

/// `rctr diff`.
pub fn diff(ctx: &Context, a: DiffArgs) -> Result<i32> {
    if let Some(f) = a.format.as_deref().filter(|f| *f != "json") {
        bail!("invalid format `{f}`: the only valid format for diff is json");
    }
    super::enter_userns(ctx)?;
    let changes = compute(ctx, a.latest, a.name.as_deref())?;
    print!("{}", render(&changes, a.format.is_some()));
    Ok(0)
}

/// The changes of the named (or latest) container, or of the named image's top layer.
pub(super) fn compute(ctx: &Context, latest: bool, name: Option<&str>) -> Result<Vec<Change>> {
    let store = Store::open(&ctx.root).context("cannot open the image store")?;
    let containers = Containers::open(&ctx.root)?;
    let rec = if latest {
        containers.list()?.pop()
    } else {
        let n = name.unwrap_or_default();
        match containers.lookup(n) {
            Ok(r) => Some(r),
            Err(crate::container::ContainerError::NotFound(_)) => None,
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(rec) = rec {
        let image = store
            .resolve(&rec.image_id)
            .with_context(|| format!("the image of container `{}` is gone", rec.name))?;
        let dir = diff::changed_dir(rec.driver, &containers.dir(&rec.id));
        let lower = store.layer_dirs(&image);
        let changed = match rec.driver {
            crate::storage::DriverKind::Vfs => Changed::Copy(&dir),
            _ => Changed::Upper(&dir),
        };
        return diff::changes(changed, &lower)
            .with_context(|| format!("cannot compute the changes of container `{}`", rec.name));
    }
    let Some(n) = name else {
        bail!("no containers to diff");
    };
    let image = store
        .resolve(n)
        .with_context(|| format!("`{n}` is neither a container nor an image"))?;
    let mut layers = store.layer_dirs(&image);
    let Some(top) = layers.pop() else {
        return Ok(Vec::new());
    };
    diff::changes(Changed::Upper(&top), &layers)
        .with_context(|| format!("cannot compute the changes of image `{n}`"))
}

/// podman's text (`A /path` lines) or JSON (`changed`, `added`, `deleted`, each omitted when
/// empty).
fn render(changes: &[Change], json: bool) -> String {
    if !json {
        return changes
            .iter()
            .map(|c| format!("{} {}\n", c.kind.letter(), c.path))
            .collect();
    }
    // Built by hand to keep podman's key order (changed, added, deleted) and its five-space
    // indentation.
    let mut parts = Vec::new();
    for (key, kind) in [
        ("changed", Kind::Changed),
        ("added", Kind::Added),
        ("deleted", Kind::Deleted),
    ] {
        let list: Vec<&str> = changes
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| c.path.as_str())
            .collect();
        if !list.is_empty() {
            let items: Vec<String> = list
                .iter()
                .map(|p| format!("          {}", serde_json::Value::from(*p)))
                .collect();
            parts.push(format!("     \"{key}\": [\n{}\n     ]", items.join(",\n")));
        }
    }
    if parts.is_empty() {
        return "{}\n".into();
    }
    format!("{{\n{}\n}}\n", parts.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_groups_by_kind() {
        let c = |kind, path: &str| Change {
            kind,
            path: path.into(),
            opaque: false,
        };
        let out = render(&[c(Kind::Changed, "/etc"), c(Kind::Added, "/etc/x")], true);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["changed"][0], "/etc");
        assert_eq!(v["added"][0], "/etc/x");
        assert!(v.get("deleted").is_none());
        assert_eq!(render(&[c(Kind::Deleted, "/x")], false), "D /x\n");
    }
}
