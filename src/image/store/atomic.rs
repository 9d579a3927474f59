//! Atomic file replacement: write a temp file in the same directory, fsync it, rename it over the
//! target, then fsync the directory, so a reader (or a process killed with -9 midway) sees either
//! the old content or the new, never a torn file.

use super::StoreError;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A name for a temp file or dir in `dir` that [`super::Store::clean_temps`] recognises: the
/// `.tmp-` prefix hides it from every listing, and the pid lets the cleaner tell whether its writer
/// is still alive.
pub fn temp_path(dir: &Path, tag: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    dir.join(format!(
        ".tmp-{}-{}-{tag}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Replaces `path` with `data` atomically.
pub fn write(path: &Path, data: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_path(dir, "w");
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    res.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        StoreError::io(path, source)
    })
}

/// fsyncs a directory so that a rename inside it is durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}
