//! Streaming layer application: a (gzip, zstd or plain) tar stream is decompressed and applied
//! entry by entry straight into a layer's `diff` directory, hashing the uncompressed bytes on the
//! way so the diff_id can be checked without a second pass.
//!
//! Every path is resolved component by component with `openat(O_NOFOLLOW)` from the layer root,
//! so a hostile layer cannot write outside it: `..`, absolute paths, symlinks in parent
//! components, hardlinks to outside targets and device nodes are refused.

mod apply;
mod decompress;
mod dircache;
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
/// writes files, so that the two CPU-heavy halves of a pull overlap. The applier hands each
/// consumed chunk back, so the ~200 MB of a large layer flow through a few reused buffers rather
/// than a fresh zeroed allocation per chunk.
pub fn apply_layer(
    compressed: &mut (dyn Read + Send),
    dest: &Path,
) -> Result<Applied, UnpackError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<Vec<u8>>>(CHUNKS);
    let (recycle, recycled) = std::sync::mpsc::sync_channel::<Vec<u8>>(CHUNKS + 2);
    std::thread::scope(|s| {
        let producer = s.spawn(move || -> Result<Applied, UnpackError> {
            let mut plain = decompressor(compressed).map_err(UnpackError::Read)?;
            let mut hasher = Sha256::new();
            let mut size = 0u64;
            loop {
                let mut buf = recycled.try_recv().unwrap_or_default();
                // Only a fresh buffer (or a short last one) is zero-filled here.
                buf.resize(CHUNK, 0);
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
            recycle,
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
/// Chunks in flight between the decompression thread and the applier.
const CHUNKS: usize = 16;

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

/// Reads the chunks the decompression thread sends, and returns each once consumed.
struct ChunkReader {
    rx: std::sync::mpsc::Receiver<std::io::Result<Vec<u8>>>,
    recycle: std::sync::mpsc::SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(c)) => {
                    let used = std::mem::replace(&mut self.cur, c);
                    if used.capacity() > 0 {
                        // A full recycle queue (or a finished producer) just drops the buffer.
                        let _ = self.recycle.try_send(used);
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    /// A tar entry with a raw (unvalidated) path, as a hostile layer would carry.
    fn entry(
        b: &mut tar::Builder<Vec<u8>>,
        path: &str,
        kind: tar::EntryType,
        link: &str,
        data: &[u8],
    ) {
        let mut h = tar::Header::new_gnu();
        let name = &mut h.as_gnu_mut().unwrap().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        if !link.is_empty() {
            let l = &mut h.as_gnu_mut().unwrap().linkname;
            l[..link.len()].copy_from_slice(link.as_bytes());
        }
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(if kind == tar::EntryType::Directory {
            0o755
        } else {
            0o4755
        });
        h.set_uid(nix::unistd::geteuid().as_raw().into());
        h.set_gid(nix::unistd::getegid().as_raw().into());
        h.set_mtime(1_000_000);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }

    fn apply(
        build: impl FnOnce(&mut tar::Builder<Vec<u8>>),
    ) -> (tempfile::TempDir, Result<Applied, UnpackError>) {
        let mut b = tar::Builder::new(Vec::new());
        build(&mut b);
        let data = b.into_inner().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut src = &data[..];
        let r = apply_layer(&mut src, dir.path());
        (dir, r)
    }

    use tar::EntryType as T;

    /// Whiteout devices need root (in some user namespace); the integration tests cover them
    /// as the unprivileged user through rctr's own namespace.
    fn can_mknod() -> bool {
        nix::unistd::geteuid().is_root()
    }

    #[test]
    fn applies_files_whiteouts_and_opaque_dirs() {
        let whiteouts = can_mknod();
        let (dir, r) = apply(|b| {
            entry(b, "etc/", T::Directory, "", b"");
            entry(b, "etc/tool", T::Regular, "", b"#!/bin/sh\n");
            entry(b, "etc/link", T::Symlink, "/etc/tool", b"");
            entry(b, "etc/hard", T::Link, "etc/tool", b"");
            if whiteouts {
                entry(b, "etc/.wh.gone", T::Regular, "", b"");
            }
            entry(b, "op/.wh..wh..opq", T::Regular, "", b"");
        });
        let applied = r.unwrap();
        assert!(applied.diff_id.starts_with("sha256:"));
        let p = dir.path();
        let tool = std::fs::metadata(p.join("etc/tool")).unwrap();
        assert_eq!(tool.mode() & 0o7777, 0o4755, "setuid bit kept");
        assert_eq!(tool.mtime(), 1_000_000);
        assert_eq!(
            std::fs::read_link(p.join("etc/link")).unwrap(),
            Path::new("/etc/tool")
        );
        assert_eq!(
            std::fs::metadata(p.join("etc/hard")).unwrap().ino(),
            tool.ino()
        );
        if whiteouts {
            let wh = std::fs::symlink_metadata(p.join("etc/gone")).unwrap();
            assert!(wh.file_type().is_char_device() && wh.rdev() == 0);
        }
        assert_eq!(
            xattr(&p.join("op"), "user.overlay.opaque"),
            Some(b"y".to_vec())
        );
        assert_eq!(std::fs::metadata(p.join("etc")).unwrap().mtime(), 1_000_000);
    }

    fn xattr(p: &Path, name: &str) -> Option<Vec<u8>> {
        use std::os::unix::ffi::OsStrExt;
        let cp = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
        let cn = std::ffi::CString::new(name).unwrap();
        let mut buf = [0u8; 16];
        // SAFETY: valid C strings and buffer.
        let n =
            unsafe { libc::getxattr(cp.as_ptr(), cn.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        (n >= 0).then(|| buf[..n as usize].to_vec())
    }

    #[test]
    fn refuses_escapes() {
        let outside = tempfile::tempdir().unwrap();
        let out = outside.path().to_str().unwrap().to_string();
        type AddEntries = Box<dyn Fn(&mut tar::Builder<Vec<u8>>)>;
        let cases: Vec<(&str, AddEntries)> = vec![
            (
                "..",
                Box::new(|b| entry(b, "a/../../x", T::Regular, "", b"x")),
            ),
            (
                "absolute",
                Box::new(|b| entry(b, "/x", T::Regular, "", b"x")),
            ),
            ("symlink", {
                let out = out.clone();
                Box::new(move |b| {
                    entry(b, "esc", T::Symlink, &out, b"");
                    entry(b, "esc/x", T::Regular, "", b"x");
                })
            }),
            ("symlink", {
                let out = out.clone();
                Box::new(move |b| {
                    entry(b, "esc", T::Symlink, &out, b"");
                    entry(b, "esc/.wh.x", T::Regular, "", b"");
                })
            }),
            (
                "outside",
                Box::new(|b| entry(b, "h", T::Link, "/etc/passwd", b"")),
            ),
            ("outside", Box::new(|b| entry(b, "h", T::Link, "../x", b""))),
            ("device", Box::new(|b| entry(b, "mem", T::Block, "", b""))),
        ];
        for (want, build) in cases {
            let (_dir, r) = apply(build);
            let e = r.expect_err(want).to_string();
            assert!(e.contains(want), "{want}: {e}");
        }
        assert_eq!(
            std::fs::read_dir(outside.path()).unwrap().count(),
            0,
            "wrote outside"
        );
    }
}
