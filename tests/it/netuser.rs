//! User-defined networks (issue 5): `network create|ls|inspect|rm|prune|connect|disconnect` and
//! `run --network NAME`: reachability by name and alias, isolation between networks, internal
//! networks without egress, and no helper process or address outliving the containers.

use crate::harness::{safename, TestEnv};
use std::time::{Duration, Instant};

/// rctr's helpers for user networks (holder, its keeper, slirp4netns) started for `env`.
fn helper_pids(env: &TestEnv) -> Vec<String> {
    let home = format!("HOME={}", env.home.display());
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let p = e.path();
        let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
        if !cmd.starts_with(b"rctr-netns\0") && !cmd.starts_with(b"slirp4netns\0") {
            continue;
        }
        let environ = std::fs::read(p.join("environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|v| v == home.as_bytes()) {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// Waits up to 10 s for the helpers to leave, then returns those still there.
fn helpers_after_wait(env: &TestEnv) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !helper_pids(env).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    helper_pids(env)
}

/// Starts busybox httpd serving its hostname at /hostname, detached on `net`.
fn web(env: &TestEnv, name: &str, net: &str, extra: &[&str]) -> String {
    let mut args = vec!["run", "-d", "--name", name, "--network", net];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "httpd", "-f", "-p", "80", "-h", "/etc"]);
    env.rctr(&args).ok().out().to_string()
}

/// An HTTP request for /hostname to `host`, from inside a container on `net`.
fn fetch(host: &str) -> String {
    format!("printf 'GET /hostname HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} 80")
}

/// The container's IPv4 address on its interface `iface`.
fn addr_of(env: &TestEnv, ctr: &str, iface: &str) -> String {
    let out = env
        .rctr(&["exec", ctr, "ip", "-4", "-o", "addr", "show", iface])
        .ok()
        .stdout;
    let word = out
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .unwrap_or_else(|| panic!("no address on {iface} of {ctr}: {out}"));
    word.split('/').next().unwrap().to_string()
}

#[test]
fn create_ls_inspect_and_create_errors() {
    let env = TestEnv::new();
    let (a, b) = (safename("na"), safename("nb"));
    env.rctr(&["network", "create", &a]).ok().stdout_has(&a);
    env.rctr(&[
        "network",
        "create",
        "--subnet",
        "10.77.0.0/24",
        "--gateway",
        "10.77.0.254",
        "--internal",
        "--label",
        "k=v",
        &b,
    ])
    .ok();
    let ls = env.rctr(&["network", "ls"]).ok();
    assert!(ls.stdout.starts_with("NETWORK ID"), "{}", ls.stdout);
    assert!(ls.stdout.contains("NAME") && ls.stdout.contains("DRIVER"));
    assert!(ls.stdout.contains(&a) && ls.stdout.contains("podman"));
    let q = env
        .rctr(&["network", "ls", "-q", "--filter", &format!("name={b}")])
        .ok();
    assert_eq!(q.out(), b);
    env.rctr(&["network", "ls", "--format", "{{.Name}} {{.Driver}}"])
        .ok()
        .stdout_has(&format!("{a} bridge"));
    let j: serde_json::Value =
        serde_json::from_str(&env.rctr(&["network", "inspect", &b]).ok().stdout).unwrap();
    let n = &j[0];
    assert_eq!(n["name"], b.as_str());
    assert_eq!(n["driver"], "bridge");
    assert_eq!(n["internal"], true);
    assert_eq!(n["subnets"][0]["subnet"], "10.77.0.0/24");
    assert_eq!(n["subnets"][0]["gateway"], "10.77.0.254");
    assert_eq!(n["labels"]["k"], "v");
    // Auto-picked subnets come from 10.89.N.0/24, as podman's.
    let ja: serde_json::Value =
        serde_json::from_str(&env.rctr(&["network", "inspect", &a]).ok().stdout).unwrap();
    let sa = ja[0]["subnets"][0]["subnet"].as_str().unwrap().to_string();
    assert!(sa.starts_with("10.89.") && sa.ends_with(".0/24"), "{sa}");

    env.rctr(&["network", "create", &a])
        .code(125)
        .stderr_has("already exists");
    env.rctr(&[
        "network",
        "create",
        "--subnet",
        "10.0.0.0/33",
        &safename("x"),
    ])
    .code(125)
    .stderr_has("invalid CIDR address: 10.0.0.0/33");
    env.rctr(&["network", "create", "--subnet", "nonsense", &safename("x")])
        .code(125);
    env.rctr(&[
        "network",
        "create",
        "--subnet",
        "10.77.0.128/25",
        &safename("x"),
    ])
    .code(125)
    .stderr_has("already used");
    env.rctr(&["network", "create", "--subnet", &sa, &safename("x")])
        .code(125)
        .stderr_has("already used");
    env.rctr(&[
        "network",
        "create",
        "--subnet",
        "10.78.0.0/24",
        "--gateway",
        "10.79.0.1",
        &safename("x"),
    ])
    .code(125)
    .stderr_has("not in subnet");
    env.rctr(&["network", "create", "--gateway", "10.5.0.1", &safename("x")])
        .code(125)
        .stderr_has("without subnet");
    env.rctr(&["network", "create", "-d", "macvlan", &safename("x")])
        .code(125)
        .stderr_has("macvlan");
    env.rctr(&["network", "inspect", "no-such-net"])
        .code(125)
        .stderr_has("network not found");
    env.rctr(&["run", "--rm", "--network", "no-such-net", "busybox", "true"])
        .code(125)
        .stderr_has("network not found");
}

#[test]
fn peers_reach_each_other_by_name_and_alias_but_not_across_networks() {
    let env = TestEnv::new();
    let (n1, n2) = (safename("n1"), safename("n2"));
    env.rctr(&["network", "create", &n1]).ok();
    env.rctr(&["network", "create", &n2]).ok();
    let (w, other) = (safename("web"), safename("other"));
    let id = web(&env, &w, &n1, &["--network-alias", "www"]);
    web(&env, &other, &n2, &[]);
    let script = format!("{}; {}", fetch(&w), fetch("www"));
    let got = env
        .rctr(&[
            "run",
            "--rm",
            "--network",
            &n1,
            "busybox",
            "sh",
            "-c",
            &script,
        ])
        .ok();
    assert_eq!(
        got.stdout.matches(&id[..12]).count(),
        2,
        "by name and by alias: {}",
        got.stdout
    );
    // Isolation: the other network's container is unreachable by address, and unknown by name.
    let ip = addr_of(&env, &other, "eth0");
    let across = format!("{} && echo REACHED", fetch(&ip));
    let r = env.rctr(&[
        "run",
        "--rm",
        "--network",
        &n1,
        "busybox",
        "sh",
        "-c",
        &across,
    ]);
    assert!(!r.stdout.contains("REACHED"), "{}", r.stdout);
    let hosts = env.rctr(&["exec", &other, "cat", "/etc/hosts"]).ok().stdout;
    assert!(!hosts.contains(&w), "{hosts}");
    env.rctr(&["exec", &w, "cat", "/etc/hosts"])
        .ok()
        .stdout_has("www");
    // A container on both networks reaches both.
    let both = format!("{},{}", n1, n2);
    let script = format!("{}; {}", fetch(&w), fetch(&other));
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--network",
            &both,
            "busybox",
            "sh",
            "-c",
            &script,
        ])
        .ok();
    assert_eq!(r.stdout.matches("200 OK").count(), 2, "{}", r.stdout);
    env.rctr(&["rm", "-f", &w, &other]).ok();
    assert_eq!(
        helpers_after_wait(&env),
        Vec::<String>::new(),
        "helpers outlived the containers"
    );
}

/// The host's first global IPv4 address: traffic to it stays on this machine.
fn host_address() -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["-4", "-o", "addr", "show", "scope", "global"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let w = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    Some(w.split('/').next()?.to_string())
}

#[test]
fn internal_network_has_no_egress() {
    let Some(host) = host_address() else {
        panic!("this test needs a global IPv4 address on the host");
    };
    let env = TestEnv::new();
    let (open, closed) = (safename("open"), safename("internal"));
    env.rctr(&["network", "create", &open]).ok();
    env.rctr(&["network", "create", "--internal", &closed]).ok();
    let l = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        use std::io::Write;
        let (mut s, _) = l.accept().unwrap();
        let _ = s.write_all(b"egress-ok\n");
    });
    let script = format!("nc -w 3 {host} {port}");
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        &closed,
        "busybox",
        "sh",
        "-c",
        &script,
    ])
    .code(1);
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        &open,
        "busybox",
        "sh",
        "-c",
        &script,
    ])
    .ok()
    .stdout_has("egress-ok");
    server.join().unwrap();
    // Names resolve through slirp4netns's DNS forwarder, reached through the same egress.
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        &open,
        "busybox",
        "cat",
        "/etc/resolv.conf",
    ])
    .ok()
    .stdout_has("nameserver 10.0.2.3");
}

#[test]
fn connect_and_disconnect_running_and_created_containers() {
    let env = TestEnv::new();
    let (n1, n2) = (safename("n1"), safename("n2"));
    env.rctr(&["network", "create", &n1]).ok();
    env.rctr(&["network", "create", &n2]).ok();
    let (a, b) = (safename("a"), safename("b"));
    let id = web(&env, &a, &n1, &[]);
    web(&env, &b, &n2, &[]);
    env.rctr(&["network", "connect", "--alias", "late", &n2, &a])
        .ok();
    addr_of(&env, &a, "eth1");
    env.rctr(&["exec", &b, "sh", "-c", &fetch("late")])
        .ok()
        .stdout_has(&id[..12]);
    env.rctr(&["network", "connect", &n2, &a])
        .code(125)
        .stderr_has("already connected");
    env.rctr(&["network", "disconnect", &n2, &a]).ok();
    let gone = env.rctr(&["exec", &a, "ip", "link", "show", "eth1"]);
    assert_ne!(
        gone.code, 0,
        "eth1 survived the disconnect: {}",
        gone.stdout
    );
    let hosts = env.rctr(&["exec", &b, "cat", "/etc/hosts"]).ok().stdout;
    assert!(!hosts.contains("late"), "{hosts}");
    // A created container only has its record changed; it starts on both networks.
    let c = safename("c");
    env.rctr(&[
        "create",
        "--name",
        &c,
        "--network",
        &n1,
        "busybox",
        "sleep",
        "100",
    ])
    .ok();
    env.rctr(&["network", "connect", &n2, &c]).ok();
    env.rctr(&["start", &c]).ok();
    addr_of(&env, &c, "eth0");
    addr_of(&env, &c, "eth1");
    let nets = env
        .rctr(&[
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            &c,
        ])
        .ok()
        .stdout;
    assert!(nets.contains(&n1) && nets.contains(&n2), "{nets}");
    env.rctr(&["rm", "-f", &a, &b, &c]).ok();
}

#[test]
fn rm_and_prune_respect_users() {
    let env = TestEnv::new();
    let (used, unused) = (safename("used"), safename("unused"));
    env.rctr(&["network", "create", &used]).ok();
    env.rctr(&["network", "create", &unused]).ok();
    let c = safename("c");
    env.rctr(&[
        "create",
        "--name",
        &c,
        "--network",
        &used,
        "busybox",
        "true",
    ])
    .ok();
    env.rctr(&["network", "rm", &used])
        .code(2)
        .stderr_has("network is being used");
    env.rctr(&["network", "rm", "no-such-net"])
        .code(1)
        .stderr_has("network not found");
    env.rctr(&["network", "rm", "podman"])
        .code(125)
        .stderr_has("cannot be removed");
    env.rctr(&["network", "prune", "-f"])
        .ok()
        .stdout_has(&unused);
    let ls = env.rctr(&["network", "ls", "-q"]).ok().stdout;
    assert!(ls.contains(&used) && !ls.contains(&unused), "{ls}");
    env.rctr(&["network", "rm", "-f", &used])
        .ok()
        .stdout_has(&used);
    env.rctr(&["ps", "-a", "-q"]).ok();
    env.rctr(&["inspect", &c]).code(125);
    let ls = env.rctr(&["network", "ls", "-q"]).ok().stdout;
    assert!(!ls.contains(&used), "{ls}");
}

#[test]
fn killed_container_releases_its_address_and_helpers_leave() {
    let env = TestEnv::new();
    let n = safename("n");
    env.rctr(&["network", "create", "--subnet", "10.66.0.0/24", &n])
        .ok();
    let w = safename("w");
    web(&env, &w, &n, &[]);
    assert_eq!(addr_of(&env, &w, "eth0"), "10.66.0.2");
    assert!(
        !helper_pids(&env).is_empty(),
        "no holder while a container runs"
    );
    let pid = env
        .rctr(&["inspect", "--format", "{{.State.Pid}}", &w])
        .ok()
        .out()
        .to_string();
    let monitor = env
        .rctr(&["inspect", "--format", "{{.State.ConmonPid}}", &w])
        .ok()
        .out()
        .to_string();
    for p in [&monitor, &pid] {
        std::process::Command::new("kill")
            .args(["-9", p])
            .status()
            .unwrap();
    }
    // The holder notices the dead owner, frees 10.66.0.2 and, with nobody left, exits.
    assert_eq!(
        helpers_after_wait(&env),
        Vec::<String>::new(),
        "helpers outlived a killed container"
    );
    let w2 = safename("w2");
    web(&env, &w2, &n, &[]);
    assert_eq!(addr_of(&env, &w2, "eth0"), "10.66.0.2");
    env.rctr(&["rm", "-f", &w2]).ok();
    assert_eq!(helpers_after_wait(&env), Vec::<String>::new());
    env.rctr(&["rm", "-f", &w]).ok();
}

#[test]
fn publish_works_on_a_user_network_and_rm_releases_the_address() {
    let env = TestEnv::new();
    let n = safename("n");
    env.rctr(&["network", "create", "--subnet", "10.67.0.0/24", &n])
        .ok();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let w = safename("w");
    let id = web(&env, &w, &n, &["-p", &format!("127.0.0.1:{port}:80")]);
    assert_eq!(addr_of(&env, &w, "eth0"), "10.67.0.2");
    let mut body = String::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !body.contains(&id[..12]) && Instant::now() < deadline {
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /hostname HTTP/1.0\r\n\r\n");
            body.clear();
            let _ = s.read_to_string(&mut body);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(body.contains(&id[..12]), "{body}");
    env.rctr(&["rm", "-f", &w]).ok();
    // The address is free again at once, for the next container.
    let w2 = safename("w2");
    web(&env, &w2, &n, &[]);
    assert_eq!(addr_of(&env, &w2, "eth0"), "10.67.0.2");
    env.rctr(&["rm", "-f", &w2]).ok();
    assert_eq!(helpers_after_wait(&env), Vec::<String>::new());
}
