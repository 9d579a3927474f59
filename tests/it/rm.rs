//! `rm`: `-t/--time` for the stop of a forced removal, and the containers that depend on
//! another (`--network container:`), which podman refuses to orphan unless `--depend`.

use crate::harness::safename;
use std::time::{Duration, Instant};

#[test]
fn rm_force_time_bounds_the_wait_for_the_stop_signal() {
    let env = crate::run::env();
    let name = safename("rt");
    // As pid 1 without a handler, sleep ignores the TERM of the stop: only the KILL ends it.
    env.run_detached(&name, &["busybox", "sleep", "60"]);
    let t = Instant::now();
    env.rctr(&["rm", "-f", "-t", "1", &name]).ok();
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(6),
        "rm -f -t 1 took {took:?}"
    );
    env.run_detached(&name, &["busybox", "sleep", "60"]);
    let t = Instant::now();
    env.rctr(&["rm", "-f", "--time", "0", &name]).ok();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[test]
fn rm_refuses_a_container_others_join_unless_depend() {
    let env = crate::run::env();
    let (a, b, c) = (safename("da"), safename("db"), safename("dc"));
    env.run_detached(&a, &["busybox", "sleep", "60"]);
    let join = |n: &str, target: &str| {
        let net = format!("container:{target}");
        env.rctr(&[
            "run",
            "-d",
            "--name",
            n,
            "--network",
            &net,
            "busybox",
            "sleep",
            "60",
        ])
        .ok()
        .out()
        .to_string()
    };
    let b_id = join(&b, &a);
    let c_id = join(&c, &b);
    let a_id = env
        .rctr(&["inspect", "--format", "{{.Id}}", &a])
        .ok()
        .out()
        .to_string();
    for force in [false, true] {
        let mut args = vec!["rm", "-t", "0"];
        if force {
            args.push("-f");
        }
        args.push(&a);
        env.rctr(&args).code(125).stderr_has(&format!(
            "container {a_id} has dependent containers which must be removed before it: {b_id}"
        ));
    }
    assert_eq!(env.rctr(&["ps", "-q"]).out().lines().count(), 3);
    // --depend removes the chain, dependents first.
    let out = env.rctr(&["rm", "-f", "-t", "0", "--depend", &a]).ok();
    let order: Vec<&str> = out.out().lines().collect();
    assert_eq!(order, [c_id.as_str(), b_id.as_str(), a_id.as_str()]);
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).out(), "");
}

/// `volume rm -f`, `network rm -f` and `rmi -f` remove the containers that use what they
/// remove. A user that another container joins (`--network container:`) goes only with that
/// container: the joined one is removed first when it is a user too, and otherwise the whole
/// removal is refused before anything is stopped.
#[test]
fn forced_removals_take_joined_containers_in_order_or_touch_nothing() {
    let env = crate::run::env();
    let (base, joiner, vol, net) = (
        safename("fb"),
        safename("fj"),
        safename("fv"),
        safename("fn"),
    );
    env.rctr(&["volume", "create", &vol]).ok();
    env.rctr(&["network", "create", &net]).ok();
    let mount = format!("{vol}:/data");
    let joined = format!("container:{base}");
    for (name, args) in [
        (&base, &["-v", &mount, "--network", &net][..]),
        (&joiner, &["--network", &joined][..]),
    ] {
        let mut all = args.to_vec();
        all.extend(["--stop-signal", "KILL", "busybox", "sleep", "60"]);
        env.run_detached(name, &all);
    }
    let running = || env.rctr(&["ps", "-q"]).ok().out().lines().count();
    assert_eq!(running(), 2);
    // Only `base` uses the volume and the network; `joiner` would be orphaned.
    env.rctr(&["volume", "rm", "-f", &vol])
        .code(125)
        .stderr_has(&format!("volume {vol}"))
        .stderr_has("has dependent containers");
    env.rctr(&["network", "rm", "-f", &net])
        .code(125)
        .stderr_has("has dependent containers");
    assert_eq!(running(), 2, "a refused removal stops nothing");
    env.rctr(&["volume", "inspect", &vol]).ok();
    env.rctr(&["network", "inspect", &net]).ok();
    // Both use the image: the joined container goes first, then the one it joined.
    env.rctr(&["rmi", "-f", "busybox"]).ok();
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).ok().out(), "");
    env.rctr(&["image", "exists", "busybox"]).code(1);
    env.rctr(&["volume", "rm", &vol]).ok();
    env.rctr(&["network", "rm", &net]).ok();
}
