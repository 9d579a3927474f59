//! Container networking: user-mode networking with slirp4netns, and the handle that keeps the
//! helper processes alive for exactly as long as the container runs.
//!
//! `attach` runs in the parent once the container's namespaces exist (the runtime's
//! `on_created`), and the returned `NetworkHandle` is dropped when the container exits; the
//! detached-container monitor calls the same function.

pub mod forward;
mod forward_udp;
pub mod join;
pub mod mode;
pub mod pasta;
pub mod ports;
pub mod slirp;
pub mod user;

pub use mode::{SlirpOptions, Subnet};
pub use pasta::PastaOptions;
pub use ports::{PortMapping, Protocol};

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Errors from setting up a container's network. Each names the helper, option or path concerned.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("invalid network option `{option}`: {why}")]
    BadOption { option: String, why: String },
    #[error("cannot start {helper}: {source}\nhint: install Debian's `{package}` package")]
    Spawn {
        helper: &'static str,
        package: &'static str,
        source: std::io::Error,
    },
    #[error("{helper} failed to set up the network of container process {pid}: {detail}")]
    NotReady {
        helper: &'static str,
        pid: i32,
        detail: String,
    },
    #[error("cannot join the network namespace of `{target}`: {why}")]
    Target { target: String, why: String },
    #[error("cannot publish {what}: {detail}")]
    Bind { what: String, detail: String },
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl NetworkError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        NetworkError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The running network helpers of one container. Dropping it (or `teardown`) stops them and
/// waits for them, so no helper outlives its container.
#[derive(Default)]
pub struct NetworkHandle {
    slirp: Option<slirp::Slirp>,
    pasta: Option<pasta::Pasta>,
    forwarder: Option<forward::Forwarder>,
    /// Helper processes taken over from a previous image of this process (see `pass`).
    passed: Vec<PassedHelper>,
}

/// A helper process that this process started before it re-executed itself: still its child
/// (execve keeps the pid and the children), stopped the way its kind needs.
struct PassedHelper {
    /// `s` for slirp4netns, `p` for pasta.
    kind: char,
    pid: i32,
    /// slirp4netns's `--exit-fd` write end: closing it asks it to exit.
    exit_fd: Option<OwnedFd>,
}

impl PassedHelper {
    fn stop(self) {
        drop(self.exit_fd);
        // pasta does not act on SIGTERM while it serves a namespace (see `pasta`).
        let signal = match self.kind {
            'p' => nix::sys::signal::Signal::SIGKILL,
            _ => nix::sys::signal::Signal::SIGTERM,
        };
        let pid = nix::unistd::Pid::from_raw(self.pid);
        let _ = nix::sys::signal::kill(pid, signal);
        let _ = nix::sys::wait::waitpid(pid, None);
    }

    /// `KIND PID [:FD]`, keeping the descriptor open across execve.
    fn describe(kind: char, pid: i32, exit_fd: Option<i32>) -> String {
        match exit_fd {
            Some(fd) => {
                // SAFETY: clearing FD_CLOEXEC on a descriptor the handle owns.
                unsafe { libc::fcntl(fd, libc::F_SETFD, 0) };
                format!("{kind}{pid}:{fd}")
            }
            None => format!("{kind}{pid}"),
        }
    }
}

impl NetworkHandle {
    /// Whether nothing was started (no helper process, no forwarder).
    pub fn is_empty(&self) -> bool {
        self.slirp.is_none()
            && self.pasta.is_none()
            && self.forwarder.is_none()
            && self.passed.is_empty()
    }

    /// Describes the helpers for a new image of this process (the detached-container monitor
    /// re-executes itself once the container runs), and keeps the descriptors they need open
    /// across execve. None when a helper cannot cross it: the port forwarder is threads of this
    /// image. If the execve fails, this handle still owns and stops everything as before.
    pub fn pass(&self) -> Option<String> {
        if self.forwarder.is_some() {
            return None;
        }
        let mut v = Vec::new();
        if let Some(s) = &self.slirp {
            v.push(PassedHelper::describe('s', s.pid(), s.exit_fd()));
        }
        if let Some(p) = &self.pasta {
            v.push(PassedHelper::describe('p', p.pid(), None));
        }
        for h in &self.passed {
            let fd = h.exit_fd.as_ref().map(|f| f.as_raw_fd());
            v.push(PassedHelper::describe(h.kind, h.pid, fd));
        }
        Some(v.join(","))
    }

    /// The handle that `pass` described, in the new image of the process. The caller
    /// guarantees that the descriptors named there were passed open and are owned by nothing
    /// else; None for a malformed description.
    pub fn from_passed(s: &str) -> Option<NetworkHandle> {
        let mut handle = NetworkHandle::default();
        for h in s.split(',').filter(|h| !h.is_empty()) {
            let kind = h.chars().next()?;
            if kind != 's' && kind != 'p' {
                return None;
            }
            let rest = &h[1..];
            let (pid, fd) = match rest.split_once(':') {
                Some((p, f)) => (p.parse().ok()?, Some(f.parse::<i32>().ok()?)),
                None => (rest.parse().ok()?, None),
            };
            let exit_fd = fd.map(|fd| {
                // SAFETY: the caller guarantees it was passed open and is ours alone; it
                // becomes close-on-exec again, as it was.
                unsafe {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                    OwnedFd::from_raw_fd(fd)
                }
            });
            handle.passed.push(PassedHelper { kind, pid, exit_fd });
        }
        Some(handle)
    }

    /// Stops every helper process of the container and waits for it.
    pub fn teardown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(f) = self.forwarder.take() {
            f.stop();
        }
        if let Some(s) = self.slirp.take() {
            s.stop();
        }
        if let Some(p) = self.pasta.take() {
            p.stop();
        }
        for h in self.passed.drain(..) {
            h.stop();
        }
    }
}

impl Drop for NetworkHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the container's network needs, besides its process id.
pub enum Attach<'a> {
    /// Nothing to start: no network, the host's, or a namespace that already exists.
    Nothing,
    /// Start slirp4netns on the container's network namespace.
    Slirp4netns(&'a SlirpOptions),
    /// Start pasta on the container's network namespace.
    Pasta(&'a PastaOptions),
}

/// Connects the network namespace of container process `pid`: starts the helpers `what` asks
/// for, waits until they are ready, and publishes `ports` with rctr's forwarder (which binds
/// them on the host, so a port in use fails here). `log_dir` receives the helpers' diagnostics.
pub fn attach(
    what: Attach,
    ports: &[PortMapping],
    pid: i32,
    log_dir: &Path,
) -> Result<NetworkHandle, NetworkError> {
    let mut handle = NetworkHandle::default();
    if !ports.is_empty() {
        handle.forwarder = Some(forward::start(ports, pid)?);
    }
    match what {
        Attach::Slirp4netns(o) => handle.slirp = Some(slirp::start(o, pid, log_dir)?),
        Attach::Pasta(o) => handle.pasta = Some(pasta::start(o, pid, log_dir)?),
        Attach::Nothing => {}
    }
    Ok(handle)
}
