//! `--network`: slirp4netns (the default), none and host, and that no helper process outlives
//! its container.

use crate::harness::{safename, TestEnv};
use std::io::Read;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The pids of processes started from this TestEnv (their environment holds its HOME) for which
/// `pick(cmdline, environ)` holds.
fn env_pids(env: &TestEnv, pick: impl Fn(&[u8], &[&[u8]]) -> bool) -> Vec<String> {
    let home = format!("HOME={}", env.home.display());
    let mut out = vec![];
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let p = e.path();
        let cmd = std::fs::read(p.join("cmdline")).unwrap_or_default();
        let environ = std::fs::read(p.join("environ")).unwrap_or_default();
        let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
        if vars.contains(&home.as_bytes()) && pick(&cmd, &vars) {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out
}

/// The pids of slirp4netns processes started from this TestEnv.
fn slirp_pids(env: &TestEnv) -> Vec<String> {
    env_pids(env, |cmd, _| cmd.starts_with(b"slirp4netns\0"))
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
    // Only a loopback, and it is up, as podman's is: a service on 127.0.0.1 answers.
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--network",
            "none",
            "busybox",
            "sh",
            "-c",
            "ls /sys/class/net; ip -o link show lo; nc -l -p 8080 -e echo hi & \
             for i in $(seq 50); do nc 127.0.0.1 8080 </dev/null && break; sleep 0.1; done",
        ])
        .ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.first(), Some(&"lo"), "{}", r.stdout);
    assert!(
        lines.get(1).is_some_and(|l| l.contains(",UP")),
        "{}",
        r.stdout
    );
    assert_eq!(lines.last(), Some(&"hi"), "{}", r.stdout);
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

/// A free port on the host's loopback (the kernel's pick; released before use).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `rctr run` in the background with its stdout piped.
fn spawn_run(env: &TestEnv, args: &[&str]) -> std::process::Child {
    let mut c = env.cmd(args);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    c.spawn().unwrap()
}

/// GETs / from 127.0.0.1:port, retrying while the container starts.
fn http_get(port: u16) -> String {
    use std::io::Write;
    for _ in 0..100 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
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

#[test]
fn publish_tcp_reaches_httpd_and_port_lists_it() {
    let env = TestEnv::new();
    let name = safename("web");
    let port = free_port();
    let publish = format!("{port}:80");
    let mut child = spawn_run(
        &env,
        &[
            "run",
            "--rm",
            "--name",
            &name,
            "-p",
            &publish,
            "busybox",
            "sh",
            "-c",
            "mkdir /www && echo hi-from-httpd > /www/index.html && exec httpd -f -p 80 -h /www",
        ],
    );
    let body = http_get(port);
    env.rctr(&["port", &name])
        .ok()
        .stdout_has(&format!("80/tcp -> 0.0.0.0:{port}"));
    // rm -f stops the container; the foreground `run --rm` may win the race to remove it.
    env.rctr(&["rm", "-f", &name]);
    let _ = child.wait();
    assert!(body.contains("hi-from-httpd"), "{body}");
    assert!(
        slirp_pids(&env).is_empty(),
        "slirp4netns outlived its container"
    );
}

#[test]
fn publish_udp_relays_datagrams_both_ways() {
    // busybox's nc has no UDP mode; Debian's perl-base has IO::Socket::INET.
    let env = TestEnv::new();
    let name = safename("udp");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:5000/udp");
    let script = r#"$s=IO::Socket::INET->new(LocalPort=>5000,Proto=>"udp") or die "socket: $!"; $s->recv($m,100); print $m; $s->send("pong\n");"#;
    // Pull first: the resend loop below should only wait for the container to start, not for a
    // 63 MB layer to download and unpack.
    env.rctr(&["pull", "-q", "debian:bookworm"]).ok();
    let mut child = spawn_run(
        &env,
        &[
            "run",
            "--rm",
            "--name",
            &name,
            "-p",
            &publish,
            "debian:bookworm",
            "perl",
            "-MIO::Socket::INET",
            "-e",
            script,
        ],
    );
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    // Resend until the container's socket is up and answers.
    let mut reply = Vec::new();
    for _ in 0..200 {
        let _ = sock.send_to(b"ping-udp\n", ("127.0.0.1", port));
        let mut b = [0u8; 64];
        if let Ok(n) = sock.recv(&mut b) {
            reply = b[..n].to_vec();
            break;
        }
    }
    let status = child.wait().unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(reply, b"pong\n");
    assert!(status.success());
    assert_eq!(out, "ping-udp\n");
}

#[test]
fn publish_errors_name_the_problem() {
    let env = TestEnv::new();
    let taken = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    env.rctr(&[
        "run",
        "--rm",
        "-p",
        &format!("{port}:80"),
        "busybox",
        "true",
    ])
    .code(125)
    .stderr_has("already in use");
    env.rctr(&["run", "--rm", "-p", "80/sctp", "busybox", "true"])
        .code(125)
        .stderr_has("unknown protocol `sctp`");
    env.rctr(&["run", "--rm", "-p", "1:2:3:4", "busybox", "true"])
        .code(125)
        .stderr_has("--publish 1:2:3:4");
    let start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    if start > 1 {
        env.rctr(&[
            "run",
            "--rm",
            "-p",
            &format!("{}:80", start - 1),
            "busybox",
            "true",
        ])
        .code(125)
        .stderr_has("net.ipv4.ip_unprivileged_port_start");
    }
    // Without a host port, one is chosen when the container is created.
    let name = safename("rnd");
    env.rctr(&[
        "create",
        "--name",
        &name,
        "-p",
        "127.0.0.1::80",
        "busybox",
        "true",
    ])
    .ok();
    let r = env.rctr(&["port", &name]).ok();
    assert!(r.stdout.starts_with("80/tcp -> 127.0.0.1:"), "{}", r.stdout);
    assert!(!r.stdout.contains(":0\n"), "{}", r.stdout);
}

/// A detached container gets the same network as a foreground one: slirp4netns runs for as long
/// as the container does, and `-p` is served by its monitor.
#[test]
fn detached_containers_have_slirp_and_published_ports() {
    let env = TestEnv::new();
    let name = safename("dnet");
    let port = free_port();
    env.run_detached(
        &name,
        &[
            "-p",
            &format!("127.0.0.1:{port}:8080"),
            "busybox",
            "sh",
            "-c",
            "mkdir -p /www && echo detached-ok > /www/index.html && exec httpd -f -p 8080 -h /www",
        ],
    );
    let body = http_get(port);
    assert!(body.contains("detached-ok"), "{body}");
    env.rctr(&["exec", &name, "ip", "addr", "show", "tap0"])
        .ok()
        .stdout_has("10.0.2.100");
    assert_eq!(
        slirp_pids(&env).len(),
        1,
        "slirp4netns should serve the running container"
    );
    env.rctr(&["rm", "-f", &name]).ok();
    // The monitor stops its helpers as the container ends; allow it a moment to reap them.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !slirp_pids(&env).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        slirp_pids(&env).is_empty(),
        "slirp4netns outlived its detached container"
    );
}

/// The sockets open in process `pid`.
fn sockets_of(pid: &str) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

/// Sends `line` on `s` and reads the echo without closing: the relay must pass a small reply on
/// at once rather than hold it back for more data (it once corked it with SPLICE_F_MORE).
fn echo_round(s: &mut std::net::TcpStream, line: &[u8]) -> Vec<u8> {
    use std::io::Write;
    s.write_all(line).unwrap();
    let mut got = vec![0u8; line.len()];
    let mut have = 0;
    while have < got.len() {
        match s.read(&mut got[have..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => have += n,
        }
    }
    got.truncate(have);
    got
}

/// A detached busybox `nc` serving each connection to its port 7 with `program`, published on a
/// free port of the host's 127.0.0.1: the container's name and that port.
fn nc_server(env: &TestEnv, program: &str) -> (String, u16) {
    let name = safename(program);
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:7");
    env.run_detached(
        &name,
        &[
            "-p", &publish, "busybox", "nc", "-ll", "-p", "7", "-e", program,
        ],
    );
    (name, port)
}

/// Request and reply on one kept-open connection, as with HTTP keep-alive or an interactive
/// protocol; and a published port that served many connections holds no more sockets than
/// before (each relayed connection is released when it ends).
#[test]
fn publish_tcp_passes_small_replies_at_once_and_releases_connections() {
    let env = TestEnv::new();
    let (name, port) = nc_server(&env, "cat");
    let connect = || {
        for _ in 0..100 {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                s.set_nodelay(true).unwrap();
                if echo_round(&mut s, b"hello\n") == b"hello\n" {
                    return s;
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("no echo through the published port");
    };
    let mut s = connect();
    for i in 0..20 {
        let line = format!("line {i}\n");
        assert_eq!(
            echo_round(&mut s, line.as_bytes()),
            line.as_bytes(),
            "round {i}"
        );
    }
    drop(s);
    let monitor = env_pids(&env, |_, vars| {
        vars.iter().any(|v| v.starts_with(b"_RCTR_MONITOR="))
    });
    assert_eq!(monitor.len(), 1, "one monitor serves the container");
    let settle = |want: usize| {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sockets_of(&monitor[0]) > want && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        sockets_of(&monitor[0])
    };
    let before = settle(0);
    for _ in 0..30 {
        drop(connect());
    }
    let after = settle(before);
    assert_eq!(after, before, "relayed connections left sockets open");
    env.rctr(&["rm", "-f", &name]).ok();
}

/// Clients that hang up while the container is still sending make the relay's splice fail with
/// EPIPE; that must end their connection only, not the monitor that hosts the forwarder.
#[test]
fn publish_tcp_survives_clients_that_hang_up_mid_stream() {
    let env = TestEnv::new();
    let (name, port) = nc_server(&env, "yes");
    let read_some = || -> bool {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut b = vec![0u8; 65536];
        let mut have = 0;
        while have < b.len() {
            match s.read(&mut b[have..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => have += n,
            }
        }
        have == b.len() && b.starts_with(b"y\n")
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !read_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "no stream through the published port"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for i in 0..20 {
        assert!(
            read_some(),
            "connection {i} after clients hung up mid-stream"
        );
    }
    let monitor = env_pids(&env, |_, vars| {
        vars.iter().any(|v| v.starts_with(b"_RCTR_MONITOR="))
    });
    assert_eq!(monitor.len(), 1, "the monitor went away");
    env.rctr(&["rm", "-f", &name]).ok();
}
