//! System-wide commands: `version` (and, as they land, info, df, prune, reset, doctor).

use crate::context::Context;
use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum SystemCommand {
    /// Show the rctr version
    Version(VersionArgs),
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Format the output with a Go template, or `json`
    #[arg(short, long)]
    pub format: Option<String>,
}

pub fn dispatch(ctx: &Context, cmd: SystemCommand) -> Result<i32> {
    match cmd {
        SystemCommand::Version(a) => version(ctx, a),
    }
}

fn version(_ctx: &Context, args: VersionArgs) -> Result<i32> {
    let data = serde_json::json!({
        "Client": {
            "Version": env!("CARGO_PKG_VERSION"),
            "OsArch": format!("{}/{}", std::env::consts::OS, go_arch()),
        }
    });
    match args.format.as_deref() {
        Some("json") => println!("{}", serde_json::to_string_pretty(&data)?),
        Some(f) => println!("{}", super::format::render(f, &data)?),
        None => {
            println!("Version:      {}", env!("CARGO_PKG_VERSION"));
            println!("OS/Arch:      {}/{}", std::env::consts::OS, go_arch());
        }
    }
    Ok(0)
}

/// The platform architecture in OCI/Go naming (`amd64`, `arm64`), as used in image indexes.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
