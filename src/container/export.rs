//! `export`: a tar of a container's whole filesystem, read straight from the image's layers and
//! the container's changes (no mount, so a running container is exported as its storage holds
//! it, without /proc, /sys or volumes, as podman exports it).

use super::diff::{self, Changed};
use std::io::Write;
use std::path::PathBuf;

/// Errors exporting, naming the container or file.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Diff(#[from] diff::DiffError),
    #[error("cannot archive `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes the tar of the filesystem that `lower` (the image's layer dirs) and `changed` make.
/// Run as root in rctr's user namespace, so every file is readable and owners are kept.
pub fn export(changed: Changed, lower: &[PathBuf], out: impl Write) -> Result<(), ExportError> {
    let view = diff::merged_view(changed, lower)?;
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    for (path, src) in &view {
        let rel = path.trim_start_matches('/');
        let res = match std::fs::symlink_metadata(src) {
            Ok(m) if m.is_dir() => {
                let mut h = tar::Header::new_gnu();
                h.set_metadata_in_mode(&m, tar::HeaderMode::Complete);
                h.set_size(0);
                b.append_data(&mut h, format!("{rel}/"), std::io::empty())
            }
            Ok(_) => b.append_path_with_name(src, rel),
            Err(e) => Err(e),
        };
        res.map_err(|source| ExportError::Write {
            path: src.clone(),
            source,
        })?;
    }
    b.finish().map_err(|source| ExportError::Write {
        path: PathBuf::from("the end of the archive"),
        source,
    })
}
