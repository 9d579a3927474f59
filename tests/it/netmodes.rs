//! The network modes besides slirp4netns: pasta, joining another container's namespace
//! (`container:`, `ns:`), and `-P`, IPv6 and range publishing.

use crate::harness::{safename, TestEnv};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

/// The pids of helper processes named `prog` started from this TestEnv (their environment
/// holds its HOME).
fn helper_pids(env: &TestEnv, prog: &str) -> Vec<String> {
    let home = format!("HOME={}", env.home.display());
    let mut want = prog.as_bytes().to_vec();
    want.push(0);
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let p = e.path();
        let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
        if !cmd.starts_with(&want) {
            continue;
        }
        let environ = std::fs::read(p.join("environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|v| v == home.as_bytes()) {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// Waits up to 10 s for every `prog` helper of this TestEnv to be gone; returns those left.
fn helpers_left(env: &TestEnv, prog: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = helper_pids(env, prog);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free port on the host (the kernel's pick; released before use).
fn free_port() -> u16 {
    TcpListener::bind("0.0.0.0:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// GETs / from `host:port`, retrying while the container starts.
fn http_get(host: &str, port: u16) -> String {
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect((host, port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let mut out = String::new();
            let _ = s.read_to_string(&mut out);
            if out.contains("200 OK") {
                return out;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    String::new()
}

/// The shell line that serves `text` with busybox httpd on `port`, in the foreground.
fn httpd(text: &str, port: u16) -> String {
    format!("mkdir -p /www && echo {text} > /www/index.html && exec httpd -f -p {port} -h /www")
}

/// The host's default-route gateway and the address it uses towards it, as pasta copies them.
fn host_gateway_and_address() -> (String, String) {
    let routes = std::fs::read_to_string("/proc/net/route").unwrap();
    let gw = routes
        .lines()
        .skip(1)
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1] == "00000000").then(|| u32::from_str_radix(f[2], 16).unwrap())
        })
        .expect("the test host has a default route");
    let gw = std::net::Ipv4Addr::from(gw.to_le_bytes());
    let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    s.connect((gw, 9)).unwrap();
    (gw.to_string(), s.local_addr().unwrap().ip().to_string())
}

#[test]
fn pasta_copies_the_hosts_addresses_and_leaves_no_process() {
    let env = TestEnv::new();
    let (gw, addr) = host_gateway_and_address();
    let name = safename("pasta");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--name",
            &name,
            "--network",
            "pasta",
            "--add-host",
            "gw:host-gateway",
            "busybox",
            "sh",
            "-c",
            "ip -4 addr; ip route; cat /etc/hosts /etc/resolv.conf",
        ])
        .ok();
    assert!(r.stdout.contains(&format!("inet {addr}/")), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("default via {gw}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("{gw}\thost.containers.internal")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains(&format!("{gw}\tgw\n")), "{}", r.stdout);
    assert!(r.stdout.contains(&format!("{addr}\t")), "{}", r.stdout);
    assert!(r.stdout.contains("nameserver "), "{}", r.stdout);
    assert!(
        helpers_left(&env, "pasta").is_empty(),
        "pasta outlived its --rm container"
    );
}

#[test]
fn pasta_as_configured_default_serves_published_ports_detached() {
    let env = TestEnv::new();
    env.write_config(&format!(
        "{}\n[network]\ndefault = \"pasta\"\n",
        std::fs::read_to_string(env.home.join(".config/rctr/config.toml")).unwrap()
    ));
    let name = safename("pweb");
    let port = free_port();
    env.run_detached(
        &name,
        &[
            "-p",
            &format!("127.0.0.1:{port}:8080"),
            "busybox",
            "sh",
            "-c",
            &httpd("pasta-ok", 8080),
        ],
    );
    let body = http_get("127.0.0.1", port);
    assert!(body.contains("pasta-ok"), "{body}");
    let (_, addr) = host_gateway_and_address();
    env.rctr(&["exec", &name, "ip", "-4", "addr"])
        .ok()
        .stdout_has(&format!("inet {addr}/"));
    assert_eq!(helper_pids(&env, "pasta").len(), 1, "pasta should serve it");
    env.rctr(&["inspect", "--format", "{{.HostConfig.NetworkMode}}", &name])
        .ok()
        .stdout_has("pasta");
    env.rctr(&["rm", "-f", &name]).ok();
    assert!(
        helpers_left(&env, "pasta").is_empty(),
        "pasta outlived its detached container"
    );
}

/// A listener on the host's 127.0.0.1 and the thread that accepts one connection on it: true if
/// `line` arrives there within 5 s.
fn host_listener(line: &'static [u8]) -> (u16, std::thread::JoinHandle<bool>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut got = vec![0u8; line.len()];
        s.read_exact(&mut got).is_ok() && got == line
    });
    (port, server)
}

/// The container reaches a listener on the host's loopback through pasta's gateway mapping.
#[test]
fn pasta_reaches_the_hosts_loopback_through_the_gateway() {
    let env = TestEnv::new();
    let (port, server) = host_listener(b"hello-host\n");
    let script = format!("echo hello-host | nc -w 3 host.containers.internal {port}");
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        "pasta",
        "busybox",
        "sh",
        "-c",
        &script,
    ])
    .ok();
    assert!(server.join().unwrap(), "the line did not arrive");
}

/// `pasta:-T,PORT` is the fast egress path to a host service: pasta listens on the container's
/// own loopback and splices to the host's (rctr passes `-T none` only when no -T is given).
#[test]
fn pasta_tcp_ns_splices_the_containers_loopback_to_the_hosts() {
    let env = TestEnv::new();
    let (port, server) = host_listener(b"hello-lo-\n");
    let script = format!("echo hello-lo- | nc -w 3 127.0.0.1 {port}");
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        &format!("pasta:-T,{port}"),
        "busybox",
        "sh",
        "-c",
        &script,
    ])
    .ok();
    assert!(server.join().unwrap(), "the line did not arrive");
}

#[test]
fn pasta_options_are_checked() {
    let env = TestEnv::new();
    env.rctr(&["run", "--rm", "--network", "pasta:-f", "busybox", "true"])
        .code(125)
        .stderr_has("rctr sets this pasta option itself");
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        "pasta:--no-such-option",
        "busybox",
        "true",
    ])
    .code(125)
    .stderr_has("pasta failed to set up the network");
    assert!(helpers_left(&env, "pasta").is_empty());
}

#[test]
fn container_network_joins_anothers_namespace_and_files() {
    let env = TestEnv::new();
    let a = safename("neta");
    env.run_detached(
        &a,
        &[
            "--add-host",
            "only-in-a:10.1.2.3",
            "busybox",
            "sh",
            "-c",
            &httpd("served-by-a", 8080),
        ],
    );
    let net = format!("container:{a}");
    let mut got = String::new();
    for _ in 0..50 {
        let r = env.rctr(&[
            "run",
            "--rm",
            "--network",
            &net,
            "busybox",
            "sh",
            "-c",
            "wget -q -O - http://127.0.0.1:8080/ && cat /etc/hosts",
        ]);
        got = r.stdout.clone();
        if got.contains("served-by-a") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(got.contains("served-by-a"), "{got}");
    assert!(got.contains("10.1.2.3\tonly-in-a"), "{got}");
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        &net,
        "--add-host",
        "x:1.2.3.4",
        "busybox",
        "true",
    ])
    .code(125)
    .stderr_has("shares that container's files");
    // A created container joins at start; it fails clearly once the target has stopped.
    let b = safename("netb");
    env.rctr(&[
        "create",
        "--name",
        &b,
        "--network",
        &net,
        "busybox",
        "wget",
        "-q",
        "-O",
        "-",
        "http://127.0.0.1:8080/",
    ])
    .ok();
    env.rctr(&["start", "-a", &b])
        .ok()
        .stdout_has("served-by-a");
    // As podman, the target cannot be removed while a container joins it.
    env.rctr(&["rm", "-f", &a])
        .code(125)
        .stderr_has("has dependent containers which must be removed before it");
    env.rctr(&["stop", "-t", "0", &a]).ok();
    env.rctr(&["start", "-a", &b])
        .code(125)
        .stderr_has("is not running");
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        "container:no-such-ctr",
        "busybox",
        "true",
    ])
    .code(125)
    .stderr_has("no-such-ctr");
}

#[test]
fn ns_network_joins_a_namespace_by_path() {
    let env = TestEnv::new();
    let a = safename("nsa");
    env.run_detached(&a, &["busybox", "sh", "-c", &httpd("by-path", 8081)]);
    let pid = env
        .rctr(&["inspect", "--format", "{{.State.Pid}}", &a])
        .ok()
        .stdout
        .trim()
        .to_string();
    let net = format!("ns:/proc/{pid}/ns/net");
    let mut got = String::new();
    for _ in 0..50 {
        got = env
            .rctr(&[
                "run",
                "--rm",
                "--network",
                &net,
                "busybox",
                "wget",
                "-q",
                "-O",
                "-",
                "http://127.0.0.1:8081/",
            ])
            .stdout;
        if got.contains("by-path") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(got.contains("by-path"), "{got}");
    env.rctr(&["rm", "-f", &a]).ok();
    env.rctr(&["run", "--rm", "--network", "ns:relative", "busybox", "true"])
        .code(125)
        .stderr_has("ns:/ABSOLUTE/PATH");
    env.rctr(&[
        "run",
        "--rm",
        "--network",
        "ns:/nonexistent/netns",
        "busybox",
        "true",
    ])
    .code(125)
    .stderr_has("/nonexistent/netns");
}

/// The host port `rctr port` lists for container port `cport`/tcp.
fn listed_port(env: &TestEnv, name: &str, cport: u16) -> u16 {
    let out = env.rctr(&["port", name]).ok().stdout;
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("{cport}/tcp -> ")))
        .unwrap_or_else(|| panic!("no {cport}/tcp in {out}"));
    line.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn publish_all_serves_exposed_ports_on_both_families() {
    let env = TestEnv::new();
    let name = safename("pall");
    env.run_detached(
        &name,
        &[
            "--expose",
            "8080",
            "-P",
            "busybox",
            "sh",
            "-c",
            &httpd("publish-all", 8080),
        ],
    );
    let port = listed_port(&env, &name, 8080);
    assert_ne!(port, 0);
    // No address given: IPv4 and IPv6 clients both reach it.
    assert!(http_get("127.0.0.1", port).contains("publish-all"));
    assert!(http_get("::1", port).contains("publish-all"));
    env.rctr(&["rm", "-f", &name]).ok();
    env.rctr(&["run", "--rm", "--expose", "80/sctp", "busybox", "true"])
        .code(125)
        .stderr_has("--expose 80/sctp");
}

#[test]
fn publish_ipv6_address_and_ranges() {
    let env = TestEnv::new();
    let name = safename("p6");
    let port = free_port();
    env.run_detached(
        &name,
        &[
            "-p",
            &format!("[::1]:{port}:8080"),
            "busybox",
            "sh",
            "-c",
            &httpd("over-ipv6", 8080),
        ],
    );
    assert!(http_get("::1", port).contains("over-ipv6"));
    // Bound to ::1 only: the IPv4 loopback is not served.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    env.rctr(&["port", &name])
        .ok()
        .stdout_has(&format!("8080/tcp -> [::1]:{port}"));
    env.rctr(&["rm", "-f", &name]).ok();

    // A range: two httpds on 8000-8001 published on consecutive host ports.
    let base = loop {
        let p = free_port();
        if p < 65000 && TcpListener::bind(("0.0.0.0", p + 1)).is_ok() {
            break p;
        }
    };
    let name = safename("prange");
    env.run_detached(
        &name,
        &[
            "-p",
            &format!("127.0.0.1:{base}-{}:8000-8001", base + 1),
            "busybox",
            "sh",
            "-c",
            "mkdir -p /a /b && echo range-a > /a/index.html && echo range-b > /b/index.html && \
         httpd -p 8000 -h /a && exec httpd -f -p 8001 -h /b",
        ],
    );
    assert!(http_get("127.0.0.1", base).contains("range-a"));
    assert!(http_get("127.0.0.1", base + 1).contains("range-b"));
    env.rctr(&["rm", "-f", &name]).ok();
    env.rctr(&["run", "--rm", "-p", "[::1:80", "busybox", "true"])
        .code(125)
        .stderr_has("--publish [::1:80");
}

#[test]
fn slirp4netns_enable_ipv6_gives_the_container_an_ipv6_address() {
    let env = TestEnv::new();
    // The address comes from slirp4netns's router advertisements (SLAAC), a moment after start.
    let show = [
        "busybox",
        "sh",
        "-c",
        "for i in $(seq 50); do ip -6 addr show tap0 | grep -q fd00:: && break; sleep 0.1; done; \
         ip -6 addr show tap0",
    ];
    let with: Vec<&str> = ["run", "--rm", "--network", "slirp4netns:enable_ipv6=true"]
        .into_iter()
        .chain(show)
        .collect();
    env.rctr(&with).ok().stdout_has("inet6 fd00::");
    let without: Vec<&str> = ["run", "--rm", "--network", "slirp4netns"]
        .into_iter()
        .chain(show)
        .collect();
    let r = env.rctr(&without).ok();
    assert!(!r.stdout.contains("fd00::"), "{}", r.stdout);
}
