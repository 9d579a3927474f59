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
///
/// Decompression and hashing run on a second thread, handing 256 KiB chunks to the thread that
/// writes files, so that the two CPU-heavy halves of a pull overlap.
pub fn apply_layer(
    compressed: &mut (dyn Read + Send),
    dest: &Path,
) -> Result<Applied, UnpackError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(16);
    std::thread::scope(|s| {
        let producer = s.spawn(move || -> Result<Applied, UnpackError> {
            let mut plain = decompressor(compressed).map_err(UnpackError::Read)?;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            loop {
                let mut buf = vec![0u8; CHUNK];
                let n = match read_full(&mut plain, &mut buf) {
                    Ok(n) => n,
                    Err(e) => {
                        let kind = e.kind();
                        let _ = tx.send(Err(std::io::Error::new(kind, e.to_string())));
                        return Err(UnpackError::Read(e));
                    }
                };
                if n == 0 {
                    break;
                }
                buf.truncate(n);
                hasher.update(&buf);
                size += n as u64;
                if tx.send(Ok(buf)).is_err() {
                    break; // the applier stopped; its error is the one reported
                }
            }
            Ok(Applied {
                diff_id: format!("sha256:{}", hex::encode(hasher.finalize())),
                size,
            })
        });
        let mut reader = ChunkReader {
            rx,
            cur: Vec::new(),
            pos: 0,
        };
        let applied = apply::apply_tar(&mut reader, dest).and_then(|()| {
            std::io::copy(&mut reader, &mut std::io::sink()).map_err(UnpackError::Read)
        });
        drop(reader);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(UnpackError::Read(std::io::Error::other(
                "decompression thread panicked",
            )))
        });
        applied?;
        produced
    })
}

const CHUNK: usize = 256 * 1024;

/// Reads until `buf` is full or the stream ends.
fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the chunks the decompression thread sends.
struct ChunkReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(c)) => {
                    self.cur = c;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
