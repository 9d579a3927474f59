//! Images: references, registries, the content-addressed store, layer unpacking and archives.

pub mod archive;
pub mod auth;
pub mod change;
pub mod manifest;
pub mod pull;
pub mod reference;
pub mod registry;
pub mod store;
pub mod unpack;

use crate::context::Context;
pub use pull::PullOptions;
pub use store::{ImageRecord, Store, StoreError};

/// When `run`/`create`/`pull` should contact the registry (podman's `--pull`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullPolicy {
    Always,
    Missing,
    Never,
    Newer,
}

/// Progress events from a pull, implemented by the CLI (indicatif bars, or nothing with `-q`).
pub trait PullReporter: Sync {
    /// About to contact a registry for `image` (podman's "Trying to pull …").
    fn trying(&self, _image: &str) {}
    /// A layer download started; `size` is its compressed size.
    fn layer_start(&self, _digest: &str, _size: u64) {}
    /// `n` more compressed bytes of a layer arrived.
    fn layer_progress(&self, _digest: &str, _n: u64) {}
    /// A layer is downloaded, verified and unpacked (or was already present: `cached`).
    fn layer_done(&self, _digest: &str, _cached: bool) {}
}

/// A reporter that reports nothing.
pub struct Silent;
impl PullReporter for Silent {}

/// Errors from image operations. Each names the image, registry or blob concerned.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Reference(#[from] reference::ReferenceError),
    #[error(transparent)]
    Registry(#[from] registry::RegistryError),
    #[error("image `{image}`")]
    Manifest {
        image: String,
        #[source]
        source: manifest::ManifestError,
    },
    #[error("image `{image}`: blob {blob}")]
    Blob {
        image: String,
        blob: String,
        #[source]
        source: Box<registry::RegistryError>,
    },
    #[error(
        "image `{image}`: blob {blob} has digest {actual} (digest mismatch: corrupt or tampered)"
    )]
    DigestMismatch {
        image: String,
        blob: String,
        actual: String,
    },
    #[error("image `{image}`: layer blob {blob}: {message}")]
    Layer {
        image: String,
        blob: String,
        message: String,
    },
    #[error("image `{image}`: layer blob {blob}")]
    Unpack {
        image: String,
        blob: String,
        #[source]
        source: unpack::UnpackError,
    },
    #[error("invalid platform `{0}`: expected os/arch[/variant], e.g. linux/arm64")]
    BadPlatform(String),
    #[error("`{0}`: image not known, and the pull policy is `never`")]
    NeverPull(String),
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    #[error("internal error in a pull worker: {0}")]
    Internal(String),
}

/// Ensures `name` is in the local store according to `policy`, pulling it if needed, and returns
/// its record. It runs its own async runtime and shuts it down before returning, so that the
/// caller is single-threaded again afterwards and may fork. The caller must already be root in
/// rctr's user namespace (see `cli::enter_userns`).
pub fn ensure(
    ctx: &Context,
    name: &str,
    policy: PullPolicy,
    reporter: &dyn PullReporter,
) -> Result<ImageRecord, ImageError> {
    let store = Store::open(&ctx.root)?;
    let local = match store.resolve(name) {
        Ok(r) => Some(r),
        Err(StoreError::ImageNotKnown(_)) => None,
        Err(e) => return Err(e.into()),
    };
    match (policy, local) {
        (PullPolicy::Missing, Some(r)) => Ok(r),
        (PullPolicy::Never, Some(r)) => Ok(r),
        (PullPolicy::Never, None) => Err(ImageError::NeverPull(name.to_string())),
        _ => pull(ctx, name, &PullOptions::default(), reporter),
    }
}

/// Pulls `name` (a short name is tried against the aliases and search registries in order) and
/// returns its record. Pulling an image whose manifest digest is already present only updates its
/// names. Runs and shuts down its own async runtime; the caller must be root in rctr's user
/// namespace and stays single-threaded afterwards.
pub fn pull(
    ctx: &Context,
    name: &str,
    opts: &PullOptions,
    reporter: &dyn PullReporter,
) -> Result<ImageRecord, ImageError> {
    let store = Store::open(&ctx.root)?;
    // Shared: concurrent pulls proceed together; rmi and prune wait, so they never collect a
    // layer this pull has unpacked but not yet recorded.
    let _content = store.content_lock()?;
    store.clean_temps();
    let candidates = reference::candidates(name, &ctx.config.registries)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ImageError::Runtime)?;
    let res = rt.block_on(async {
        let mut first_err = None;
        for cand in &candidates {
            reporter.trying(&cand.to_string());
            match pull::pull_ref(ctx, &store, cand, opts, reporter).await {
                Ok(r) => return Ok(r),
                Err(ImageError::Registry(e))
                    if e.is_not_found_or_unreachable() && candidates.len() > 1 =>
                {
                    log::info!("{e}");
                    first_err.get_or_insert(ImageError::Registry(e));
                }
                Err(e) => return Err(e),
            }
        }
        Err(first_err.expect("at least one candidate was tried"))
    });
    // Every task has finished; shutting down joins the worker threads so that the caller is
    // single-threaded again (it may fork next).
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    res
}
