//! The low-level container runtime (a small built-in crun): it executes an OCI runtime spec
//! whose `root.path` is an already-mounted root file system.
//!
//! # API (what `container/` codes against)
//! ```text
//! launch(&Spec, LaunchOptions) -> Result<Launched { pid, pty_master }, RuntimeError>
//! wait(pid) -> Result<i32>            exit code, 128+N for signal N
//! try_wait(pid) -> Result<Option<i32>>
//! run_foreground(&Spec, LaunchOptions, interactive) -> Result<i32>
//! LaunchOptions { stdio: StdioMode, init, on_created, seccomp: Option<SeccompProgram>,
//!                 cgroup: Option<OwnedFd> }     the container's own cgroup (clone3 into it)
//! StdioMode::{Inherit, Null, Pty, Fds { stdin, stdout, stderr }}
//! DEFAULT_CAPS, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, caps::resolve (cap-add/drop)
//! seccomp::{default_seccomp(caps), load_profile(path, caps), from_spec}
//! RuntimeError::exit_code()           127 not found, 126 cannot invoke, 125 otherwise
//! ```
//! The caller must be single-threaded (no tokio runtime alive) and root in rctr's user namespace
//! (or real root). Namespaces come from `spec.linux.namespaces` (entries with a `path` are
//! joined); a nested user namespace is created only when `spec.linux.uid_mappings` is non-empty
//! (e.g. `--userns=keep-id`), with maps written by rctr itself. Seccomp: pass the compiled
//! program in `LaunchOptions::seccomp` (fast: the default one is compiled at build time); when
//! it is None and the spec carries `linux.seccomp`, that is compiled at launch.
//!
//! Steps in the child, in order: id-map sync, cgroup (moving itself in when the kernel lacks
//! CLONE_INTO_CGROUP, then unsharing the cgroup namespace so that its cgroup reads `/`), stdio,
//! setsid, hostname, mount propagation, self bind of the root, spec mounts, devices and /dev
//! links, pivot_root, masked and read-only paths, pty, sysctls, rlimits, read-only root, (fork
//! for --init), seccomp (before the capability drop unless no_new_privileges), bounding set,
//! user and groups, capability sets, no_new_privs, seccomp (when no_new_privileges), cwd, $PATH
//! lookup, exec.

pub mod caps;
mod child;
pub mod clone;
pub mod defaults;
pub mod detach_keys;
mod devices;
pub mod error;
mod exec;
mod foreground;
pub mod idmap;
mod init;
pub mod join;
mod limits;
mod loopback;
pub mod mountopts;
mod mounts;
pub mod namespaces;
mod process;
mod rootfs;
mod safepath;
pub mod seccomp;
pub mod signals;
mod sync;
pub mod tty;
pub mod userns;

pub use defaults::{DEFAULT_CAPS, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS};
pub use error::{ChildError, RuntimeError};
pub use exec::DEFAULT_PATH;
pub use foreground::run_foreground;
pub use process::{launch, try_wait, wait};
pub use seccomp::{default_seccomp, load_profile, SeccompError, SeccompProgram};

use nix::unistd::Pid;
use std::os::fd::OwnedFd;

/// Where the container's standard streams go.
#[derive(Debug, Default)]
pub enum StdioMode {
    /// The container shares rctr's stdin, stdout and stderr.
    #[default]
    Inherit,
    /// All three are /dev/null.
    Null,
    /// A pty from the container's own devpts (the spec must mount devpts on /dev/pts); its
    /// master is returned in [`Launched::pty_master`].
    Pty,
    /// Explicit descriptors (pipes, log files); no stdin means /dev/null.
    Fds {
        stdin: Option<OwnedFd>,
        stdout: OwnedFd,
        stderr: OwnedFd,
    },
}

/// A hook run in the parent once the child's namespaces exist, before it execs (network set-up).
pub type OnCreated = Box<dyn FnOnce(Pid) -> Result<(), String>>;

/// How to launch a container beyond what its spec says.
#[derive(Default)]
pub struct LaunchOptions {
    pub stdio: StdioMode,
    /// Run rctr's built-in init as pid 1 (reaps zombies, forwards signals) with the container
    /// process as its child.
    pub init: bool,
    pub on_created: Option<OnCreated>,
    /// The seccomp policy; None means the spec's `linux.seccomp`, or none.
    pub seccomp: Option<SeccompProgram>,
    /// The container's own cgroup (an open cgroup v2 directory): the process starts in it.
    pub cgroup: Option<OwnedFd>,
}

/// A launched container process.
#[derive(Debug)]
pub struct Launched {
    /// The pid of the container's pid 1, as seen from rctr.
    pub pid: Pid,
    /// The pty master with [`StdioMode::Pty`].
    pub pty_master: Option<OwnedFd>,
}
