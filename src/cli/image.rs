//! The image command group: `pull`, `images`, `rmi`, `tag`, `untag`, `history`, and the same
//! under `rctr image …` (plus `inspect`, `exists`, `prune`, and the `ls`/`list`/`rm` aliases).

use super::image_inspect::{self, HistoryArgs, InspectArgs};
use super::image_list::{self, ImagesArgs};
use super::image_pull::{self, PullArgs};
use super::image_rm::{self, ExistsArgs, PruneArgs, RmiArgs, TagArgs, UntagArgs};
use crate::context::Context;
use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageCommand {
    /// Pull an image from a registry
    Pull(PullArgs),
    /// List images in local storage
    Images(ImagesArgs),
    /// Remove images from local storage
    Rmi(RmiArgs),
    /// Add names to a local image
    Tag(TagArgs),
    /// Remove names from a local image
    Untag(UntagArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Manage images
    Image {
        #[command(subcommand)]
        cmd: ImageSub,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ImageSub {
    /// Pull an image from a registry
    Pull(PullArgs),
    /// List images in local storage
    #[command(visible_alias = "ls", visible_alias = "list")]
    Images(ImagesArgs),
    /// Remove images from local storage
    #[command(visible_alias = "rmi")]
    Rm(RmiArgs),
    /// Add names to a local image
    Tag(TagArgs),
    /// Remove names from a local image
    Untag(UntagArgs),
    /// Show the history of an image
    History(HistoryArgs),
    /// Display the configuration of images as JSON
    Inspect(InspectArgs),
    /// Exit 0 when an image exists locally, 1 otherwise
    Exists(ExistsArgs),
    /// Remove dangling images and unused layers and blobs
    Prune(PruneArgs),
}

pub fn dispatch(ctx: &Context, cmd: ImageCommand) -> Result<i32> {
    match cmd {
        ImageCommand::Pull(a) => image_pull::pull(ctx, a),
        ImageCommand::Images(a) => image_list::images(ctx, a),
        ImageCommand::Rmi(a) => image_rm::rmi(ctx, a),
        ImageCommand::Tag(a) => image_rm::tag(ctx, a),
        ImageCommand::Untag(a) => image_rm::untag(ctx, a),
        ImageCommand::History(a) => image_inspect::history(ctx, a),
        ImageCommand::Image { cmd } => match cmd {
            ImageSub::Pull(a) => image_pull::pull(ctx, a),
            ImageSub::Images(a) => image_list::images(ctx, a),
            ImageSub::Rm(a) => image_rm::rmi(ctx, a),
            ImageSub::Tag(a) => image_rm::tag(ctx, a),
            ImageSub::Untag(a) => image_rm::untag(ctx, a),
            ImageSub::History(a) => image_inspect::history(ctx, a),
            ImageSub::Inspect(a) => image_inspect::inspect(ctx, a),
            ImageSub::Exists(a) => image_rm::exists(ctx, a),
            ImageSub::Prune(a) => image_rm::prune(ctx, a),
        },
    }
}
