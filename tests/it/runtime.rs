//! Tests of the low-level runtime that need no image store: a root file system made from
//! Debian's static busybox in a temp dir, a spec built in code, and `runtime::run_foreground`.
//!
//! A user namespace can only be entered by a single-threaded process, and the test harness runs
//! threads. So each case runs in a fresh copy of this test binary: the test writes the spec to a
//! file and starts `current_exe()` with `RCTR_RT_SPEC` set; a function in `.init_array` sees the
//! variable before libtest's `main` (hence before any thread), enters rctr's user namespace,
//! runs the container and exits with its code.

use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxNamespaceBuilder,
    LinuxNamespaceType, Mount, MountBuilder, ProcessBuilder, RootBuilder, Spec, SpecBuilder,
    UserBuilder,
};
use rctr::runtime::{self, LaunchOptions, StdioMode};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::OnceLock;

#[used]
#[link_section = ".init_array"]
static CHILD_ENTRY: extern "C" fn() = child_entry;

/// Runs a case when this process was started as a case child; otherwise returns at once.
extern "C" fn child_entry() {
    let Some(spec_path) = std::env::var_os("RCTR_RT_SPEC") else {
        return;
    };
    let code = run_case(Path::new(&spec_path));
    // SAFETY: stdout and stderr are unbuffered at this level; nothing else needs to run.
    unsafe { libc::_exit(code) }
}

fn run_case(spec_path: &Path) -> i32 {
    let uid = nix::unistd::getuid();
    let user = nix::unistd::User::from_uid(uid)
        .ok()
        .flatten()
        .map(|u| u.name);
    let map = runtime::idmap::IdMap::for_user(
        uid.as_raw(),
        nix::unistd::getgid().as_raw(),
        user.as_deref(),
        Path::new("/etc/subuid"),
        Path::new("/etc/subgid"),
    )
    .expect("read subordinate ids");
    if let Err(e) = runtime::userns::become_root(&map) {
        eprintln!("case: {e}");
        return 99;
    }
    let spec = Spec::load(spec_path).expect("load the case spec");
    let mode = std::env::var("RCTR_RT_STDIO").unwrap_or_default();
    let mut opts = LaunchOptions {
        stdio: match mode.as_str() {
            "pty" => StdioMode::Pty,
            "null" => StdioMode::Null,
            _ => StdioMode::Inherit,
        },
        init: std::env::var_os("RCTR_RT_INIT").is_some(),
        ..Default::default()
    };
    if std::env::var_os("RCTR_RT_SECCOMP").is_some() {
        let caps: Vec<String> = runtime::DEFAULT_CAPS
            .iter()
            .map(|s| s.to_string())
            .collect();
        opts.seccomp = Some(runtime::default_seccomp(&caps).expect("default seccomp"));
    }
    match std::env::var("RCTR_RT_HOOK").as_deref() {
        Ok("ok") => {
            opts.on_created = Some(Box::new(|pid| {
                let ours = std::fs::read_link("/proc/self/ns/net").map_err(|e| e.to_string())?;
                let theirs =
                    std::fs::read_link(format!("/proc/{pid}/ns/net")).map_err(|e| e.to_string())?;
                eprintln!("hook: own network namespace: {}", ours != theirs);
                Ok(())
            }))
        }
        Ok(message) => {
            let message = message.to_string();
            opts.on_created = Some(Box::new(move |_| Err(message)));
        }
        Err(_) => {}
    }
    let timing = std::env::var_os("RCTR_RT_TIMES").is_some();
    if timing {
        return time_launches(&spec, opts.seccomp.take());
    }
    match runtime::run_foreground(&spec, opts, false) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            e.exit_code()
        }
    }
}

/// Launches and waits `RCTR_RT_TIMES` times, printing the mean and the best in microseconds.
fn time_launches(spec: &Spec, seccomp: Option<runtime::SeccompProgram>) -> i32 {
    let n: u32 = std::env::var("RCTR_RT_TIMES").unwrap().parse().unwrap();
    let mut total = 0u128;
    let mut best = u128::MAX;
    for _ in 0..n {
        let start = std::time::Instant::now();
        let opts = LaunchOptions {
            stdio: StdioMode::Null,
            seccomp: seccomp.clone(),
            ..Default::default()
        };
        let l = runtime::launch(spec, opts).expect("launch");
        assert_eq!(runtime::wait(l.pid).unwrap(), 0);
        let us = start.elapsed().as_micros();
        total += us;
        best = best.min(us);
    }
    println!(
        "launch+wait of /bin/true: mean {} us, best {best} us over {n} runs",
        total / n as u128
    );
    0
}

/// The test root file system: static busybox with its applets linked, shared by all cases.
fn rootfs() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let base = std::env::temp_dir().join(format!("rctr-rt-{}", std::process::id()));
        let root = base.join("rootfs");
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("copy /bin/busybox");
        let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
        for name in String::from_utf8_lossy(&list.stdout).lines() {
            if name != "busybox" {
                let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(name));
            }
        }
        std::fs::write(root.join("notexec"), "#!/bin/sh\necho hi\n").unwrap();
        // SAFETY: registering a plain function; it runs when libtest calls exit.
        unsafe { libc::atexit(remove_rootfs) };
        root
    })
}

extern "C" fn remove_rootfs() {
    let base = std::env::temp_dir().join(format!("rctr-rt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(base);
}

fn mount(dest: &str, typ: &str, source: &str, opts: &[&str]) -> Mount {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()
        .unwrap()
}

fn caps_of(names: &[&str]) -> Capabilities {
    names
        .iter()
        .map(|n| Capability::from_str(n.trim_start_matches("CAP_")).unwrap())
        .collect()
}

/// A spec shaped like podman's for `--network none`.
fn spec(args: &[&str]) -> Spec {
    let caps = caps_of(runtime::DEFAULT_CAPS);
    let process = ProcessBuilder::default()
        .args(args.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .env(vec!["PATH=/bin".to_string(), "HOME=/".to_string()])
        .cwd("/")
        .user(UserBuilder::default().uid(0u32).gid(0u32).build().unwrap())
        .capabilities(
            LinuxCapabilitiesBuilder::default()
                .bounding(caps.clone())
                .effective(caps.clone())
                .permitted(caps)
                .inheritable(Capabilities::new())
                .ambient(Capabilities::new())
                .build()
                .unwrap(),
        )
        .no_new_privileges(false)
        .rlimits(vec![])
        .build()
        .unwrap();
    let ns = |t| LinuxNamespaceBuilder::default().typ(t).build().unwrap();
    let linux = LinuxBuilder::default()
        .namespaces(vec![
            ns(LinuxNamespaceType::Pid),
            ns(LinuxNamespaceType::Network),
            ns(LinuxNamespaceType::Ipc),
            ns(LinuxNamespaceType::Uts),
            ns(LinuxNamespaceType::Mount),
        ])
        .masked_paths(
            runtime::DEFAULT_MASKED_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .readonly_paths(
            runtime::DEFAULT_READONLY_PATHS
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        )
        .build()
        .unwrap();
    SpecBuilder::default()
        .root(
            RootBuilder::default()
                .path(rootfs())
                .readonly(false)
                .build()
                .unwrap(),
        )
        .hostname("rt-test")
        .process(process)
        .mounts(vec![
            mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
            mount(
                "/dev",
                "tmpfs",
                "tmpfs",
                &["nosuid", "strictatime", "mode=755", "size=65536k"],
            ),
            mount(
                "/dev/pts",
                "devpts",
                "devpts",
                &[
                    "nosuid",
                    "noexec",
                    "newinstance",
                    "ptmxmode=0666",
                    "mode=0620",
                    "gid=5",
                ],
            ),
            mount(
                "/dev/shm",
                "tmpfs",
                "shm",
                &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
            ),
            mount(
                "/dev/mqueue",
                "mqueue",
                "mqueue",
                &["nosuid", "noexec", "nodev"],
            ),
            mount(
                "/sys",
                "sysfs",
                "sysfs",
                &["nosuid", "noexec", "nodev", "ro"],
            ),
        ])
        .linux(linux)
        .build()
        .unwrap()
}

/// What one case produced.
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `spec` in a fresh single-threaded copy of this binary; `env` selects options.
fn run(spec: &Spec, env: &[(&str, &str)], stdin: Option<&[u8]>) -> Out {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    spec.save(&path).unwrap();
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env("RCTR_RT_SPEC", &path)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn sh(script: &str) -> Spec {
    spec(&["sh", "-c", script])
}

#[test]
fn exit_codes_follow_podman() {
    assert_eq!(run(&spec(&["true"]), &[], None).code, 0);
    assert_eq!(run(&sh("exit 3"), &[], None).code, 3);
    let o = run(&spec(&["nosuchcmd"]), &[], None);
    assert_eq!(o.code, 127, "{}", o.stderr);
    assert!(
        o.stderr
            .contains("executable file `nosuchcmd` not found in $PATH"),
        "{}",
        o.stderr
    );
    let o = run(&spec(&["/notexec"]), &[], None);
    assert_eq!(o.code, 126, "{}", o.stderr);
    assert!(
        o.stderr.contains("/notexec") && o.stderr.contains("ermission denied"),
        "{}",
        o.stderr
    );
    let o = run(&spec(&["/tmp"]), &[], None);
    assert_eq!(o.code, 126, "{}", o.stderr);
    // As pid 1 the shell would be immune to its own SIGKILL (as under podman); under --init it
    // is pid 2 and dies, and init reports 128+9.
    assert_eq!(
        run(&sh("kill -9 $$"), &[("RCTR_RT_INIT", "1")], None).code,
        137
    );
}

#[test]
fn stdin_pipe_reaches_the_container() {
    let o = run(&spec(&["cat"]), &[], Some(b"hello through a pipe\n"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout, "hello through a pipe\n");
}

#[test]
fn pty_from_the_containers_devpts() {
    let o = run(
        &sh("tty; test -t 0 && test -t 1 && echo TTYOK; ls /dev/pts; echo CONSOLE > /dev/console"),
        &[("RCTR_RT_STDIO", "pty")],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("/dev/pts/0"), "{}", o.stdout);
    assert!(o.stdout.contains("TTYOK"), "{}", o.stdout);
    assert!(o.stdout.contains("CONSOLE"), "{}", o.stdout);
}

#[test]
fn proc_shows_only_the_containers_pids() {
    let o = run(&sh("echo pid=$$; ls /proc | grep -c '^[0-9]'"), &[], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let mut lines = o.stdout.lines();
    assert_eq!(lines.next(), Some("pid=1"));
    let n: u32 = lines.next().unwrap().trim().parse().unwrap();
    assert!(n <= 3, "host pids visible: {n} pids in /proc");
}

#[test]
fn masked_and_readonly_paths() {
    // /proc/kcore is masked when the kernel has it (this test bed's kernel does not); /proc/keys
    // (a file) and /proc/acpi (a directory) are on podman's list too.
    let script = "if [ -e /proc/kcore ] && ! [ -c /proc/kcore ]; then echo KCORE_VISIBLE; fi; \
                  test -c /proc/keys && echo KEYS_MASKED; \
                  awk '$5==\"/proc/acpi\"{print \"acpi:\" $6 \" \" $9}' /proc/self/mountinfo; \
                  if touch /sys/rt 2>/dev/null || mkdir /sys/kernel/rt 2>/dev/null; then echo SYS_WRITABLE; fi; \
                  if echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null; then echo PROCSYS_WRITABLE; fi; \
                  awk '$5==\"/sys\"{print \"sys:\" $6}' /proc/self/mountinfo";
    let o = run(&sh(script), &[], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.contains("KCORE_VISIBLE"), "{}", o.stdout);
    assert!(o.stdout.contains("KEYS_MASKED"), "{}", o.stdout);
    assert!(
        o.stdout.contains("acpi:ro,") && o.stdout.contains(" tmpfs"),
        "{}",
        o.stdout
    );
    assert!(!o.stdout.contains("SYS_WRITABLE"), "{}", o.stdout);
    assert!(!o.stdout.contains("PROCSYS_WRITABLE"), "{}", o.stdout);
    assert!(o.stdout.contains("sys:ro"), "{}", o.stdout);
}

fn status_field(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(key))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("{key} missing from {out}"))
}

#[test]
fn capabilities_follow_the_spec() {
    let o = run(
        &spec(&["cat", "/proc/self/status"]),
        &[("RCTR_RT_SECCOMP", "1")],
        None,
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    // podman's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
    // NET_BIND_SERVICE SYS_CHROOT SETFCAP.
    assert_eq!(status_field(&o.stdout, "CapBnd:"), "00000000800405fb");
    assert_eq!(status_field(&o.stdout, "CapEff:"), "00000000800405fb");
    assert_eq!(status_field(&o.stdout, "CapInh:"), "0000000000000000");
    assert_eq!(status_field(&o.stdout, "NoNewPrivs:"), "0");
    assert_eq!(status_field(&o.stdout, "Seccomp:"), "2");

    let mut s = spec(&["cat", "/proc/self/status"]);
    let names: Vec<String> = runtime::caps::resolve(
        runtime::DEFAULT_CAPS,
        &["net_admin".into()],
        &["chown".into()],
    )
    .unwrap();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let set = caps_of(&names);
    let mut p = s.process().clone().unwrap();
    p.set_capabilities(Some(
        LinuxCapabilitiesBuilder::default()
            .bounding(set.clone())
            .effective(set.clone())
            .permitted(set)
            .inheritable(Capabilities::new())
            .ambient(Capabilities::new())
            .build()
            .unwrap(),
    ));
    p.set_no_new_privileges(Some(true));
    s.set_process(Some(p));
    let o = run(&s, &[], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(status_field(&o.stdout, "CapBnd:"), "00000000800415fa");
    assert_eq!(status_field(&o.stdout, "CapEff:"), "00000000800415fa");
    assert_eq!(status_field(&o.stdout, "NoNewPrivs:"), "1");
    assert_eq!(status_field(&o.stdout, "Seccomp:"), "0");
}

#[test]
fn hostname_user_and_read_only_root() {
    let mut s = sh("hostname; id -u; id -G; touch /rt-file 2>&1; echo done");
    s.root().as_ref().unwrap();
    s.set_root(Some(
        RootBuilder::default()
            .path(rootfs())
            .readonly(true)
            .build()
            .unwrap(),
    ));
    let mut p = s.process().clone().unwrap();
    p.set_user(
        UserBuilder::default()
            .uid(1000u32)
            .gid(1000u32)
            .additional_gids(vec![10u32])
            .build()
            .unwrap(),
    );
    s.set_process(Some(p));
    let o = run(&s, &[], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "rt-test");
    assert_eq!(lines[1], "1000");
    assert_eq!(lines[2], "1000 10");
    assert!(o.stdout.contains("Read-only file system"), "{}", o.stdout);
}

#[test]
fn init_reaps_and_passes_the_exit_code() {
    let o = run(
        &sh("echo pid=$$ ppid=$PPID; sleep 0 & exit 5"),
        &[("RCTR_RT_INIT", "1")],
        None,
    );
    assert_eq!(o.code, 5, "{}", o.stderr);
    assert!(o.stdout.contains("pid=2 ppid=1"), "{}", o.stdout);
}

#[test]
fn child_errors_name_the_step_and_path() {
    let mut s = spec(&["true"]);
    let mut mounts = s.mounts().clone().unwrap();
    mounts.push(mount(
        "/mnt",
        "bind",
        "/nonexistent-rt-source",
        &["rbind", "ro"],
    ));
    s.set_mounts(Some(mounts));
    let o = run(&s, &[], None);
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert!(
        o.stderr.contains(
            "cannot bind-mount `/nonexistent-rt-source` on `/mnt`: No such file or directory"
        ),
        "{}",
        o.stderr
    );
}

/// Not a check but a measurement: run with `--ignored --nocapture` on a release build.
#[test]
#[ignore]
fn measure_launch_and_wait() {
    let o = run(
        &spec(&["/bin/true"]),
        &[("RCTR_RT_TIMES", "200"), ("RCTR_RT_SECCOMP", "1")],
        None,
    );
    println!("{}{}", o.stdout, o.stderr);
    assert_eq!(o.code, 0);
}

#[test]
fn sysfs_without_a_network_namespace_is_a_read_only_bind() {
    let mut s = sh("if touch /sys/rt 2>/dev/null; then echo SYS_WRITABLE; fi; \
                    awk '$5==\"/sys\"{print \"sys:\" $6}' /proc/self/mountinfo; ls /sys/kernel >/dev/null && echo LISTED");
    let mut linux = s.linux().clone().unwrap();
    let mut ns = linux.namespaces().clone().unwrap();
    ns.retain(|n| n.typ() != LinuxNamespaceType::Network);
    linux.set_namespaces(Some(ns));
    s.set_linux(Some(linux));
    let o = run(&s, &[], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!o.stdout.contains("SYS_WRITABLE"), "{}", o.stdout);
    assert!(o.stdout.contains("sys:ro,"), "{}", o.stdout);
    assert!(o.stdout.contains("LISTED"), "{}", o.stdout);
}

/// `--userns=keep-id`: a nested user namespace in which the invoking user (root of rctr's
/// namespace) appears as uid 1000.
#[test]
fn nested_user_namespace_maps_the_user_to_1000() {
    use oci_spec::runtime::LinuxIdMappingBuilder;
    let m = |c: u32, h: u32, n: u32| {
        LinuxIdMappingBuilder::default()
            .container_id(c)
            .host_id(h)
            .size(n)
            .build()
            .unwrap()
    };
    let maps = vec![m(0, 1, 1000), m(1000, 0, 1), m(1001, 1001, 64535)];
    let mut s = sh("id -u; stat -c %u /bin/busybox; cat /proc/self/uid_map | wc -l; hostname");
    let mut linux = s.linux().clone().unwrap();
    linux.set_uid_mappings(Some(maps.clone()));
    linux.set_gid_mappings(Some(maps));
    s.set_linux(Some(linux));
    let mut p = s.process().clone().unwrap();
    p.set_user(
        UserBuilder::default()
            .uid(1000u32)
            .gid(1000u32)
            .build()
            .unwrap(),
    );
    s.set_process(Some(p));
    let o = run(&s, &[], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines, ["1000", "1000", "3", "rt-test"], "{}", o.stdout);
}

/// A spec's own `linux.seccomp` (what `--security-opt seccomp=FILE` turns into) is compiled at
/// launch and enforced, with the rule's errno.
#[test]
fn spec_seccomp_profile_is_enforced() {
    let profile: oci_spec::runtime::LinuxSeccomp = serde_json::from_value(serde_json::json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]
    }))
    .unwrap();
    let mut s = sh("mkdir /tmp/rt-denied 2>&1; echo rc=$?; grep Seccomp: /proc/self/status");
    let mut linux = s.linux().clone().unwrap();
    linux.set_seccomp(Some(profile));
    s.set_linux(Some(linux));
    let o = run(&s, &[], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.contains("Permission denied"), "{}", o.stdout);
    assert!(o.stdout.contains("rc=1"), "{}", o.stdout);
    assert!(o.stdout.contains("Seccomp:\t2"), "{}", o.stdout);
}

#[test]
fn on_created_runs_with_the_namespaces_in_place() {
    let o = run(&spec(&["true"]), &[("RCTR_RT_HOOK", "ok")], None);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("hook: own network namespace: true"),
        "{}",
        o.stderr
    );
    let o = run(
        &spec(&["true"]),
        &[("RCTR_RT_HOOK", "slirp4netns refused")],
        None,
    );
    assert_eq!(o.code, 125, "{}", o.stderr);
    assert!(o.stderr.contains("slirp4netns refused"), "{}", o.stderr);
}

/// SIGTERM sent to rctr reaches the container process (which here handles it: as pid 1 without
/// a handler it would be ignored, as under podman).
#[test]
fn signals_are_forwarded_to_the_container() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    sh("trap 'echo got TERM; exit 7' TERM; echo ready; sleep 20 & wait")
        .save(&path)
        .unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("RCTR_RT_SPEC", &path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(rest, "got TERM\n");
    assert_eq!(status.code(), Some(7));
}
