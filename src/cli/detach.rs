//! `start` without `-a`: the container runs in a background `rctr` process (a session leader
//! with its output in the container's `ctr.log`), and the command returns once it is running.
//! The full monitor (logs, attach, stop) arrives with the lifecycle work; this is its seed.

use crate::container::state::{ContainerRecord, Containers, Status};
use crate::context::Context;
use anyhow::{Context as _, Result};
use nix::unistd::{fork, ForkResult};
use std::os::fd::AsRawFd;

/// Forks; the child becomes a session leader with stdio on `ctr.log` and runs `body`; the parent
/// waits until the container is recorded as running (or has already finished) and prints its
/// name. Must be called single-threaded.
pub fn start_detached(
    ctx: &Context,
    containers: &Containers,
    rec: &ContainerRecord,
    body: impl FnOnce(&Context) -> Result<i32>,
) -> Result<i32> {
    let log = containers.dir(&rec.id).join("ctr.log");
    let logf = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("cannot open `{}`", log.display()))?;
    let before = containers.state(&rec.id)?.started_at;
    // SAFETY: the process is single-threaded here (no runtime or thread has been started).
    match unsafe { fork() }.context("cannot fork the container's owner process")? {
        ForkResult::Child => {
            let _ = nix::unistd::setsid();
            let null = std::fs::File::open("/dev/null").ok();
            // SAFETY: dup2 onto the standard descriptors of this (child) process.
            unsafe {
                if let Some(n) = &null {
                    libc::dup2(n.as_raw_fd(), 0);
                }
                libc::dup2(logf.as_raw_fd(), 1);
                libc::dup2(logf.as_raw_fd(), 2);
            }
            let code = match body(ctx) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("Error: {e:#}");
                    crate::exit::code_of(&e)
                }
            };
            std::process::exit(code);
        }
        ForkResult::Parent { child } => {
            for _ in 0..5000 {
                let st = containers.state(&rec.id)?;
                let started = st.started_at.is_some() && st.started_at != before;
                if started && st.status != Status::Created {
                    break;
                }
                if let Ok(nix::sys::wait::WaitStatus::Exited(..)) =
                    nix::sys::wait::waitpid(child, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
                {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    if let Some(line) = text.lines().rev().find(|l| l.starts_with("Error: ")) {
                        anyhow::bail!("{}", line.trim_start_matches("Error: "));
                    }
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            println!("{}", rec.name);
            Ok(0)
        }
    }
}
