//! Makes the current process root in a new user namespace with rctr's mapping.
//!
//! The full mapping needs the setuid `newuidmap`/`newgidmap` helpers, which must run *outside* the
//! new namespace and target our pid. So a helper child is forked first; the parent unshares
//! CLONE_NEWUSER and tells the child to map it; the child runs the helpers and reports back.
//! unshare(CLONE_NEWUSER) requires a single-threaded process: call this before any tokio runtime
//! or other thread exists.

use super::idmap::{map_text, IdMap};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;

/// Errors entering the user namespace. Each names the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("cannot create a user namespace (unshare(CLONE_NEWUSER)): {0}")]
    Unshare(#[source] nix::Error),
    #[error("cannot fork the id-mapping helper: {0}")]
    Fork(#[source] nix::Error),
    #[error("{tool} failed to map ids for pid {pid}: {message}")]
    Helper {
        tool: &'static str,
        pid: i32,
        message: String,
    },
    #[error("cannot write `{path}`: {source}")]
    WriteMap {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot become root in the new user namespace: {0}")]
    SetId(#[source] nix::Error),
    #[error("the process has {0} threads; a user namespace can only be entered single-threaded")]
    Threaded(usize),
}

/// Whether the process is already root (real root, or root in a namespace it created earlier).
pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Makes this process root in a new user namespace with `map`, unless it is root already.
/// Returns whether a namespace was entered.
pub fn become_root(map: &IdMap) -> Result<bool, UsernsError> {
    if is_root() {
        return Ok(false);
    }
    let threads = thread_count();
    if threads > 1 {
        return Err(UsernsError::Threaded(threads));
    }
    if map.full {
        enter_with_helpers(map)?;
    } else {
        unshare(CloneFlags::CLONE_NEWUSER).map_err(UsernsError::Unshare)?;
        write_own_maps(map)?;
    }
    set_root()?;
    Ok(true)
}

fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(1)
}

fn set_root() -> Result<(), UsernsError> {
    use nix::unistd::{setresgid, setresuid, Gid, Uid};
    setresgid(Gid::from_raw(0), Gid::from_raw(0), Gid::from_raw(0)).map_err(UsernsError::SetId)?;
    setresuid(Uid::from_raw(0), Uid::from_raw(0), Uid::from_raw(0)).map_err(UsernsError::SetId)?;
    Ok(())
}

/// Writes a single-id mapping for the current process. Without a helper, an unprivileged process
/// may map only its own ids, and must deny setgroups before writing gid_map.
fn write_own_maps(map: &IdMap) -> Result<(), UsernsError> {
    write_proc("/proc/self/setgroups", "deny")?;
    write_proc("/proc/self/uid_map", &map_text(&map.uids))?;
    write_proc("/proc/self/gid_map", &map_text(&map.gids))?;
    Ok(())
}

fn write_proc(path: &str, text: &str) -> Result<(), UsernsError> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|source| UsernsError::WriteMap {
            path: path.into(),
            source,
        })
}

/// Writes maps for another process `pid` from outside its namespace with the setuid helpers.
/// Used both here (for ourselves, from a forked child) and by the runtime for container children.
pub fn map_with_helpers(pid: Pid, map: &IdMap) -> Result<(), UsernsError> {
    run_helper("newuidmap", pid, &map.uids)?;
    run_helper("newgidmap", pid, &map.gids)?;
    Ok(())
}

fn run_helper(
    tool: &'static str,
    pid: Pid,
    ranges: &[super::idmap::IdRange],
) -> Result<(), UsernsError> {
    let mut cmd = std::process::Command::new(tool);
    cmd.arg(pid.to_string());
    for r in ranges {
        cmd.arg(r.container.to_string())
            .arg(r.host.to_string())
            .arg(r.size.to_string());
    }
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| UsernsError::Helper {
            tool,
            pid: pid.as_raw(),
            message: format!("cannot run `{tool}`: {e} (install the `uidmap` package)"),
        })?;
    if !out.status.success() {
        return Err(UsernsError::Helper {
            tool,
            pid: pid.as_raw(),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

fn enter_with_helpers(map: &IdMap) -> Result<(), UsernsError> {
    let (go_r, go_w) = nix::unistd::pipe().map_err(UsernsError::Fork)?;
    let (res_r, res_w) = nix::unistd::pipe().map_err(UsernsError::Fork)?;
    let parent = nix::unistd::getpid();
    // SAFETY: the process is single-threaded (checked by the caller), so the child may allocate
    // and spawn processes before it exits.
    match unsafe { fork() }.map_err(UsernsError::Fork)? {
        ForkResult::Child => {
            drop(go_w);
            drop(res_r);
            let mut go = std::fs::File::from(go_r);
            let mut b = [0u8; 1];
            let msg = match go.read_exact(&mut b) {
                Ok(()) => match map_with_helpers(parent, map) {
                    Ok(()) => String::new(),
                    Err(e) => e.to_string(),
                },
                Err(_) => "parent exited before unsharing".to_string(),
            };
            let mut res = std::fs::File::from(res_w);
            let _ = res.write_all(msg.as_bytes());
            // SAFETY: _exit skips atexit handlers and destructors that belong to the parent.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(go_r);
            drop(res_w);
            let unshared = unshare(CloneFlags::CLONE_NEWUSER);
            let mut go = std::fs::File::from(go_w);
            if unshared.is_ok() {
                let _ = go.write_all(b"g");
            }
            drop(go);
            let mut msg = String::new();
            let mut res = std::fs::File::from(res_r);
            let _ = res.read_to_string(&mut msg);
            loop {
                match waitpid(child, None) {
                    Ok(WaitStatus::Exited(..)) | Ok(WaitStatus::Signaled(..)) | Err(_) => break,
                    _ => continue,
                }
            }
            unshared.map_err(UsernsError::Unshare)?;
            if !msg.is_empty() {
                return Err(UsernsError::Helper {
                    tool: "newuidmap",
                    pid: parent.as_raw(),
                    message: msg,
                });
            }
            let _ = res.as_raw_fd();
            Ok(())
        }
    }
}
