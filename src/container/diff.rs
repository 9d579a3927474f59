//! `diff`: what a container changed relative to its image, as podman lists it (A added,
//! C changed, D deleted), and the same list as the source of `commit`'s new layer.
//!
//! overlay and fuse-overlayfs keep every change in the container's `upper/` dir: a 0/0
//! character device (or fuse-overlayfs's `.wh.NAME` file) is a deletion, an entry that also
//! exists in the image is a change (a copied-up directory counts as changed, as in podman),
//! anything else is an addition. vfs has no upper dir: its copy is compared, entry by entry,
//! with the image's layers folded together.

use crate::storage::DriverKind;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

/// Errors computing a diff, naming the directory concerned.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path, source: std::io::Error) -> DiffError {
    DiffError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The kind of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Added,
    Changed,
    Deleted,
}

impl Kind {
    /// podman's letter for it.
    pub fn letter(self) -> char {
        match self {
            Kind::Added => 'A',
            Kind::Changed => 'C',
            Kind::Deleted => 'D',
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: Kind,
    /// Absolute path in the container, e.g. `/etc/hosts`.
    pub path: String,
    /// A directory that hides everything below it in the image (overlay's opaque marker).
    pub opaque: bool,
}

/// Where a container's changes are kept.
pub enum Changed<'a> {
    /// An overlay upper dir (overlay, fuse-overlayfs, or an image's own top layer).
    Upper(&'a Path),
    /// A full copy (vfs).
    Copy(&'a Path),
}

/// The changes of `changed` against `lower` (the image's layer dirs, lowest first), sorted by
/// path.
pub fn changes(changed: Changed, lower: &[PathBuf]) -> Result<Vec<Change>, DiffError> {
    let mut out = Vec::new();
    match changed {
        Changed::Upper(upper) => walk_upper(upper, "", lower, false, &mut out)?,
        Changed::Copy(root) => compare_copy(root, lower, &mut out)?,
    }
    out.retain(|c| !RUNTIME_PATHS.contains(&c.path.as_str()));
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Mount points the runtime creates in every container (empty files and directories that
/// bind mounts cover). podman leaves the same set out of `diff` and `commit`.
const RUNTIME_PATHS: &[&str] = &[
    "/dev",
    "/etc/hostname",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/mtab",
    "/proc",
    "/run",
    "/run/.containerenv",
    "/run/secrets",
    "/sys",
];

/// Which layout a driver keeps its changes in, relative to the container dir.
pub fn changed_dir(driver: DriverKind, cdir: &Path) -> PathBuf {
    match driver {
        DriverKind::Vfs => cdir.join("rootfs"),
        _ => cdir.join("upper"),
    }
}

/// Whether directory `p` hides the layers below it: overlay's `user.overlay.opaque`,
/// fuse-overlayfs's own xattr, or a `.wh..wh..opq` entry.
fn is_opaque(p: &Path) -> bool {
    crate::storage::is_opaque_dir(p)
        || crate::storage::get_xattr(p, "user.fuseoverlayfs.opaque").is_some_and(|v| v == b"y")
        || fs::symlink_metadata(p.join(".wh..wh..opq")).is_ok()
}

fn is_whiteout(m: &fs::Metadata) -> bool {
    m.file_type().is_char_device() && m.rdev() == 0
}

fn walk_upper(
    dir: &Path,
    rel: &str,
    lower: &[PathBuf],
    below_new: bool,
    out: &mut Vec<Change>,
) -> Result<(), DiffError> {
    let here = dir.join(rel.trim_start_matches('/'));
    let rd = match fs::read_dir(&here) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && rel.is_empty() => return Ok(()),
        Err(e) => return Err(io(&here, e)),
    };
    for e in rd {
        let e = e.map_err(|err| io(&here, err))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = format!("{rel}/{name}");
        let m = fs::symlink_metadata(e.path()).map_err(|err| io(&e.path(), err))?;
        // Opaque markers: overlay's (as a file), and fuse-overlayfs's `.wh..opq` device.
        if name == ".wh..wh..opq" || name == ".wh..opq" {
            continue;
        }
        if let Some(gone) = name.strip_prefix(".wh.") {
            out.push(Change {
                kind: Kind::Deleted,
                path: format!("{rel}/{gone}"),
                opaque: false,
            });
            continue;
        }
        if is_whiteout(&m) {
            out.push(Change {
                kind: Kind::Deleted,
                path,
                opaque: false,
            });
            continue;
        }
        let existed = !below_new && exists_in(lower, &path);
        let opaque = m.is_dir() && (is_opaque(&e.path()));
        out.push(Change {
            kind: if existed { Kind::Changed } else { Kind::Added },
            path: path.clone(),
            opaque,
        });
        if m.is_dir() {
            walk_upper(dir, &path, lower, !existed || opaque, out)?;
        }
    }
    Ok(())
}

/// `rel` below `layer` without following symlinks in the layer: `None` when a parent is not a
/// directory.
fn lstat_in(layer: &Path, rel: &str) -> Option<fs::Metadata> {
    let mut p = layer.to_path_buf();
    let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
    for (i, c) in parts.iter().enumerate() {
        p.push(c);
        let m = fs::symlink_metadata(&p).ok()?;
        if i + 1 < parts.len() && !m.is_dir() {
            return None;
        }
        if i + 1 == parts.len() {
            return Some(m);
        }
    }
    fs::symlink_metadata(&p).ok()
}

/// Whether `rel` exists in the view the layers (lowest first) give together.
fn exists_in(lower: &[PathBuf], rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
    for layer in lower.iter().rev() {
        let mut prefix = String::new();
        for (i, c) in parts.iter().enumerate() {
            let parent = prefix.clone();
            prefix = format!("{prefix}/{c}");
            let last = i + 1 == parts.len();
            let wh = lstat_in(layer, &format!("{parent}/.wh.{c}")).is_some()
                || lstat_in(layer, &prefix).is_some_and(|m| is_whiteout(&m));
            if wh {
                return false;
            }
            if !last {
                let p = layer.join(prefix.trim_start_matches('/'));
                if lstat_in(layer, &prefix).is_some_and(|m| m.is_dir())
                    && is_opaque(&p)
                    && lstat_in(layer, rel).is_none()
                {
                    return false;
                }
            }
        }
        if lstat_in(layer, rel).is_some() {
            return true;
        }
    }
    false
}

/// Every path of the container's filesystem, sorted, with the file that holds it: the
/// image's layers and the container's changes folded together, as `export` writes them.
pub fn merged_view(
    changed: Changed,
    lower: &[PathBuf],
) -> Result<Vec<(String, PathBuf)>, DiffError> {
    let mut view = View::new();
    match changed {
        Changed::Upper(upper) => {
            for l in lower {
                fold(l, "", &mut view)?;
            }
            if upper.is_dir() {
                fold(upper, "", &mut view)?;
            }
        }
        Changed::Copy(root) => fold(root, "", &mut view)?,
    }
    Ok(view.into_iter().map(|(k, (_, at))| (k, at)).collect())
}

/// What is compared between the image and a vfs copy.
/// vfs copies files without their mtimes, so a regular file whose metadata matches is
/// compared by content instead.
#[derive(Debug, PartialEq)]
struct Node {
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    link: Option<PathBuf>,
}

/// A path's metadata, and where its bytes are.
type View = BTreeMap<String, (Node, PathBuf)>;

/// Whether two regular files have the same bytes.
fn same_content(a: &Path, b: &Path) -> bool {
    use std::io::Read;
    let (Ok(fa), Ok(fb)) = (fs::File::open(a), fs::File::open(b)) else {
        return false;
    };
    let (mut ra, mut rb) = (
        std::io::BufReader::with_capacity(64 * 1024, fa),
        std::io::BufReader::with_capacity(64 * 1024, fb),
    );
    let (mut ba, mut bb) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
    loop {
        let n = match ra.read(&mut ba) {
            Ok(n) => n,
            Err(_) => return false,
        };
        if n == 0 {
            return rb.read(&mut bb[..1]).is_ok_and(|m| m == 0);
        }
        if rb.read_exact(&mut bb[..n]).is_err() || ba[..n] != bb[..n] {
            return false;
        }
    }
}

fn node(p: &Path, m: &fs::Metadata) -> Node {
    Node {
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
        size: if m.is_dir() { 0 } else { m.size() },
        link: m
            .file_type()
            .is_symlink()
            .then(|| fs::read_link(p).ok())
            .flatten(),
    }
}

/// Folds one layer into `view`, applying its whiteouts and opaque directories.
fn fold(dir: &Path, rel: &str, view: &mut View) -> Result<(), DiffError> {
    let here = dir.join(rel.trim_start_matches('/'));
    let rd = fs::read_dir(&here).map_err(|e| io(&here, e))?;
    let remove_below = |view: &mut View, p: &str| {
        let pre = format!("{p}/");
        view.retain(|k, _| k != p && !k.starts_with(&pre));
    };
    for e in rd {
        let e = e.map_err(|err| io(&here, err))?;
        let name = e.file_name().to_string_lossy().into_owned();
        let path = format!("{rel}/{name}");
        let m = fs::symlink_metadata(e.path()).map_err(|err| io(&e.path(), err))?;
        if let Some(gone) = name.strip_prefix(".wh.") {
            if gone != ".wh..opq" {
                remove_below(view, &format!("{rel}/{gone}"));
            }
            continue;
        }
        if is_whiteout(&m) {
            remove_below(view, &path);
            continue;
        }
        if m.is_dir() {
            if is_opaque(&e.path()) {
                remove_below(view, &path);
            }
            if view
                .get(&path)
                .is_some_and(|(n, _)| n.mode & libc::S_IFMT != libc::S_IFDIR)
            {
                remove_below(view, &path);
            }
        } else {
            remove_below(view, &path);
        }
        view.insert(path.clone(), (node(&e.path(), &m), e.path()));
        if m.is_dir() {
            fold(dir, &path, view)?;
        }
    }
    Ok(())
}

fn compare_copy(root: &Path, lower: &[PathBuf], out: &mut Vec<Change>) -> Result<(), DiffError> {
    let mut image = View::new();
    for l in lower {
        fold(l, "", &mut image)?;
    }
    let mut now = View::new();
    fold(root, "", &mut now)?;
    let mut touched = std::collections::BTreeSet::new();
    for (p, (n, at)) in &now {
        let kind = match image.get(p) {
            None => Kind::Added,
            Some((old, _)) if old != n => Kind::Changed,
            Some((_, was)) if n.mode & libc::S_IFMT == libc::S_IFREG && !same_content(was, at) => {
                Kind::Changed
            }
            Some(_) => continue,
        };
        out.push(Change {
            kind,
            path: p.clone(),
            opaque: false,
        });
        touched.insert(p.clone());
    }
    for p in image.keys() {
        let parent = p.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        if !now.contains_key(p) && (parent.is_empty() || now.contains_key(parent)) {
            out.push(Change {
                kind: Kind::Deleted,
                path: p.clone(),
                opaque: false,
            });
            touched.insert(p.clone());
        }
    }
    // As with overlay's copy-up, a directory whose contents changed is itself changed.
    let mut parents = std::collections::BTreeSet::new();
    for p in &touched {
        let mut cur = p.as_str();
        while let Some((d, _)) = cur.rsplit_once('/') {
            if d.is_empty() {
                break;
            }
            parents.insert(d.to_string());
            cur = d;
        }
    }
    for d in parents {
        if !touched.contains(&d) && image.contains_key(&d) {
            out.push(Change {
                kind: Kind::Changed,
                path: d,
                opaque: false,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_entries_are_added_changed_or_deleted() {
        let d = tempfile::tempdir().unwrap();
        let (lower, upper) = (d.path().join("l"), d.path().join("u"));
        fs::create_dir_all(lower.join("etc")).unwrap();
        fs::write(lower.join("etc/old"), "").unwrap();
        fs::write(lower.join("etc/gone"), "").unwrap();
        fs::create_dir_all(upper.join("etc")).unwrap();
        fs::write(upper.join("etc/old"), "x").unwrap();
        fs::write(upper.join("etc/new"), "").unwrap();
        fs::write(upper.join("etc/.wh.gone"), "").unwrap();
        let c = changes(Changed::Upper(&upper), &[lower]).unwrap();
        let got: Vec<_> = c
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect();
        assert_eq!(got, ["C /etc", "D /etc/gone", "A /etc/new", "C /etc/old"]);
    }

    #[test]
    fn a_copy_is_compared_with_the_folded_layers() {
        let d = tempfile::tempdir().unwrap();
        let (lower, copy) = (d.path().join("l"), d.path().join("c"));
        fs::create_dir_all(lower.join("a/b")).unwrap();
        fs::write(lower.join("a/b/f"), "1").unwrap();
        fs::write(lower.join("keep"), "1").unwrap();
        crate::storage::copy_tree(&lower, &{
            fs::create_dir_all(&copy).unwrap();
            copy.clone()
        })
        .unwrap();
        fs::remove_dir_all(copy.join("a/b")).unwrap();
        fs::write(copy.join("new"), "").unwrap();
        let c = changes(Changed::Copy(&copy), &[lower]).unwrap();
        let got: Vec<_> = c
            .iter()
            .map(|c| format!("{} {}", c.kind.letter(), c.path))
            .collect();
        assert_eq!(got, ["C /a", "D /a/b", "A /new"]);
    }
}
