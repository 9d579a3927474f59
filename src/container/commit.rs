//! The layer `commit` makes from a container's changes: a tar in the OCI layer format, where a
//! deletion is an empty `.wh.NAME` file and a directory that hides the image's version of it
//! carries a `.wh..wh..opq` entry. Contents come from where the driver keeps them (the upper
//! dir, or the vfs copy), read as root in rctr's user namespace so owners are kept as they are.

use super::diff::{Change, Kind};
use std::io::Write;
use std::path::Path;

/// Writes the layer tar for `changes` (sorted, as `diff::changes` returns them), reading
/// contents below `root`.
pub fn write_layer(changes: &[Change], root: &Path, out: &mut dyn Write) -> std::io::Result<()> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    for c in changes {
        let rel = c.path.trim_start_matches('/');
        match c.kind {
            Kind::Deleted => {
                let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
                let wh = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                empty_file(&mut b, &wh)?;
            }
            Kind::Added | Kind::Changed => {
                let src = root.join(rel);
                let meta = std::fs::symlink_metadata(&src)?;
                if meta.is_dir() {
                    let mut h = tar::Header::new_gnu();
                    h.set_metadata_in_mode(&meta, tar::HeaderMode::Complete);
                    h.set_size(0);
                    b.append_data(&mut h, format!("{rel}/"), std::io::empty())?;
                    if c.opaque {
                        empty_file(&mut b, &format!("{rel}/.wh..wh..opq"))?;
                    }
                } else {
                    b.append_path_with_name(&src, rel)?;
                }
            }
        }
    }
    b.finish()
}

fn empty_file<W: Write>(b: &mut tar::Builder<W>, name: &str) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(0);
    h.set_mode(0o600);
    b.append_data(&mut h, name, std::io::empty())
}
