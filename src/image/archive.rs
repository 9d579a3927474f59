//! Image archives, as `save` writes and `load` reads them, compatible with podman and docker:
//!
//! - docker-archive: `manifest.json` (a list of `{Config, RepoTags, Layers}`), each image config
//!   as `<hex>.json`, each layer as an uncompressed `<diff-id-hex>.tar`, and docker's legacy
//!   `repositories` file. docker's own archives use `<v1-id>/layer.tar`, and docker 25 uses
//!   `blobs/sha256/<hex>`; `load` reads all of them, since it only follows manifest.json's paths.
//! - oci-archive: a tarred OCI image layout: `oci-layout`, `index.json` whose entries carry the
//!   image name in the `org.opencontainers.image.ref.name` annotation, and `blobs/sha256/`.
//!
//! `load` stages the whole archive first, then checks every document and digest before it
//! imports anything, so a malformed archive is rejected with nothing loaded.

mod docker;
mod load;
mod oci;
mod save;
mod stage;
pub mod types;

pub use load::{load, LoadedImage};
pub use save::{save, SaveImage};

use crate::image::store::StoreError;
use std::path::PathBuf;

/// The archive formats `save` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    DockerArchive,
    OciArchive,
}

/// Progress events while saving or loading, shown by the CLI as podman does (nothing with `-q`).
pub trait ArchiveReporter {
    /// A layer blob is being copied.
    fn blob(&self, _digest: &str) {}
    /// An image config is being copied.
    fn config(&self, _digest: &str) {}
    /// An image's manifest is being written.
    fn manifest(&self) {}
}

/// A reporter that reports nothing.
pub struct Quiet;
impl ArchiveReporter for Quiet {}

/// Errors reading or writing archives. Each names the archive and, where one is at fault, the
/// entry inside it, or the image and blob in the store.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("cannot read archive `{archive}`")]
    Read {
        archive: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write archive `{archive}`")]
    Write {
        archive: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot stage archive contents in `{path}`")]
    Stage {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "`{archive}` is neither a docker-archive (no manifest.json) nor an oci-archive (no index.json)"
    )]
    UnknownFormat { archive: String },
    #[error("archive `{archive}` has no entry `{entry}`")]
    Missing { archive: String, entry: String },
    #[error("archive `{archive}`: invalid `{entry}`: {message}")]
    Malformed {
        archive: String,
        entry: String,
        message: String,
    },
    #[error("archive `{archive}`: `{entry}` has digest {actual}, expected {expected}")]
    DigestMismatch {
        archive: String,
        entry: String,
        expected: String,
        actual: String,
    },
    #[error("archive `{archive}`: cannot import layer `{entry}`")]
    Layer {
        archive: String,
        entry: String,
        #[source]
        source: Box<crate::image::store::layers::ImportError>,
    },
    #[error("image `{image}`: {message}")]
    Image { image: String, message: String },
    #[error("image `{image}`: cannot read blob {digest} from the store")]
    Blob {
        image: String,
        digest: String,
        #[source]
        source: StoreError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The image architecture name OCI uses for this machine (`amd64`, `arm64`), to pick an image
/// out of a multi-platform index.
pub(crate) fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
