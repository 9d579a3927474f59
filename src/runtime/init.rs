//! rctr's built-in init (`--init`): pid 1 of the container's pid namespace when asked for. It
//! forks the container process, forwards every signal it receives to it, reaps orphaned zombies,
//! and exits with the container process's status (128+N when it died of signal N, since pid 1
//! cannot usefully die of a signal itself). No extra binary is mounted or executed.

use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Blocks all signals before the fork, so none is lost before the loop runs. The container
/// process unblocks them again before exec.
pub fn block_all() {
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&SigSet::all()), None);
}

/// The init loop; never returns.
pub fn run(child: Pid) -> ! {
    // Drop every descriptor but stdio (the sync socket above all: the parent must see it close
    // when the container process execs) and every privilege.
    // SAFETY: plain syscalls with integer arguments.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    }
    let all = SigSet::all();
    loop {
        let sig = match all.wait() {
            Ok(s) => s,
            Err(_) => continue,
        };
        if sig != Signal::SIGCHLD {
            let _ = kill(child, sig);
            continue;
        }
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == child => exit(code),
                Ok(WaitStatus::Signaled(pid, s, _)) if pid == child => exit(128 + s as i32),
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}

fn exit(code: i32) -> ! {
    // SAFETY: _exit skips destructors that belong to the parent's copy of this process.
    unsafe { libc::_exit(code) }
}
