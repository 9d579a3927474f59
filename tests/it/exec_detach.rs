//! `exec -it --detach-keys`: typing the keys (ctrl-p,ctrl-q by default) leaves the exec'd
//! process running in the container, as podman does; an empty string disables detaching.

use crate::attach::OnTty;
use crate::detach::eventually;
use crate::harness::{safename, TestEnv};

/// The exec'd shells (`sh` processes) running in container `name`; its pid 1 is `sleep`.
fn shells(env: &TestEnv, name: &str) -> usize {
    env.rctr(&["top", name, "args"])
        .ok()
        .stdout
        .lines()
        .filter(|l| l.trim() == "sh")
        .count()
}

#[test]
fn exec_it_detaches_and_leaves_the_process_running() {
    let env = crate::run::env();
    let name = safename("ed");
    env.run_detached(&name, &["busybox", "sleep", "600"]);
    let mut t = OnTty::start(&env, &["exec", "-it", &name, "sh"]);
    t.send(b"echo in-$((6*7))\n");
    t.expect("in-42");
    t.send(b"\x10\x11");
    let (code, out) = t.wait();
    assert_eq!(code, 0, "detaching exits 0: {out:?}");
    // The shell outlives the exec that started it, without being hung up.
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(shells(&env, &name), 1);
    // Other keys; ctrl-p ctrl-q then pass through.
    let mut t = OnTty::start(
        &env,
        &["exec", "-it", "--detach-keys", "ctrl-a,x", &name, "sh"],
    );
    t.send(b"\x10\x11echo two-$((1+1))\n");
    t.expect("two-2");
    t.send(b"\x01x");
    assert_eq!(t.wait().0, 0);
    eventually(5, "two detached shells", || {
        (shells(&env, &name) == 2).then_some(())
    });
    // An empty string disables detaching: the shell's own exit code comes back.
    let mut t = OnTty::start(&env, &["exec", "-it", "--detach-keys", "", &name, "sh"]);
    t.send(b"\x10\x11echo three-$((1+2))\n");
    t.expect("three-3");
    t.send(b"exit 3\n");
    assert_eq!(t.wait().0, 3);
    env.rctr(&["exec", "--detach-keys", "ctrl-", &name, "true"])
        .code(125)
        .stderr_has("invalid detach keys");
    env.rctr(&["rm", "-f", "-t", "0", &name]).ok();
}
