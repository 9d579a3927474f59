//! Applies tar entries into a layer directory: regular files, directories, symlinks, hardlinks,
//! fifos, and the OCI whiteouts converted to the overlay format that both native overlayfs (with
//! `userxattr`) and fuse-overlayfs understand.

use super::dircache::DirCache;
use super::{fsops, UnpackError};
use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// The OCI whiteout prefix: `.wh.NAME` deletes NAME from the lower layers.
const WHITEOUT: &str = ".wh.";
/// The OCI opaque marker: the directory hides all lower content.
const OPAQUE: &str = ".wh..wh..opq";
/// The xattr overlayfs reads for an opaque directory when mounted with `userxattr` (the only
/// choice in a user namespace, where `trusted.*` cannot be set); fuse-overlayfs honours it too.
const OPAQUE_XATTR: &[u8] = b"user.overlay.opaque";
/// Directory fds kept open while applying; bounded so large layers (several applied at once)
/// stay well under the usual RLIMIT_NOFILE of 1024.
const DIR_CACHE_MAX: usize = 192;
/// Size of the buffer file contents are copied through.
const COPY_BUF: usize = 128 * 1024;

/// Applies one layer. Every layer is unpacked into an empty directory, so entries are created
/// with `O_EXCL`-style calls first and only an `EEXIST` (a name repeated in the tar, which is
/// legal: the later entry wins) pays for clearing the old one. Owners and modes are set only
/// when creation did not already give the right ones: about four syscalls per regular file.
struct Applier {
    root: OwnedFd,
    /// Open directories by path relative to the root (the root itself is not cached).
    dirs: DirCache,
    /// Directory fds used by the current entry that are no longer cached; closed after it.
    transient: Vec<OwnedFd>,
    /// Directories this layer made setgid: entries created in them inherit their group.
    setgid_dirs: HashSet<PathBuf>,
    /// Directories whose mtime must be set once all their entries are written.
    dir_times: Vec<(PathBuf, i64)>,
    umask: u32,
    buf: Vec<u8>,
}

/// Applies every entry of the tar stream `r` into `dest`.
pub fn apply_tar(r: &mut dyn Read, dest: &Path) -> Result<(), UnpackError> {
    let root = std::fs::File::open(dest).map_err(|source| UnpackError::Root {
        path: dest.to_owned(),
        source,
    })?;
    let mut ap = Applier {
        root: root.into(),
        dirs: DirCache::new(DIR_CACHE_MAX),
        transient: Vec::new(),
        setgid_dirs: HashSet::new(),
        dir_times: Vec::new(),
        umask: fsops::current_umask(),
        buf: vec![0u8; COPY_BUF],
    };
    let mut archive = tar::Archive::new(r);
    let entries = archive.entries().map_err(UnpackError::Read)?;
    for entry in entries {
        let mut entry = entry.map_err(UnpackError::Read)?;
        ap.transient.clear();
        ap.entry(&mut entry)?;
    }
    // Set directory mtimes last (deepest first): writing entries into them changed them.
    let times = std::mem::take(&mut ap.dir_times);
    for (rel, secs) in times.iter().rev() {
        ap.transient.clear();
        let shown = rel.display().to_string();
        let (parent, name) = split(rel);
        let pfd = ap.parent(&parent, &shown, false)?;
        fsops::set_mtime(pfd, name.as_os_str(), *secs).map_err(|e| write_err(&shown, e))?;
    }
    Ok(())
}

fn write_err(path: &str, source: std::io::Error) -> UnpackError {
    UnpackError::Write {
        path: path.to_string(),
        source,
    }
}

fn unsafe_entry(path: &str, reason: &'static str) -> UnpackError {
    UnpackError::Unsafe {
        path: path.to_string(),
        reason,
    }
}

/// Normalises a tar path into its components below the layer root, refusing `..` and absolute paths.
fn clean(raw: &[u8], shown: &str) -> Result<PathBuf, UnpackError> {
    let p = Path::new(OsStr::from_bytes(raw));
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_entry(shown, "path contains `..`")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_entry(shown, "absolute path"))
            }
        }
    }
    Ok(out)
}

/// Splits `a/b/c` into (`a/b`, `c`).
fn split(rel: &Path) -> (PathBuf, OsString) {
    let name = rel.file_name().map(OsStr::to_os_string).unwrap_or_default();
    let parent = rel.parent().map(Path::to_path_buf).unwrap_or_default();
    (parent, name)
}

fn is_dir(st: &libc::stat) -> bool {
    st.st_mode & libc::S_IFMT == libc::S_IFDIR
}

impl Applier {
    /// The fd of directory `rel`, opened component by component without following symlinks.
    /// Missing directories are created (0755, like tar does) when `create` is set. The fd stays
    /// valid until the next entry: it is owned by the cache, or by `transient` when the cache
    /// is full.
    fn parent(&mut self, rel: &Path, shown: &str, create: bool) -> Result<RawFd, UnpackError> {
        if rel.as_os_str().is_empty() {
            return Ok(self.root.as_raw_fd());
        }
        if let Some(fd) = self.dirs.get(rel) {
            return Ok(fd);
        }
        let mut cur = PathBuf::new();
        let mut fd = self.root.as_raw_fd();
        for comp in rel.components() {
            let name = comp.as_os_str();
            cur.push(name);
            if let Some(f) = self.dirs.get(&cur) {
                fd = f;
                continue;
            }
            let opened = match fsops::open_dir(fd, name) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) && create => {
                    fsops::mkdir(fd, name, 0o755).map_err(|e| write_err(shown, e))?;
                    fsops::open_dir(fd, name)
                }
                other => other,
            };
            let dir = match opened {
                Ok(d) => d,
                Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP) | Some(libc::ENOTDIR)) => {
                    return Err(unsafe_entry(
                        shown,
                        "a parent path component is a symlink or not a directory (write through a symlink)",
                    ))
                }
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    return Err(unsafe_entry(shown, "hardlink target does not exist in the layer"))
                }
                Err(e) => return Err(write_err(shown, e)),
            };
            fd = dir.as_raw_fd();
            self.keep(cur.clone(), dir);
        }
        Ok(fd)
    }

    /// Keeps a directory fd in the cache; whatever the cache evicts stays open for this entry.
    fn keep(&mut self, rel: PathBuf, dir: OwnedFd) {
        self.dirs.insert(rel, dir, &mut self.transient);
    }

    /// Removes whatever is at `name` in directory `parent` (fd `pfd`) unless it is a directory
    /// and `keep_dir` is set. Returns whether a directory was kept.
    fn clear(
        &mut self,
        pfd: RawFd,
        parent: &Path,
        name: &OsStr,
        keep_dir: bool,
        shown: &str,
    ) -> Result<bool, UnpackError> {
        let Some(st) = fsops::lstat(pfd, name).map_err(|e| write_err(shown, e))? else {
            return Ok(false);
        };
        if is_dir(&st) && keep_dir {
            return Ok(true);
        }
        if is_dir(&st) {
            // Cached fds may point into the directory being removed; its parent's stays valid.
            let gone = parent.join(name);
            // Keep the fds open until the entry is done: the caller may still hold one.
            let stale = self.dirs.remove_under(&gone);
            self.transient.extend(stale);
            self.setgid_dirs.retain(|d| !d.starts_with(&gone));
        }
        fsops::remove(pfd, name, is_dir(&st)).map_err(|e| write_err(shown, e))?;
        Ok(false)
    }

    /// Runs `create`; when something is already at the name, clears it and runs it again.
    fn create(
        &mut self,
        pfd: RawFd,
        parent: &Path,
        name: &OsStr,
        shown: &str,
        mut create: impl FnMut() -> std::io::Result<()>,
    ) -> Result<(), UnpackError> {
        match create() {
            Err(e) if fsops::exists(&e) => {
                self.clear(pfd, parent, name, false, shown)?;
                create().map_err(|e| write_err(shown, e))
            }
            other => other.map_err(|e| write_err(shown, e)),
        }
    }

    fn entry<R: Read>(&mut self, entry: &mut tar::Entry<'_, R>) -> Result<(), UnpackError> {
        let raw = entry.path_bytes().into_owned();
        let shown = String::from_utf8_lossy(&raw).into_owned();
        let rel = clean(&raw, &shown)?;
        if rel.as_os_str().is_empty() {
            return Ok(()); // the layer root itself (`./`)
        }
        let h = entry.header().clone();
        let kind = h.entry_type();
        let (parent, name) = split(&rel);
        let name_s = name.to_string_lossy().into_owned();

        if name_s == OPAQUE {
            let pfd = self.parent(&parent, &shown, true)?;
            let dir = fsops::open_dir(pfd, OsStr::new(".")).map_err(|e| write_err(&shown, e))?;
            return fsops::fsetxattr(&dir, OPAQUE_XATTR, b"y").map_err(|e| write_err(&shown, e));
        }
        if let Some(target) = name_s.strip_prefix(WHITEOUT) {
            if target.starts_with(".wh.") || target.is_empty() {
                return Ok(()); // aufs metadata (.wh..wh.plnk and the like): nothing to apply
            }
            // overlayfs represents a deleted file as a 0/0 character device; creating one is
            // allowed in a user namespace since Linux 5.8.
            let pfd = self.parent(&parent, &shown, true)?;
            let target = OsStr::new(target);
            return self.create(pfd, &parent, target, &shown, || {
                fsops::mknod(pfd, target, libc::S_IFCHR, 0, 0)
            });
        }

        let mode = h.mode().map_err(UnpackError::Read)? & 0o7777;
        let uid = h.uid().map_err(UnpackError::Read)?;
        let gid = h.gid().map_err(UnpackError::Read)?;
        let mtime = h.mtime().unwrap_or(0) as i64;
        let xattrs = xattrs(entry);
        let pfd = self.parent(&parent, &shown, true)?;
        // New entries belong to root (this process) unless the directory is setgid.
        let chown = uid != 0 || gid != 0 || self.setgid_dirs.contains(&parent);
        // Creation applies `mode & 0o777` less the umask; anything else needs a chmod.
        let chmod = mode & !0o777 != 0 || mode & self.umask != 0;

        use tar::EntryType as T;
        match kind {
            T::Directory => {
                let made = match fsops::mkdir(pfd, &name, mode & 0o777) {
                    Err(e) if fsops::exists(&e) => {
                        if !self.clear(pfd, &parent, &name, true, &shown)? {
                            fsops::mkdir(pfd, &name, mode & 0o777)
                                .map_err(|e| write_err(&shown, e))?;
                            true
                        } else {
                            false
                        }
                    }
                    other => other.map(|()| true).map_err(|e| write_err(&shown, e))?,
                };
                let dir = fsops::open_dir(pfd, &name).map_err(|e| write_err(&shown, e))?;
                if chown || !made {
                    self.owner(dir.as_raw_fd(), OsStr::new(""), uid, gid, &shown)?;
                }
                if chmod || !made {
                    fsops::fchmod(dir.as_raw_fd(), mode).map_err(|e| write_err(&shown, e))?;
                }
                set_xattrs(&dir, &xattrs, &shown);
                if mode & libc::S_ISGID != 0 {
                    self.setgid_dirs.insert(rel.clone());
                } else {
                    self.setgid_dirs.remove(&rel);
                }
                self.dir_times.push((rel.clone(), mtime));
                self.keep(rel, dir);
            }
            T::Regular | T::Continuous | T::GNUSparse => {
                if kind == T::GNUSparse {
                    return Err(unsafe_entry(&shown, "sparse files are not supported"));
                }
                let mut file = None;
                self.create(pfd, &parent, &name, &shown, || {
                    file = Some(fsops::create_file(pfd, &name, mode & 0o777)?);
                    Ok(())
                })?;
                let mut f = file.expect("created above");
                copy(entry, &mut f, &mut self.buf).map_err(|e| match e {
                    CopyError::Read(e) => UnpackError::Read(e),
                    CopyError::Write(e) => write_err(&shown, e),
                })?;
                // chown clears setuid/setgid, so the mode is set after it.
                if chown {
                    self.owner(f.as_raw_fd(), OsStr::new(""), uid, gid, &shown)?;
                }
                if chmod {
                    fsops::fchmod(f.as_raw_fd(), mode).map_err(|e| write_err(&shown, e))?;
                }
                set_xattrs(&f, &xattrs, &shown);
                fsops::set_mtime(f.as_raw_fd(), OsStr::new(""), mtime)
                    .map_err(|e| write_err(&shown, e))?;
            }
            T::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(&shown, "symlink without a target"))?
                    .into_owned();
                // The target is stored verbatim: it is only ever resolved inside the container.
                self.create(pfd, &parent, &name, &shown, || {
                    fsops::symlink(OsStr::from_bytes(&target), pfd, &name)
                })?;
                if chown {
                    self.owner(pfd, &name, uid, gid, &shown)?;
                }
                fsops::set_mtime(pfd, &name, mtime).map_err(|e| write_err(&shown, e))?;
            }
            T::Link => {
                let raw_target = entry
                    .link_name_bytes()
                    .ok_or_else(|| unsafe_entry(&shown, "hardlink without a target"))?
                    .into_owned();
                let target = clean(&raw_target, &shown)
                    .map_err(|_| unsafe_entry(&shown, "hardlink target is outside the layer"))?;
                if target.as_os_str().is_empty() {
                    return Err(unsafe_entry(&shown, "hardlink target is outside the layer"));
                }
                let (tparent, tname) = split(&target);
                let tfd = self.parent(&tparent, &shown, false)?;
                // linkat links a symlink itself rather than following it, and fails with
                // ENOENT when the target is missing.
                match self.create(pfd, &parent, &name, &shown, || {
                    fsops::link(tfd, &tname, pfd, &name)
                }) {
                    Err(UnpackError::Write { source, .. })
                        if source.raw_os_error() == Some(libc::ENOENT) =>
                    {
                        return Err(unsafe_entry(
                            &shown,
                            "hardlink target does not exist in the layer",
                        ))
                    }
                    other => other?,
                }
            }
            T::Fifo => {
                self.create(pfd, &parent, &name, &shown, || {
                    fsops::mknod(pfd, &name, libc::S_IFIFO, mode, 0)
                })?;
                if chown {
                    self.owner(pfd, &name, uid, gid, &shown)?;
                }
            }
            T::Char | T::Block => {
                let major = h.device_major().ok().flatten().unwrap_or(0);
                let minor = h.device_minor().ok().flatten().unwrap_or(0);
                if kind != T::Char || major != 0 || minor != 0 {
                    return Err(unsafe_entry(
                        &shown,
                        "device nodes are not allowed in layers",
                    ));
                }
                // A 0/0 character device is already an overlay-format whiteout.
                self.create(pfd, &parent, &name, &shown, || {
                    fsops::mknod(pfd, &name, libc::S_IFCHR, 0, 0)
                })?;
            }
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => {}
            _ => return Err(unsafe_entry(&shown, "unsupported tar entry type")),
        }
        Ok(())
    }

    fn owner(
        &self,
        fd: i32,
        name: &OsStr,
        uid: u64,
        gid: u64,
        shown: &str,
    ) -> Result<(), UnpackError> {
        let out_of_range = || UnpackError::IdOutOfRange {
            path: shown.to_string(),
            uid,
            gid,
        };
        let (u, g) = (
            u32::try_from(uid).map_err(|_| out_of_range())?,
            u32::try_from(gid).map_err(|_| out_of_range())?,
        );
        match fsops::chown(fd, name, u, g) {
            Ok(()) => Ok(()),
            // EINVAL: the id has no mapping in this user namespace.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Err(out_of_range()),
            Err(e) => Err(write_err(shown, e)),
        }
    }
}

/// PAX `SCHILY.xattr.*` records of an entry.
fn xattrs<R: Read>(entry: &mut tar::Entry<'_, R>) -> Vec<(Vec<u8>, Vec<u8>)> {
    let Ok(Some(exts)) = entry.pax_extensions() else {
        return Vec::new();
    };
    exts.flatten()
        .filter_map(|e| {
            let key = e.key_bytes().strip_prefix(b"SCHILY.xattr.")?;
            Some((key.to_vec(), e.value_bytes().to_vec()))
        })
        .collect()
}

/// Sets xattrs, skipping those an unprivileged user namespace cannot hold (`trusted.*`); other
/// failures are logged rather than fatal, as podman does.
fn set_xattrs(fd: &impl AsRawFd, xattrs: &[(Vec<u8>, Vec<u8>)], shown: &str) {
    for (k, v) in xattrs {
        if k.starts_with(b"trusted.") {
            continue;
        }
        if let Err(e) = fsops::fsetxattr(fd, k, v) {
            log::debug!(
                "cannot set xattr {} on `{shown}`: {e}",
                String::from_utf8_lossy(k)
            );
        }
    }
}

enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

fn copy(r: &mut dyn Read, w: &mut std::fs::File, buf: &mut [u8]) -> Result<(), CopyError> {
    loop {
        let n = match r.read(buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        w.write_all(&buf[..n]).map_err(CopyError::Write)?;
    }
}
