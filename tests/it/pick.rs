//! `--latest` and `--cidfile`: naming containers by recency or by an ID file, as podman does.

use crate::detach::{eventually, status};
use crate::harness::{safename, TestEnv};

/// The full ID of container `name`.
fn id_of(env: &TestEnv, name: &str) -> String {
    env.rctr(&["inspect", "--format", "{{.Id}}", name])
        .ok()
        .out()
        .to_string()
}

#[test]
fn cidfile_is_written_by_run_and_create_and_read_by_the_others() {
    let env = crate::run::env();
    let cid = env.path().join("cid");
    let cid = cid.to_str().unwrap();
    let name = safename("cf");
    let id = env
        .rctr(&[
            "run",
            "-d",
            "--cidfile",
            cid,
            "--name",
            &name,
            "busybox",
            "sleep",
            "60",
        ])
        .ok()
        .out()
        .to_string();
    assert_eq!(std::fs::read_to_string(cid).unwrap(), id);
    // An existing file is refused before anything is created, for run and create alike.
    for cmd in ["run", "create"] {
        env.rctr(&[cmd, "--cidfile", cid, "busybox", "true"])
            .code(125)
            .stderr_has("container id file exists");
    }
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).out().lines().count(), 1);
    // The freezer needs cgroup v2, which this host may lack: either way the file named it.
    for cmd in ["pause", "unpause"] {
        let r = env.rctr(&[cmd, "--cidfile", cid]);
        assert!(
            r.stdout.contains(&id) || r.stderr.contains(&format!("{cmd} container {name}")),
            "{r:?}"
        );
    }
    env.rctr(&["kill", "-s", "KILL", "--cidfile", cid]).ok();
    env.rctr(&["wait", &name]).ok().stdout_has("137");
    env.rctr(&["restart", "--cidfile", cid]).ok();
    assert!(status(&env, &name).starts_with("Up "));
    env.rctr(&["stop", "-t", "0", "--cidfile", cid]).ok();
    assert!(status(&env, &name).starts_with("Exited"));
    env.rctr(&["rm", "--cidfile", cid]).ok().stdout_has(&id);
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).out(), "");
    env.rctr(&["stop", "--cidfile", "/nonexistent/cid"])
        .code(125)
        .stderr_has("reading CIDFile");
    // create writes it too.
    let cid2 = env.path().join("cid2");
    let made = env
        .rctr(&[
            "create",
            "--cidfile",
            cid2.to_str().unwrap(),
            "busybox",
            "true",
        ])
        .ok()
        .out()
        .to_string();
    assert_eq!(std::fs::read_to_string(&cid2).unwrap(), made);
}

#[test]
fn latest_acts_on_the_most_recently_created_container() {
    let env = crate::run::env();
    env.rctr(&["stop", "-l"])
        .code(125)
        .stderr_has("no such container");
    let old = safename("lo");
    env.run_detached(&old, &["busybox", "sleep", "60"]);
    let new = safename("ln");
    env.rctr(&[
        "create",
        "--name",
        &new,
        "-p",
        "18088:80",
        "--network",
        "slirp4netns",
        "-i",
        "busybox",
        "sh",
        "-c",
        "echo started; read x; echo got $x",
    ])
    .ok();
    let id = id_of(&env, &new);
    env.rctr(&["inspect", "-l", "--format", "{{.Name}}"])
        .ok()
        .stdout_has(&new);
    env.rctr(&["port", "-l"])
        .ok()
        .stdout_has("80/tcp -> 0.0.0.0:18088");
    env.rctr(&["port", "-l", "80"]).ok().stdout_has(":18088");
    env.rctr(&["start", "-l"]).ok();
    eventually(10, "the latest container to start", || {
        env.rctr(&["logs", "-l"])
            .stdout
            .contains("started")
            .then_some(())
    });
    // It waits on its input, running, until something is attached.
    env.rctr(&["exec", "-l", "sh", "-c", "echo in-$HOSTNAME"])
        .ok()
        .stdout_has("in-");
    env.rctr(&["top", "-l", "pid", "args"])
        .ok()
        .stdout_has("read x");
    // The freezer needs cgroup v2, which this host may lack: either way the latest is the one.
    for cmd in ["pause", "unpause"] {
        let r = env.rctr(&[cmd, "-l"]);
        assert!(
            r.stdout.contains(&id) || r.stderr.contains(&format!("{cmd} container {new}")),
            "{r:?}"
        );
    }
    env.rctr(&["kill", "-l"]).ok();
    env.rctr(&["wait", "-l"]).ok().stdout_has("137");
    env.rctr(&["restart", "-l"]).ok();
    assert!(status(&env, &new).starts_with("Up "));
    // attach -l feeds its input to the latest container, and returns when it exits.
    env.rctr_stdin(&["attach", "-l"], b"hello\n")
        .ok()
        .stdout_has("got hello");
    env.rctr(&["stop", "-l", "-t", "0"]).ok();
    assert!(status(&env, &new).starts_with("Exited (0)"));
    // The older container was never touched.
    assert!(
        status(&env, &old).starts_with("Up "),
        "{}",
        status(&env, &old)
    );
    env.rctr(&["stop", "-l", &old])
        .code(125)
        .stderr_has("--latest and containers cannot be used together");
    env.rctr(&["rm", "-l"]).ok().stdout_has(&id);
    // Now the older one is the latest.
    let old_id = id_of(&env, &old);
    env.rctr(&["rm", "-f", "-t", "0", "-l"])
        .ok()
        .stdout_has(&old_id);
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).out(), "");
}
