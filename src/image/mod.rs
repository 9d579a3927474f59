//! Images: references, registries, the content-addressed store, layer unpacking and archives.

pub mod auth;
pub mod store;

use crate::context::Context;
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
    let _ = (ctx, name, policy, reporter);
    todo!("image::ensure: owned by the image engine work")
}
