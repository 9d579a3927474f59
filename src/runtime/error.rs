//! The runtime's errors. A failure inside the container's set-up happens in the child process;
//! it travels back to the parent as a [`ChildError`] naming the step and the path concerned, so the
//! user never sees a bare "channel broken".

use crate::exit;

/// A failure in the container child, serialised over the sync socket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, thiserror::Error)]
#[error("{what}: {cause}")]
pub struct ChildError {
    /// The step that failed, e.g. `mount`, `pivot_root`, `exec`.
    pub step: String,
    /// The path (or name) the step was working on, empty when none applies.
    pub path: String,
    /// The full description of the step, e.g. "cannot bind-mount `/a` on `/b`".
    pub what: String,
    /// The cause, usually the OS error text.
    pub cause: String,
    /// The exit code this failure maps to (125, 126 or 127).
    pub code: i32,
}

impl ChildError {
    /// A failed step with an OS error.
    pub fn os(
        step: &str,
        path: impl AsRef<std::path::Path>,
        what: String,
        err: impl std::fmt::Display,
    ) -> ChildError {
        ChildError {
            step: step.into(),
            path: path.as_ref().display().to_string(),
            what,
            cause: err.to_string(),
            code: exit::FAILURE,
        }
    }

    /// Sets the exit code.
    pub fn with_code(mut self, code: i32) -> ChildError {
        self.code = code;
        self
    }
}

/// Errors of the runtime, each naming what was being done.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("invalid runtime spec: {0}")]
    Spec(String),
    #[error("cannot create the container's sync socket: {0}")]
    Socket(#[source] std::io::Error),
    #[error("cannot create the container process (clone with {flags}): {source}")]
    Clone {
        flags: String,
        #[source]
        source: nix::Error,
    },
    #[error("cannot join the {kind} namespace `{path}`: {source}")]
    JoinNamespace {
        kind: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{path}` for the container's user namespace: {source}")]
    IdMap {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Child(#[from] ChildError),
    #[error("the container process (pid {pid}) exited during set-up without reporting an error ({status})")]
    ChildVanished { pid: i32, status: String },
    #[error("cannot talk to the container process over the sync socket: {0}")]
    Sync(#[source] std::io::Error),
    #[error("network or other set-up for the container failed: {0}")]
    OnCreated(String),
    #[error("cannot wait for container process {pid}: {source}")]
    Wait {
        pid: i32,
        #[source]
        source: nix::Error,
    },
    #[error("seccomp: {0}")]
    Seccomp(#[from] super::seccomp::SeccompError),
    #[error("terminal: {what}: {source}")]
    Terminal {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up signal forwarding: {0}")]
    Signals(#[source] nix::Error),
    /// `exec -u` named a user or group the container does not have.
    #[error("{0}")]
    User(String),
}

impl RuntimeError {
    /// The exit code podman gives for this failure: 127 command not found, 126 command cannot be
    /// invoked, 125 for everything else.
    pub fn exit_code(&self) -> i32 {
        match self {
            RuntimeError::Child(e) => e.code,
            _ => exit::FAILURE,
        }
    }
}
