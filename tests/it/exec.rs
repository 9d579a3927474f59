//! `rctr exec`: joins a running detached container's namespaces with its settings.

use crate::harness::safename;

#[test]
fn exec_runs_inside_the_container_with_its_settings() {
    let env = crate::run::env();
    let name = safename("ex");
    env.rctr(&[
        "run", "-d", "-e", "FOO=bar", "--name", &name, "busybox", "sleep", "60",
    ])
    .ok();
    // Same pid namespace: the container's pid 1 is `sleep`.
    let r = env
        .rctr(&[
            "exec",
            &name,
            "sh",
            "-c",
            "echo $FOO; cat /proc/1/cmdline; echo; id -u",
        ])
        .ok();
    assert_eq!(r.stdout, "bar\nsleep\u{0}60\u{0}\n0\n");
    let r = env
        .rctr(&[
            "exec",
            "-e",
            "X=1",
            "-w",
            "/tmp",
            "-u",
            "1000:1000",
            &name,
            "sh",
            "-c",
            "echo $X; pwd; id -u; id -g",
        ])
        .ok();
    assert_eq!(r.stdout, "1\n/tmp\n1000\n1000\n");
    // The container's bounding set, not the host's.
    let caps = env
        .rctr(&["exec", &name, "grep", "CapBnd", "/proc/self/status"])
        .ok();
    assert!(!caps.stdout.contains("000001ffffffffff"), "{}", caps.stdout);
    env.rctr(&["exec", &name, "sh", "-c", "exit 5"]).code(5);
    env.rctr(&["exec", &name, "no-such-command"]).code(127);
    env.rctr(&["exec", &name, "/etc/passwd"]).code(126);
    let piped = env
        .rctr_stdin(&["exec", "-i", &name, "cat"], b"through\n")
        .ok();
    assert_eq!(piped.stdout, "through\n");
    env.rctr(&["exec", "-d", &name, "sh", "-c", "echo done > /tmp/marker"])
        .ok();
    crate::detach::eventually(10, "the detached exec", || {
        env.rctr(&["exec", &name, "cat", "/tmp/marker"])
            .stdout
            .contains("done")
            .then_some(())
    });
    env.rctr(&["stop", "-t", "0", &name]).ok();
    env.rctr(&["exec", &name, "true"])
        .code(125)
        .stderr_has("running");
}
