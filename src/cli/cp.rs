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
        (Side::Container(from, src), Side::Container(to, dest)) => {
            between(ctx, &a, (from, &src), (to, &dest))?
        }
        (Side::Container(c, path), Side::Stream) => {
            let (_, root) = container_root(ctx, c)?;
            let mut out = std::io::stdout().lock();
            copy::copy_out(&root, &path, Dest::Tar(&mut out), a.overwrite)
                .with_context(|| format!("cannot copy `{path}` from container `{c}`"))?;
        }
        (Side::Container(c, path), Side::Local(p)) => {
            let (_, root) = container_root(ctx, c)?;
            copy::copy_out(&root, &path, Dest::Path(p), a.overwrite)
                .with_context(|| format!("cannot copy `{path}` from container `{c}`"))?;
        }
        (Side::Stream, Side::Container(c, path)) => {
            let mut input = std::io::stdin().lock();
            copy_into(ctx, &a, c, &path, Source::Tar(&mut input))?;
        }
        (Side::Local(p), Side::Container(c, path)) => {
            std::fs::metadata(p).with_context(|| format!("cannot copy `{p}`"))?;
            copy_into(ctx, &a, c, &path, Source::Path(p))?;
        }
        _ => bail!(
            "invalid arguments `{}` and `{}`: one of them must be CONTAINER:PATH",
            a.src,
            a.dest
        ),
    }
    Ok(0)
}

fn copy_into(ctx: &Context, a: &CpArgs, c: &str, path: &str, src: Source) -> Result<()> {
    let (rec, root) = container_root(ctx, c)?;
    let keep_id = rec.options.userns == crate::container::options::UsernsMode::KeepId;
    // Under keep-id the container runs as the invoking user unless told otherwise.
    let user = match (&rec.options.user, keep_id) {
        (Some(u), _) => Some(u.clone()),
        (None, true) => Some(format!("{}:{}", ctx.host_uid, ctx.host_gid)),
        (None, false) => None,
    };
    let o = CopyIn {
        dest: path,
        archive: a.archive,
        user: user.as_deref(),
        overwrite: a.overwrite,
        keep_id: keep_id.then_some((ctx.host_uid, ctx.host_gid)),
    };
    copy::copy_in(&root, src, &o)
        .with_context(|| format!("cannot copy into `{path}` of container `{c}`"))
}

/// Copies between two containers. Reaching a running container's files means joining its user
/// namespace for good, so the source side runs in a forked child that packs into a temp file,
/// and this process then unpacks that into the destination.
fn between(ctx: &Context, a: &CpArgs, from: (&str, &str), to: (&str, &str)) -> Result<()> {
    let mut tmp = tempfile::tempfile().context("cannot create a temporary file")?;
    let out = tmp.try_clone().context("cannot create a temporary file")?;
    let (err_r, err_w) = nix::unistd::pipe().context("cannot create a pipe")?;
    // SAFETY: single-threaded here; the child only copies and exits.
    match unsafe { nix::unistd::fork() }.context("cannot fork")? {
        nix::unistd::ForkResult::Child => {
            drop(err_r);
            let res = container_root(ctx, from.0).and_then(|(_, root)| {
                let mut out = out;
                copy::copy_out(&root, from.1, Dest::Tar(&mut out), false).with_context(|| {
                    format!("cannot copy `{}` from container `{}`", from.1, from.0)
                })
            });
            let code = match res {
                Ok(()) => 0,
                Err(e) => {
                    use std::io::Write;
                    let _ = std::fs::File::from(err_w).write_all(format!("{e:#}").as_bytes());
                    1
                }
            };
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(out);
            drop(err_w);
            let mut msg = String::new();
            use std::io::Read;
            let _ = std::fs::File::from(err_r).read_to_string(&mut msg);
            let status =
                nix::sys::wait::waitpid(child, None).context("cannot wait for the copy")?;
            if !matches!(status, nix::sys::wait::WaitStatus::Exited(_, 0)) {
                if msg.is_empty() {
                    bail!("copying out of container `{}` failed: {status:?}", from.0);
                }
                bail!(msg);
            }
        }
    }
    use std::io::Seek;
    tmp.rewind().context("cannot read the temporary file")?;
    copy_into(ctx, a, to.0, to.1, Source::Packed(&mut tmp))
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
