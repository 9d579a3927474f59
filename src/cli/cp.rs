//! `rctr cp` (and `rctr container cp`): copy files between the host and a container, as
//! `podman cp` does. The engine is `container::copy`.

use crate::container::copy::{self, ContainerRoot, CopyIn, Dest, Source};
use crate::container::state::{Containers, Status};
use crate::container::ContainerRecord;
use crate::context::Context;
use crate::image::store::Store;
use anyhow::{bail, Context as _, Result};
use clap::{ArgAction, Args};

#[derive(Debug, Args)]
pub struct CpArgs {
    /// Archive mode: give files copied into a container the container's primary UID/GID
    /// (--archive=false keeps the owners the files have)
    #[arg(short, long, action = ArgAction::Set, default_value_t = true, num_args = 0..=1,
          default_missing_value = "true", value_name = "BOOL")]
    pub archive: bool,
    /// Allow directories to be overwritten with non-directories and vice versa
    #[arg(long)]
    pub overwrite: bool,
    /// [CONTAINER:]SRC_PATH, or - for a tar archive on stdin
    #[arg(value_name = "SRC")]
    pub src: String,
    /// [CONTAINER:]DEST_PATH, or - for a tar archive on stdout
    #[arg(value_name = "DEST")]
    pub dest: String,
}

/// One side of a copy.
#[derive(Debug, PartialEq)]
enum Side<'a> {
    Stream,
    Local(&'a str),
    Container(&'a str, String),
}

/// Splits `CONTAINER:PATH`. As in podman, a path starting with `/` or `.` is always local, so
/// `./a:b` names a local file.
fn side(arg: &str) -> Side<'_> {
    if arg == "-" {
        return Side::Stream;
    }
    if arg.starts_with('/') || arg.starts_with('.') {
        return Side::Local(arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() => {
            let p = if p.starts_with('/') {
                p.to_string()
            } else {
                format!("/{p}")
            };
            Side::Container(c, p)
        }
        _ => Side::Local(arg),
    }
}

/// Makes the container's root reachable: joined when running, else mounted.
pub(super) fn container_root(
    ctx: &Context,
    name: &str,
) -> Result<(ContainerRecord, ContainerRoot)> {
    let containers = Containers::open(&ctx.root)?;
    let rec = containers.lookup(name)?;
    let st = containers.state(&rec.id)?.effective();
    let root = match (st.status, st.container_pid) {
        (Status::Running, Some(pid)) => ContainerRoot::join_running(pid)
            .with_context(|| format!("cannot reach the files of container `{name}`"))?,
        _ => {
            super::enter_userns(ctx)?;
            let store = Store::open(&ctx.root).context("cannot open the image store")?;
            ContainerRoot::mount_stopped(&store, &containers.dir(&rec.id), &rec)
                .with_context(|| format!("cannot mount the files of container `{name}`"))?
        }
    };
    Ok((rec, root))
}

/// `rctr cp SRC DEST`.
pub fn cp(ctx: &Context, a: CpArgs) -> Result<i32> {
    match (side(&a.src), side(&a.dest)) {
        (Side::Container(..), Side::Container(..)) => {
            bail!("copying between two containers is not supported; copy to the host first")
        }
        (Side::Container(c, path), dest) => {
            let (_, root) = container_root(ctx, c)?;
            let res = match dest {
                Side::Stream => {
                    let mut out = std::io::stdout().lock();
                    copy::copy_out(&root, &path, Dest::Tar(&mut out), a.overwrite)
                }
                Side::Local(p) => copy::copy_out(&root, &path, Dest::Path(p), a.overwrite),
                Side::Container(..) => unreachable!("handled above"),
            };
            res.with_context(|| format!("cannot copy `{}` from container `{c}`", path))?;
        }
        (src, Side::Container(c, path)) => {
            let (rec, root) = container_root(ctx, c)?;
            let o = CopyIn {
                dest: &path,
                archive: a.archive,
                user: rec.options.user.as_deref(),
                overwrite: a.overwrite,
            };
            let res = match src {
                Side::Stream => {
                    let mut input = std::io::stdin().lock();
                    copy::copy_in(&root, Source::Tar(&mut input), &o)
                }
                Side::Local(p) => {
                    std::fs::metadata(p).with_context(|| format!("cannot copy `{p}`"))?;
                    copy::copy_in(&root, Source::Path(p), &o)
                }
                Side::Container(..) => unreachable!("handled above"),
            };
            res.with_context(|| format!("cannot copy into `{path}` of container `{c}`"))?;
        }
        _ => bail!(
            "invalid arguments `{}` and `{}`: one of them must be CONTAINER:PATH",
            a.src,
            a.dest
        ),
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sides_follow_podman() {
        assert_eq!(side("-"), Side::Stream);
        assert_eq!(side("./a:b"), Side::Local("./a:b"));
        assert_eq!(side("/x:y"), Side::Local("/x:y"));
        assert_eq!(side("c:etc/x"), Side::Container("c", "/etc/x".into()));
        assert_eq!(side("c:/"), Side::Container("c", "/".into()));
        assert_eq!(side("file"), Side::Local("file"));
    }
}
