//! `attach`, `run -it` and `start -a` through the monitor's attach socket (issue 4): output,
//! stdin, detach keys that leave the container running, and the container's exit code. A
//! terminal comes from util-linux `script`, which runs rctr on a pty it relays to pipes.

use crate::detach::{eventually, status};
use crate::harness::{rctr_bin, safename, TestEnv};
use std::io::{Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// rctr on a pty, driven through pipes: what it printed so far, and its stdin.
pub struct OnTty {
    child: Child,
    pub stdin: Option<ChildStdin>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl OnTty {
    /// Starts `rctr ARGS` under `script` with `env`'s environment.
    pub fn start(env: &TestEnv, args: &[&str]) -> OnTty {
        OnTty::start_after(env, "", args)
    }

    /// Like `start`, running the shell command `first` on the terminal before rctr.
    pub fn start_after(env: &TestEnv, first: &str, args: &[&str]) -> OnTty {
        let base = env.cmd(args);
        let line = std::iter::once(rctr_bin().display().to_string())
            .chain(args.iter().map(|a| a.to_string()))
            .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
            .collect::<Vec<_>>()
            .join(" ");
        let line = format!("{first}{line}");
        let mut c = Command::new("script");
        c.args(["-qefc", &line, "/dev/null"]).env_clear();
        for (k, v) in base.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn script (util-linux)");
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let o = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                o.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        OnTty {
            stdin: child.stdin.take(),
            child,
            out,
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let s = self.stdin.as_mut().expect("stdin open");
        s.write_all(bytes).unwrap();
        s.flush().unwrap();
    }

    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits until the output contains `needle`.
    #[track_caller]
    pub fn expect(&self, needle: &str) {
        eventually(15, &format!("{needle:?} in the output"), || {
            self.output().contains(needle).then_some(())
        });
    }

    /// Waits for the exit code, failing after 20 s.
    #[track_caller]
    pub fn wait(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                return (st.code().unwrap_or(-1), self.output());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("rctr did not exit; output so far: {:?}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn attach_forwards_stdin_shows_output_and_detaches_leaving_it_running() {
    let env = crate::run::env();
    let name = safename("att");
    env.rctr(&["run", "-dit", "--name", &name, "busybox", "sh"])
        .ok();
    let mut t = OnTty::start(&env, &["attach", &name]);
    // Arithmetic, so the echo of the typed line cannot satisfy the check by itself.
    t.send(b"echo hello-$((6*7))\n");
    t.expect("hello-42");
    t.send(b"\x10\x11");
    let (code, out) = t.wait();
    assert_eq!(code, 0, "detaching exits 0: {out:?}");
    assert!(
        status(&env, &name).starts_with("Up "),
        "still running after detach: {}",
        status(&env, &name)
    );
    // Attach again, with other keys; the container's exit code comes back through attach.
    let mut t = OnTty::start(&env, &["attach", "--detach-keys", "ctrl-a,x", &name]);
    t.send(b"\x10\x11echo still-$((1+1))\n");
    t.expect("still-2");
    t.send(b"exit 7\n");
    let (code, out) = t.wait();
    assert_eq!(code, 7, "ctrl-p ctrl-q are no detach keys here: {out:?}");
    assert!(status(&env, &name).starts_with("Exited (7)"));
}

#[test]
fn attach_without_tty_separates_streams_and_returns_the_exit_code() {
    let env = crate::run::env();
    let name = safename("attp");
    env.run_detached(
        &name,
        &[
            "busybox",
            "sh",
            "-c",
            "sleep 1; echo out; echo err >&2; exit 4",
        ],
    );
    env.rctr(&["attach", "--no-stdin", &name])
        .code(4)
        .stdout_has("out")
        .stderr_has("err");
    // It exited: attaching again is podman's error.
    env.rctr(&["attach", &name])
        .code(125)
        .stderr_has("you can only attach to running containers");
    env.rctr(&["attach", "--detach-keys", "ctrl-", &name])
        .code(125)
        .stderr_has("invalid detach keys");
}

#[test]
fn run_it_detaches_and_the_container_can_be_attached_again() {
    let env = crate::run::env();
    let name = safename("runit");
    let mut t = OnTty::start(&env, &["run", "-it", "--name", &name, "busybox", "sh"]);
    t.send(b"echo first-$((2+3))\n");
    t.expect("first-5");
    t.send(b"\x10\x11");
    let (code, out) = t.wait();
    assert_eq!(code, 0, "{out:?}");
    assert!(
        status(&env, &name).starts_with("Up "),
        "{}",
        status(&env, &name)
    );
    let mut t = OnTty::start(&env, &["attach", &name]);
    t.send(b"echo second-$((3+4))\n");
    t.expect("second-7");
    t.send(b"exit 3\n");
    assert_eq!(t.wait().0, 3);
}

#[test]
fn run_it_gets_all_output_of_a_short_container_and_its_code() {
    let env = crate::run::env();
    let name = safename("short");
    let t = OnTty::start(
        &env,
        &[
            "run",
            "-it",
            "--rm",
            "--name",
            &name,
            "busybox",
            "sh",
            "-c",
            "echo quick-$((40+2)); exit 3",
        ],
    );
    let (code, out) = t.wait();
    assert_eq!(code, 3, "{out:?}");
    assert!(out.contains("quick-42"), "{out:?}");
    eventually(5, "--rm to remove the container", || {
        (!env.rctr(&["ps", "-a"]).stdout.contains(&name)).then_some(())
    });
    // The terminal's size reaches the container's pty.
    let mut t = OnTty::start_after(
        &env,
        "stty rows 33 cols 77; ",
        &["run", "-it", "--rm", "busybox", "sh"],
    );
    t.send(b"echo size-$(stty size | tr ' ' x); exit\n");
    t.expect("size-33x77");
    assert_eq!(t.wait().0, 0);
}

#[test]
fn start_ai_attaches_stdin_and_returns_the_code() {
    let env = crate::run::env();
    let name = safename("startai");
    env.rctr(&[
        "create",
        "-i",
        "--name",
        &name,
        "busybox",
        "sh",
        "-c",
        "read x; echo got-$x; exit 2",
    ])
    .ok();
    env.rctr_stdin(&["start", "-ai", &name], b"yes\n")
        .code(2)
        .stdout_has("got-yes");
    let other = safename("starta");
    env.rctr(&[
        "create",
        "--name",
        &other,
        "busybox",
        "sh",
        "-c",
        "echo hi-there; exit 6",
    ])
    .ok();
    env.rctr(&["start", "-a", &other])
        .code(6)
        .stdout_has("hi-there");
}

/// The attach client's pid, once `rctr attach` has connected (it then shows in `ps`).
fn spawn_attach(env: &TestEnv, args: &[&str]) -> Child {
    env.cmd(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rctr attach")
}

/// Waits (up to 10 s) until the attach client `c` watches SIGTERM (blocked for its signalfd),
/// so that a SIGTERM sent next reaches its relay instead of killing it before it is set up.
fn watching_sigterm(c: &Child) {
    let status = format!("/proc/{}/status", c.id());
    let bit = 1u64 << (nix::sys::signal::Signal::SIGTERM as i32 - 1);
    crate::detach::eventually(10, "the attach client to watch SIGTERM", || {
        let text = std::fs::read_to_string(&status).ok()?;
        let blocked = text.lines().find_map(|l| l.strip_prefix("SigBlk:"))?;
        let mask = u64::from_str_radix(blocked.trim(), 16).ok()?;
        (mask & bit != 0).then_some(())
    });
}

fn wait_code(mut c: Child) -> (i32, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = c.try_wait().unwrap() {
            use std::os::unix::process::ExitStatusExt;
            let mut out = String::new();
            c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            return (st.code().unwrap_or(128 + st.signal().unwrap_or(0)), out);
        }
        assert!(Instant::now() < deadline, "rctr attach did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn attach_proxies_signals_unless_told_not_to() {
    let env = crate::run::env();
    let name = safename("sigp");
    env.run_detached(
        &name,
        &[
            "busybox",
            "sh",
            "-c",
            "trap 'echo got-term; exit 9' TERM; echo ready; while :; do sleep 0.1; done",
        ],
    );
    crate::detach::eventually(10, "the trap to be set", || {
        env.rctr(&["logs", &name])
            .stdout
            .contains("ready")
            .then_some(())
    });
    // --sig-proxy=false: SIGTERM ends the client alone; the container runs on.
    let c = spawn_attach(&env, &["attach", "--sig-proxy=false", &name]);
    watching_sigterm(&c);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert_eq!(wait_code(c).0, 143);
    assert!(
        status(&env, &name).starts_with("Up "),
        "{}",
        status(&env, &name)
    );
    // By default the signal goes to the container, whose exit code comes back.
    let c = spawn_attach(&env, &["attach", &name]);
    watching_sigterm(&c);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(c.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let (code, out) = wait_code(c);
    assert_eq!(code, 9, "{out:?}");
    assert!(out.contains("got-term"), "{out:?}");
}

#[test]
fn run_it_with_piped_input_ends_at_its_end() {
    // No terminal on our side: the pty still gets the input, then ctrl-d at its end.
    let env = crate::run::env();
    let r = env.rctr_stdin(
        &[
            "run",
            "-it",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "read x; echo got-$x",
        ],
        b"piped\n",
    );
    r.ok().stdout_has("got-piped");
    let r = env.rctr_stdin(&["run", "-it", "--rm", "busybox", "cat"], b"one\ntwo\n");
    r.ok().stdout_has("two");
}
