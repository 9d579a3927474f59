//! What a container can and cannot see or do: pids, /proc, /sys, capabilities, seccomp,
//! no-new-privileges and setuid binaries.

use crate::harness::safename;
use crate::run::env;
use std::os::unix::fs::MetadataExt;

/// The CapEff mask of podman's default capability set.
const DEFAULT_CAPEFF: u64 = (1 << 0) // CHOWN
    | (1 << 1) // DAC_OVERRIDE
    | (1 << 3) // FOWNER
    | (1 << 4) // FSETID
    | (1 << 5) // KILL
    | (1 << 6) // SETGID
    | (1 << 7) // SETUID
    | (1 << 8) // SETPCAP
    | (1 << 10) // NET_BIND_SERVICE
    | (1 << 18) // SYS_CHROOT
    | (1 << 31); // SETFCAP

fn cap(env: &crate::harness::TestEnv, args: &[&str], field: &str) -> u64 {
    let mut a = vec!["run", "--rm"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["busybox", "grep", field, "/proc/self/status"]);
    let r = env.rctr(&a).ok();
    let hex = r.out().split_whitespace().nth(1).unwrap().to_string();
    u64::from_str_radix(&hex, 16).unwrap()
}

#[test]
fn capabilities_are_the_default_set_and_follow_flags() {
    let env = env();
    assert_eq!(cap(&env, &[], "CapEff"), DEFAULT_CAPEFF);
    assert_eq!(cap(&env, &[], "CapBnd"), DEFAULT_CAPEFF);
    assert_eq!(
        cap(&env, &["--cap-add", "net_admin"], "CapEff"),
        DEFAULT_CAPEFF | 1 << 12
    );
    assert_eq!(
        cap(&env, &["--cap-drop", "CAP_CHOWN"], "CapEff"),
        DEFAULT_CAPEFF & !1
    );
    assert_eq!(
        cap(&env, &["--cap-drop", "all", "--cap-add", "kill"], "CapEff"),
        1 << 5
    );
    assert!(cap(&env, &["--privileged"], "CapEff").count_ones() > 38);
    env.rctr(&["run", "--rm", "--cap-add", "bogus", "busybox", "true"])
        .code(125);
}

#[test]
fn no_new_privileges_when_asked() {
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "busybox",
            "grep",
            "NoNewPrivs",
            "/proc/self/status",
        ])
        .ok();
    assert_eq!(r.out(), "NoNewPrivs:\t0");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--security-opt",
            "no-new-privileges",
            "busybox",
            "grep",
            "NoNewPrivs",
            "/proc/self/status",
        ])
        .ok();
    assert_eq!(r.out(), "NoNewPrivs:\t1");
}

#[test]
fn seccomp_is_on_by_default_and_can_be_turned_off() {
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "busybox",
            "grep",
            "Seccomp:",
            "/proc/self/status",
        ])
        .ok();
    assert_eq!(r.out(), "Seccomp:\t2");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--security-opt",
            "seccomp=unconfined",
            "busybox",
            "grep",
            "Seccomp:",
            "/proc/self/status",
        ])
        .ok();
    assert_eq!(r.out(), "Seccomp:\t0");
}

#[test]
fn seccomp_profile_from_a_file() {
    let env = env();
    let p = env.path().join("deny-mkdir.json");
    std::fs::write(
        &p,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
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
            "touch /tmp/f && mkdir /tmp/d",
        ])
        .code(1);
    assert!(r.stderr.contains("Operation not permitted"), "{}", r.stderr);
    env.rctr(&[
        "run",
        "--rm",
        "--security-opt",
        "seccomp=/no/such.json",
        "busybox",
        "true",
    ])
    .code(125)
    .stderr_has("/no/such.json");
}

#[test]
fn host_pids_are_not_visible() {
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "echo $$; ls /proc | grep -c '^[0-9]'",
        ])
        .ok();
    let mut l = r.stdout.lines();
    assert_eq!(l.next(), Some("1"), "the command is pid 1");
    let n: usize = l.next().unwrap().parse().unwrap();
    assert!(n <= 3, "{n} processes visible");
}

#[test]
fn kernel_files_are_masked_and_sys_is_read_only() {
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "head -c1 /proc/kcore | wc -c",
        ])
        .ok();
    assert_eq!(r.out(), "0", "/proc/kcore must read as empty");
    let r = env
        .rctr(&["run", "--rm", "busybox", "sh", "-c", "mkdir /sys/rctr-x"])
        .code(1);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    env.rctr(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo 1 > /proc/sys/kernel/ns_last_pid",
    ])
    .code(1);
}

#[test]
fn setuid_root_in_the_image_is_only_the_user_on_the_host() {
    let env = env();
    let v = safename("suid");
    // The container's root makes a setuid-root copy of busybox in a volume...
    env.rctr(&[
        "run",
        "--rm",
        "-v",
        &format!("{v}:/v"),
        "busybox",
        "sh",
        "-c",
        "cp /bin/busybox /v/busybox && chmod 4755 /v/busybox && chmod 777 /v",
    ])
    .ok();
    // ...which an unprivileged container user runs to create a file.
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-u",
            "65534",
            "-v",
            &format!("{v}:/v"),
            "busybox",
            "/v/busybox",
            "sh",
            "-c",
            "id -u; touch /v/by-suid",
        ])
        .ok();
    let inside: u32 = r.out().parse().unwrap();
    let data = env.store().join("volumes").join(&v).join("_data");
    let host_owner = std::fs::metadata(data.join("by-suid")).unwrap().uid();
    let me = nix::unistd::getuid().as_raw();
    if me != 0 {
        // Whatever the setuid bit gave inside, on the host it is at most the invoking user or one
        // of its subordinate ids: never real root.
        assert_ne!(host_owner, 0, "setuid gave host root");
        assert!(
            host_owner == me || host_owner >= 100000,
            "owner {host_owner}"
        );
        assert!(inside == 0 || inside == 65534);
    }
    // With no-new-privileges the setuid bit gives nothing even inside.
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-u",
            "65534",
            "--security-opt",
            "no-new-privileges",
            "-v",
            &format!("{v}:/v"),
            "busybox",
            "/v/busybox",
            "id",
            "-u",
        ])
        .ok();
    assert_eq!(r.out(), "65534");
}

#[test]
fn network_none_has_only_loopback_and_host_shares() {
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "ls",
            "/sys/class/net",
        ])
        .ok();
    assert_eq!(r.out(), "lo");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--network",
            "host",
            "busybox",
            "ls",
            "/sys/class/net",
        ])
        .ok();
    let host: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    for i in &host {
        assert!(
            r.stdout.lines().any(|l| l == i),
            "{i} missing from {}",
            r.stdout
        );
    }
    env.rctr(&["run", "--rm", "--network", "bogus", "busybox", "true"])
        .code(125)
        .stderr_has("unknown --network `bogus`");
}

#[test]
fn resource_limits_warn_and_run() {
    let env = env();
    env.rctr(&[
        "run",
        "--rm",
        "--memory",
        "64m",
        "--cpus",
        "1",
        "--pids-limit",
        "100",
        "busybox",
        "true",
    ])
    .ok()
    .stderr_has("Resource limits");
}

#[test]
fn limits_that_cannot_be_enforced_are_not_claimed_by_inspect() {
    let env = env();
    let name = crate::harness::safename("limits");
    let r = env
        .rctr(&[
            "create",
            "--name",
            &name,
            "--memory",
            "64m",
            "--cpus",
            "1.5",
            "--pids-limit",
            "100",
            "busybox",
            "true",
        ])
        .ok();
    let host = env
        .rctr(&[
            "inspect",
            "--format",
            "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}}",
            &name,
        ])
        .ok()
        .out()
        .to_string();
    // This test bed's cgroup v2 hierarchy (hybrid) has no controllers to delegate: as podman,
    // rctr warns and records no limit. Where they are delegated, they are recorded.
    if r.stderr.contains("Resource limits") {
        assert_eq!(host, "0 0 0");
    } else {
        assert_eq!(host, "67108864 1500000000 100");
    }
}

#[test]
fn ulimits_apply() {
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--ulimit",
            "nofile=123:456",
            "busybox",
            "sh",
            "-c",
            "ulimit -n; ulimit -Hn",
        ])
        .ok();
    assert_eq!(r.stdout, "123\n456\n");
}
