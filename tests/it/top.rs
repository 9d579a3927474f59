//! `top` (podman's descriptors from /proc, or the host's ps(1) narrowed to the container) and
//! `pause`/`unpause` (the cgroup v2 freezer of the container's own cgroup, refused without a
//! delegated cgroup v2 subtree with podman's reason).

use crate::harness::safename;

#[test]
fn top_shows_the_containers_processes_with_podmans_descriptors() {
    let env = crate::run::env();
    let name = safename("top");
    env.run_detached(&name, &["busybox", "sh", "-c", "sleep 301 & sleep 401"]);
    env.rctr(&["exec", "-d", "-u", "nobody", &name, "sleep", "501"])
        .ok();
    crate::detach::eventually(10, "the exec'd sleep", || {
        env.rctr(&["top", &name])
            .stdout
            .contains("sleep 501")
            .then_some(())
    });
    let r = env.rctr(&["top", &name]).ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0],
        "USER        PID         PPID        %CPU        ELAPSED     TTY         TIME        COMMAND"
    );
    assert_eq!(
        lines.len(),
        4,
        "pid 1, its child and the exec'd process: {}",
        r.stdout
    );
    let cols = |l: &str| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
    let pid1 = cols(lines[1]);
    assert_eq!(&pid1[..3], ["root", "1", "0"], "{}", lines[1]);
    assert_eq!(pid1[5], "?", "no tty");
    // busybox sh execs its last command, which becomes pid 1.
    assert_eq!(&pid1[7..], ["sleep", "401"]);
    let child = lines
        .iter()
        .map(|l| cols(l))
        .find(|c| c.ends_with(&["sleep".into(), "301".into()]));
    let child = child.expect("sleep 301");
    assert_eq!(
        (child[0].as_str(), child[2].as_str()),
        ("root", "1"),
        "{child:?}"
    );
    assert!(
        child[1].parse::<u32>().unwrap() > 1,
        "a pid of the container's namespace"
    );
    // The exec'd process runs as nobody, named from the container's /etc/passwd; its parent
    // is outside the container.
    let exec = lines
        .iter()
        .map(|l| cols(l))
        .find(|c| c.last().is_some_and(|x| x == "501"));
    let exec = exec.expect("sleep 501");
    assert_eq!((exec[0].as_str(), exec[2].as_str()), ("nobody", "0"));
    // Explicit descriptors, by name and as AIX codes.
    let r = env.rctr(&["top", &name, "pid", "%c"]).ok();
    assert!(
        r.stdout
            .starts_with("PID         COMMAND\n1           sleep\n"),
        "{}",
        r.stdout
    );
    let r = env.rctr(&["top", &name, "huser,user", "state"]).ok();
    assert!(r.stdout.starts_with("HUSER"), "{}", r.stdout);
    assert!(r.stdout.contains(" root "), "{}", r.stdout);
    // Anything else goes to ps(1), narrowed to the container's three processes.
    let r = env.rctr(&["top", &name, "-ef"]).ok();
    let rows: Vec<&str> = r.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 3, "{}", r.stdout);
    assert!(rows.iter().all(|l| l.contains("sleep")), "{}", r.stdout);
    // Without a PID column, ps(1) selects the container's processes itself.
    let r = env.rctr(&["top", &name, "-o", "comm"]).ok();
    assert_eq!(r.stdout.lines().count(), 4, "{}", r.stdout);
    env.rctr(&["top", &name, "-e", "-o", "comm"])
        .code(125)
        .stderr_has("PID column");
    env.rctr(&["stop", "-t", "0", &name]).ok();
    env.rctr(&["top", &name])
        .code(125)
        .stderr_has("top can only be used on running containers");
}

#[test]
fn top_names_the_pty_of_a_tty_container() {
    let env = crate::run::env();
    let name = safename("toptty");
    env.rctr(&["run", "-dit", "--name", &name, "busybox", "sh"])
        .ok();
    env.rctr(&["top", &name, "pid", "tty", "comm"])
        .ok()
        .stdout_has("1           pts/0       sh");
}

/// The counter a loop in the container last wrote to `file` of the bind-mounted `dir`.
fn count(dir: &std::path::Path, file: &str) -> u64 {
    std::fs::read_to_string(dir.join(file))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

/// A shell loop that writes a rising counter to /out/FILE.
fn counter(file: &str) -> String {
    format!("i=0; while :; do i=$((i+1)); echo $i > /out/{file}.tmp; mv /out/{file}.tmp /out/{file}; usleep 20000; done")
}

#[test]
fn pause_uses_the_cgroup_v2_freezer_or_says_why_it_cannot() {
    let env = crate::run::env();
    let name = safename("pause");
    let out = env.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let vol = format!("{}:/out", out.display());
    let id = env.run_detached(&name, &["-v", &vol, "busybox", "sh", "-c", &counter("a")]);
    let inspect = |n: &str| {
        env.rctr(&[
            "inspect",
            "--format",
            "{{.State.Status}} {{.State.Paused}}",
            n,
        ])
        .ok()
        .out()
        .to_string()
    };
    if crate::cgroup::delegated().is_none() {
        // No cgroup v2 subtree the user may write (this host is cgroup v1 with a hybrid
        // unified hierarchy): no cgroup of its own, so podman's refusal, saying what is missing.
        env.rctr(&["pause", &name])
            .code(125)
            .stderr_has(&format!("cannot pause container {name}"))
            .stderr_has("pause is not supported for cgroupv1 rootless containers")
            .stderr_has("no cgroup v2 subtree is delegated to this user");
        env.rctr(&["unpause", &name])
            .code(125)
            .stderr_has("unpause is not supported for cgroupv1 rootless containers");
        // Nothing changed: it still runs, and is not recorded as paused.
        assert!(crate::detach::status(&env, &name).starts_with("Up "));
        assert_eq!(inspect(&name), "running false");
        env.rctr(&["pause", "no-such-container"]).code(125);
        return;
    }
    // An exec'd process is frozen with the rest.
    env.rctr(&["exec", "-d", &name, "sh", "-c", &counter("b")])
        .ok();
    crate::detach::eventually(10, "both counters", || {
        (count(&out, "a") > 0 && count(&out, "b") > 0).then_some(())
    });
    env.rctr(&["pause", &name]).ok().stdout_has(&id);
    let frozen = (count(&out, "a"), count(&out, "b"));
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert_eq!(
        (count(&out, "a"), count(&out, "b")),
        frozen,
        "paused loops ran on"
    );
    assert!(crate::detach::status(&env, &name).starts_with("Paused"));
    assert_eq!(inspect(&name), "paused true");
    let store = env.rctr(&["info", "--format", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&store.stdout).unwrap();
    assert_eq!(
        v["store"]["containerStore"]["paused"], 1,
        "{}",
        store.stdout
    );
    assert_eq!(v["store"]["containerStore"]["running"], 0);
    env.rctr(&["pause", &name])
        .code(125)
        .stderr_has("already paused");
    env.rctr(&["unpause", &name]).ok().stdout_has(&id);
    crate::detach::eventually(10, "both counters to resume", || {
        (count(&out, "a") > frozen.0 && count(&out, "b") > frozen.1).then_some(())
    });
    assert_eq!(inspect(&name), "running false");
    env.rctr(&["unpause", &name])
        .code(125)
        .stderr_has("not paused");
    // stop of a paused container thaws it first, so that its stop signal can act.
    env.rctr(&["pause", &name]).ok();
    env.rctr(&["stop", "-t", "2", &name]).ok();
    assert_eq!(inspect(&name), "exited false");
    // kill and rm -f of a paused container, too.
    env.rctr(&["start", &name]).ok();
    env.rctr(&["pause", &name]).ok();
    env.rctr(&["kill", &name]).ok();
    env.rctr(&["wait", &name]).ok().stdout_has("137");
    env.rctr(&["start", &name]).ok();
    env.rctr(&["pause", &name]).ok();
    env.rctr(&["rm", "-f", &name]).ok();
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).out(), "");
}
