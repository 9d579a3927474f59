//! `rctr doctor`: checks the host's rootless set-up and prints the command that fixes each problem.

use crate::context::Context;
use crate::host::checks::{self, Status};
use anyhow::Result;
use clap::Args;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print the results as JSON
    #[arg(long, value_parser = ["json"])]
    pub format: Option<String>,
}

/// Runs every check; exits 1 when an essential one fails, else 0.
pub fn doctor(ctx: &Context, args: DoctorArgs) -> Result<i32> {
    let inputs = checks::Inputs {
        uid: ctx.host_uid,
        gid: ctx.host_gid,
        user_name: ctx.user_name.clone(),
        path: std::env::var("PATH").unwrap_or_default(),
        subuid: "/etc/subuid".into(),
        subgid: "/etc/subgid".into(),
        xdg_runtime_dir: ctx.xdg_runtime_dir.clone(),
        store_root: ctx.root.clone(),
    };
    let results = checks::run_all(&inputs);
    let essential_failed = results
        .iter()
        .any(|c| c.essential && c.status == Status::Fail);
    if args.format.is_some() {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for c in &results {
            let tag = match c.status {
                Status::Ok => "[ OK ]",
                Status::Warn => "[WARN]",
                Status::Fail => "[FAIL]",
            };
            println!("{tag} {:<16}{}", c.name, c.detail);
            if let (Some(fix), false) = (&c.fix, c.status == Status::Ok) {
                println!("       fix: {fix}");
            }
        }
        let fails = results.iter().filter(|c| c.status == Status::Fail).count();
        let warns = results.iter().filter(|c| c.status == Status::Warn).count();
        println!();
        if essential_failed {
            println!("{fails} failed, {warns} warnings: rootless containers cannot run until the failures above are fixed");
        } else {
            println!("{fails} failed, {warns} warnings");
        }
    }
    Ok(if essential_failed { 1 } else { 0 })
}
