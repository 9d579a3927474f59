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
use nix::unistd::{fork, ForkResult};
use oci_spec::runtime::{Process, User};
use std::fs::File;
use std::os::fd::{AsRawFd, OwnedFd};

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
    /// Give the process a pty from the container's devpts as its controlling terminal and
    /// stdio, relayed to ours (exec -t).
    pub tty: bool,
    /// With `tty` and stdin relayed: the input that detaches from the process, leaving it
    /// running (exec -it --detach-keys); empty disables detaching.
    pub detach_keys: &'a [u8],
    /// Resolves `exec -u NAME[:GROUP]`: called once the container's mount namespace is joined,
    /// so its /etc/passwd and /etc/group are the ones at `/`. Returns the user and, when the
    /// user has a passwd entry, its home directory for `HOME`.
    pub resolve_user: Option<&'a UserResolver<'a>>,
    /// The container's cgroup, open: the process starts in it, so that `pause` freezes it
    /// with the rest of the container. Open it before joining the container's mount
    /// namespace, which hides the host's cgroup hierarchy.
    pub cgroup: Option<std::os::fd::BorrowedFd<'a>>,
}

/// See [`JoinOptions::resolve_user`]; the error is the message to show.
pub type UserResolver<'a> = dyn Fn() -> Result<(User, Option<String>), String> + 'a;

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
    let resolved;
    let o = &match o.resolve_user {
        Some(r) => {
            let (user, home) = r().map_err(RuntimeError::User)?;
            let mut p = o.process.clone();
            p.set_user(user);
            if let Some(h) = home {
                let mut env = p.env().clone().unwrap_or_default();
                env.retain(|e| !e.starts_with("HOME="));
                env.push(format!("HOME={h}"));
                p.set_env(Some(env));
            }
            resolved = p;
            JoinOptions {
                process: &resolved,
                resolve_user: None,
                ..*o
            }
        }
        None => JoinOptions { ..*o },
    };
    // The pty comes from the container's devpts (we are in its mount namespace now), so the
    // container's /dev/pts lists it, as for `run -t`.
    let pty = if o.tty {
        Some(super::tty::open_in_container().map_err(RuntimeError::Child)?)
    } else {
        None
    };
    // SAFETY: single-threaded (the caller's contract).
    let (forked, placed) = unsafe { super::clone::fork_into(CloneFlags::empty(), o.cgroup) }
        .map_err(|e| RuntimeError::Clone {
            flags: "fork".into(),
            source: e,
        })?;
    match forked {
        None => {
            // Into the cgroup before the cgroup namespace: from inside that, the container's
            // cgroup would be out of reach.
            if let (super::clone::Placed::ByChild, Some(cg)) = (placed, o.cgroup) {
                if let Err(e) = super::clone::move_self(cg) {
                    eprintln!("Error: cannot move into the container's cgroup: {e}");
                    std::process::exit(125);
                }
            }
            if let Some(p) = &pty {
                if let Err(e) = take_terminal(p, o.process.user()) {
                    eprintln!("Error: {e}");
                    std::process::exit(125);
                }
            }
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
        Some(child) => {
            if o.detach {
                return Ok(0);
            }
            match pty {
                Some(p) => {
                    drop(p.slave);
                    let keys = if o.null_stdin { &[][..] } else { o.detach_keys };
                    match super::foreground::relay_pty(child, p.master, !o.null_stdin, keys)? {
                        super::foreground::Followed::Exited(code) => Ok(code),
                        super::foreground::Followed::Detached(master) => {
                            keep_open(master)?;
                            Ok(0)
                        }
                    }
                }
                None => super::process::wait(child),
            }
        }
    }
}

/// After a detach: hands the pty's master to a small process of its own that reads and drops
/// the output until the exec'd process is gone. Were the master closed when rctr exits, the
/// kernel would hang up the terminal and SIGHUP the process; were nobody to read it, the
/// process would block once the pty's buffer is full. As podman, what it prints after the
/// detach is not kept.
fn keep_open(master: OwnedFd) -> Result<(), RuntimeError> {
    let mfd = master.as_raw_fd();
    // Until the keeper has its own session it is in rctr's, whose terminal hangs up as soon as
    // rctr exits (e.g. under `script`, or when the terminal window closes): it must not die of
    // that SIGHUP, nor of a ctrl-c typed there. rctr itself is about to exit, so it can ignore
    // them too, and the keeper inherits that.
    // SAFETY: setting the disposition of signals to SIG_IGN.
    unsafe {
        for sig in [libc::SIGHUP, libc::SIGINT, libc::SIGQUIT] {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
    // SAFETY: single-threaded (the caller's contract); the child only makes raw system calls.
    match unsafe { fork() }.map_err(|e| RuntimeError::Clone {
        flags: "fork".into(),
        source: e,
    })? {
        ForkResult::Child => unsafe {
            libc::setsid();
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            // Nothing else of rctr's may stay open here: a pipe held by this process would keep
            // whoever reads rctr's output waiting for its end.
            for fd in 3..4096 {
                if fd != mfd {
                    libc::close(fd);
                }
            }
            // The relay may have left it non-blocking; here a read must wait for output.
            libc::fcntl(
                mfd,
                libc::F_SETFL,
                libc::fcntl(mfd, libc::F_GETFL) & !libc::O_NONBLOCK,
            );
            let mut buf = [0u8; 4096];
            loop {
                let n = libc::read(mfd, buf.as_mut_ptr().cast(), buf.len());
                if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                    libc::_exit(0);
                }
            }
        },
        ForkResult::Parent { .. } => Ok(()),
    }
}

/// In the forked child: a new session whose controlling terminal is the pty, owned by the user
/// the process will run as, as stdio.
fn take_terminal(p: &super::tty::Pty, user: &User) -> Result<(), ChildError> {
    nix::unistd::setsid()
        .map_err(|e| ChildError::os("tty", "", "cannot start a session".into(), e))?;
    // SAFETY: fchown on the slave we own; a failure leaves it owned by root, still usable.
    unsafe {
        libc::fchown(
            std::os::fd::AsRawFd::as_raw_fd(&p.slave),
            user.uid(),
            user.gid(),
        )
    };
    super::tty::make_stdio(&p.slave)
}

/// In the forked child: the container process's settings, then exec. Returns only on failure.
fn become_process(o: &JoinOptions) -> ChildError {
    match try_become(o) {
        Ok(e) | Err(e) => e,
    }
}

fn try_become(o: &JoinOptions) -> Result<ChildError, ChildError> {
    let p = o.process;
    // A detached process must not hold the caller's stdio open (whoever reads `rctr exec -d`'s
    // output would wait for it to exit), nor share its session.
    let nulled = if o.detach {
        0..3
    } else if o.null_stdin {
        0..1
    } else {
        0..0
    };
    if !nulled.is_empty() {
        if let Ok(n) = File::options().read(true).write(true).open("/dev/null") {
            use std::os::fd::AsRawFd;
            for fd in nulled {
                // SAFETY: dup2 onto the standard streams of this process.
                unsafe { libc::dup2(n.as_raw_fd(), fd) };
            }
        }
    }
    if o.detach {
        let _ = nix::unistd::setsid();
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
