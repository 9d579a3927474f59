//! `rctr completion SHELL`: prints the shell completion script.

use anyhow::{Context as _, Result};
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell: bash, zsh or fish
    #[arg(value_parser = ["bash", "zsh", "fish"])]
    pub shell: String,
    /// Write the script to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

pub fn completion(args: CompletionArgs) -> Result<i32> {
    let script = super::generate::completion_script(&args.shell)
        .with_context(|| format!("no completion script for shell `{}`", args.shell))?;
    match args.file {
        Some(f) => {
            std::fs::write(&f, script).with_context(|| format!("cannot write `{}`", f.display()))?
        }
        None => {
            use std::io::Write;
            std::io::stdout().write_all(&script)?;
        }
    }
    Ok(0)
}
