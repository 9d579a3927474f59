//! Hands a built spec to the runtime: chooses the container's stdio and seccomp filter, and maps
//! the runtime's failures to rctr's exit policy (125, 126, 127).

use crate::container::lifecycle::Prepared;
use crate::container::options::{CreateOptions, SeccompChoice};
use crate::runtime::{self, LaunchOptions, StdioMode};
use anyhow::{Context as _, Result};
use std::os::fd::OwnedFd;

/// Runs the prepared container in the foreground and returns its exit code. `on_created` runs
/// with the container's pid once it exists, before it execs.
pub fn run(
    prepared: &Prepared,
    opts: &CreateOptions,
    interactive: bool,
    on_created: runtime::OnCreated,
) -> Result<i32> {
    let seccomp = seccomp_program(prepared, opts)?;
    let stdio = if opts.tty {
        StdioMode::Pty
    } else if interactive {
        StdioMode::Inherit
    } else {
        // Without -i the container reads nothing: podman gives it /dev/null.
        StdioMode::Fds {
            stdin: None,
            stdout: dup(1)?,
            stderr: dup(2)?,
        }
    };
    let launch = LaunchOptions {
        stdio,
        init: opts.init,
        on_created: Some(on_created),
        seccomp,
        cgroup: cgroup_fd(prepared)?,
    };
    runtime::run_foreground(&prepared.spec, launch, interactive).map_err(|e| {
        // The runtime's message already carries its causes; keep it as one line.
        crate::exit::with_code(e.exit_code(), anyhow::anyhow!("{e}"))
    })
}

/// The compiled seccomp filter the container asked for (None when unconfined).
pub fn seccomp_program(
    prepared: &Prepared,
    opts: &CreateOptions,
) -> Result<Option<runtime::SeccompProgram>> {
    let caps: Vec<String> = crate::container::spec::capabilities(opts)?
        .into_iter()
        .collect();
    Ok(match &prepared.seccomp {
        SeccompChoice::Unconfined => None,
        SeccompChoice::Default => Some(runtime::default_seccomp(&caps)?),
        SeccompChoice::Profile(p) => Some(runtime::load_profile(std::path::Path::new(p), &caps)?),
    })
}

/// A descriptor of the container's own cgroup, for the runtime to start it in.
pub fn cgroup_fd(prepared: &Prepared) -> Result<Option<OwnedFd>> {
    prepared
        .cgroup
        .as_ref()
        .map(|c| {
            c.dir_fd().with_context(|| {
                format!("cannot duplicate the descriptor of `{}`", c.path.display())
            })
        })
        .transpose()
}

fn dup(fd: i32) -> Result<OwnedFd> {
    use std::os::fd::BorrowedFd;
    // SAFETY: 1 and 2 are open for the life of the process.
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    b.try_clone_to_owned()
        .with_context(|| format!("cannot duplicate descriptor {fd}"))
}
