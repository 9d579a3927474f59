//! Commands that reach into a running container: `attach`, `top`, `pause` and `unpause`.

use crate::context::Context;
use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum InteractCommand {
    /// Attach to a running container's input and output
    Attach(super::attach::AttachArgs),
}

pub fn dispatch(ctx: &Context, cmd: InteractCommand) -> Result<i32> {
    match cmd {
        InteractCommand::Attach(a) => super::attach::attach(ctx, a),
    }
}
