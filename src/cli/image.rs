//! The image command group: `pull`, `images`, `rmi`, `tag`, `untag`, and `rctr image …`.

use super::image_pull::{self, PullArgs};
use crate::context::Context;
use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Pull an image from a registry
    Pull(PullArgs),
}

pub fn dispatch(ctx: &Context, cmd: ImageCommand) -> Result<i32> {
    match cmd {
        ImageCommand::Pull(a) => image_pull::pull(ctx, a),
    }
}
