//! `--latest` and `--cidfile`: the ways podman lets a command name its containers without
//! typing them. The latest container is the one created most recently, whatever its state; a
//! container ID file holds a full ID, written by `run --cidfile` or `create --cidfile`.

use crate::container::state::Containers;
use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::path::{Path, PathBuf};

// `-l/--latest`, for the commands that podman gives it. (Not a doc comment: see
// `generate::tests::argument_structs_have_no_doc_comments`.)
#[derive(Debug, Clone, Default, Args)]
pub struct Latest {
    /// Act on the latest container rctr is aware of
    #[arg(short = 'l', long)]
    pub latest: bool,
}

// `--cidfile`, for the commands that read container IDs from files (podman's stop, kill, rm,
// restart, pause, unpause). (Not a doc comment: see
// `generate::tests::argument_structs_have_no_doc_comments`.)
#[derive(Debug, Clone, Default, Args)]
pub struct CidFiles {
    /// Read the container ID from the file
    #[arg(long, value_name = "FILE")]
    pub cidfile: Vec<PathBuf>,
}

/// The ID of the container created last. As podman, an empty store is "no such container".
pub fn latest_id(containers: &Containers) -> Result<String> {
    match containers.list()?.pop() {
        Some(r) => Ok(r.id),
        None => bail!("no such container"),
    }
}

/// The container ID written in `path`, as podman reads it (surrounding white space ignored).
pub fn read_cidfile(path: &Path) -> Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading CIDFile `{}`", path.display()))?;
    let id = text.trim();
    if id.is_empty() {
        bail!("the CIDFile `{}` is empty", path.display());
    }
    Ok(id.to_string())
}

/// The containers a command acts on: the ones named, those in `cidfiles`, or the latest.
/// `--latest` together with names is refused with podman's message.
pub fn names(
    root: &Path,
    latest: bool,
    cidfiles: &[PathBuf],
    mut named: Vec<String>,
) -> Result<Vec<String>> {
    if latest {
        if !named.is_empty() || !cidfiles.is_empty() {
            bail!("--latest and containers cannot be used together");
        }
        return Ok(vec![latest_id(&Containers::open(root)?)?]);
    }
    for f in cidfiles {
        named.push(read_cidfile(f)?);
    }
    Ok(named)
}

/// [`names`] for a command with `--latest` and `--cidfile`: replaces `named` with the
/// containers the command acts on.
pub fn expand(
    root: &Path,
    latest: &Latest,
    cidfiles: &CidFiles,
    named: &mut Vec<String>,
) -> Result<()> {
    *named = names(
        root,
        latest.latest,
        &cidfiles.cidfile,
        std::mem::take(named),
    )?;
    Ok(())
}

/// For a command that acts on one container: the one named, or the latest.
pub fn one(root: &Path, latest: bool, named: Option<String>) -> Result<String> {
    match (latest, named) {
        (true, Some(_)) => bail!("--latest and containers cannot be used together"),
        (true, None) => latest_id(&Containers::open(root)?),
        (false, Some(n)) => Ok(n),
        (false, None) => bail!("you must provide a container name or ID, or --latest"),
    }
}

/// Writes `id` to a new `--cidfile`. The file must not exist: as podman, rctr refuses to
/// overwrite one that another container may still be using.
pub fn write_cidfile(path: &Path, id: &str) -> Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("cannot create the CIDFile `{}`", path.display()))?;
    f.write_all(id.as_bytes())
        .with_context(|| format!("cannot write the CIDFile `{}`", path.display()))
}

/// Refuses an existing `--cidfile` before anything is created, with podman's message.
pub fn check_cidfile_free(path: &Path) -> Result<()> {
    if path.symlink_metadata().is_ok() {
        bail!(
            "container id file exists. Ensure another container is not using it or delete {}",
            path.display()
        );
    }
    Ok(())
}
