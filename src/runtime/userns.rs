//! Makes the current process root in a new user namespace with rctr's mapping.
//!
//! The full mapping needs the setuid `newuidmap`/`newgidmap` helpers, which must run *outside* the
//! new namespace and target our pid. So the two helper children are started first; the parent
//! unshares CLONE_NEWUSER and tells them to map it; they exec the helpers, and their exit
//! status and stderr report back.
//! unshare(CLONE_NEWUSER) requires a single-threaded process: call this before any tokio runtime
//! or other thread exists.

use super::idmap::{map_text, IdMap};
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};

/// Errors entering the user namespace. Each names the step that failed.
#[derive(Debug, thiserror::Error)]
pub enum UsernsError {
    #[error("cannot create a user namespace (unshare(CLONE_NEWUSER)): {0}")]
    Unshare(#[source] nix::Error),
    #[error("cannot create a pipe for the id-mapping helpers: {0}")]
    Pipe(#[source] nix::Error),
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

/// Writes maps for another process `pid` from outside its namespace with the setuid helpers,
/// newuidmap and newgidmap running at the same time.
pub fn map_with_helpers(pid: Pid, map: &IdMap) -> Result<(), UsernsError> {
    let uid = Helper::prepare("newuidmap", pid, &map.uids)?.start(None)?;
    let gid = Helper::prepare("newgidmap", pid, &map.gids)?.start(None);
    let uid_done = uid.finish();
    gid?.finish()?;
    uid_done
}

/// One run of newuidmap or newgidmap, with everything it needs allocated before it starts.
struct Helper {
    tool: &'static str,
    pid: Pid,
    path: CString,
    argv: Vec<CString>,
}

/// A started helper: its pid, the read end of its stderr, and the memory its child runs on.
struct Running {
    tool: &'static str,
    target: Pid,
    child: Pid,
    stderr: std::fs::File,
    /// Shared with the child until it execs or exits; freed only once it has been reaped.
    mem: Option<Box<ChildMem>>,
}

/// What the helper child reads before it execs. With CLONE_VM the child runs in this process's
/// memory, so this must stay put (boxed) and alive until the child is reaped.
struct ChildMem {
    stack: Vec<u8>,
    go_r: libc::c_int,
    go_w: libc::c_int,
    err_w: libc::c_int,
    path: CString,
    argv: Vec<CString>,
    argv_ptrs: Vec<*const libc::c_char>,
}

/// Bytes of stack for the helper child: it only makes a few system calls before execv.
const CHILD_STACK: usize = 32 * 1024;

impl Helper {
    fn prepare(
        tool: &'static str,
        pid: Pid,
        ranges: &[super::idmap::IdRange],
    ) -> Result<Helper, UsernsError> {
        let path = find_tool(tool).ok_or_else(|| UsernsError::Helper {
            tool,
            pid: pid.as_raw(),
            message: format!("`{tool}` is not installed (install the `uidmap` package)"),
        })?;
        let mut args = vec![tool.to_string(), pid.to_string()];
        for r in ranges {
            args.extend([r.container, r.host, r.size].map(|n| n.to_string()));
        }
        let cstr = |s: String| CString::new(s).expect("numbers and tool names have no NUL");
        Ok(Helper {
            tool,
            pid,
            path: cstr(path.into_os_string().into_string().unwrap_or_default()),
            argv: args.into_iter().map(cstr).collect(),
        })
    }

    /// Starts the helper. With `go` (the two ends of a pipe), the child closes the write end and
    /// waits for one byte on the read end (the parent's signal that it has unshared its user
    /// namespace); at end of file it exits without running the tool.
    ///
    /// The child is cloned with CLONE_VM, as posix_spawn does, rather than forked: it shares
    /// this process's memory until it execs, so starting it copies no page tables of rctr's large
    /// address space and the parent takes no copy-on-write faults while the helper starts.
    fn start(self, go: Option<(&OwnedFd, &OwnedFd)>) -> Result<Running, UsernsError> {
        let fork_err = |e| UsernsError::Helper {
            tool: self.tool,
            pid: self.pid.as_raw(),
            message: format!("cannot start it: {e}"),
        };
        let (err_r, err_w) = nix::unistd::pipe().map_err(fork_err)?;
        let mut mem = Box::new(ChildMem {
            stack: vec![0u8; CHILD_STACK],
            go_r: go.map_or(-1, |(r, _)| r.as_raw_fd()),
            go_w: go.map_or(-1, |(_, w)| w.as_raw_fd()),
            err_w: err_w.as_raw_fd(),
            path: self.path,
            argv: self.argv,
            argv_ptrs: Vec::new(),
        });
        mem.argv_ptrs = mem
            .argv
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        // The stack grows down from its 16-byte-aligned top.
        let top = (mem.stack.as_mut_ptr() as usize + CHILD_STACK) & !15;
        let arg: *mut ChildMem = &mut *mem;
        // SAFETY: the child runs `helper_main` on its own stack, reads only `mem` (boxed, and kept
        // alive in `Running` until the child is reaped) and makes only raw system calls until
        // execv or _exit; it takes no lock another thread could hold, as with posix_spawn.
        let pid = unsafe {
            libc::clone(
                helper_main,
                top as *mut libc::c_void,
                libc::CLONE_VM | libc::SIGCHLD,
                arg.cast(),
            )
        };
        if pid < 0 {
            return Err(fork_err(nix::Error::last()));
        }
        drop(err_w);
        Ok(Running {
            tool: self.tool,
            target: self.pid,
            child: Pid::from_raw(pid),
            stderr: std::fs::File::from(err_r),
            mem: Some(mem),
        })
    }
}

/// The helper child (see `Helper::start`).
extern "C" fn helper_main(arg: *mut libc::c_void) -> libc::c_int {
    const NOT_RUN: &[u8] = b"cannot run the helper\n";
    // SAFETY: `arg` points to the `ChildMem` the parent keeps alive; only async-signal-safe
    // calls follow, on descriptors of this child's own (copied) descriptor table.
    unsafe {
        let m = &*(arg as *const ChildMem);
        if m.go_r >= 0 {
            libc::close(m.go_w);
            let mut b = 0u8;
            if libc::read(m.go_r, (&mut b as *mut u8).cast(), 1) != 1 {
                libc::_exit(0);
            }
        }
        libc::dup2(m.err_w, 2);
        libc::dup2(m.err_w, 1);
        libc::execv(m.path.as_ptr(), m.argv_ptrs.as_ptr());
        libc::write(2, NOT_RUN.as_ptr().cast(), NOT_RUN.len());
        libc::_exit(127)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Not reaped (an error path dropped it): the child may still be using this memory,
        // so it is leaked rather than freed under it.
        if let Some(mem) = self.mem.take() {
            std::mem::forget(mem);
        }
    }
}

impl Running {
    /// Waits for the helper and turns a failure into an error carrying its message.
    fn finish(mut self) -> Result<(), UsernsError> {
        let (reaped, status) = loop {
            match waitpid(self.child, None) {
                Ok(WaitStatus::Exited(_, code)) => break (true, Some(code)),
                Ok(WaitStatus::Signaled(..)) => break (true, None),
                Ok(_) | Err(nix::Error::EINTR) => continue,
                // Cannot be reaped: its memory stays leaked (see Drop).
                Err(_) => break (false, None),
            }
        };
        if reaped {
            // The memory it ran on is ours again.
            drop(self.mem.take());
        }
        // The write end was closed by the helper's exit (and ours by `start` returning).
        let mut message = String::new();
        let _ = self.stderr.read_to_string(&mut message);
        let message = message.trim().to_string();
        match status {
            Some(0) => Ok(()),
            _ => Err(UsernsError::Helper {
                tool: self.tool,
                pid: self.target.as_raw(),
                message: if message.is_empty() {
                    format!("`{}` failed with {status:?}", self.tool)
                } else {
                    message
                },
            }),
        }
    }
}

/// The helper's absolute path: the usual places first, then `$PATH`. Looking it up here saves
/// the forked child from trying every `$PATH` entry with execve.
fn find_tool(tool: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(std::path::PathBuf::from)
        .chain(std::env::split_paths(&path))
        .map(|d| d.join(tool))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Enters a new user namespace mapped by newuidmap and newgidmap. Both helpers are forked first
/// and wait on a pipe; once this process has unshared, one byte to each lets them exec and map
/// it at the same time.
fn enter_with_helpers(map: &IdMap) -> Result<(), UsernsError> {
    let me = nix::unistd::getpid();
    let uid = Helper::prepare("newuidmap", me, &map.uids)?;
    let gid = Helper::prepare("newgidmap", me, &map.gids)?;
    let (go_r, go_w) = nix::unistd::pipe().map_err(UsernsError::Pipe)?;
    let uid = uid.start(Some((&go_r, &go_w)))?;
    let gid = match gid.start(Some((&go_r, &go_w))) {
        Ok(g) => g,
        Err(e) => {
            drop(go_w); // the uid helper reads end of file and exits
            let _ = uid.finish();
            return Err(e);
        }
    };
    drop(go_r);
    let unshared = unshare(CloneFlags::CLONE_NEWUSER);
    let mut go = std::fs::File::from(go_w);
    if unshared.is_ok() {
        let _ = go.write_all(b"gg");
    }
    drop(go);
    let uid_done = uid.finish();
    let gid_done = gid.finish();
    unshared.map_err(UsernsError::Unshare)?;
    uid_done?;
    gid_done
}
