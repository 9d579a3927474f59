//! fork-like process creation, optionally straight into a cgroup: clone3(2) with
//! CLONE_INTO_CGROUP (Linux 5.7) starts the child in the container's cgroup. That is cheaper
//! than writing its pid into `cgroup.procs` afterwards, which takes the cgroup threadgroup
//! rwsem for writing and can wait for an RCU grace period (milliseconds), and it leaves no
//! moment in which the child runs outside its cgroup.

use nix::sched::CloneFlags;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `struct clone_args` of <linux/sched.h>, up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// How the child got into its cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placed {
    /// No cgroup was asked for, or clone3 put the child there.
    Done,
    /// The kernel lacks clone3 or CLONE_INTO_CGROUP: the child must move itself (see
    /// [`move_self`]) before it does anything that depends on its cgroup.
    ByChild,
}

/// clone without a new stack, which behaves like fork(2) with namespace `flags`, the child
/// starting inside the cgroup open as `cgroup` when given. Returns None in the child.
///
/// # Safety
/// As for fork: the caller must be single-threaded, so that no lock is held by a thread that
/// does not exist in the child.
pub unsafe fn fork_into(
    flags: CloneFlags,
    cgroup: Option<BorrowedFd>,
) -> Result<(Option<Pid>, Placed), nix::Error> {
    if let Some(cg) = cgroup {
        let args = CloneArgs {
            flags: flags.bits() as u32 as u64 | CLONE_INTO_CGROUP,
            exit_signal: libc::SIGCHLD as u64,
            cgroup: cg.as_raw_fd() as u64,
            ..Default::default()
        };
        // SAFETY: a valid clone_args of the size given; with no stack the child continues on a
        // copy of ours, like fork (the caller's contract).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_clone3,
                &args as *const CloneArgs,
                std::mem::size_of::<CloneArgs>(),
            )
        };
        match rc {
            0 => return Ok((None, Placed::Done)),
            n if n > 0 => return Ok((Some(Pid::from_raw(n as i32)), Placed::Done)),
            _ => match nix::Error::last() {
                // Before 5.3 (no clone3) or 5.7 (no CLONE_INTO_CGROUP, or a shorter struct).
                nix::Error::ENOSYS | nix::Error::E2BIG => {}
                e => return Err(e),
            },
        }
    }
    let bits = flags.bits() as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: see above.
    let rc = unsafe { libc::syscall(libc::SYS_clone, bits, 0usize, 0usize, 0usize, 0usize) };
    let placed = if cgroup.is_some() {
        Placed::ByChild
    } else {
        Placed::Done
    };
    match rc {
        0 => Ok((None, placed)),
        n if n > 0 => Ok((Some(Pid::from_raw(n as i32)), placed)),
        _ => Err(nix::Error::last()),
    }
}

/// In a child of [`fork_into`] that got [`Placed::ByChild`]: moves itself into the cgroup open
/// as `cgroup` by writing 0 (the writer) to its `cgroup.procs`.
pub fn move_self(cgroup: BorrowedFd) -> std::io::Result<()> {
    // SAFETY: openat on a directory descriptor with a static NUL-terminated name.
    let fd = unsafe {
        libc::openat(
            cgroup.as_raw_fd(),
            c"cgroup.procs".as_ptr(),
            libc::O_WRONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: writing one byte from a static buffer to the descriptor opened above.
    let n = unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) };
    let err = std::io::Error::last_os_error();
    // SAFETY: closing the descriptor opened above.
    unsafe { libc::close(fd) };
    if n == 1 {
        Ok(())
    } else {
        Err(err)
    }
}
