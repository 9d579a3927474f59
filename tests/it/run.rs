//! `run`, `create`/`start`, `ps -a` and `rm`: the command, its I/O, exit codes and what it
//! leaves behind.

use crate::harness::{safename, TestEnv};
use std::process::{Command, Stdio};

/// A TestEnv whose config uses no network, so runs print no note about it.
pub fn env() -> TestEnv {
    let env = TestEnv::new();
    let cfg = std::fs::read_to_string(env.home.join(".config/rctr/config.toml")).unwrap();
    env.write_config(&format!("{cfg}[network]\ndefault = \"none\"\n"));
    env
}

#[test]
fn run_true_exits_zero() {
    let env = env();
    env.rctr(&["run", "--rm", "busybox", "true"]).ok();
}

#[test]
fn exit_codes_follow_the_container() {
    let env = env();
    env.rctr(&["run", "--rm", "busybox", "sh", "-c", "exit 3"])
        .code(3);
    env.rctr(&["run", "--rm", "busybox", "/etc/passwd"])
        .code(126);
    env.rctr(&["run", "--rm", "busybox", "no-such-command"])
        .code(127);
    // The pid-namespace init ignores signals it has no handler for, even SIGKILL from inside;
    // with --init the shell is not pid 1, and dies of the signal.
    env.rctr(&["run", "--rm", "--init", "busybox", "sh", "-c", "kill -9 $$"])
        .code(137);
    env.rctr(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "sh -c 'kill -TERM $$'; exit $?",
    ])
    .code(143);
    env.rctr(&["run", "--rm", "busybox", "--bogus-flag-for-the-command"])
        .code(127);
    env.rctr(&["run", "--rm", "--bogus", "busybox", "true"])
        .code(125);
    env.rctr(&["run", "--rm", "--pull=never", "not-pulled-image", "true"])
        .code(125);
}

#[test]
fn stdin_is_piped_with_i() {
    let env = env();
    let r = env
        .rctr_stdin(
            &["run", "--rm", "-i", "busybox", "cat"],
            b"hello through a pipe\n",
        )
        .ok();
    assert_eq!(r.stdout, "hello through a pipe\n");
    // Without -i the container's stdin is empty.
    let r = env
        .rctr_stdin(&["run", "--rm", "busybox", "cat"], b"lost\n")
        .ok();
    assert_eq!(r.stdout, "");
}

/// Runs `rctr ARGS` on a terminal made by `script`, returning its output.
fn on_tty(env: &TestEnv, args: &str) -> (i32, String) {
    let base = env.cmd(&[]);
    let mut c = Command::new("script");
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let line = format!("{} {args}", crate::harness::rctr_bin().display());
    let out = c
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("run script");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn tty_gives_the_container_a_terminal() {
    let env = env();
    let (code, out) = on_tty(
        &env,
        "run --rm -t busybox sh -c 'tty; test -t 0 && echo ISATTY; exit 5'",
    );
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("/dev/pts/0"), "{out}");
    assert!(out.contains("ISATTY"), "{out}");
    let (_, out) = on_tty(
        &env,
        "run --rm -t busybox sh -c 'echo term=$TERM; stty size'",
    );
    assert!(out.contains("term=xterm"), "{out}");
}

#[test]
fn rm_leaves_nothing_behind() {
    let env = env();
    let name = safename("gone");
    env.rctr(&[
        "run",
        "--rm",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo x > /written",
    ])
    .ok();
    // Gone from every listing, and its name free, as soon as `run` returns.
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).out(), "");
    env.rctr(&["run", "--rm", "--name", &name, "busybox", "true"])
        .ok();
    // Its files go in the background, shortly after.
    assert_containers_dir_empties(&env);
}

/// Waits (up to 20 s) until the store's containers directory holds nothing but its lock.
fn assert_containers_dir_empties(env: &TestEnv) {
    let mut left = Vec::new();
    for _ in 0..200 {
        left = std::fs::read_dir(env.store().join("containers"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "lock")
            .collect::<Vec<_>>();
        if left.is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("left behind: {left:?}");
}

#[test]
fn rm_purges_what_an_interrupted_removal_left() {
    let env = env();
    // What a `run --rm` killed half-way through deleting its container's files leaves.
    let doomed = env.store().join("containers").join(".removing-interrupted");
    std::fs::create_dir_all(doomed.join("upper/etc")).unwrap();
    std::fs::write(doomed.join("upper/etc/file"), "x").unwrap();
    env.rctr(&["run", "--rm", "busybox", "true"]).ok();
    assert_containers_dir_empties(&env);
}

#[test]
fn writes_are_private_to_each_container() {
    let env = env();
    env.rctr(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo mine > /etc/rctr-fixture && rm /bin/ls",
    ])
    .ok();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "cat /etc/rctr-fixture; ls -d /bin/ls",
        ])
        .ok();
    assert_eq!(r.stdout, "busybox fixture, layer 2\n/bin/ls\n");
}

#[test]
fn env_workdir_user_and_entrypoint() {
    let env = env();
    let f = env.path().join("envfile");
    std::fs::write(&f, "# comment\nFROM_FILE=1\nBOTH=file\n").unwrap();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--env-file",
            f.to_str().unwrap(),
            "-e",
            "BOTH=flag",
            "-e",
            "PATH=/bin",
            "busybox",
            "sh",
            "-c",
            "echo $FROM_FILE $BOTH $PATH $HOME $container",
        ])
        .ok();
    assert_eq!(r.out(), "1 flag /bin /root rctr");
    let r = env
        .rctr(&["run", "--rm", "-w", "/made/here", "busybox", "pwd"])
        .ok();
    assert_eq!(r.out(), "/made/here");
    let r = env.rctr(&["run", "--rm", "busybox", "pwd"]).ok();
    assert_eq!(r.out(), "/");
    let r = env
        .rctr(&["run", "--rm", "-u", "nobody", "busybox", "id"])
        .ok();
    assert_eq!(r.out(), "uid=65534(nobody) gid=65534(nobody)");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-u",
            "1:0",
            "--group-add",
            "nobody",
            "busybox",
            "id",
            "-G",
        ])
        .ok();
    assert_eq!(r.out(), "0 65534");
    env.rctr(&["run", "--rm", "-u", "nosuchuser", "busybox", "id"])
        .code(125)
        .stderr_has("nosuchuser");
    let r = env
        .rctr(&["run", "--rm", "--entrypoint", "echo", "busybox", "a", "b"])
        .ok();
    assert_eq!(r.out(), "a b");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--entrypoint",
            "[\"sh\",\"-c\",\"echo json $0\"]",
            "busybox",
            "x",
        ])
        .ok();
    assert_eq!(r.out(), "json x");
}

#[test]
fn hostname_hosts_and_resolv_conf() {
    let env = env();
    let name = safename("named");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--name",
            &name,
            "--add-host",
            "db.local:10.1.2.3",
            "--add-host",
            "gw:host-gateway",
            "--dns",
            "192.0.2.53",
            "--dns-search",
            "example.test",
            "--dns-option",
            "ndots:2",
            "busybox",
            "sh",
            "-c",
            "hostname; cat /etc/hostname; cat /etc/hosts; echo ---; cat /etc/resolv.conf",
        ])
        .ok();
    let (top, resolv) = r.stdout.split_once("---\n").unwrap();
    let mut lines = top.lines();
    let host = lines.next().unwrap();
    assert_eq!(host.len(), 12, "{top}");
    assert!(host.chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(lines.next(), Some(host));
    assert!(top.contains("127.0.0.1\tlocalhost"), "{top}");
    assert!(top.contains("10.1.2.3\tdb.local"), "{top}");
    assert!(top.contains("\tgw\n"), "{top}");
    assert!(top.contains(&format!("{host} {name}")), "{top}");
    assert_eq!(
        resolv,
        "search example.test\nnameserver 192.0.2.53\noptions ndots:2\n"
    );
    let r = env
        .rctr(&["run", "--rm", "--hostname", "box1", "busybox", "hostname"])
        .ok();
    assert_eq!(r.out(), "box1");
}

#[test]
fn create_then_start_attached_equals_run() {
    let env = env();
    let name = safename("cs");
    let id = env
        .rctr(&[
            "create",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "echo out; exit 4",
        ])
        .ok()
        .out()
        .to_string();
    assert_eq!(id.len(), 64);
    let ps = env.rctr(&["ps", "-a"]).ok();
    assert!(
        ps.stdout.starts_with("CONTAINER ID  IMAGE"),
        "{}",
        ps.stdout
    );
    assert!(
        ps.stdout.contains("Created") && ps.stdout.contains(&name),
        "{}",
        ps.stdout
    );
    let r = env.rctr(&["start", "-a", &name]).code(4);
    assert_eq!(r.stdout, "out\n");
    let via_run = env
        .rctr(&["run", "--rm", "busybox", "sh", "-c", "echo out; exit 4"])
        .code(4);
    assert_eq!(via_run.stdout, r.stdout);
    let ps = env
        .rctr(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"])
        .ok();
    assert!(
        ps.out().starts_with(&format!("{name} Exited (4) ")),
        "{}",
        ps.stdout
    );
    // Not running, so plain `ps` shows nothing.
    assert_eq!(env.rctr(&["ps", "-q"]).out(), "");
    // Started again: the same container, its own upper layer kept.
    env.rctr(&["start", "-a", &id[..12]]).code(4);
    env.rctr(&["rm", &name]).ok().stdout_has(&id);
    env.rctr(&["rm", &name]).code(1).stderr_has(&name);
    env.rctr(&["rm", "-i", &name]).ok();
}

#[test]
fn names_are_unique_unless_replaced() {
    let env = env();
    let name = safename("dup");
    env.rctr(&["create", "--name", &name, "busybox", "true"])
        .ok();
    env.rctr(&["create", "--name", &name, "busybox", "true"])
        .code(125)
        .stderr_has("already in use");
    env.rctr(&["run", "--replace", "--name", &name, "busybox", "true"])
        .ok();
    assert_eq!(env.rctr(&["ps", "-aq"]).out().lines().count(), 1);
    env.rctr(&["rm", "--all"]).ok();
    assert_eq!(env.rctr(&["ps", "-aq"]).out(), "");
}

#[test]
fn start_without_attach_runs_in_the_background() {
    let env = env();
    let name = safename("bg");
    env.rctr(&[
        "create",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "echo bg > /done",
    ])
    .ok();
    env.rctr(&["start", &name]).ok().stdout_has(&name);
    let mut status = String::new();
    for _ in 0..200 {
        status = env
            .rctr(&["ps", "-a", "--format", "{{.Status}}"])
            .out()
            .to_string();
        if status.starts_with("Exited") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(status.starts_with("Exited (0)"), "{status}");
}

#[test]
fn running_as_real_root_works() {
    // The suite normally runs as the unprivileged user; as root, rctr skips the user namespace
    // and runs containers with the identity mapping.
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: not running as root");
        return;
    }
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map",
        ])
        .ok();
    assert!(r.stdout.starts_with("0\n"), "{}", r.stdout);
}

#[test]
fn rm_force_stops_a_running_container() {
    let env = env();
    let name = safename("busy");
    // sh as pid 1 ignores SIGTERM, so the stop signal decides how fast this goes.
    env.rctr(&[
        "create",
        "--name",
        &name,
        "--stop-signal",
        "KILL",
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    env.rctr(&["start", &name]).ok();
    let ps = env.rctr(&["ps", "--format", "{{.Names}} {{.State}}"]).ok();
    assert_eq!(ps.out(), format!("{name} running"));
    env.rctr(&["rm", &name]).code(2).stderr_has("running");
    let t = std::time::Instant::now();
    env.rctr(&["rm", "-f", &name]).ok();
    assert!(
        t.elapsed() < std::time::Duration::from_secs(5),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(env.rctr(&["ps", "-aq"]).out(), "");
}

#[test]
fn start_attach_interactive_reads_stdin() {
    let env = env();
    let name = safename("cat");
    env.rctr(&["create", "-i", "--name", &name, "busybox", "cat"])
        .ok();
    let r = env
        .rctr_stdin(&["start", "-a", "-i", &name], b"to start\n")
        .ok();
    assert_eq!(r.stdout, "to start\n");
}

#[test]
fn etc_files_live_in_the_runtime_dir_while_the_container_runs() {
    let env = env();
    let name = safename("etc");
    let id = env
        .rctr(&["run", "-d", "--name", &name, "busybox", "sleep", "600"])
        .ok()
        .out()
        .to_string();
    let dir = env.runtime_dir.join("rctr/containers").join(&id);
    let hosts = std::fs::read_to_string(dir.join("hosts")).unwrap();
    assert!(hosts.contains(&name), "{hosts}");
    // The container sees the same files.
    env.rctr(&["exec", &name, "cat", "/etc/hosts"])
        .ok()
        .stdout_has(&name);
    // Written afresh at each start: a renamed container finds its new name there.
    env.rctr(&["stop", "-t", "0", &name]).ok();
    let renamed = safename("etc-renamed");
    env.rctr(&["rename", &name, &renamed]).ok();
    env.rctr(&["start", &renamed]).ok();
    env.rctr(&["exec", &renamed, "cat", "/etc/hosts"])
        .ok()
        .stdout_has(&renamed);
    env.rctr(&["rm", "-f", &renamed]).ok();
    assert!(!dir.exists(), "{} outlived its container", dir.display());
    // A foreground run leaves nothing there either.
    env.rctr(&["run", "--rm", "busybox", "true"]).ok();
    let left: Vec<_> = std::fs::read_dir(env.runtime_dir.join("rctr/containers"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
