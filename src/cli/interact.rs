//! Commands that reach into a running container: `attach`, `top`, `pause` and `unpause`.

use crate::context::Context;
use anyhow::Result;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum InteractCommand {
    /// Attach to a running container's input and output
    Attach(super::attach::AttachArgs),
    /// Display the running processes of a container
    Top(super::top::TopArgs),
    /// Pause all processes in one or more containers
    Pause(super::pause::PauseArgs),
    /// Unpause the processes in one or more containers
    Unpause(super::pause::PauseArgs),
}

pub fn dispatch(ctx: &Context, cmd: InteractCommand) -> Result<i32> {
    match cmd {
        InteractCommand::Attach(a) => super::attach::attach(ctx, a),
        InteractCommand::Top(a) => super::top::top(ctx, a),
        InteractCommand::Pause(a) => super::pause::pause(ctx, a),
        InteractCommand::Unpause(a) => super::pause::unpause(ctx, a),
    }
}
