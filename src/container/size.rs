//! A container's disk use, as `ps --size` and `inspect --size` report it: the size of what it
//! wrote (podman's `SizeRw`) and of its whole root filesystem (`SizeRootFs`: the image plus
//! those writes).

use super::diff::{self, Changed, Kind};
use crate::storage::DriverKind;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Sizes in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub rw: u64,
    pub root_fs: u64,
}

/// The sizes of the container whose directory is `cdir`, on an image of `image_size` bytes
/// with layer dirs `lower`. Run as root in rctr's user namespace, so every directory of the
/// container's layer can be read.
pub fn sizes(
    driver: DriverKind,
    cdir: &Path,
    lower: &[std::path::PathBuf],
    image_size: u64,
) -> Result<Sizes, diff::DiffError> {
    let dir = diff::changed_dir(driver, cdir);
    let rw = match driver {
        DriverKind::Vfs => diff::changes(Changed::Copy(&dir), lower)?
            .iter()
            .filter(|c| c.kind != Kind::Deleted)
            .map(|c| file_size(&dir.join(c.path.trim_start_matches('/'))))
            .sum(),
        _ => tree_size(&dir),
    };
    Ok(Sizes {
        rw,
        root_fs: image_size + rw,
    })
}

/// The size in bytes of everything under `path` (not following symlinks), as `du` would sum
/// apparent sizes.
fn tree_size(path: &Path) -> u64 {
    let Ok(m) = fs::symlink_metadata(path) else {
        return 0;
    };
    let mut total = if m.is_dir() { 0 } else { m.size() };
    if m.is_dir() {
        if let Ok(rd) = fs::read_dir(path) {
            for e in rd.flatten() {
                total += tree_size(&e.path());
            }
        }
    }
    total
}

fn file_size(p: &Path) -> u64 {
    fs::symlink_metadata(p)
        .ok()
        .filter(|m| !m.is_dir())
        .map_or(0, |m| m.len())
}

/// A size as Go's `units.HumanSizeWithPrecision(n, 3)` prints it, which podman's SIZE column
/// uses: three significant digits, decimal units, no space (`12.3kB`, `0B`).
pub fn compact(bytes: u64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < UNITS.len() {
        v /= 1000.0;
        i += 1;
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s}{}", UNITS[i])
}

/// podman's SIZE column: `12.3kB (virtual 5.6MB)`.
pub fn column(s: Sizes) -> String {
    format!("{} (virtual {})", compact(s.rw), compact(s.root_fs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_sizes_match_go_units() {
        assert_eq!(compact(0), "0B");
        assert_eq!(compact(12_345), "12.3kB");
        assert_eq!(compact(5_600_000), "5.6MB");
        assert_eq!(compact(999), "999B");
        assert_eq!(
            column(Sizes {
                rw: 12_300,
                root_fs: 5_600_000
            }),
            "12.3kB (virtual 5.6MB)"
        );
    }
}
