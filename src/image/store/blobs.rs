//! Content-addressed blobs: `blobs/sha256/<hex>` holds manifests, configs and the compressed
//! layer blobs exactly as distributed, so that save and push reproduce the registry's digests.
//! A blob is written to a temp file, verified against its digest and only then renamed into place.

use super::{atomic, Store, StoreError};
use sha2::{Digest as _, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The hex part of a `sha256:<hex>` digest, validated so that it is safe as a file name.
pub fn digest_hex(digest: &str) -> Result<&str, StoreError> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(hex)
    } else {
        Err(StoreError::BadDigest(digest.to_string()))
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

impl Store {
    /// The path of blob `digest` (which may not exist).
    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, StoreError> {
        Ok(self.root.join("blobs/sha256").join(digest_hex(digest)?))
    }

    /// Whether blob `digest` is present.
    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).map(|p| p.is_file()).unwrap_or(false)
    }

    /// Reads a whole (small) blob: a manifest, index or config.
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let p = self.blob_path(digest)?;
        std::fs::read(&p).map_err(|e| StoreError::io(&p, e))
    }

    /// Opens a blob for streaming, e.g. a compressed layer blob for `save` or `push`. The bytes are
    /// exactly those the registry served (or `load` verified), so their digest is `digest`.
    pub fn open_blob(&self, digest: &str) -> Result<std::fs::File, StoreError> {
        let p = self.blob_path(digest)?;
        std::fs::File::open(&p).map_err(|e| StoreError::io(&p, e))
    }

    /// Writes `data` as blob `digest` after checking that it hashes to `digest`. Writing a blob
    /// that is already present is a no-op.
    pub fn write_blob(&self, digest: &str, data: &[u8]) -> Result<(), StoreError> {
        let mut w = self.blob_writer()?;
        w.write_all(data).map_err(|e| StoreError::io(&w.tmp, e))?;
        w.commit(digest)
    }

    /// A writer for a blob whose bytes arrive as a stream (a layer download or a `load` archive).
    /// Nothing is visible until [`BlobWriter::commit`] verifies the digest; dropping the writer
    /// uncommitted removes its temp file.
    pub fn blob_writer(&self) -> Result<BlobWriter, StoreError> {
        let dir = self.root.join("blobs/sha256");
        let tmp = atomic::temp_path(&dir, "blob");
        let file = std::fs::File::create(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        Ok(BlobWriter {
            file: std::io::BufWriter::with_capacity(256 * 1024, file),
            tmp,
            hasher: Sha256::new(),
            size: 0,
            kicked: 0,
            dir,
            done: false,
        })
    }
}

/// A blob being written; see [`Store::blob_writer`].
pub struct BlobWriter {
    file: std::io::BufWriter<std::fs::File>,
    tmp: PathBuf,
    hasher: Sha256,
    size: u64,
    /// Bytes already handed to writeback with `sync_file_range`.
    kicked: u64,
    dir: PathBuf,
    done: bool,
}

/// How many written bytes are handed to writeback at a time; see [`BlobWriter::kick_writeback`].
const WRITEBACK_STEP: u64 = 8 << 20;

impl BlobWriter {
    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The `sha256:` digest of the bytes written so far, without committing.
    pub fn digest(&self) -> String {
        format!("sha256:{}", hex::encode(self.hasher.clone().finalize()))
    }

    /// Verifies the bytes against `expected` and moves the blob into place. On a mismatch the
    /// temp file is removed and the error names the expected and actual digests.
    pub fn commit(mut self, expected: &str) -> Result<(), StoreError> {
        let actual = self.digest();
        if actual != expected {
            return Err(StoreError::DigestMismatch {
                what: format!("blob {expected}"),
                expected: expected.to_string(),
                actual,
            });
        }
        let dest = self.dir.join(digest_hex(expected)?);
        self.file
            .flush()
            .and_then(|_| self.file.get_ref().sync_data())
            .map_err(|e| StoreError::io(&self.tmp, e))?;
        std::fs::rename(&self.tmp, &dest).map_err(|e| StoreError::io(&dest, e))?;
        self.done = true;
        Ok(())
    }

    /// Starts writeback of what was written since the last call, without waiting for it, so
    /// that the fsync in [`BlobWriter::commit`] finds a 63 MB layer blob already mostly on disk
    /// instead of stalling the end of the pull for the whole of it. Only a hint: a failure here
    /// shows up again, for real, at that fsync.
    fn kick_writeback(&mut self) {
        use std::os::fd::AsRawFd;
        if self.size - self.kicked < WRITEBACK_STEP || self.file.flush().is_err() {
            return;
        }
        // SAFETY: plain syscall on an fd this writer owns.
        unsafe {
            libc::sync_file_range(
                self.file.get_ref().as_raw_fd(),
                self.kicked as libc::off64_t,
                (self.size - self.kicked) as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            )
        };
        self.kicked = self.size;
    }

    /// Where the temp file lives (for error messages).
    pub fn temp_path(&self) -> &Path {
        &self.tmp
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        self.kick_writeback();
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for BlobWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
