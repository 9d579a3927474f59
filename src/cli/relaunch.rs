//! How a monitor applies its container's restart policy (`container::restart`) after the
//! container exits: it records the exit and, when the policy says so, waits out the backoff and
//! re-executes itself as a fresh monitor that launches the container again. Re-executing keeps
//! the monitor's pid (what `ps`, `stop` and a systemd PIDFile know it by) and starts from a
//! clean process image, whichever way the previous launch was supervised.

use crate::container::lifecycle;
use crate::container::restart;
use crate::container::state::{ContainerRecord, Containers};
use crate::container::volumes::Volumes;
use crate::context::Context;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::sys::signalfd::SignalFd;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

/// `root\nrunroot`: where the store is. Set by `spawn` and kept in the environment of every
/// generation of the monitor, which is started (and relaunched) as root in rctr's user
/// namespace and so resolves the same `Context` each time.
pub(super) const ENV_STORE: &str = "_RCTR_MONITOR_STORE";
/// Set on a relaunch: the number of quick restarts in a row so far (for the backoff).
pub(super) const ENV_AGAIN: &str = "_RCTR_MONITOR_AGAIN";

/// The value of [`ENV_STORE`] for `ctx`.
pub(super) fn store_env(ctx: &Context) -> String {
    format!("{}\n{}", ctx.root.display(), ctx.runroot.display())
}

/// The store and runtime directories from [`ENV_STORE`].
fn store_paths() -> Option<(String, String)> {
    let v = std::env::var(ENV_STORE).ok()?;
    let (root, runroot) = v.split_once('\n')?;
    Some((root.to_string(), runroot.to_string()))
}

/// Whether this monitor is a relaunch (it then has no `rctr` to report to).
pub(super) fn is_relaunch() -> bool {
    std::env::var_os(ENV_AGAIN).is_some()
}

/// After the container exited with `code`: records the exit (then calls `exit_recorded`: the
/// monitor tells its attach clients) and, when the restart policy
/// applies, waits and relaunches (this does not return then). Otherwise unmounts and removes
/// a `--rm` container, and returns.
pub(super) fn after_exit(
    containers: &Containers,
    volumes: &Volumes,
    rec: &ContainerRecord,
    code: i32,
    signals: &SignalFd,
    exit_recorded: impl FnOnce(),
) {
    let mut streak = std::env::var(ENV_AGAIN)
        .ok()
        .and_then(|s| s.parse::<u32>().ok())
        .unwrap_or(0);
    let policy = rec.options.restart;
    let again = lifecycle::record_exit(containers, &rec.id, code, |st| {
        let ran = st
            .started_at
            .and_then(|t| (chrono::Utc::now() - t).to_std().ok())
            .unwrap_or_default();
        if ran >= restart::BACKOFF_RESET {
            streak = 0;
        }
        policy.should_restart(code, st.restart_count, st.stopped_by_user)
    });
    let again = match again {
        Ok(a) => a,
        Err(err) => {
            ::log::warn!("{err}");
            false
        }
    };
    exit_recorded();
    // The addresses on user-defined networks go back to the pool; a relaunch takes new ones.
    // `<root>/containers/<id>`: the addresses live under `<root>/networks`.
    if let Some(root) = containers.dir(&rec.id).parent().and_then(|p| p.parent()) {
        super::network::release(root, rec);
    }
    let _ = rec.driver.driver().unmount(&containers.dir(&rec.id));
    super::cgroups::remove_recorded(containers, &rec.id, &rec.name);
    if !again {
        if let Some((_, runroot)) = store_paths() {
            super::pidfile::remove(std::path::Path::new(&runroot), &rec.id);
            let run_dir = crate::container::state::run_dir(runroot.as_ref(), &rec.id);
            let _ = std::fs::remove_dir_all(run_dir);
        }
        if rec.options.remove {
            if let Err(err) = lifecycle::remove(containers, volumes, rec, true, true) {
                ::log::warn!("cannot remove container {}: {err}", rec.name);
            }
        }
        return;
    }
    let proceed = wait_or_stop(signals, restart::backoff(streak))
        && containers
            .state(&rec.id)
            .is_ok_and(|s| s.restarting && !s.stopped_by_user);
    if proceed {
        let err = relaunch(&rec.id, streak + 1);
        ::log::warn!(
            "cannot relaunch the monitor of container {}: {err}",
            rec.name
        );
    }
    if containers.record(&rec.id).is_ok() {
        let _ = lifecycle::clear_restarting(containers, &rec.id);
    }
}

/// Sleeps for `delay` unless a termination signal comes first (`stop` sends SIGTERM to a
/// monitor that waits to restart); true when the delay passed.
fn wait_or_stop(signals: &SignalFd, delay: Duration) -> bool {
    let deadline = Instant::now() + delay;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        let ms = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) | Err(nix::Error::EINTR) => continue,
            Ok(_) => {}
            Err(_) => return true,
        }
        while let Ok(Some(info)) = signals.read_signal() {
            if !matches!(
                Signal::try_from(info.ssi_signo as i32),
                Ok(Signal::SIGCHLD) | Err(_)
            ) {
                return false;
            }
        }
    }
}

/// Re-executes this process as a monitor that launches container `id` again. Only returns
/// on failure.
fn relaunch(id: &str, streak: u32) -> anyhow::Error {
    let Some((root, runroot)) = store_paths() else {
        return anyhow::anyhow!("{ENV_STORE} is not set");
    };
    std::env::set_var(super::monitor::ENV_ID, id);
    std::env::set_var(super::monitor::ENV_ROOT, root);
    std::env::set_var(super::monitor::ENV_RUNROOT, runroot);
    std::env::set_var(ENV_AGAIN, streak.to_string());
    let exe = c"/proc/self/exe";
    let arg0 = c"rctr-monitor";
    match nix::unistd::execv(exe, &[arg0]) {
        Err(e) => anyhow::anyhow!("execve of /proc/self/exe: {e}"),
    }
}
