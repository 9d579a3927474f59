//! `--restart` policies, applied by the monitor of a detached container as podman applies them:
//! relaunch after an exit, count the restarts, back off, and never restart what the user
//! stopped or killed.

use crate::detach::{eventually, status};
use crate::harness::{safename, TestEnv};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// `inspect` of one container, as JSON.
pub fn inspect(env: &TestEnv, name: &str) -> Value {
    let r = env.rctr(&["inspect", name]).ok();
    let v: Value = serde_json::from_str(r.out()).expect("inspect prints JSON");
    v[0].clone()
}

/// The state file of container `id`, as recorded.
pub fn state_file(env: &TestEnv, id: &str) -> Value {
    let p = env.store().join("containers").join(id).join("state.json");
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn restart_count(env: &TestEnv, name: &str) -> u64 {
    inspect(env, name)["RestartCount"].as_u64().unwrap()
}

/// How many times the container ran: each run appends a line to `runs` in the shared dir.
fn runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("runs"))
        .unwrap_or_default()
        .lines()
        .count()
}

/// A host directory the container can write to (its root is the invoking user).
fn shared_dir(env: &TestEnv) -> std::path::PathBuf {
    let d = env.path().join("shared");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn always_relaunches_counts_and_keeps_the_monitor() {
    let env = crate::run::env();
    let dir = shared_dir(&env);
    let name = safename("always");
    let vol = format!("{}:/data", dir.display());
    let id = env
        .rctr(&[
            "run",
            "-d",
            "--restart=always",
            "--name",
            &name,
            "-v",
            &vol,
            "busybox",
            "sh",
            "-c",
            "echo x >> /data/runs; exit 3",
        ])
        .ok()
        .out()
        .to_string();
    let v = inspect(&env, &name);
    assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "always");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 0);
    let monitor = eventually(10, "a recorded monitor", || {
        state_file(&env, &id)["pid"].as_i64()
    });
    eventually(20, "three restarts", || {
        (restart_count(&env, &name) >= 3).then_some(())
    });
    // Each restart really runs the command again, under the same monitor process. A restart
    // is counted when it is decided, before its backoff.
    assert!(runs(&dir) >= 3, "{} runs", runs(&dir));
    eventually(10, "the fourth run", || (runs(&dir) >= 4).then_some(()));
    if let Some(p) = state_file(&env, &id)["pid"].as_i64() {
        assert_eq!(p, monitor, "restarts keep the monitor's pid");
    }
    // The exit code of the last run is what ps shows between runs.
    let st = eventually(10, "ps to show an exit between runs", || {
        let s = status(&env, &name);
        s.starts_with("Exited (3)").then_some(s)
    });
    assert!(st.starts_with("Exited (3)"));
    env.rctr(&["stop", "-t", "1", &name]).ok();
    let count = restart_count(&env, &name);
    let before = runs(&dir);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(restart_count(&env, &name), count, "no restart after stop");
    assert_eq!(runs(&dir), before, "no run after stop");
    assert!(status(&env, &name).starts_with("Exited"));
    let s = state_file(&env, &id);
    assert_eq!(s["restarting"], false);
    assert!(
        !Path::new(&format!("/proc/{monitor}")).exists()
            || !std::fs::read_to_string(format!("/proc/{monitor}/cmdline"))
                .unwrap_or_default()
                .starts_with("rctr-monitor"),
        "the monitor exits once the container is stopped"
    );
    env.rctr(&["rm", &name]).ok();
}

#[test]
fn on_failure_stops_after_its_retries_and_ignores_success() {
    let env = crate::run::env();
    let dir = shared_dir(&env);
    let vol = format!("{}:/data", dir.display());
    let name = safename("onfail");
    env.rctr(&[
        "run",
        "-d",
        "--restart=on-failure:2",
        "--name",
        &name,
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo x >> /data/runs; exit 1",
    ])
    .ok();
    eventually(20, "two restarts", || {
        (restart_count(&env, &name) == 2).then_some(())
    });
    eventually(10, "the last run to be recorded", || {
        (runs(&dir) == 3 && inspect(&env, &name)["State"]["Restarting"] == false).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(runs(&dir), 3, "1 run + 2 retries, then no more");
    assert_eq!(restart_count(&env, &name), 2);
    assert!(status(&env, &name).starts_with("Exited (1)"));
    let v = inspect(&env, &name);
    assert_eq!(v["HostConfig"]["RestartPolicy"]["Name"], "on-failure");
    assert_eq!(v["HostConfig"]["RestartPolicy"]["MaximumRetryCount"], 2);

    let ok = safename("onfail0");
    env.rctr(&[
        "run",
        "-d",
        "--restart=on-failure",
        "--name",
        &ok,
        "busybox",
        "true",
    ])
    .ok();
    eventually(10, "the exit", || {
        status(&env, &ok).starts_with("Exited (0)").then_some(())
    });
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(restart_count(&env, &ok), 0, "a success is not a failure");
    assert!(status(&env, &ok).starts_with("Exited (0)"));
}

#[test]
fn killed_process_restarts_but_user_kill_does_not() {
    let env = crate::run::env();
    let name = safename("k");
    let id = env
        .rctr(&[
            "run",
            "-d",
            "--restart=unless-stopped",
            "--name",
            &name,
            "busybox",
            "sleep",
            "600",
        ])
        .ok()
        .out()
        .to_string();
    let pid1 = state_file(&env, &id)["container_pid"].as_i64().unwrap() as i32;
    // A crash (SIGKILL from outside rctr) is not a stop by the user: the policy applies.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid1),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let again = eventually(10, "a restart after the crash", || {
        let s = state_file(&env, &id);
        let p = s["container_pid"].as_i64()? as i32;
        (p != pid1 && s["status"] == "running").then_some(p)
    });
    assert_eq!(restart_count(&env, &name), 1);
    assert!(status(&env, &name).starts_with("Up "));
    assert_ne!(again, pid1);
    // `rctr kill` is the user's doing: no restart.
    env.rctr(&["kill", &name]).ok().stdout_has(&name);
    eventually(10, "the kill to be recorded", || {
        status(&env, &name)
            .starts_with("Exited (137)")
            .then_some(())
    });
    std::thread::sleep(Duration::from_millis(800));
    assert!(status(&env, &name).starts_with("Exited (137)"));
    assert_eq!(restart_count(&env, &name), 1);
    // A user's start resets the count, as in podman.
    env.rctr(&["start", &name]).ok();
    assert!(status(&env, &name).starts_with("Up "));
    assert_eq!(restart_count(&env, &name), 0);
    env.rctr(&["stop", "-t", "0", &name]).ok();
    env.rctr(&["rm", &name]).ok();
    assert!(!env.store().join("containers").join(&id).exists());
}

#[test]
fn stop_during_the_backoff_cancels_the_restart() {
    let env = crate::run::env();
    let name = safename("backoff");
    let id = env
        .rctr(&[
            "run",
            "-d",
            "--restart=always",
            "--name",
            &name,
            "busybox",
            "false",
        ])
        .ok()
        .out()
        .to_string();
    // After 4 quick failures the wait is 1.6 s: long enough to catch the monitor waiting.
    eventually(20, "a long backoff", || {
        let s = state_file(&env, &id);
        (s["restart_count"].as_u64()? >= 4 && s["restarting"] == true).then_some(())
    });
    assert_eq!(inspect(&env, &name)["State"]["Restarting"], true);
    assert!(status(&env, &name).starts_with("Exited (1)"));
    let monitor = state_file(&env, &id)["pid"].as_i64().unwrap();
    let count = restart_count(&env, &name);
    env.rctr(&["stop", &name]).ok().stdout_has(&name);
    assert!(
        !crate::faults::alive(monitor as i32),
        "stop ends the waiting monitor"
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(restart_count(&env, &name), count);
    assert_eq!(inspect(&env, &name)["State"]["Restarting"], false);
    env.rctr(&["rm", &name]).ok();

    // rm -f while the monitor waits: the container is gone and stays gone.
    let doomed = safename("doomed");
    let id = env
        .rctr(&[
            "run",
            "-d",
            "--restart=always",
            "--name",
            &doomed,
            "busybox",
            "false",
        ])
        .ok()
        .out()
        .to_string();
    let monitor = eventually(20, "a long backoff", || {
        let s = state_file(&env, &id);
        (s["restart_count"].as_u64()? >= 4 && s["restarting"] == true)
            .then(|| s["pid"].as_i64())
            .flatten()
    });
    env.rctr(&["rm", "-f", &doomed]).ok();
    assert!(
        !crate::faults::alive(monitor as i32),
        "rm -f ends the waiting monitor"
    );
    std::thread::sleep(Duration::from_millis(2000));
    assert!(!env.store().join("containers").join(&id).exists());
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).ok().out(), "");
}

#[test]
fn backoff_doubles_between_quick_failures() {
    let env = crate::run::env();
    let dir = shared_dir(&env);
    let vol = format!("{}:/data", dir.display());
    let name = safename("dbl");
    env.rctr(&[
        "run",
        "-d",
        "--restart=on-failure:4",
        "--name",
        &name,
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "cut -d' ' -f1 /proc/uptime >> /data/runs; exit 1",
    ])
    .ok();
    eventually(20, "four restarts", || (runs(&dir) == 5).then_some(()));
    // /proc/uptime: seconds since boot, to the hundredth.
    let t: Vec<f64> = std::fs::read_to_string(dir.join("runs"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    let gaps: Vec<u128> = t
        .windows(2)
        .map(|w| ((w[1] - w[0]) * 1000.0).round() as u128)
        .collect();
    // Waits of 100, 200, 400 and 800 ms, plus the time each launch takes.
    for (i, want) in [100u128, 200, 400, 800].iter().enumerate() {
        assert!(gaps[i] + 10 >= *want, "gap {i} is {} ms: {gaps:?}", gaps[i]);
    }
    assert!(gaps[3] > gaps[0] + 500, "the wait grows: {gaps:?}");
}

#[test]
fn foreground_run_restarts_in_the_background() {
    let env = crate::run::env();
    let dir = shared_dir(&env);
    let vol = format!("{}:/data", dir.display());
    let name = safename("fg");
    env.rctr(&[
        "run",
        "--restart=on-failure:1",
        "--name",
        &name,
        "-v",
        &vol,
        "busybox",
        "sh",
        "-c",
        "echo x >> /data/runs; exit 4",
    ])
    .code(4);
    eventually(10, "the restart", || (runs(&dir) == 2).then_some(()));
    eventually(10, "the count", || {
        (restart_count(&env, &name) == 1).then_some(())
    });
    eventually(10, "the exit", || {
        status(&env, &name).starts_with("Exited (4)").then_some(())
    });
}

#[test]
fn invalid_policies_are_refused() {
    let env = crate::run::env();
    env.rctr(&["create", "--restart=sometimes", "busybox"])
        .code(125)
        .stderr_has("sometimes");
    env.rctr(&["create", "--restart=always:3", "busybox"])
        .code(125)
        .stderr_has("on-failure");
    env.rctr(&["create", "--restart=on-failure:x", "busybox"])
        .code(125);
    env.rctr(&["run", "--rm", "--restart=always", "busybox", "true"])
        .code(125)
        .stderr_has("--rm");
    let name = safename("no");
    env.rctr(&["create", "--restart=no", "--name", &name, "busybox"])
        .ok();
    assert_eq!(
        inspect(&env, &name)["HostConfig"]["RestartPolicy"]["Name"],
        "no"
    );
    let plain = safename("plain");
    env.rctr(&["create", "--name", &plain, "busybox"]).ok();
    assert_eq!(
        inspect(&env, &plain)["HostConfig"]["RestartPolicy"]["Name"],
        ""
    );
}

#[test]
fn restarts_on_a_user_defined_network_get_an_address_again() {
    let env = crate::run::env();
    let net = safename("rnet");
    env.rctr(&["network", "create", &net]).ok();
    let name = safename("rnetc");
    let id = env
        .rctr(&[
            "run",
            "-d",
            "--restart=always",
            "--network",
            &net,
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "ip -4 -o addr show eth0 | grep -q inet && sleep 600",
        ])
        .ok()
        .out()
        .to_string();
    let pid1 = state_file(&env, &id)["container_pid"].as_i64().unwrap() as i32;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid1),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    // The relaunched container has its network again: it stays up (no address: it exits 1).
    eventually(15, "a restart that stays up", || {
        let s = state_file(&env, &id);
        (s["status"] == "running" && s["container_pid"].as_i64()? as i32 != pid1).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        restart_count(&env, &name),
        1,
        "it stays up after one restart"
    );
    assert!(status(&env, &name).starts_with("Up "));
    env.rctr(&["exec", &name, "ip", "-4", "-o", "addr", "show", "eth0"])
        .ok()
        .stdout_has("inet ");
    env.rctr(&["stop", "-t", "0", &name]).ok();
    env.rctr(&["rm", &name]).ok();
    env.rctr(&["network", "rm", &net]).ok();
}
