//! Streaming layer application: a (gzip, zstd or plain) tar stream is decompressed and applied
//! entry by entry straight into a layer's `diff` directory, hashing the uncompressed bytes on the
//! way so the diff_id can be checked without a second pass.
//!
//! Every path is resolved component by component with `openat(O_NOFOLLOW)` from the layer root,
//! so a hostile layer cannot write outside it: `..`, absolute paths, symlinks in parent
//! components, hardlinks to outside targets and device nodes are refused.

mod apply;
mod decompress;
mod fsops;

use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

pub use decompress::decompressor;

/// Errors from applying a layer. Each names the file inside the layer concerned.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("refusing layer entry `{path}`: {reason}")]
    Unsafe { path: String, reason: &'static str },
    #[error(
        "cannot give `{path}` owner {uid}:{gid}: the id is outside rctr's user namespace mapping \
         (check /etc/subuid and /etc/subgid)"
    )]
    IdOutOfRange { path: String, uid: u64, gid: u64 },
    #[error("cannot write `{path}` in the layer")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the layer tar")]
    Read(#[source] std::io::Error),
    #[error("cannot open layer directory `{path}`")]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What was applied: the digest and size of the uncompressed tar.
#[derive(Debug, Clone)]
pub struct Applied {
    /// `sha256:` of the uncompressed tar stream (the layer's diff_id).
    pub diff_id: String,
    /// Size of the uncompressed tar stream.
    pub size: u64,
}

/// Decompresses `compressed` (format detected from its magic bytes) and applies the tar into
/// `dest`, an empty directory. The tar stream is read to its end so that the diff_id covers every
/// byte, including padding after the end-of-archive marker.
pub fn apply_layer(compressed: &mut dyn Read, dest: &Path) -> Result<Applied, UnpackError> {
    let plain = decompressor(compressed).map_err(UnpackError::Read)?;
    let mut hashing = HashingReader {
        inner: plain,
        hasher: Sha256::new(),
        size: 0,
    };
    apply::apply_tar(&mut hashing, dest)?;
    std::io::copy(&mut hashing, &mut std::io::sink()).map_err(UnpackError::Read)?;
    Ok(Applied {
        diff_id: format!("sha256:{}", hex::encode(hashing.hasher.finalize())),
        size: hashing.size,
    })
}

/// A reader that hashes and counts what passes through it.
pub struct HashingReader<R> {
    pub inner: R,
    pub hasher: Sha256,
    pub size: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}
