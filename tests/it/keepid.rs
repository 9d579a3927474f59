//! `--userns keep-id` for containers run by a monitor (`run -d`, `start`, `restart`): the
//! monitor runs inside rctr's user namespace, yet the container must still see the invoking
//! user's own uid, and files it creates in a bind mount must belong to that user on the host.

use crate::detach::eventually;
use crate::harness::safename;
use std::os::unix::fs::MetadataExt;

/// The log lines of `name` once it has printed `n` of them.
fn log_lines(env: &crate::harness::TestEnv, name: &str, n: usize) -> Vec<String> {
    eventually(20, "the container's output", || {
        let out = env.rctr(&["logs", name]).stdout;
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        (lines.len() >= n).then_some(lines)
    })
}

#[test]
fn detached_keep_id_container_runs_as_the_invoking_user() {
    let env = crate::run::env();
    let uid = nix::unistd::getuid().as_raw().to_string();
    let dir = env.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    let bind = format!("{}:/b", dir.display());
    let name = safename("kid");
    env.run_detached(
        &name,
        &[
            "--userns",
            "keep-id",
            "-v",
            &bind,
            "busybox",
            "sh",
            "-c",
            "id -u; touch /b/made-$$",
        ],
    );
    assert_eq!(log_lines(&env, &name, 1), std::slice::from_ref(&uid));
    let made = eventually(10, "the file in the bind mount", || {
        std::fs::read_dir(&dir).unwrap().next().map(|e| e.unwrap())
    });
    assert_eq!(
        made.metadata().unwrap().uid(),
        nix::unistd::getuid().as_raw()
    );
    env.rctr(&["wait", &name]).ok().stdout_has("0");
    // A restart runs it under a new monitor with the same mapping.
    env.rctr(&["restart", &name]).ok();
    assert_eq!(log_lines(&env, &name, 2), [uid.clone(), uid.clone()]);
    // So does `start` of a created container.
    let created = safename("kic");
    env.rctr(&[
        "create", "--name", &created, "--userns", "keep-id", "busybox", "id", "-u",
    ])
    .ok();
    env.rctr(&["start", &created]).ok();
    assert_eq!(log_lines(&env, &created, 1), [uid]);
}

/// `run -it --userns keep-id` goes through a monitor like any other `run -it`, so the detach
/// keys leave it running.
#[test]
fn keep_id_run_it_detaches_and_keeps_running() {
    let env = crate::run::env();
    let uid = nix::unistd::getuid().as_raw();
    let name = safename("kit");
    let mut t = crate::attach::OnTty::start(
        &env,
        &[
            "run", "-it", "--name", &name, "--userns", "keep-id", "busybox", "sh",
        ],
    );
    t.send(b"echo uid-$(id -u)-$((1+1))\n");
    t.expect(&format!("uid-{uid}-2"));
    t.send(b"\x10\x11");
    let (code, out) = t.wait();
    assert_eq!(code, 0, "detaching exits 0: {out:?}");
    assert!(crate::detach::status(&env, &name).starts_with("Up "));
    env.rctr(&["rm", "-f", "-t", "0", &name]).ok();
}
