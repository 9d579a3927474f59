//! stop, kill, wait, start and restart of detached containers.

use crate::detach::{eventually, status};
use crate::harness::safename;

#[test]
fn stop_uses_the_stop_signal_then_kill() {
    let env = crate::run::env();
    let name = safename("st");
    // A shell that exits 3 on TERM: stop must end it with the signal, not the KILL.
    env.run_detached(
        &name,
        &[
            "busybox",
            "sh",
            "-c",
            "trap 'exit 3' TERM; echo ready; while true; do sleep 0.1; done",
        ],
    );
    // The signal must not arrive before the shell has set its trap.
    let ready = |n: &str| {
        eventually(10, "the trap to be set", || {
            env.rctr(&["logs", n])
                .stdout
                .contains("ready")
                .then_some(())
        })
    };
    ready(&name);
    env.rctr(&["stop", "-t", "5", &name]).ok();
    assert!(
        status(&env, &name).starts_with("Exited (3)"),
        "{}",
        status(&env, &name)
    );
    env.rctr(&["start", &name]).ok().stdout_has(&name);
    assert!(status(&env, &name).starts_with("Up "));
    eventually(10, "the restarted shell's trap", || {
        (env.rctr(&["logs", &name]).stdout.matches("ready").count() == 2).then_some(())
    });
    // --stop-signal chooses the signal.
    let usr = safename("su");
    env.rctr(&[
        "run",
        "-d",
        "--stop-signal",
        "USR1",
        "--name",
        &usr,
        "busybox",
        "sh",
        "-c",
        "trap 'exit 4' USR1; echo ready; while true; do sleep 0.1; done",
    ])
    .ok();
    ready(&usr);
    env.rctr(&["stop", "--all", "-t", "5"]).ok();
    assert!(
        status(&env, &usr).starts_with("Exited (4)"),
        "{}",
        status(&env, &usr)
    );
    assert!(status(&env, &name).starts_with("Exited (3)"));
}

#[test]
fn kill_wait_and_restart() {
    let env = crate::run::env();
    let name = safename("kw");
    env.run_detached(&name, &["busybox", "sleep", "60"]);
    env.rctr(&["kill", "-s", "KILL", &name])
        .ok()
        .stdout_has(&name);
    env.rctr(&["wait", &name]).ok().stdout_has("137");
    env.rctr(&["kill", &name])
        .code(125)
        .stderr_has("can only kill running containers");
    env.rctr(&["restart", "-t", "0", &name]).ok();
    assert!(status(&env, &name).starts_with("Up "));
    env.rctr(&["wait", "--condition", "running", &name]).ok();
    env.rctr(&["rm", "-f", &name]).ok();
    env.rctr(&["wait", "no-such-container"]).code(125);
    env.rctr(&["kill", "-s", "NOPE", "x"])
        .code(125)
        .stderr_has("invalid signal");
}

#[test]
fn ps_filters_latest_and_last() {
    let env = crate::run::env();
    let a = safename("fa");
    let b = safename("fb");
    env.rctr(&[
        "run", "-d", "--label", "tier=web", "--name", &a, "busybox", "sleep", "60",
    ])
    .ok();
    env.run_detached(&b, &["busybox", "sh", "-c", "exit 2"]);
    env.rctr(&["wait", &b]).ok();
    let names = |args: &[&str]| {
        let mut v = vec!["ps", "--format", "{{.Names}}"];
        v.extend_from_slice(args);
        env.rctr(&v).ok().stdout
    };
    assert_eq!(names(&[]), format!("{a}\n"));
    assert_eq!(names(&["--filter", "status=exited"]), format!("{b}\n"));
    assert_eq!(names(&["--filter", "exited=2"]), format!("{b}\n"));
    assert_eq!(names(&["--filter", "exited=3"]), "");
    assert_eq!(names(&["--filter", "label=tier=web"]), format!("{a}\n"));
    assert_eq!(names(&["--filter", &format!("name={b}")]), format!("{b}\n"));
    assert_eq!(names(&["-l"]), format!("{b}\n"));
    assert_eq!(names(&["-n", "2"]).lines().count(), 2);
    env.rctr(&["ps", "--filter", "bogus=1"]).code(125);
    env.rctr(&["rm", "-f", "-a"]).ok();
}

#[test]
fn inspect_finds_containers_then_images() {
    let env = crate::run::env();
    let name = safename("in");
    let id = env
        .rctr(&["run", "-d", "--name", &name, "busybox", "sleep", "60"])
        .ok()
        .out()
        .to_string();
    let r = env.rctr(&["inspect", &name]).ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["Id"], id);
    assert_eq!(v[0]["Name"], name);
    assert_eq!(v[0]["State"]["Status"], "running");
    assert_eq!(v[0]["State"]["Running"], true);
    assert!(v[0]["State"]["Pid"].as_i64().unwrap() > 0);
    env.rctr(&[
        "inspect",
        "--format",
        "{{.State.Status}} {{.Name}}",
        &id[..8],
    ])
    .ok()
    .stdout_has(&format!("running {name}"));
    env.rctr(&["stop", "-t", "0", &name]).ok();
    env.rctr(&["inspect", "-f", "{{.State.ExitCode}}", &name])
        .ok()
        .stdout_has("137");
    let img = env.rctr(&["inspect", "busybox"]).ok();
    assert!(img.stdout.contains("RootFS"), "{}", img.stdout);
    env.rctr(&["inspect", "--type", "container", "busybox"])
        .code(125);
    env.rctr(&["inspect", "nothing-by-this-name"]).code(125);
}

#[test]
fn rename_and_container_prune() {
    let env = crate::run::env();
    let (a, b, c) = (safename("ra"), safename("rb"), safename("rc"));
    env.rctr(&["create", "--name", &a, "busybox", "true"]).ok();
    env.run_detached(&c, &["busybox", "sleep", "60"]);
    env.rctr(&["rename", &a, &c])
        .code(125)
        .stderr_has("already in use");
    env.rctr(&["rename", &a, &b]).ok();
    assert!(
        status(&env, &b).starts_with("Created"),
        "{}",
        status(&env, &b)
    );
    let pruned = env.rctr(&["container", "prune", "-f"]).ok();
    assert_eq!(pruned.stdout.lines().count(), 1);
    assert_eq!(status(&env, &b), "");
    assert!(status(&env, &c).starts_with("Up "));
    env.rctr(&["rm", "-f", &c]).ok();
}
