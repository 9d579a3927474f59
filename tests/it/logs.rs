//! `rctr logs` over the monitor's k8s-file log.

use crate::detach::eventually;
use crate::harness::safename;

#[test]
fn logs_show_both_streams_tail_and_timestamps() {
    let env = crate::run::env();
    let name = safename("lg");
    env.run_detached(
        &name,
        &[
            "busybox",
            "sh",
            "-c",
            "echo one; echo two >&2; printf part; sleep 0.2; echo ial; echo three",
        ],
    );
    env.rctr(&["wait", &name]).ok();
    let r = env.rctr(&["logs", &name]).ok();
    assert_eq!(r.stdout, "one\npartial\nthree\n");
    assert_eq!(r.stderr, "two\n");
    let raw = std::fs::read_to_string(
        env.store()
            .join("containers")
            .join(env.rctr(&["ps", "-aq", "--no-trunc"]).out())
            .join("ctr.log"),
    )
    .unwrap_or_default();
    assert!(
        raw.contains(" stdout P part\n"),
        "k8s-file partial record: {raw}"
    );
    let tail = env.rctr(&["logs", "--tail", "1", &name]).ok();
    assert_eq!(tail.stdout, "three\n");
    let ts = env.rctr(&["logs", "-t", "--tail", "1", &name]).ok();
    let (stamp, line) = ts.out().split_once(' ').unwrap();
    assert_eq!(line, "three");
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "{stamp}"
    );
    assert_eq!(
        env.rctr(&["logs", "--since", "10m", &name])
            .ok()
            .stdout
            .lines()
            .count(),
        3
    );
    assert_eq!(env.rctr(&["logs", "--until", "10m", &name]).ok().stdout, "");
}

#[test]
fn logs_follow_ends_when_the_container_exits() {
    let env = crate::run::env();
    let name = safename("lf");
    env.run_detached(
        &name,
        &[
            "busybox",
            "sh",
            "-c",
            "for i in 1 2 3; do echo line$i; sleep 0.2; done",
        ],
    );
    let r = env.rctr(&["logs", "-f", &name]).ok();
    assert_eq!(r.stdout, "line1\nline2\nline3\n");
}

#[test]
fn log_driver_none_and_max_size() {
    let env = crate::run::env();
    let name = safename("ln");
    env.rctr(&[
        "run",
        "-d",
        "--log-driver",
        "none",
        "--name",
        &name,
        "busybox",
        "echo",
        "x",
    ])
    .ok();
    env.rctr(&["wait", &name]).ok();
    env.rctr(&["logs", &name]).code(125).stderr_has("none");
    let big = safename("lm");
    let id = env
        .rctr(&[
            "run",
            "-d",
            "--log-opt",
            "max-size=1k",
            "--name",
            &big,
            "busybox",
            "sh",
            "-c",
            "i=0; while [ $i -lt 200 ]; do echo line$i; i=$((i+1)); done",
        ])
        .ok()
        .out()
        .to_string();
    env.rctr(&["wait", &big]).ok();
    let log = env.store().join("containers").join(&id).join("ctr.log");
    let size = eventually(5, "the log", || std::fs::metadata(&log).ok()).len();
    assert!(size <= 1024, "the log stays under max-size: {size}");
    env.rctr(&["run", "-d", "--log-opt", "bogus=1", "busybox", "true"])
        .code(125);
}
