//! `--network`: slirp4netns (the default), none and host, and that no helper process outlives
//! its container.

use crate::harness::{safename, TestEnv};
use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The pids of slirp4netns processes started from this TestEnv (their environment holds its HOME).
fn slirp_pids(env: &TestEnv) -> Vec<String> {
    let home = format!("HOME={}", env.home.display());
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let p = e.path();
        let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
        if !cmd.starts_with(b"slirp4netns\0") {
            continue;
        }
        let environ = std::fs::read(p.join("environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|v| v == home.as_bytes()) {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

#[test]
fn slirp4netns_is_the_default_and_configures_tap0() {
    let env = TestEnv::new();
    let r = env
        .rctr(&["run", "--rm", "busybox", "ip", "-4", "addr"])
        .ok();
    assert!(r.stdout.contains("tap0"), "{}", r.stdout);
    assert!(r.stdout.contains("inet 10.0.2.100/24"), "{}", r.stdout);
    assert!(!r.stderr.contains("Note:"), "{}", r.stderr);
    assert!(
        slirp_pids(&env).is_empty(),
        "slirp4netns outlived its container"
    );
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        "slirp4netns:cidr=10.9.0.0/24,mtu=1500",
        "busybox",
        "ip",
        "addr",
        "show",
        "tap0",
    ])
    .ok()
    .stdout_has("inet 10.9.0.100/24")
    .stdout_has("mtu 1500");
}

#[test]
fn slirp4netns_etc_files_name_the_gateway_and_dns() {
    let env = TestEnv::new();
    let name = safename("net");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--name",
            &name,
            "--hostname",
            "h1",
            "--add-host",
            "gw:host-gateway",
            "busybox",
            "cat",
            "/etc/hosts",
            "/etc/resolv.conf",
        ])
        .ok();
    assert!(r.stdout.contains("10.0.2.2\tgw\n"), "{}", r.stdout);
    assert!(
        r.stdout.contains("10.0.2.2\thost.containers.internal"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("10.0.2.100\th1 {name}\n")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("nameserver 10.0.2.3\n"), "{}", r.stdout);
}

/// Runs a container that sends a line to a listener on the host's loopback through the slirp
/// gateway, and says whether the line arrived.
fn reaches_host_loopback(env: &TestEnv, network: &str) -> bool {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    // Accept while the container runs: nc waits for the peer to close before it exits.
    let server = std::thread::spawn(move || loop {
        match l.accept() {
            Ok((mut s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut line = [0u8; 11];
                let ok = s.read_exact(&mut line).is_ok() && &line == b"hello-host\n";
                return ok;
            }
            Err(_) if d.load(Ordering::SeqCst) => return false,
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    });
    let script = format!("echo hello-host | nc -w 3 10.0.2.2 {port}");
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        network,
        "busybox",
        "sh",
        "-c",
        &script,
    ]);
    done.store(true, Ordering::SeqCst);
    server.join().unwrap()
}

#[test]
fn host_loopback_only_with_allow_host_loopback() {
    let env = TestEnv::new();
    assert!(reaches_host_loopback(
        &env,
        "slirp4netns:allow_host_loopback=true"
    ));
    assert!(!reaches_host_loopback(&env, "slirp4netns"));
    assert!(
        slirp_pids(&env).is_empty(),
        "slirp4netns outlived its container"
    );
}

#[test]
fn none_has_only_loopback_and_host_sees_the_hosts_interfaces() {
    let env = TestEnv::new();
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
    assert_eq!(r.stdout.trim(), "lo");
    let mut host: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    host.sort();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--network",
            "host",
            "busybox",
            "ls",
            "-1",
            "/sys/class/net",
        ])
        .ok();
    let got: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(got, host);
}

#[test]
fn bad_network_options_are_named() {
    let env = TestEnv::new();
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        "slirp4netns:mtu=x",
        "busybox",
        "true",
    ])
    .code(125)
    .stderr_has("mtu=x");
    env.rctr(&["run", "--rm", "--network", "bogus", "busybox", "true"])
        .code(125)
        .stderr_has("unknown --network `bogus`");
}

#[test]
fn no_slirp4netns_remains_after_rm() {
    let env = TestEnv::new();
    let name = safename("net");
    env.rctr(&["create", "--name", &name, "busybox", "true"])
        .ok();
    env.rctr(&["start", "-a", &name]).ok();
    env.rctr(&["rm", &name]).ok();
    assert!(
        slirp_pids(&env).is_empty(),
        "slirp4netns outlived its container"
    );
}
