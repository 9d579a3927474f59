//! Consistency under faults: a monitor or a container process killed with SIGKILL, and many
//! commands on different containers at once. `ps -a` and the other commands must tell the
//! truth, and the state files must stay whole.

use crate::detach::{eventually, status};
use crate::harness::{safename, TestEnv};
use crate::restart::{inspect, state_file};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// Whether `pid` is a live process (a zombie is dead).
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next().map(str::to_string))
        })
        .is_some_and(|st| st != "Z" && st != "X")
}

fn sigkill(pid: i32) {
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
    eventually(10, "the process to die", || (!alive(pid)).then_some(()));
}

/// Starts `sleep 600` detached; returns its id, monitor pid and container pid.
fn sleeper(env: &TestEnv, name: &str) -> (String, i32, i32) {
    let id = env
        .rctr(&["run", "-d", "--name", name, "busybox", "sleep", "600"])
        .ok()
        .out()
        .to_string();
    let s = state_file(env, &id);
    (
        id,
        s["pid"].as_i64().unwrap() as i32,
        s["container_pid"].as_i64().unwrap() as i32,
    )
}

#[test]
fn container_outlives_its_killed_monitor_and_commands_see_it() {
    let env = crate::run::env();
    let name = safename("orphan");
    let (id, monitor, pid1) = sleeper(&env, &name);
    sigkill(monitor);
    // As with podman after a dead conmon, the container carries on.
    assert!(alive(pid1));
    assert!(
        status(&env, &name).starts_with("Up "),
        "{}",
        status(&env, &name)
    );
    let v = inspect(&env, &name);
    assert_eq!(v["State"]["Running"], true);
    assert_eq!(v["State"]["Pid"], pid1);
    env.rctr(&["exec", &name, "echo", "inside"])
        .ok()
        .stdout_has("inside");
    // start of a running container does nothing (and starts no second copy).
    env.rctr(&["start", &name]).ok();
    assert_eq!(state_file(&env, &id)["container_pid"], pid1);
    assert!(status(&env, &name).starts_with("Up "));
    env.rctr(&["stop", "-t", "1", &name])
        .ok()
        .stdout_has(&name)
        .stderr_has("exit code is unknown");
    assert!(!alive(pid1), "stop kills the orphaned container");
    assert!(status(&env, &name).starts_with("Exited (-1)"));
    env.rctr(&["exec", &name, "true"]).code(125);
    // It starts again, under a new monitor.
    env.rctr(&["start", &name]).ok();
    assert!(status(&env, &name).starts_with("Up "));
    let (monitor2, pid2) = {
        let s = state_file(&env, &id);
        (
            s["pid"].as_i64().unwrap() as i32,
            s["container_pid"].as_i64().unwrap() as i32,
        )
    };
    assert!(alive(monitor2) && monitor2 != monitor);
    // rm -f of an orphan kills it too.
    sigkill(monitor2);
    env.rctr(&["rm", "-f", &name]).ok();
    assert!(!alive(pid2), "rm -f kills the orphaned container");
    assert!(!env.store().join("containers").join(&id).exists());
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).ok().out(), "");
}

#[test]
fn a_killed_container_process_is_recorded_by_its_monitor() {
    let env = crate::run::env();
    let name = safename("k9c");
    let (_, monitor, pid1) = sleeper(&env, &name);
    sigkill(pid1);
    eventually(10, "ps to show the exit", || {
        status(&env, &name)
            .starts_with("Exited (137)")
            .then_some(())
    });
    eventually(10, "the monitor to exit", || {
        (!alive(monitor)).then_some(())
    });
    env.rctr(&["start", &name]).ok();
    assert!(status(&env, &name).starts_with("Up "));
    env.rctr(&["stop", "-t", "0", &name]).ok();
    env.rctr(&["rm", &name]).ok();
}

#[test]
fn monitor_and_container_both_killed_show_as_exited() {
    let env = crate::run::env();
    let name = safename("both");
    let (id, monitor, pid1) = sleeper(&env, &name);
    sigkill(monitor);
    sigkill(pid1);
    assert!(
        status(&env, &name).starts_with("Exited"),
        "{}",
        status(&env, &name)
    );
    assert_eq!(inspect(&env, &name)["State"]["Running"], false);
    env.rctr(&["exec", &name, "true"]).code(125);
    // Not running, so a plain rm works, and start brings it back.
    env.rctr(&["start", &name]).ok();
    assert!(status(&env, &name).starts_with("Up "));
    env.rctr(&["stop", "-t", "0", &name]).ok();
    env.rctr(&["rm", &name]).ok();
    assert!(!env.store().join("containers").join(&id).exists());
}

#[test]
fn concurrent_run_exec_stop_rm_keep_every_state_file_whole() {
    let env = crate::run::env();
    let names: Vec<String> = (0..10).map(|i| safename(&format!("cc{i}"))).collect();
    std::thread::scope(|s| {
        for (i, n) in names.iter().enumerate() {
            let env = &env;
            s.spawn(move || {
                env.run_detached(n, &["busybox", "sleep", "600"]);
                env.rctr(&["exec", n, "sh", "-c", "echo $((6*7))"])
                    .ok()
                    .stdout_has("42");
                env.rctr(&["ps", "-a"]).ok();
                env.rctr(&["stop", "-t", "0", n]).ok().stdout_has(n);
                if i % 2 == 0 {
                    env.rctr(&["rm", n]).ok();
                } else {
                    env.rctr(&["start", n]).ok();
                }
            });
        }
    });
    let dir = env.store().join("containers");
    let mut on_disk = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        assert!(
            !f.starts_with(".removing-"),
            "a removal was left half-done: {f}"
        );
        if !e.path().is_dir() {
            continue;
        }
        for file in std::fs::read_dir(e.path()).unwrap().flatten() {
            let n = file.file_name().to_string_lossy().into_owned();
            assert!(!n.contains(".tmp"), "a temp file was left behind: {n}");
        }
        for file in ["state.json", "config.json"] {
            let bytes = std::fs::read(e.path().join(file)).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&bytes)
                .unwrap_or_else(|err| panic!("{f}/{file} does not parse: {err}"));
            if file == "config.json" {
                on_disk.push(v["name"].as_str().unwrap().to_string());
            } else {
                assert_eq!(v["status"], "running", "{f} was started again");
            }
        }
    }
    on_disk.sort();
    let mut kept: Vec<String> = names.iter().skip(1).step_by(2).cloned().collect();
    kept.sort();
    assert_eq!(on_disk, kept, "exactly the containers not removed exist");
    let ps = env.rctr(&["ps", "-a", "--format", "{{.Names}}"]).ok();
    let mut listed: Vec<String> = ps.out().lines().map(str::to_string).collect();
    listed.sort();
    assert_eq!(listed, kept, "ps -a lists exactly what exists");
    let running = env.rctr(&["ps", "--format", "{{.Names}}"]).ok();
    assert_eq!(running.out().lines().count(), kept.len());
    for n in &kept {
        env.rctr(&["stop", "-t", "0", n]).ok();
    }
}
