//! Containers: what to run (`options`, `spec`), the records on disk (`state`), and creating,
//! starting and removing them (`lifecycle`), plus named volumes.

pub mod cgroup;
pub mod commit;
pub mod copy;
pub mod copy_tar;
pub mod descriptors;
pub mod diff;
pub mod etc_files;
pub mod export;
pub mod freezer;
pub mod lifecycle;
pub mod logs;
pub mod mounts;
pub mod options;
pub mod procs;
pub mod resources;
pub mod restart;
pub mod size;
pub mod spec;
pub mod state;
pub mod systemd;
pub mod user;
pub mod volumes;

pub use options::CreateOptions;
pub use state::{ContainerRecord, Status};

use std::path::PathBuf;

/// Errors from container operations. Each names the container, path or value concerned.
#[derive(Debug, thiserror::Error)]
pub enum ContainerError {
    #[error("no container with name or ID `{0}` found")]
    NotFound(String),
    #[error("more than one container matches `{0}`; use more of the ID")]
    Ambiguous(String),
    #[error("the container name `{name}` is already in use by container {id}; remove that container or use --replace")]
    NameInUse { name: String, id: String },
    #[error("invalid container name `{0}`: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    BadName(String),
    #[error("container {id} is {status}; {what}")]
    WrongState {
        id: String,
        status: String,
        what: &'static str,
    },
    #[error("{0}")]
    Invalid(String),
    #[error("container {id} has dependent containers which must be removed before it: {dependents}: container already exists")]
    HasDependents { id: String, dependents: String },
    #[error("unable to find user {user}: no matching entries in the container's {file}")]
    NoSuchUser { user: String, file: &'static str },
    #[error(transparent)]
    Cgroup(#[from] cgroup::CgroupError),
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid JSON in `{path}`: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("no volume with name `{0}` found")]
    VolumeNotFound(String),
    #[error("volume `{name}` is in use by container {id}")]
    VolumeInUse { name: String, id: String },
    #[error("volume with name `{0}` already exists")]
    VolumeExists(String),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl ContainerError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        ContainerError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
