//! `run -d` and its monitor: the command returns once the container runs, the monitor owns it
//! (its parent, in its own session), logs its output, records its exit, and honours --rm.

use crate::harness::{safename, TestEnv};
use std::time::{Duration, Instant};

/// Polls `f` every 20 ms until it returns Some, failing after `secs` seconds.
#[track_caller]
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `{{.Status}}` column of one container in `ps -a`.
pub fn status(env: &TestEnv, name: &str) -> String {
    let r = env.rctr(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
    r.stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")).map(str::to_string))
        .unwrap_or_default()
}

/// The pid recorded as the owner (monitor) of a running container.
fn monitor_pid(env: &TestEnv, id: &str) -> i32 {
    let p = env.store().join("containers").join(id).join("state.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    v["pid"].as_i64().expect("a running container has an owner") as i32
}

#[test]
fn run_d_returns_the_id_and_the_monitor_owns_the_container() {
    let env = crate::run::env();
    let name = safename("det");
    let r = env
        .rctr(&["run", "-d", "--name", &name, "busybox", "sleep", "60"])
        .ok();
    let id = r.out().to_string();
    assert_eq!(id.len(), 64, "run -d prints the full id: {id:?}");
    assert!(
        status(&env, &name).starts_with("Up "),
        "{}",
        status(&env, &name)
    );
    let mon = monitor_pid(&env, &id);
    let stat = std::fs::read_to_string(format!("/proc/{mon}/stat")).unwrap();
    // Fields after the command: state ppid pgrp session.
    let f: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(f[3], mon.to_string(), "the monitor leads its own session");
    let cmdline = std::fs::read(format!("/proc/{mon}/cmdline")).unwrap();
    assert!(cmdline.starts_with(b"rctr-monitor"));
    // The container's pid 1 is the monitor's child.
    let children =
        std::fs::read_to_string(format!("/proc/{mon}/task/{mon}/children")).unwrap_or_default();
    assert!(
        !children.trim().is_empty(),
        "the monitor has the container as child"
    );
    env.rctr(&["stop", "-t", "1", &name]).ok().stdout_has(&name);
    assert!(status(&env, &name).starts_with("Exited (137)"));
    env.rctr(&["rm", &name]).ok();
}

#[test]
fn run_d_reports_the_childs_error_with_its_code() {
    let env = crate::run::env();
    env.rctr(&["run", "-d", "busybox", "no-such-command"])
        .code(127)
        .stderr_has("no-such-command");
    env.rctr(&["run", "-d", "busybox", "/etc/passwd"]).code(126);
}

#[test]
fn exit_code_is_recorded_and_rm_cleans_up() {
    let env = crate::run::env();
    let name = safename("ex");
    env.run_detached(&name, &["busybox", "sh", "-c", "exit 7"]);
    eventually(10, "the exit to be recorded", || {
        status(&env, &name).starts_with("Exited (7)").then_some(())
    });
    env.rctr(&["wait", &name]).ok().stdout_has("7");
    let gone = safename("gone");
    let id = env
        .rctr(&["run", "-d", "--rm", "--name", &gone, "busybox", "true"])
        .ok()
        .out()
        .to_string();
    eventually(10, "the --rm container to be removed", || {
        (!env.store().join("containers").join(&id).exists()).then_some(())
    });
}

#[test]
fn monitor_killed_with_9_leaves_a_usable_container() {
    let env = crate::run::env();
    let name = safename("k9");
    let id = env
        .rctr(&["run", "-d", "--name", &name, "busybox", "sleep", "60"])
        .ok()
        .out()
        .to_string();
    let mon = monitor_pid(&env, &id);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(mon),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    env.rctr(&["stop", "-t", "1", &name]).ok();
    eventually(10, "ps to show the container exited", || {
        status(&env, &name).starts_with("Exited").then_some(())
    });
    env.rctr(&["start", &name]).ok();
    assert!(status(&env, &name).starts_with("Up "));
    env.rctr(&["rm", "-f", &name]).ok();
    env.rctr(&["ps", "-a", "-q"]).ok();
    assert!(!env.store().join("containers").join(&id).exists());
}

#[test]
fn concurrent_detached_runs_and_removals_keep_state_consistent() {
    let env = crate::run::env();
    let names: Vec<String> = (0..10).map(|i| safename(&format!("cc{i}"))).collect();
    std::thread::scope(|s| {
        for n in &names {
            let env = &env;
            s.spawn(move || {
                env.run_detached(n, &["busybox", "sleep", "60"]);
                env.rctr(&["stop", "-t", "0", n]).ok();
                env.rctr(&["rm", n]).ok();
            });
        }
    });
    let left = env.rctr(&["ps", "-a", "-q"]).ok();
    assert_eq!(left.out(), "", "every container was removed");
}
