//! `save`: gathers what the store holds for each image (config, layers, manifest) and hands it to
//! the docker-archive or oci-archive writer.

use super::types::ConfigRootfs;
use super::{docker, oci, ArchiveError, ArchiveReporter, Format};
use crate::image::store::{ImageRecord, LayerRef, Store};
use std::io::{Read, Write};

/// An image to save and the names to record for it (empty: saved without a name, as when the
/// user named it by id).
#[derive(Debug, Clone)]
pub struct SaveImage {
    pub record: ImageRecord,
    pub names: Vec<String>,
}

/// An image ready to be written: its record, names, config bytes and diff ids.
pub(super) struct Source<'a> {
    pub rec: &'a ImageRecord,
    pub names: &'a [String],
    pub config: Vec<u8>,
    pub diff_ids: Vec<String>,
}

impl Source<'_> {
    /// The image as messages name it.
    pub fn label(&self) -> String {
        self.names
            .first()
            .cloned()
            .unwrap_or_else(|| self.rec.id.clone())
    }

    /// An error about this image.
    pub fn error(&self, message: String) -> ArchiveError {
        ArchiveError::Image {
            image: self.label(),
            message,
        }
    }

    /// The stored blob to write for `layer`: its own, or, when the store never downloaded it
    /// because a layer with the same content (diff id) was already unpacked, another stored blob
    /// of that content. Either decompresses to the same tar, so the image id is unchanged.
    pub fn layer_blob(&self, store: &Store, layer: &LayerRef) -> Result<LayerRef, ArchiveError> {
        if store.has_blob(&layer.digest) {
            return Ok(layer.clone());
        }
        let other = store.images()?.into_iter().find_map(|r| {
            r.layers
                .into_iter()
                .find(|l| l.diff_id == layer.diff_id && store.has_blob(&l.digest))
        });
        match other {
            Some(l) => Ok(l),
            None => Err(self
                .open_blob(store, &layer.digest)
                .err()
                .unwrap_or_else(|| {
                    self.error(format!("blob {} vanished from the store", layer.digest))
                })),
        }
    }

    /// Opens one of the image's blobs, naming the image when it is missing.
    pub fn open_blob(&self, store: &Store, digest: &str) -> Result<std::fs::File, ArchiveError> {
        store
            .open_blob(digest)
            .map_err(|source| ArchiveError::Blob {
                image: self.label(),
                digest: digest.to_string(),
                source,
            })
    }
}

/// A tar being written, with the archive's name for messages.
pub(super) struct Writer<W: Write> {
    pub tar: tar::Builder<W>,
    pub archive: String,
}

/// Appends a regular file. Headers are fixed (root-owned, mode 0444, mtime 0) as podman writes
/// them, so that the same images always give the same archive.
pub(super) fn append<W: Write>(
    w: &mut Writer<W>,
    name: &str,
    size: u64,
    data: impl Read,
) -> Result<(), ArchiveError> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(size);
    h.set_mode(0o444);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    // A short read would silently corrupt the archive; `take` plus the size check catches it.
    let mut counted = CountingReader {
        inner: data.take(size),
        n: 0,
    };
    w.tar
        .append_data(&mut h, name, &mut counted)
        .map_err(|source| ArchiveError::Write {
            archive: w.archive.clone(),
            source,
        })?;
    if counted.n != size {
        return Err(ArchiveError::Write {
            archive: w.archive.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("`{name}`: expected {size} bytes, read {}", counted.n),
            ),
        });
    }
    Ok(())
}

struct CountingReader<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

/// Writes `images` to `out` in `format`. `archive` names the destination in messages.
pub fn save<W: Write>(
    store: &Store,
    images: &[SaveImage],
    format: Format,
    out: W,
    archive: &str,
    reporter: &dyn ArchiveReporter,
) -> Result<W, ArchiveError> {
    let mut sources = Vec::new();
    for img in images {
        let rec = &img.record;
        let config =
            store
                .read_blob(&rec.config_digest())
                .map_err(|source| ArchiveError::Blob {
                    image: img.names.first().cloned().unwrap_or_else(|| rec.id.clone()),
                    digest: rec.config_digest(),
                    source,
                })?;
        let mut src = Source {
            rec,
            names: &img.names,
            config,
            diff_ids: Vec::new(),
        };
        let rootfs: ConfigRootfs = serde_json::from_slice(&src.config)
            .map_err(|e| src.error(format!("invalid config {}: {e}", rec.config_digest())))?;
        if rootfs.rootfs.diff_ids.len() != rec.layers.len() {
            return Err(src.error(format!(
                "the config has {} diff_ids but the image record {} layers",
                rootfs.rootfs.diff_ids.len(),
                rec.layers.len()
            )));
        }
        src.diff_ids = rootfs.rootfs.diff_ids;
        sources.push(src);
    }
    let mut w = Writer {
        tar: tar::Builder::new(out),
        archive: archive.to_string(),
    };
    match format {
        Format::DockerArchive => docker::write(store, &sources, &mut w, reporter)?,
        Format::OciArchive => oci::write(store, &sources, &mut w, reporter)?,
    }
    w.tar.into_inner().map_err(|source| ArchiveError::Write {
        archive: archive.to_string(),
        source,
    })
}
