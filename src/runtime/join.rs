//! Joining a running container for `exec`: its user namespace first (allowed for the
//! namespace's owner, and it grants the capabilities needed for the rest), then its mount and
//! pid namespaces, then a fork (a pid namespace applies only to children), then uts, ipc, net
//! and cgroup, and finally the container's own process settings: capabilities, seccomp, user,
//! environment, working directory. No re-exec and no store access, so it takes milliseconds.

use super::caps::{self, CapMasks};
use super::error::{ChildError, RuntimeError};
use super::exec;
use super::seccomp::SeccompProgram;
use nix::sched::{setns, CloneFlags};
use nix::unistd::{fork, ForkResult, Pid};
use oci_spec::runtime::Process;
use std::fs::File;

/// The namespaces joined after the user namespace, in order, with the flag for each.
const ORDER: &[(&str, CloneFlags)] = &[
    ("mnt", CloneFlags::CLONE_NEWNS),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
];

/// How `exec_in` treats the new process.
pub struct JoinOptions<'a> {
    /// The process to run: args, env, cwd, user, capabilities, no_new_privileges.
    pub process: &'a Process,
    pub seccomp: Option<&'a SeccompProgram>,
    /// Give the process /dev/null as stdin (exec without -i).
    pub null_stdin: bool,
    /// Do not wait: return 0 as soon as the process is started (exec -d).
    pub detach: bool,
}

/// Runs a process inside the namespaces of container process `pid`; returns its exit code
/// (126/127 when it cannot be executed, as for `run`). Call it single-threaded, from the host's
/// user namespace.
pub fn exec_in(pid: i32, o: &JoinOptions) -> Result<i32, RuntimeError> {
    let open = |kind: &'static str| {
        let path = format!("/proc/{pid}/ns/{kind}");
        File::open(&path).map_err(|e| RuntimeError::JoinNamespace {
            kind,
            path: path.clone(),
            source: e,
        })
    };
    // Open them all before joining any: after the mount namespace, /proc is the container's.
    let user = open("user")?;
    let mine = File::open("/proc/self/ns/user").ok();
    let mut others = Vec::new();
    for (kind, flag) in ORDER {
        let f = open(kind)?;
        // Skip namespaces the container shares with us (e.g. --network host).
        let same = std::fs::metadata(format!("/proc/self/ns/{kind}"))
            .ok()
            .zip(f.metadata().ok())
            .is_some_and(|(a, b)| {
                use std::os::unix::fs::MetadataExt;
                a.ino() == b.ino() && a.dev() == b.dev()
            });
        if !same {
            others.push((*kind, *flag, f));
        }
    }
    let join = |kind: &'static str, f: &File, flag| {
        setns(f, flag).map_err(|e| RuntimeError::JoinNamespace {
            kind,
            path: format!("/proc/{pid}/ns/{kind}"),
            source: e.into(),
        })
    };
    let same_user = mine
        .as_ref()
        .and_then(|m| m.metadata().ok())
        .zip(user.metadata().ok())
        .is_some_and(|(a, b)| {
            use std::os::unix::fs::MetadataExt;
            a.ino() == b.ino()
        });
    if !same_user {
        join("user", &user, CloneFlags::CLONE_NEWUSER)?;
    }
    for (kind, flag, f) in others.iter().filter(|(k, ..)| matches!(*k, "mnt" | "pid")) {
        join(kind, f, *flag)?;
    }
    // SAFETY: single-threaded (the caller's contract).
    match unsafe { fork() }.map_err(|e| RuntimeError::Clone {
        flags: "fork".into(),
        source: e,
    })? {
        ForkResult::Child => {
            for (kind, flag, f) in others.iter().filter(|(k, ..)| !matches!(*k, "mnt" | "pid")) {
                if let Err(e) = join(kind, f, *flag) {
                    eprintln!("Error: {e}");
                    std::process::exit(125);
                }
            }
            let e = become_process(o);
            eprintln!("Error: {e}");
            std::process::exit(e.code);
        }
        ForkResult::Parent { child } => {
            if o.detach {
                return Ok(0);
            }
            super::process::wait(Pid::from_raw(child.as_raw()))
        }
    }
}

/// In the forked child: the container process's settings, then exec. Returns only on failure.
fn become_process(o: &JoinOptions) -> ChildError {
    match try_become(o) {
        Ok(e) | Err(e) => e,
    }
}

fn try_become(o: &JoinOptions) -> Result<ChildError, ChildError> {
    let p = o.process;
    if o.null_stdin {
        if let Ok(n) = File::open("/dev/null") {
            use std::os::fd::AsRawFd;
            // SAFETY: dup2 onto stdin of this process.
            unsafe { libc::dup2(n.as_raw_fd(), 0) };
        }
    }
    let m = CapMasks::from_spec(p.capabilities().as_ref());
    let nnp = p.no_new_privileges() == Some(true);
    let install = || match o.seccomp {
        Some(s) => s
            .install()
            .map_err(|e| ChildError::os("seccomp", "", "cannot load the seccomp filter".into(), e)),
        None => Ok(()),
    };
    if !nnp {
        install()?;
    }
    caps::apply_bounding(&m)?;
    // SAFETY: prctl with integer arguments; keeps permitted capabilities across setuid.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    super::limits::set_user(p.user())?;
    caps::apply_sets(&m)?;
    if nnp {
        // SAFETY: as above.
        unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
        install()?;
    }
    let (path, args, env) = exec::prepare(p)?;
    Ok(exec::exec(&path, args, env))
}
