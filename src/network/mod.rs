//! Container networking: user-mode networking with slirp4netns, and the handle that keeps the
//! helper processes alive for exactly as long as the container runs.
//!
//! `attach` runs in the parent once the container's namespaces exist (the runtime's
//! `on_created`), and the returned `NetworkHandle` is dropped when the container exits; the
//! detached-container monitor calls the same function.

pub mod forward;
pub mod join;
pub mod mode;
pub mod pasta;
pub mod ports;
pub mod slirp;
pub mod user;

pub use mode::{SlirpOptions, Subnet};
pub use pasta::PastaOptions;
pub use ports::{PortMapping, Protocol};

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
}

impl NetworkHandle {
    /// Whether nothing was started (no helper process, no forwarder).
    pub fn is_empty(&self) -> bool {
        self.slirp.is_none() && self.pasta.is_none() && self.forwarder.is_none()
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
