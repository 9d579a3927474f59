//! Which namespaces the container gets: new ones created by `clone`, and existing ones (a `path`
//! in the spec, e.g. `--network container:NAME`) joined with `setns`.
//!
//! Existing namespaces are joined by the *parent* just around the `clone`, and left again right
//! after: the child inherits them, and since they are joined before any new user namespace
//! exists, rctr still holds the privileges over them that `setns` needs.

use super::error::RuntimeError;
use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::fs::File;
use std::os::fd::AsFd;

/// The namespace set-up for one container.
pub struct NsPlan {
    /// Flags for `clone`: the namespaces to create.
    pub flags: CloneFlags,
    /// Existing namespaces to join: (type flag, open namespace file, path for messages).
    pub joins: Vec<(CloneFlags, File, String)>,
}

fn flag(t: LinuxNamespaceType) -> CloneFlags {
    match t {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        LinuxNamespaceType::Time => CloneFlags::empty(),
    }
}

fn kind_name(f: CloneFlags) -> &'static str {
    match f {
        CloneFlags::CLONE_NEWNET => "net",
        CloneFlags::CLONE_NEWPID => "pid",
        CloneFlags::CLONE_NEWIPC => "ipc",
        CloneFlags::CLONE_NEWUTS => "uts",
        CloneFlags::CLONE_NEWCGROUP => "cgroup",
        CloneFlags::CLONE_NEWUSER => "user",
        _ => "mount",
    }
}

/// Reads the spec's namespaces. A mount namespace is always created (the runtime needs one for
/// pivot_root); a user namespace only when the spec carries uid mappings.
pub fn plan(spec: &Spec) -> Result<NsPlan, RuntimeError> {
    let mut flags = CloneFlags::CLONE_NEWNS;
    let mut joins = Vec::new();
    let linux = spec.linux().as_ref();
    let mapped = linux
        .and_then(|l| l.uid_mappings().as_ref())
        .is_some_and(|m| !m.is_empty());
    for ns in linux
        .and_then(|l| l.namespaces().as_ref())
        .into_iter()
        .flatten()
    {
        let t = ns.typ();
        if t == LinuxNamespaceType::Time {
            return Err(RuntimeError::Spec(
                "time namespaces are not supported".into(),
            ));
        }
        let f = flag(t);
        match ns.path() {
            Some(path) => {
                if matches!(t, LinuxNamespaceType::Mount | LinuxNamespaceType::User) {
                    return Err(RuntimeError::Spec(format!(
                        "joining an existing {} namespace (`{}`) is not supported",
                        kind_name(f),
                        path.display()
                    )));
                }
                let file = File::open(path).map_err(|source| RuntimeError::JoinNamespace {
                    kind: kind_name(f),
                    path: path.display().to_string(),
                    source,
                })?;
                joins.push((f, file, path.display().to_string()));
            }
            None if t == LinuxNamespaceType::User => {}
            None if t == LinuxNamespaceType::Cgroup => {
                // Kernels without cgroup namespaces lack this file; the container then shares ours.
                if std::path::Path::new("/proc/self/ns/cgroup").exists() {
                    flags |= f;
                }
            }
            None => flags |= f,
        }
    }
    if mapped {
        flags |= CloneFlags::CLONE_NEWUSER;
    }
    Ok(NsPlan { flags, joins })
}

/// Runs `f` (the clone) with the plan's existing namespaces joined, then returns to our own.
pub fn with_joined<T>(
    plan: &NsPlan,
    f: impl FnOnce() -> Result<T, RuntimeError>,
) -> Result<T, RuntimeError> {
    if plan.joins.is_empty() {
        return f();
    }
    let mut saved = Vec::new();
    for (flag, _, _) in &plan.joins {
        let own = format!("/proc/self/ns/{}", own_name(*flag));
        let file = File::open(&own).map_err(|source| RuntimeError::JoinNamespace {
            kind: kind_name(*flag),
            path: own.clone(),
            source,
        })?;
        saved.push((*flag, file, own));
    }
    let joined = join_all(&plan.joins);
    let result = joined.and_then(|()| f());
    // Returning matters: the parent keeps running network set-up in its own namespaces. One
    // exception: a joined network namespace (`--network container:`) is joined from the user
    // namespace that owns it, where the host's network namespace is out of reach (EPERM); such
    // a container has no network set-up to run, so the parent may stay where it is.
    for (flag, file, path) in &saved {
        match setns(file.as_fd(), *flag) {
            Err(nix::errno::Errno::EPERM) if *flag == CloneFlags::CLONE_NEWNET => {
                log::debug!("staying in the joined network namespace: cannot return to {path}")
            }
            r => r.map_err(|e| RuntimeError::JoinNamespace {
                kind: kind_name(*flag),
                path: path.clone(),
                source: e.into(),
            })?,
        }
    }
    result
}

fn own_name(f: CloneFlags) -> &'static str {
    match f {
        CloneFlags::CLONE_NEWPID => "pid_for_children",
        other => kind_name(other),
    }
}

fn join_all(list: &[(CloneFlags, File, String)]) -> Result<(), RuntimeError> {
    for (flag, file, path) in list {
        setns(file.as_fd(), *flag).map_err(|e| RuntimeError::JoinNamespace {
            kind: kind_name(*flag),
            path: path.clone(),
            source: e.into(),
        })?;
    }
    Ok(())
}
