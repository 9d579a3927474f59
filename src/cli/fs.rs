//! The container filesystem command group: `cp`, `diff`, `commit`, `export` and `import`
//! (the first four also under `rctr container …`, registered in `lifecycle`).

use crate::context::Context;
use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum FsCommand {
    /// Copy files/folders between a container and the local filesystem
    Cp(super::cp::CpArgs),
    /// Inspect changes to a container's or image's filesystem
    Diff(super::diff::DiffArgs),
    /// Create a new image from a container's changes
    Commit(super::commit::CommitArgs),
    /// Export a container's filesystem contents as a tar archive
    Export(super::export::ExportArgs),
    /// Import a tarball to create a filesystem image
    Import(super::export::ImportArgs),
}

pub fn dispatch(ctx: &Context, cmd: FsCommand) -> Result<i32> {
    match cmd {
        FsCommand::Cp(a) => super::cp::cp(ctx, a),
        FsCommand::Diff(a) => super::diff::diff(ctx, a),
        FsCommand::Commit(a) => super::commit::commit(ctx, a),
        FsCommand::Export(a) => super::export::export(ctx, a),
        FsCommand::Import(a) => super::export::import(ctx, a),
    }
}
