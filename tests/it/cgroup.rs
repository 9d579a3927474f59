//! Each container's own cgroup v2 cgroup, under the subtree the test bed delegates to the test
//! user (tests/fixtures/setup.sh, as systemd delegates user@UID.service): created at start,
//! seen from inside as `/`, holding exec'd processes too, and removed with the container.

use crate::detach::eventually;
use crate::harness::{safename, testbed};
use std::path::{Path, PathBuf};

/// The delegated subtree the tests run in (`<cgroup2>/rctrtest`), or None when the test bed has
/// none or the tests were started by hand outside it. tests/run starts them inside it and says
/// so (RCTR_TEST_IN_CGROUP=1), so that there the working path is tested, never skipped.
pub fn delegated() -> Option<PathBuf> {
    let Some(d) = testbed()
        .get("RCTR_TEST_CGROUP")
        .filter(|s| !s.is_empty())
        .map(PathBuf::from)
    else {
        eprintln!("skipped: this host has no cgroup2 hierarchy to delegate (RCTR_TEST_CGROUP)");
        return None;
    };
    let text = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let own = text
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/");
    let mount = d.parent().unwrap();
    if mount.join(own.trim_start_matches('/')).starts_with(&d) {
        return Some(d);
    }
    assert!(
        std::env::var("RCTR_TEST_IN_CGROUP").as_deref() != Ok("1"),
        "tests/run should have started the tests inside `{}`, not `{own}`",
        d.display()
    );
    eprintln!(
        "skipped: started outside the delegated cgroup `{}` (tests/run starts them inside)",
        d.display()
    );
    None
}

/// Where container `id` has its cgroup under the delegated subtree `d`.
pub fn cgroup_of(d: &Path, id: &str) -> PathBuf {
    d.join("rctr").join(id)
}

/// A pid field of a container's `inspect` State (`Pid`, `ConmonPid`).
fn state_pid(env: &crate::harness::TestEnv, name: &str, field: &str) -> i32 {
    let format = format!("{{{{.State.{field}}}}}");
    env.rctr(&["inspect", "--format", &format, name])
        .ok()
        .out()
        .parse()
        .unwrap()
}

/// The host pids in a cgroup.
fn procs(cg: &Path) -> Vec<i32> {
    std::fs::read_to_string(cg.join("cgroup.procs"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[test]
fn a_container_sees_its_own_cgroup_as_the_root() {
    let env = crate::run::env();
    let r = env
        .rctr(&["run", "--rm", "busybox", "cat", "/proc/self/cgroup"])
        .ok();
    let line = r.stdout.lines().find(|l| l.starts_with("0::"));
    if delegated().is_some() {
        // A cgroup namespace rooted at the container's own cgroup.
        assert_eq!(line, Some("0::/"), "{}", r.stdout);
    } else {
        assert!(line.is_some(), "{}", r.stdout);
    }
}

#[test]
fn a_detached_container_and_its_exec_processes_live_in_its_cgroup_until_rm() {
    let Some(d) = delegated() else {
        // No delegated subtree: nothing is created, and pause says why (top.rs).
        return;
    };
    let env = crate::run::env();
    let name = safename("cgdet");
    let id = env.run_detached(&name, &["busybox", "sleep", "600"]);
    let cg = cgroup_of(&d, &id);
    let pid1 = state_pid(&env, &name, "Pid");
    assert!(
        procs(&cg).contains(&pid1),
        "{:?} in {}",
        procs(&cg),
        cg.display()
    );
    // The monitor stays outside: freezing the container must not freeze it.
    let monitor = state_pid(&env, &name, "ConmonPid");
    assert!(!procs(&cg).contains(&monitor));
    env.rctr(&["exec", "-d", &name, "sleep", "601"]).ok();
    eventually(10, "the exec'd sleep in the cgroup", || {
        (procs(&cg).len() == 2).then_some(())
    });
    env.rctr(&["exec", &name, "cat", "/proc/self/cgroup"])
        .ok()
        .stdout_has("0::/\n");
    env.rctr(&["rm", "-f", "-t", "0", &name]).ok();
    assert!(!cg.exists(), "{} outlived rm -f", cg.display());
}

#[test]
fn run_rm_removes_the_cgroup() {
    let Some(d) = delegated() else {
        return;
    };
    let env = crate::run::env();
    let cid = env.path().join("cid");
    let mut child = env
        .cmd(&[
            "run",
            "--rm",
            "--cidfile",
            cid.to_str().unwrap(),
            "busybox",
            "sleep",
            "2",
        ])
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let cg = eventually(10, "the container's cgroup", || {
        let id = std::fs::read_to_string(&cid).ok()?;
        let cg = cgroup_of(&d, id.trim());
        (!procs(&cg).is_empty()).then_some(cg)
    });
    assert!(child.wait().unwrap().success());
    assert!(!cg.exists(), "{} outlived run --rm", cg.display());
}

#[test]
fn rm_f_removes_the_cgroup_left_by_a_killed_monitor() {
    let Some(d) = delegated() else {
        return;
    };
    let env = crate::run::env();
    let name = safename("cgorphan");
    let id = env.run_detached(&name, &["busybox", "sleep", "600"]);
    let cg = cgroup_of(&d, &id);
    let monitor = state_pid(&env, &name, "ConmonPid");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(monitor),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    eventually(10, "the monitor to die", || {
        (!Path::new(&format!("/proc/{monitor}/cmdline")).exists()
            || std::fs::read_to_string(format!("/proc/{monitor}/stat"))
                .is_ok_and(|s| s.contains(") Z ")))
        .then_some(())
    });
    // Nobody removed it: the container runs on in it.
    assert!(!procs(&cg).is_empty());
    env.rctr(&["rm", "-f", "-t", "0", &name]).ok();
    assert!(!cg.exists(), "{} outlived rm -f", cg.display());
}
