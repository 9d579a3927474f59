//! Launching the container process: one raw clone(2) that creates the namespaces (so the child
//! is pid 1 of its pid namespace without a second fork), then the parent's half of the sync
//! protocol — write the id maps, run `on_created`, collect the pty master, release the child,
//! and learn whether its execve succeeded.

use super::caps::CapMasks;
use super::child::{self, ChildArgs};
use super::clone;
use super::error::{ChildError, RuntimeError};
use super::namespaces::{self, NsPlan};
use super::seccomp::{self, SeccompProgram};
use super::sync::{self, SyncSocket};
use super::{LaunchOptions, Launched};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::Spec;
use std::os::fd::AsFd;
use std::path::PathBuf;

/// Starts the container described by `spec` (whose root is already mounted) and returns once its
/// process has exec'd the command. Must be called while single-threaded.
pub fn launch(spec: &Spec, opts: LaunchOptions) -> Result<Launched, RuntimeError> {
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| RuntimeError::Spec("the spec has no `process`".into()))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(RuntimeError::Spec(
            "the spec's `process.args` is empty".into(),
        ));
    }
    let rootfs = rootfs_path(spec)?;
    let plan = namespaces::plan(spec)?;
    let spec_seccomp;
    let seccomp: Option<&SeccompProgram> = match (
        &opts.seccomp,
        spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()),
    ) {
        (Some(p), _) => Some(p),
        (None, Some(s)) => {
            spec_seccomp = seccomp::from_spec(s)?;
            Some(&spec_seccomp)
        }
        (None, None) => None,
    };
    let userns = plan.flags.contains(CloneFlags::CLONE_NEWUSER);
    let cgroup = opts.cgroup.as_ref().map(|f| f.as_fd());
    // A cgroup namespace is rooted at the cgroup its creator is in. With a cgroup of its own,
    // the child creates it (unshare) once inside, rather than the clone: that holds for the
    // fallback too, where the child moves itself only after the clone, and the container sees
    // its cgroup as `/` either way.
    let mut flags = plan.flags;
    let own_cgroupns = cgroup.is_some() && flags.contains(CloneFlags::CLONE_NEWCGROUP);
    if own_cgroupns {
        flags.remove(CloneFlags::CLONE_NEWCGROUP);
    }
    let (parent_sock, child_sock) = SyncSocket::pair().map_err(RuntimeError::Socket)?;
    let args = ChildArgs {
        spec,
        process,
        rootfs,
        sync: child_sock,
        userns,
        new_uts: plan.flags.contains(CloneFlags::CLONE_NEWUTS),
        new_net: plan.flags.contains(CloneFlags::CLONE_NEWNET),
        use_mknod: !userns && in_initial_userns(),
        stdio: &opts.stdio,
        init: opts.init,
        seccomp,
        caps: CapMasks::from_spec(process.capabilities().as_ref()),
        cgroup: None,
        unshare_cgroupns: own_cgroupns,
    };
    let (pid, placed) = namespaces::with_joined(&plan, || {
        // SAFETY: the caller is single-threaded (this function's contract).
        unsafe { clone::fork_into(flags, cgroup) }.map_err(|source| RuntimeError::Clone {
            flags: format!("{flags:?}"),
            source,
        })
    })?;
    let Some(pid) = pid else {
        // The child must not hold the parent's end, or it would never see rctr go away.
        drop(parent_sock);
        let mut args = args;
        if placed == clone::Placed::ByChild {
            args.cgroup = cgroup;
        }
        child::run(args);
    };
    drop(args);
    let mut guard = Reaper(Some(pid));
    let result = drive(spec, &plan, pid, &parent_sock, opts);
    if result.is_ok() {
        guard.0 = None;
    }
    result
}

/// Kills and reaps a child that failed during set-up, on every error path.
struct Reaper(Option<Pid>);

impl Drop for Reaper {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

fn drive(
    spec: &Spec,
    plan: &NsPlan,
    pid: Pid,
    sock: &SyncSocket,
    opts: LaunchOptions,
) -> Result<Launched, RuntimeError> {
    if plan.flags.contains(CloneFlags::CLONE_NEWUSER) {
        write_maps(spec, pid)?;
        sock.send(sync::MAPPED, &[], None)
            .map_err(RuntimeError::Sync)?;
    }
    if let Some(cb) = opts.on_created {
        cb(pid).map_err(RuntimeError::OnCreated)?;
    }
    let mut pty_master = None;
    loop {
        let m = sock.recv().map_err(RuntimeError::Sync)?;
        match m.tag {
            sync::PTY => pty_master = m.fd,
            sync::READY => break,
            _ => return Err(child_failure(pid, m)),
        }
    }
    sock.send(sync::GO, &[], None).map_err(RuntimeError::Sync)?;
    let m = sock.recv().map_err(RuntimeError::Sync)?;
    if m.tag != sync::EOF {
        return Err(child_failure(pid, m));
    }
    Ok(Launched { pid, pty_master })
}

/// The error a child reported, or a description of how it vanished.
fn child_failure(pid: Pid, m: sync::Message) -> RuntimeError {
    if m.tag == sync::ERROR {
        if let Ok(e) = serde_json::from_slice::<ChildError>(&m.payload) {
            return RuntimeError::Child(e);
        }
    }
    let status = match waitpid(pid, None) {
        Ok(WaitStatus::Exited(_, c)) => format!("exit status {c}"),
        Ok(WaitStatus::Signaled(_, s, _)) => format!("killed by {s}"),
        Ok(other) => format!("{other:?}"),
        Err(e) => e.to_string(),
    };
    RuntimeError::ChildVanished {
        pid: pid.as_raw(),
        status,
    }
}

fn rootfs_path(spec: &Spec) -> Result<PathBuf, RuntimeError> {
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| RuntimeError::Spec("the spec has no `root`".into()))?;
    let p = root.path();
    if p.is_absolute() {
        return Ok(p.clone());
    }
    std::env::current_dir().map(|d| d.join(p)).map_err(|e| {
        RuntimeError::Spec(format!(
            "cannot resolve the relative root `{}`: {e}",
            p.display()
        ))
    })
}

/// Writes the nested user namespace's maps directly: rctr is root in the outer namespace, so it
/// may map any of its ids without the setuid helpers (and without denying setgroups).
fn write_maps(spec: &Spec, pid: Pid) -> Result<(), RuntimeError> {
    let linux = spec.linux().as_ref();
    let text = |m: Option<&Vec<oci_spec::runtime::LinuxIdMapping>>| {
        m.into_iter()
            .flatten()
            .map(|r| format!("{} {} {}\n", r.container_id(), r.host_id(), r.size()))
            .collect::<String>()
    };
    for (file, body) in [
        (
            "uid_map",
            text(linux.and_then(|l| l.uid_mappings().as_ref())),
        ),
        (
            "gid_map",
            text(linux.and_then(|l| l.gid_mappings().as_ref())),
        ),
    ] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, body).map_err(|source| RuntimeError::IdMap { path, source })?;
    }
    Ok(())
}

fn in_initial_userns() -> bool {
    std::fs::read_to_string("/proc/self/uid_map")
        .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
}

/// Waits for the container process and returns its exit code (128+N when killed by signal N).
pub fn wait(pid: Pid) -> Result<i32, RuntimeError> {
    loop {
        match waitpid(pid, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) | Err(nix::Error::EINTR) => continue,
            Err(source) => {
                return Err(RuntimeError::Wait {
                    pid: pid.as_raw(),
                    source,
                })
            }
        }
    }
}

/// Like [`wait`] but returns None when the process is still running.
pub fn try_wait(pid: Pid) -> Result<Option<i32>, RuntimeError> {
    match waitpid(pid, Some(nix::sys::wait::WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::Exited(_, code)) => Ok(Some(code)),
        Ok(WaitStatus::Signaled(_, sig, _)) => Ok(Some(128 + sig as i32)),
        Ok(_) | Err(nix::Error::EINTR) => Ok(None),
        Err(source) => Err(RuntimeError::Wait {
            pid: pid.as_raw(),
            source,
        }),
    }
}
