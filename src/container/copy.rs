//! `cp`: copying files between the host and a container's root filesystem.
//!
//! The container side always runs in a forked child that has `chroot`ed into the container's
//! root. Every path it touches, symlinks and `..` included, then resolves inside the container
//! as it would for a process in it: a link `/etc -> /` or `x -> ../../..` in the image ends at
//! the container's own root, never on the host. The host side stays in the parent. The two talk
//! through a pipe carrying a tar stream (`copy_tar`), so files, directories, modes, mtimes and
//! symlinks travel the same way in both directions.
//!
//! Reaching the root: a running container's is `/proc/PID/root` of its pid 1, opened after
//! joining the container's user namespace (which gives the capabilities over its files and the
//! ptrace-level access that opening another process's root needs). Writes through it land in
//! the live overlay, exactly as the container sees them, volumes included; mounting the
//! overlay a second time over the same upper dir instead would be undefined behaviour for the
//! kernel. A stopped container's root is mounted by its storage driver in a private mount
//! namespace, inside rctr's user namespace.

use super::copy_tar::{self, Owners, UnpackRules};
use super::state::ContainerRecord;
use crate::image::store::Store;
use nix::unistd::{fork, ForkResult, Pid};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Errors from `cp`, `export` and the container side of `commit`. Each names the path.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{0}`: not a directory")]
    NotADirectory(PathBuf),
    #[error("`{0}`: no such file or directory")]
    Missing(PathBuf),
    #[error("cannot copy a directory onto the file `{0}`")]
    DirOntoFile(PathBuf),
    #[error("refusing to replace {} `{path}` with {}\nhint: use --overwrite", if *.dir { "directory" } else { "non-directory" }, if *.dir { "a non-directory" } else { "a directory" })]
    WouldReplace { path: PathBuf, dir: bool },
    #[error("`{0}` has no file name to copy under")]
    NoName(String),
    #[error("archive entry `{0}` points outside the destination")]
    BadEntry(String),
    #[error("the archive is empty")]
    EmptyArchive,
    #[error("{0}")]
    InContainer(String),
    #[error("cannot {what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: nix::Error,
    },
    #[error("cannot join the user namespace of container process {pid}: {source}")]
    Join {
        pid: i32,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Container(#[from] super::ContainerError),
    #[error(transparent)]
    Store(#[from] crate::image::store::StoreError),
}

impl CopyError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> CopyError {
        CopyError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// A container's root filesystem made reachable from this process; see the module comment.
pub struct ContainerRoot {
    path: PathBuf,
    mounted: Option<(crate::storage::DriverKind, PathBuf)>,
}

impl ContainerRoot {
    /// The directory to `chroot` into.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Joins running container process `pid`'s user namespace and returns its root. Call from
    /// the host's user namespace, single-threaded.
    pub fn join_running(pid: i32) -> Result<ContainerRoot, CopyError> {
        use nix::sched::{setns, CloneFlags};
        let ns = format!("/proc/{pid}/ns/user");
        let f = File::open(&ns).map_err(|source| CopyError::Join { pid, source })?;
        setns(&f, CloneFlags::CLONE_NEWUSER).map_err(|e| CopyError::Join {
            pid,
            source: e.into(),
        })?;
        let root = PathBuf::from(format!("/proc/{pid}/root"));
        std::fs::metadata(&root).map_err(|e| CopyError::io("open", &root, e))?;
        Ok(ContainerRoot {
            path: root,
            mounted: None,
        })
    }

    /// Mounts a stopped container's root filesystem. The caller is root in rctr's user
    /// namespace; this moves it into a private mount namespace first.
    pub fn mount_stopped(
        store: &Store,
        cdir: &Path,
        rec: &ContainerRecord,
    ) -> Result<ContainerRoot, CopyError> {
        let image = store.resolve(&rec.image_id)?;
        crate::storage::private_mount_namespace().map_err(super::ContainerError::from)?;
        let driver = rec.driver.driver();
        let path = driver
            .mount(&store.layer_dirs(&image), cdir, false)
            .map_err(super::ContainerError::from)?;
        Ok(ContainerRoot {
            path,
            mounted: Some((rec.driver, cdir.to_owned())),
        })
    }
}

impl Drop for ContainerRoot {
    fn drop(&mut self) {
        if let Some((kind, cdir)) = &self.mounted {
            if let Err(e) = kind.driver().unmount(cdir) {
                log::warn!("{e}");
            }
        }
    }
}

/// What is copied into a container.
pub enum Source<'a> {
    /// A host path, as the user wrote it (`dir/.` copies a directory's contents).
    Path(&'a str),
    /// A tar stream (`cp - CTR:DIR`), unpacked as it is into an existing directory.
    Tar(&'a mut dyn Read),
    /// A tar that [`copy_out`] wrote (`cp A:SRC B:DEST`): unpacked with the same rules as a
    /// host path, since its first entry is the source.
    Packed(&'a mut dyn Read),
}

/// Options for copying into a container.
pub struct CopyIn<'a> {
    /// The destination inside the container.
    pub dest: &'a str,
    /// podman's `--archive` (default true): give copied files the container's primary user
    /// and group (`user`, resolved in the container's /etc/passwd). When false, keep the
    /// owners the files have (as seen in the user namespace: the invoking user is root).
    pub archive: bool,
    /// The container's primary user (`--user`, or the invoking user under keep-id), or
    /// `None` for root.
    pub user: Option<&'a str>,
    pub overwrite: bool,
    /// Under `--userns keep-id`, the invoking user's ids: the container's ids are then those
    /// of a nested namespace, and a stopped container's files (reached from rctr's own
    /// namespace) are owned by the ids `lifecycle::ns_ids` gives.
    pub keep_id: Option<(u32, u32)>,
}

/// Copies `src` into the container whose root is `root`.
pub fn copy_in(root: &ContainerRoot, src: Source, o: &CopyIn) -> Result<(), CopyError> {
    let (r, mut w) = pipe()?;
    let dest = o.dest.to_string();
    let (archive, user, overwrite) = (o.archive, o.user.map(String::from), o.overwrite);
    // A running container is joined in its own namespace, where its ids need no translation.
    let shift = o.keep_id.filter(|_| root.mounted.is_some());
    let raw = matches!(src, Source::Tar(_));
    let child = spawn_chrooted(root.path(), &[w.as_raw_fd()], move || {
        let owners = if archive {
            let u = super::user::resolve(Path::new("/"), user.as_deref(), &[])?;
            match shift {
                Some(host) => {
                    let (uid, gid) = super::lifecycle::ns_ids(
                        super::options::UsernsMode::KeepId,
                        u.uid,
                        u.gid,
                        host,
                    );
                    Owners::Fixed(uid, gid)
                }
                None => Owners::Fixed(u.uid, u.gid),
            }
        } else {
            Owners::FromArchive
        };
        let rules = UnpackRules {
            raw,
            dest,
            owners,
            overwrite,
            no_links: false,
        };
        copy_tar::unpack(std::io::BufReader::with_capacity(256 * 1024, r), &rules)
    })?;
    let sent = with_sigpipe_ignored(|| match src {
        Source::Path(p) => copy_tar::pack(p, &mut w),
        Source::Tar(input) | Source::Packed(input) => std::io::copy(input, &mut w)
            .map(drop)
            .map_err(|e| CopyError::io("send", Path::new("stdin"), e)),
    });
    drop(w);
    // The child's error explains a broken pipe better than the pipe does.
    child.finish()?;
    sent
}

/// Where a copy out of a container goes.
pub enum Dest<'a> {
    /// A host path, with `docker cp`'s rules.
    Path(&'a str),
    /// A tar stream of the source (`cp CTR:SRC -`).
    Tar(&'a mut dyn Write),
}

/// Copies `src` (a path in the container) out of the container whose root is `root`. Files on
/// the host are owned by the invoking user.
pub fn copy_out(
    root: &ContainerRoot,
    src: &str,
    dest: Dest,
    overwrite: bool,
) -> Result<(), CopyError> {
    let (r, mut w) = pipe()?;
    let src_owned = src.to_string();
    let child = spawn_chrooted(root.path(), &[], move || {
        copy_tar::pack(
            &src_owned,
            std::io::BufWriter::with_capacity(256 * 1024, &mut w),
        )
    })?;
    let got = match dest {
        Dest::Path(p) => copy_tar::unpack(
            std::io::BufReader::with_capacity(256 * 1024, r),
            &UnpackRules {
                raw: false,
                dest: p.to_string(),
                owners: Owners::Unpacker,
                overwrite,
                no_links: true,
            },
        ),
        Dest::Tar(out) => {
            let mut r = r;
            std::io::copy(&mut r, out)
                .map(drop)
                .map_err(|e| CopyError::io("write", Path::new("stdout"), e))
        }
    };
    child.finish()?;
    got
}

fn pipe() -> Result<(File, File), CopyError> {
    let (r, w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|source| CopyError::Sys {
            what: "create a pipe".into(),
            source,
        })?;
    // A 1 MiB pipe (the unprivileged maximum) instead of 64 KiB cuts the context switches
    // between the two sides of a large copy; failing to grow it only costs speed.
    let _ = nix::fcntl::fcntl(w.as_raw_fd(), nix::fcntl::FcntlArg::F_SETPIPE_SZ(1 << 20));
    Ok((File::from(r), File::from(w)))
}

/// Runs `f` with SIGPIPE ignored, so that a child that stops reading early makes writes fail
/// with EPIPE instead of killing this process (main restores SIGPIPE's default disposition).
fn with_sigpipe_ignored<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: changing a signal disposition; single-threaded.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let out = f();
    // SAFETY: as above, restoring the previous disposition.
    unsafe { libc::signal(libc::SIGPIPE, old) };
    out
}

/// A forked child working inside the container's root.
pub(crate) struct Chrooted {
    pid: Pid,
    err: File,
}

/// Forks a child that chroots into `root` and runs `f`; its error comes back over a pipe.
/// The parent must be single-threaded.
/// `close` lists descriptors the child must not keep (the parent's end of a pipe).
pub(crate) fn spawn_chrooted<F>(root: &Path, close: &[i32], f: F) -> Result<Chrooted, CopyError>
where
    F: FnOnce() -> Result<(), CopyError>,
{
    let (err_r, mut err_w) = pipe()?;
    // SAFETY: the caller is single-threaded; the child only does plain syscalls and file I/O
    // before `_exit`.
    match unsafe { fork() }.map_err(|source| CopyError::Sys {
        what: "fork".into(),
        source,
    })? {
        ForkResult::Child => {
            drop(err_r);
            for fd in close {
                // SAFETY: closing an inherited descriptor the child never uses.
                unsafe { libc::close(*fd) };
            }
            let res = nix::unistd::chroot(root)
                .and_then(|_| nix::unistd::chdir("/"))
                .map_err(|source| CopyError::Sys {
                    what: format!("chroot into `{}`", root.display()),
                    source,
                })
                .and_then(|_| f());
            let code = match res {
                Ok(()) => 0,
                Err(e) => {
                    let _ = err_w.write_all(chain(&e).as_bytes());
                    1
                }
            };
            // SAFETY: ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
        ForkResult::Parent { child } => Ok(Chrooted {
            pid: child,
            err: err_r,
        }),
    }
}

impl Chrooted {
    /// Waits for the child and returns its error, if it had one.
    pub(crate) fn finish(mut self) -> Result<(), CopyError> {
        let mut msg = String::new();
        let _ = self.err.read_to_string(&mut msg);
        let status = nix::sys::wait::waitpid(self.pid, None).map_err(|source| CopyError::Sys {
            what: "wait for the copying process".into(),
            source,
        })?;
        match status {
            nix::sys::wait::WaitStatus::Exited(_, 0) => Ok(()),
            _ if !msg.is_empty() => Err(CopyError::InContainer(msg)),
            other => Err(CopyError::InContainer(format!(
                "the copying process failed: {other:?}"
            ))),
        }
    }
}

/// An error with its causes, `a: b: c`.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}
