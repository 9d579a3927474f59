//! The container child, from clone to execve. Each step runs in the order the kernel requires;
//! any failure is sent to the parent as a [`ChildError`] before the child exits with its code.

use super::caps::{self, CapMasks};
use super::error::ChildError;
use super::exec;
use super::seccomp::SeccompProgram;
use super::sync::{self, SyncSocket};
use super::{init, limits, rootfs, tty, StdioMode};
use nix::sys::signal::{SigSet, SigmaskHow};
use oci_spec::runtime::{Process, Spec};
use std::convert::Infallible;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

/// Everything the child needs, prepared by the parent before clone.
pub struct ChildArgs<'a> {
    pub spec: &'a Spec,
    pub process: &'a Process,
    pub rootfs: PathBuf,
    pub sync: SyncSocket,
    pub userns: bool,
    pub new_uts: bool,
    /// The clone made a network namespace, whose loopback is down until brought up.
    pub new_net: bool,
    pub use_mknod: bool,
    pub stdio: &'a StdioMode,
    pub init: bool,
    pub seccomp: Option<&'a SeccompProgram>,
    pub caps: CapMasks,
    /// The container's cgroup, when the child must move itself into it (no clone3).
    pub cgroup: Option<std::os::fd::BorrowedFd<'a>>,
    /// Create the cgroup namespace here, once inside the container's cgroup, so that the
    /// container sees its cgroup as `/`.
    pub unshare_cgroupns: bool,
}

/// Runs the child; never returns.
pub fn run(a: ChildArgs) -> ! {
    let err = match steps(&a) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let payload = serde_json::to_vec(&err).unwrap_or_default();
    let _ = a.sync.send(sync::ERROR, &payload, None);
    // SAFETY: _exit skips destructors and atexit handlers that belong to the parent.
    unsafe { libc::_exit(err.code) }
}

fn last_os(step: &str, what: &str) -> ChildError {
    ChildError::os(step, "", what.to_string(), std::io::Error::last_os_error())
}

fn sync_err(e: std::io::Error) -> ChildError {
    ChildError::os("sync", "", "lost the sync socket to rctr".into(), e)
}

fn wait_for(s: &SyncSocket, tag: u8) -> Result<(), ChildError> {
    let m = s.recv().map_err(sync_err)?;
    if m.tag != tag {
        // The parent gave up (it reports its own error); leave quietly.
        // SAFETY: see `run`.
        unsafe { libc::_exit(crate::exit::FAILURE) }
    }
    Ok(())
}

fn steps(a: &ChildArgs) -> Result<Infallible, ChildError> {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_SETMASK, Some(&SigSet::empty()), None);
    // SAFETY: prctl with integer arguments. Until exec, the child dies with rctr.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    if a.userns {
        wait_for(&a.sync, sync::MAPPED)?;
        // Become root of the new user namespace when 0 is mapped (it usually is); all
        // capabilities in it are ours either way.
        let _ = nix::unistd::setresgid(0.into(), 0.into(), 0.into());
        let _ = nix::unistd::setresuid(0.into(), 0.into(), 0.into());
    }
    if let Some(cg) = a.cgroup {
        super::clone::move_self(cg).map_err(|e| {
            ChildError::os(
                "cgroup",
                "",
                "cannot move into the container's cgroup".into(),
                e,
            )
        })?;
    }
    if a.unshare_cgroupns {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP).map_err(|e| {
            ChildError::os(
                "unshare",
                "",
                "cannot create the cgroup namespace".into(),
                std::io::Error::from(e),
            )
        })?;
    }
    if a.new_net {
        super::loopback::up().map_err(|e| {
            ChildError::os(
                "network",
                "lo",
                "cannot bring up the loopback interface".into(),
                e,
            )
        })?;
    }
    stdio(a.stdio)?;
    // A new session: the terminal's Ctrl-C reaches rctr, which forwards it, not both.
    let _ = nix::unistd::setsid();
    if a.new_uts {
        if let Some(h) = a.spec.hostname() {
            nix::unistd::sethostname(h).map_err(|e| {
                ChildError::os(
                    "sethostname",
                    h,
                    format!("cannot set the hostname `{h}`"),
                    std::io::Error::from(e),
                )
            })?;
        }
    }
    let root = rootfs::prepare(a.spec, &a.rootfs, a.use_mknod)?;
    drop(root);
    rootfs::pivot(&a.rootfs)?;
    let linux = a.spec.linux().as_ref();
    rootfs::mask(
        linux
            .and_then(|l| l.masked_paths().as_deref())
            .unwrap_or(&[]),
    )?;
    rootfs::readonly(
        linux
            .and_then(|l| l.readonly_paths().as_deref())
            .unwrap_or(&[]),
    )?;
    let pty = match a.stdio {
        StdioMode::Pty => {
            let p = tty::open_in_container()?;
            tty::bind_console(&p)?;
            a.sync
                .send(sync::PTY, &[], Some(p.master.as_raw_fd()))
                .map_err(sync_err)?;
            Some(p.slave)
        }
        _ => None,
    };
    limits::sysctl(linux.and_then(|l| l.sysctl().as_ref()))?;
    limits::apply(a.process)?;
    if a.spec.root().as_ref().and_then(|r| r.readonly()) == Some(true) {
        rootfs::root_readonly()?;
    }
    a.sync.send(sync::READY, &[], None).map_err(sync_err)?;
    wait_for(&a.sync, sync::GO)?;
    if a.init {
        init::block_all();
        // SAFETY: single-threaded; the child continues below, the parent becomes init.
        match unsafe { nix::unistd::fork() } {
            Err(e) => {
                return Err(ChildError::os(
                    "fork",
                    "",
                    "cannot fork the container process under --init".into(),
                    std::io::Error::from(e),
                ))
            }
            Ok(nix::unistd::ForkResult::Parent { child }) => init::run(child),
            Ok(nix::unistd::ForkResult::Child) => {
                let _ = nix::sys::signal::sigprocmask(
                    SigmaskHow::SIG_SETMASK,
                    Some(&SigSet::empty()),
                    None,
                );
                let _ = nix::unistd::setsid();
            }
        }
    }
    finish(a, pty)
}

fn stdio(mode: &StdioMode) -> Result<(), ChildError> {
    let dup = |from: i32, to: i32| {
        // SAFETY: dup2 on descriptors the parent handed us.
        if unsafe { libc::dup2(from, to) } < 0 {
            return Err(last_os("stdio", "cannot set up the standard streams"));
        }
        Ok(())
    };
    match mode {
        StdioMode::Inherit | StdioMode::Pty => Ok(()),
        StdioMode::Null => {
            let null = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/null")
                .map_err(|e| {
                    ChildError::os("stdio", "/dev/null", "cannot open `/dev/null`".into(), e)
                })?;
            (0..3).try_for_each(|t| dup(null.as_raw_fd(), t))
        }
        StdioMode::Fds {
            stdin,
            stdout,
            stderr,
        } => {
            // Duplicate everything above 2 first so that a source fd numbered 0..2 is not
            // clobbered by an earlier dup2.
            let hi = |fd: &OwnedFd| {
                fd.try_clone().map_err(|e| {
                    ChildError::os("stdio", "", "cannot duplicate a stdio descriptor".into(), e)
                })
            };
            let out = hi(stdout)?;
            let err = hi(stderr)?;
            let inp = stdin.as_ref().map(hi).transpose()?;
            match &inp {
                Some(i) => dup(i.as_raw_fd(), 0)?,
                None => {
                    let null = std::fs::File::open("/dev/null").map_err(|e| {
                        ChildError::os("stdio", "/dev/null", "cannot open `/dev/null`".into(), e)
                    })?;
                    dup(null.as_raw_fd(), 0)?
                }
            }
            dup(out.as_raw_fd(), 1)?;
            dup(err.as_raw_fd(), 2)
        }
    }
}

/// The last steps, in the process that execs: terminal, seccomp, capabilities, user, cwd, exec.
fn finish(a: &ChildArgs, pty: Option<OwnedFd>) -> Result<Infallible, ChildError> {
    if let Some(slave) = &pty {
        tty::make_stdio(slave)?;
    }
    drop(pty);
    let p = a.process;
    let user = p.user();
    // SAFETY: umask has no preconditions.
    unsafe { libc::umask(user.umask().unwrap_or(0o022) as libc::mode_t) };
    let nnp = p.no_new_privileges() == Some(true);
    // Without no_new_privs, loading a filter needs CAP_SYS_ADMIN, which we hold only until the
    // capabilities are set: load it now. The filters allow every call made after this point.
    if !nnp {
        install_seccomp(a.seccomp)?;
    }
    caps::apply_bounding(&a.caps)?;
    // SAFETY: prctl with integer arguments; keeps permitted capabilities across setuid.
    unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, 1, 0, 0, 0) };
    limits::set_user(user)?;
    caps::apply_sets(&a.caps)?;
    if nnp {
        // SAFETY: as above.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } < 0 {
            return Err(last_os("no_new_privileges", "cannot set no_new_privs"));
        }
        install_seccomp(a.seccomp)?;
    }
    let (path, args, env) = exec::prepare(p)?;
    // SAFETY: plain syscalls; descriptors above stdio (ours and any rctr leaked) must not reach
    // the container, and from exec on the container should outlive rctr like any process.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
        libc::prctl(libc::PR_SET_PDEATHSIG, 0, 0, 0, 0);
    }
    Err(exec::exec(&path, args, env))
}

fn install_seccomp(s: Option<&SeccompProgram>) -> Result<(), ChildError> {
    match s {
        Some(prog) => prog
            .install()
            .map_err(|e| ChildError::os("seccomp", "", "cannot load the seccomp filter".into(), e)),
        None => Ok(()),
    }
}
