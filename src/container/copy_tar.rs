//! The two halves of `cp`: packing a path into a tar stream, and unpacking such a stream at a
//! destination with `docker cp`'s rules (into an existing directory, or under a new name).
//!
//! Both halves run unchanged on either side of the copy: on the host, or inside the container
//! after a `chroot` into its root (see `copy`), where every path, symlinks included, resolves
//! inside the container.

use super::copy::CopyError;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// How entries get their owners when unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owners {
    /// Owned by whoever unpacks them (copies to the host: the invoking user).
    Unpacker,
    /// Owned by this uid/gid (podman's `--archive`: the container's primary user).
    Fixed(u32, u32),
    /// Owned as the tar headers say (`--archive=false`).
    FromArchive,
}

/// What the unpacking side needs to know.
#[derive(Debug, Clone)]
pub struct UnpackRules {
    /// The stream is a raw tar from the user (`cp - CTR:DIR`): unpack it as it is into the
    /// existing directory `dest`, without renaming its top entry.
    pub raw: bool,
    /// The destination path as the user wrote it (a trailing `/` demands a directory).
    pub dest: String,
    pub owners: Owners,
    /// Replace a directory by a non-directory and the reverse (`--overwrite`).
    pub overwrite: bool,
    /// Refuse entries whose path goes through a symlink below the destination. Set on the
    /// host side: the stream comes from a process inside the container, which the container
    /// could subvert into sending `link -> /home/user` followed by `link/.bashrc`. Inside the
    /// container's chroot, following links is harmless and what users expect.
    pub no_links: bool,
}

/// Writes a tar of `src` to `out`. Its first entry is `src` itself, named by its last
/// component, unless `src` ends in `/.` (copy a directory's contents), when it is `./`.
/// A symlink named as the source is followed, as podman does; symlinks inside a copied
/// directory are archived as links.
pub fn pack(src: &str, out: impl Write) -> Result<(), CopyError> {
    let path = Path::new(src);
    let contents = src.ends_with("/.") || src == ".";
    let meta = fs::metadata(path).map_err(|e| CopyError::io("stat", path, e))?;
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Complete);
    let res = if contents {
        if !meta.is_dir() {
            return Err(CopyError::NotADirectory(path.to_owned()));
        }
        b.append_dir_all(".", path)
    } else {
        let name = last_component(src)?;
        if meta.is_dir() {
            b.append_dir_all(&name, path)
        } else if meta.is_file() {
            fs::File::open(path).and_then(|mut f| b.append_file(&name, &mut f))
        } else {
            b.append_path_with_name(path, &name)
        }
    };
    res.and_then(|_| b.finish())
        .map_err(|e| CopyError::io("archive", path, e))
}

/// The name a path is copied under: its last normal component (`/a/b/` gives `b`).
fn last_component(src: &str) -> Result<String, CopyError> {
    Path::new(src)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .next_back()
        .ok_or_else(|| CopyError::NoName(src.to_string()))
}

/// A directory whose mode and mtime are set once everything inside it is written.
struct PendingDir {
    path: PathBuf,
    mode: u32,
    mtime: i64,
}

/// Unpacks the tar stream `input` with `rules` (see the module comment for the rules).
pub fn unpack(input: impl Read, rules: &UnpackRules) -> Result<(), CopyError> {
    let dest = Path::new(&rules.dest);
    let mut ar = tar::Archive::new(input);
    ar.set_preserve_permissions(true);
    ar.set_preserve_mtime(true);
    ar.set_overwrite(true);
    let entries = ar
        .entries()
        .map_err(|e| CopyError::io("read the archive for", dest, e))?;
    // Where entries go, and the name that replaces the first entry's name.
    let mut plan: Option<(PathBuf, Option<(String, String)>)> = None;
    let mut dirs: Vec<PendingDir> = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| CopyError::io("read the archive for", dest, e))?;
        let rel = clean(&entry.path_bytes()).ok_or_else(|| {
            CopyError::BadEntry(String::from_utf8_lossy(&entry.path_bytes()).into())
        })?;
        let kind = entry.header().entry_type();
        if plan.is_none() {
            plan = Some(plan_for(rules, &rel, kind.is_dir())?);
        }
        let (base, rename) = plan.as_ref().expect("planned above");
        let rel = renamed(rel, rename);
        if rules.no_links {
            through_link(base, &rel)?;
        }
        let target = if rel.as_os_str().is_empty() {
            base.clone()
        } else {
            base.join(&rel)
        };
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|e| CopyError::io("create directory", parent, e))?;
        }
        let existing = fs::symlink_metadata(&target).ok();
        if let Some(m) = &existing {
            if m.is_dir() != kind.is_dir() {
                if !rules.overwrite {
                    return Err(CopyError::WouldReplace {
                        path: target,
                        dir: m.is_dir(),
                    });
                }
                remove_any(&target)?;
            } else if !m.is_dir() {
                // Never write through an existing symlink or hard link: replace the entry.
                remove_any(&target)?;
            }
        }
        let mode = entry.header().mode().unwrap_or(0o644);
        let (uid, gid) = (
            entry.header().uid().unwrap_or(0) as u32,
            entry.header().gid().unwrap_or(0) as u32,
        );
        if kind.is_dir() {
            if existing.is_none() {
                fs::create_dir(&target)
                    .map_err(|e| CopyError::io("create directory", &target, e))?;
            }
            // The top directory of a contents copy (`./`) is the destination itself, which
            // keeps its own metadata.
            if target != *base || rename.is_some() {
                dirs.push(PendingDir {
                    path: target.clone(),
                    mode,
                    mtime: entry.header().mtime().unwrap_or(0) as i64,
                });
            }
        } else if kind.is_hard_link() {
            let link = entry
                .link_name_bytes()
                .and_then(|l| clean(&l))
                .ok_or_else(|| CopyError::BadEntry(rel.display().to_string()))?;
            let link = renamed(link, rename);
            if rules.no_links {
                through_link(base, &link)?;
                if fs::symlink_metadata(base.join(&link)).is_ok_and(|m| m.file_type().is_symlink())
                {
                    return Err(CopyError::BadEntry(link.display().to_string()));
                }
            }
            fs::hard_link(base.join(&link), &target)
                .map_err(|e| CopyError::io("link", &target, e))?;
            continue;
        } else {
            entry
                .unpack(&target)
                .map_err(|e| CopyError::io("write", &target, e))?;
        }
        set_owner(&target, rules.owners, uid, gid, kind.is_symlink(), mode)?;
    }
    if plan.is_none() {
        return Err(CopyError::EmptyArchive);
    }
    // Deepest first, so setting a parent's mtime is not undone by its children.
    for d in dirs.iter().rev() {
        fs::set_permissions(&d.path, fs::Permissions::from_mode(d.mode & 0o7777))
            .map_err(|e| CopyError::io("change the mode of", &d.path, e))?;
        let t = nix::sys::time::TimeSpec::new(d.mtime, 0);
        nix::sys::stat::utimensat(
            None,
            &d.path,
            &t,
            &t,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        )
        .map_err(|e| CopyError::io("set the times of", &d.path, e.into()))?;
    }
    Ok(())
}

/// Decides where the stream goes from the destination and the first entry: into an existing
/// directory under the source's own name, or in the destination's parent under the
/// destination's name.
fn plan_for(
    rules: &UnpackRules,
    first: &Path,
    first_is_dir: bool,
) -> Result<(PathBuf, Option<(String, String)>), CopyError> {
    let dest = Path::new(&rules.dest);
    let dest_meta = fs::metadata(dest).ok();
    let contents = first.as_os_str().is_empty();
    if rules.raw {
        return match dest_meta {
            Some(m) if m.is_dir() => Ok((dest.to_owned(), None)),
            Some(_) => Err(CopyError::NotADirectory(dest.to_owned())),
            None => Err(CopyError::Missing(dest.to_owned())),
        };
    }
    match dest_meta {
        Some(m) if m.is_dir() => Ok((dest.to_owned(), None)),
        Some(_) if first_is_dir => Err(CopyError::DirOntoFile(dest.to_owned())),
        Some(_) if rules.dest.ends_with('/') => Err(CopyError::NotADirectory(dest.to_owned())),
        _ => {
            if dest_meta.is_none() && rules.dest.ends_with('/') && !first_is_dir {
                return Err(CopyError::Missing(dest.to_owned()));
            }
            let name = last_component(&rules.dest)?;
            let parent = dest
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !parent.is_dir() {
                return Err(CopyError::Missing(parent.to_owned()));
            }
            if contents {
                // `SRC/.` onto a missing destination: the destination becomes the directory.
                fs::create_dir(dest).map_err(|e| CopyError::io("create directory", dest, e))?;
                return Ok((dest.to_owned(), None));
            }
            let from = first.to_string_lossy().into_owned();
            Ok((parent.to_owned(), Some((from, name))))
        }
    }
}

/// Fails when a parent of `rel` below `base` is a symlink (see [`UnpackRules::no_links`]).
fn through_link(base: &Path, rel: &Path) -> Result<(), CopyError> {
    let mut p = base.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for c in parts.iter().take(parts.len().saturating_sub(1)) {
        p.push(c);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(CopyError::BadEntry(rel.display().to_string()))
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// `rel` with its first component `from` replaced by `to` (the copy's new name).
fn renamed(rel: PathBuf, rename: &Option<(String, String)>) -> PathBuf {
    match rename {
        Some((from, to)) => match rel.strip_prefix(from) {
            Ok(rest) if rest.as_os_str().is_empty() => PathBuf::from(to),
            Ok(rest) => Path::new(to).join(rest),
            Err(_) => rel,
        },
        None => rel,
    }
}

/// An archive path made relative and free of `..`; `None` for a path that would climb out.
/// `./` and `.` become the empty path.
fn clean(raw: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = PathBuf::new();
    for c in Path::new(std::ffi::OsStr::from_bytes(raw)).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

fn set_owner(
    path: &Path,
    owners: Owners,
    uid: u32,
    gid: u32,
    symlink: bool,
    mode: u32,
) -> Result<(), CopyError> {
    let (u, g) = match owners {
        Owners::Unpacker => return Ok(()),
        Owners::Fixed(u, g) => (u, g),
        Owners::FromArchive => (uid, gid),
    };
    std::os::unix::fs::lchown(path, Some(u), Some(g))
        .map_err(|e| CopyError::io("change the owner of", path, e))?;
    // chown clears the setuid and setgid bits: put them back.
    if !symlink && mode & 0o6000 != 0 && fs::symlink_metadata(path).is_ok_and(|m| !m.is_dir()) {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o7777))
            .map_err(|e| CopyError::io("change the mode of", path, e))?;
    }
    Ok(())
}

fn remove_any(path: &Path) -> Result<(), CopyError> {
    let res = match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(_) => return Ok(()),
    };
    res.map_err(|e| CopyError::io("remove", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_refuses_climbing() {
        assert_eq!(clean(b"./a/b"), Some(PathBuf::from("a/b")));
        assert_eq!(clean(b"/a"), Some(PathBuf::from("a")));
        assert_eq!(clean(b"./"), Some(PathBuf::new()));
        assert_eq!(clean(b"a/../../x"), None);
    }

    #[test]
    fn file_onto_new_name_and_into_dir() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("f");
        fs::write(&src, "x").unwrap();
        let mut buf = Vec::new();
        pack(src.to_str().unwrap(), &mut buf).unwrap();
        let out = d.path().join("out");
        fs::create_dir(&out).unwrap();
        let rules = |dest: &Path| UnpackRules {
            raw: false,
            dest: dest.display().to_string(),
            owners: Owners::Unpacker,
            overwrite: false,
            no_links: true,
        };
        unpack(&buf[..], &rules(&out)).unwrap();
        assert_eq!(fs::read_to_string(out.join("f")).unwrap(), "x");
        unpack(&buf[..], &rules(&out.join("g"))).unwrap();
        assert_eq!(fs::read_to_string(out.join("g")).unwrap(), "x");
    }

    #[test]
    fn host_side_refuses_entries_through_links() {
        let d = tempfile::tempdir().unwrap();
        let outside = d.path().join("outside");
        let out = d.path().join("out");
        fs::create_dir_all(&outside).unwrap();
        fs::create_dir_all(&out).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, "top/", std::io::empty()).unwrap();
        let mut l = tar::Header::new_gnu();
        l.set_entry_type(tar::EntryType::Symlink);
        l.set_size(0);
        b.append_link(&mut l, "top/link", &outside).unwrap();
        let mut f = tar::Header::new_gnu();
        f.set_size(1);
        f.set_mode(0o644);
        b.append_data(&mut f, "top/link/evil", &b"x"[..]).unwrap();
        let tar = b.into_inner().unwrap();
        let rules = UnpackRules {
            raw: false,
            dest: out.display().to_string(),
            owners: Owners::Unpacker,
            overwrite: false,
            no_links: true,
        };
        assert!(matches!(
            unpack(&tar[..], &rules),
            Err(CopyError::BadEntry(_))
        ));
        assert!(!outside.join("evil").exists());
    }
}
