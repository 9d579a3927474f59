//! Seccomp programs on the real kernel: argument conditions, errno precedence and the default
//! profile's decisions, as the compiled single BPF program enforces them.

use crate::run::env;

/// `linux32`/`linux64` call personality(PER_LINUX32 = 8) and personality(PER_LINUX = 0): the
/// argument conditions (a 64-bit EQ, and an LT/GT range) pick the errno, other values pass.
#[test]
fn seccomp_argument_conditions_pick_the_errno() {
    let env = env();
    let p = env.path().join("personality.json");
    std::fs::write(
        &p,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
          {"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":13,
           "args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
          {"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":22,
           "args":[{"index":0,"value":4294967295,"op":"SCMP_CMP_LT"},
                   {"index":0,"value":8,"op":"SCMP_CMP_GT"}]}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", p.display());
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--security-opt",
            &opt,
            "busybox",
            "sh",
            "-c",
            "linux32 true; echo rc32=$?; linux64 true; echo rc64=$?",
        ])
        .ok();
    assert!(r.stdout.contains("rc32=1"), "{}\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("Permission denied"), "{}", r.stderr);
    assert!(r.stdout.contains("rc64=0"), "{}\n{}", r.stdout, r.stderr);
}

/// Under the default profile PER_LINUX32 is allowed: it is in podman's personality list, an
/// argument-conditional rule of the default program.
#[test]
fn default_profile_allows_listed_personalities() {
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "linux32 uname -m; echo rc=$?",
        ])
        .ok();
    assert!(r.stdout.contains("rc=0"), "{}\n{}", r.stdout, r.stderr);
}
