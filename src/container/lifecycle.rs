//! Creating, starting and removing containers.
//!
//! The root filesystem is mounted by the calling `rctr` process, in a private mount namespace it
//! made for itself (see `storage::private_mount_namespace`), and the runtime's container child
//! inherits that mount when it clones its own mount namespace. Nothing reaches the host's mount
//! table, and the mount disappears when the container and this process are gone.

use super::etc_files::{self, EtcInput};
use super::options::{CreateOptions, MountKind, NetworkMode, SeccompChoice, UsernsMode};
use super::spec::{self, SpecInput};
use super::state::{random_id, random_name, ContainerRecord, ContainerState, Containers, Status};
use super::user;
use super::volumes::Volumes;
use super::ContainerError;
use crate::image::{ImageRecord, Store};
use crate::runtime::idmap::IdMap;
use crate::storage::DriverKind;
use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::Spec;
use std::path::{Path, PathBuf};

/// What `create` needs.
pub struct NewContainer<'a> {
    pub name: Option<String>,
    /// The image as the user named it.
    pub image_ref: &'a str,
    pub image: &'a ImageRecord,
    pub image_config: &'a ImageConfiguration,
    pub options: CreateOptions,
    pub driver: DriverKind,
    /// `--replace`: remove a container of the same name first.
    pub replace: bool,
}

/// Records a new container (under the containers lock, so names stay unique). Named volumes it
/// uses are created now, as podman does; its /etc files are written at each start.
pub fn create(
    containers: &Containers,
    volumes: &Volumes,
    new: NewContainer,
) -> Result<ContainerRecord, ContainerError> {
    let _lock = containers.lock()?;
    let name = match new.name {
        Some(n) => {
            if new.replace {
                if let Ok(old) = containers.lookup(&n) {
                    if old.name == n {
                        // Stopped already by the caller (see `stop`), or stopped here.
                        stop(containers, &old, STOP_TIMEOUT)?;
                        remove_locked(containers, volumes, &old, false)?;
                    }
                }
            }
            containers.check_name(&n)?;
            n
        }
        None => loop {
            let n = random_name();
            if containers.check_name(&n).is_ok() {
                break n;
            }
        },
    };
    for m in &new.options.mounts {
        if let MountKind::Volume { name } = &m.kind {
            volumes.ensure(
                name,
                name.len() == 64 && name.chars().all(|c| c.is_ascii_hexdigit()),
            )?;
        }
    }
    let rec = ContainerRecord {
        id: random_id(),
        name,
        image: new.image_ref.to_string(),
        image_name: new
            .image
            .names
            .first()
            .cloned()
            .unwrap_or_else(|| new.image.id.clone()),
        image_id: new.image.id.clone(),
        command: spec::effective_command(&new.options, new.image_config),
        created: chrono::Utc::now(),
        driver: new.driver,
        options: new.options,
    };
    containers.insert(&rec)?;
    Ok(rec)
}

/// Writes the container's /etc files (hosts, hostname, resolv.conf) into `dir`, afresh at each
/// start, as podman does: a container started again sees the host's current resolvers.
fn write_etc_files(rec: &ContainerRecord, dir: &Path) -> Result<(), ContainerError> {
    std::fs::create_dir_all(dir).map_err(|e| ContainerError::io("create directory", dir, e))?;
    let hostname = spec::hostname(rec);
    let o = &rec.options;
    etc_files::write(
        dir,
        &EtcInput {
            hostname: &hostname,
            name: &rec.name,
            add_hosts: &o.add_hosts,
            dns: &o.dns,
            dns_search: &o.dns_search,
            dns_option: &o.dns_option,
            host_network: o.network == NetworkMode::Host,
            user_net: match &o.network {
                NetworkMode::Slirp4netns(s) => Some(etc_files::UserNet {
                    gateway: s.gateway(),
                    dns: s.dns(),
                    address: s.address(),
                }),
                NetworkMode::Pasta(_) => {
                    let a = crate::network::pasta::addresses();
                    Some(etc_files::UserNet {
                        gateway: a.gateway,
                        dns: a.dns,
                        address: a.address,
                    })
                }
                _ => None,
            },
        },
    )
}

/// A container with a cgroup of its own gets a cgroup namespace rooted there, as podman's on
/// cgroup v2: it sees its cgroup as `/`, and none of the host's hierarchy above it.
fn private_cgroupns(spec: &mut Spec) -> Result<(), ContainerError> {
    use oci_spec::runtime::LinuxNamespaceType;
    let ns = oci_spec::runtime::LinuxNamespaceBuilder::default()
        .typ(LinuxNamespaceType::Cgroup)
        .build()
        .map_err(|e| ContainerError::Invalid(format!("cannot build the cgroup namespace: {e}")))?;
    if let Some(l) = spec.linux_mut() {
        let list = l.namespaces_mut().get_or_insert_with(Vec::new);
        if !list.iter().any(|n| n.typ() == LinuxNamespaceType::Cgroup) {
            list.push(ns);
        }
    }
    Ok(())
}

/// `--network container:`/`ns:`: the spec joins the existing network namespace by path.
fn join_network(
    spec: &mut Spec,
    containers: &Containers,
    opts: &CreateOptions,
) -> Result<(), ContainerError> {
    let Some(path) = crate::network::join::netns_path(&opts.network, containers)
        .map_err(|e| ContainerError::Invalid(e.to_string()))?
    else {
        return Ok(());
    };
    let ns = oci_spec::runtime::LinuxNamespaceBuilder::default()
        .typ(oci_spec::runtime::LinuxNamespaceType::Network)
        .path(path)
        .build()
        .map_err(|e| ContainerError::Invalid(format!("cannot build the network namespace: {e}")))?;
    if let Some(l) = spec.linux_mut() {
        l.namespaces_mut().get_or_insert_with(Vec::new).push(ns);
    }
    Ok(())
}

/// A container ready to hand to the runtime: its rootfs is mounted and its spec built.
pub struct Prepared {
    pub spec: Spec,
    pub rootfs: PathBuf,
    /// The seccomp filter to install (see `spec::seccomp_choice`).
    pub seccomp: SeccompChoice,
    /// The container's own cgroup, where a delegated cgroup v2 subtree allows one.
    pub cgroup: Option<super::cgroup::Cgroup>,
}

/// Mounts the container's root filesystem, fills new volumes from the image, applies `U`
/// chowns, resolves the user, and builds the runtime spec. The caller is root in rctr's user
/// namespace and in a private mount namespace.
pub fn prepare(
    store: &Store,
    containers: &Containers,
    volumes: &Volumes,
    rec: &ContainerRecord,
    run_dir: &Path,
    id_map: &IdMap,
    host_ids: (u32, u32),
) -> Result<Prepared, ContainerError> {
    let image = store.resolve(&rec.image_id).map_err(|e| {
        ContainerError::Invalid(format!("the image of container {} is gone: {e}", rec.name))
    })?;
    let image_config = store.image_config(&image).map_err(|e| {
        ContainerError::Invalid(format!(
            "cannot read the config of image {}: {e}",
            rec.image_id
        ))
    })?;
    let cdir = containers.dir(&rec.id);
    let rootfs = rec
        .driver
        .driver()
        .mount(&store.layer_dirs(&image), &cdir, rec.options.remove)?;
    let opts = &rec.options;
    let default_user = match (opts.userns, &opts.user) {
        (UsernsMode::KeepId, None) => Some(format!("{}:{}", host_ids.0, host_ids.1)),
        (_, u) => u.clone(),
    };
    let user = user::resolve(&rootfs, default_user.as_deref(), &opts.group_add)?;
    let mut volume_paths = Vec::new();
    for m in &opts.mounts {
        let src = match &m.kind {
            MountKind::Volume { name } => {
                let v = volumes.get(name)?;
                if !m.options.iter().any(|o| o == "nocopy") {
                    volumes.copy_up(name, &in_rootfs(&rootfs, &m.destination))?;
                }
                volume_paths.push(v.mountpoint.clone());
                v.mountpoint
            }
            MountKind::Bind { source } => PathBuf::from(source),
            MountKind::Tmpfs => continue,
        };
        if m.chown {
            let (uid, gid) = ns_ids(opts.userns, user.uid, user.gid, host_ids);
            chown_tree(&src, uid, gid)?;
        }
    }
    ensure_workdir(&rootfs, opts, &image_config);
    write_etc_files(rec, run_dir)?;
    let mut spec = spec::build(&SpecInput {
        rec,
        image: &image_config,
        rootfs: &rootfs,
        run_dir,
        user: &user,
        volume_paths: &volume_paths,
        id_map,
        host_uid: host_ids.0,
        host_gid: host_ids.1,
    })?;
    join_network(&mut spec, containers, opts)?;
    // Last, so that no earlier failure leaves a cgroup behind.
    let cgroup = match super::cgroup::locate() {
        Some(group) => {
            let cg = super::cgroup::Cgroup::create(&group, &rec.id)?;
            super::resources::apply(&cg, opts)?;
            private_cgroupns(&mut spec)?;
            Some(cg)
        }
        None => None,
    };
    Ok(Prepared {
        spec,
        rootfs,
        seccomp: spec::seccomp_choice(opts).clone(),
        cgroup,
    })
}

/// The ids in rctr's namespace that a container uid/gid corresponds to (they differ only
/// under keep-id's nested mapping).
pub fn ns_ids(mode: UsernsMode, uid: u32, gid: u32, host: (u32, u32)) -> (u32, u32) {
    let map = |id: u32, h: u32| {
        if mode != UsernsMode::KeepId {
            id
        } else if id == h {
            0
        } else if id < h {
            id + 1
        } else {
            id
        }
    };
    (map(uid, host.0), map(gid, host.1))
}

fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<(), ContainerError> {
    std::os::unix::fs::lchown(path, Some(uid), Some(gid))
        .map_err(|e| ContainerError::io("change the owner of", path, e))?;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        let rd =
            std::fs::read_dir(path).map_err(|e| ContainerError::io("read directory", path, e))?;
        for e in rd.flatten() {
            chown_tree(&e.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// `path` (absolute in the container) under the mounted rootfs, without following symlinks
/// that could point out of it: such a path simply yields nothing to copy.
fn in_rootfs(rootfs: &Path, path: &str) -> PathBuf {
    let mut p = rootfs.to_path_buf();
    for c in Path::new(path).components() {
        if let std::path::Component::Normal(n) = c {
            p.push(n);
            if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
                return rootfs.join(".rctr-no-such-path");
            }
        }
    }
    p
}

/// Creates the working directory in the rootfs when the image lacks it, as podman does.
fn ensure_workdir(rootfs: &Path, opts: &CreateOptions, image: &ImageConfiguration) {
    let wd = opts.workdir.clone().or_else(|| {
        image
            .config()
            .as_ref()
            .and_then(|c| c.working_dir().clone())
    });
    if let Some(wd) = wd.filter(|w| w.starts_with('/')) {
        let p = in_rootfs(rootfs, &wd);
        if !p.exists() && p.starts_with(rootfs) && !p.ends_with(".rctr-no-such-path") {
            let _ = std::fs::create_dir_all(&p);
        }
    }
}

/// Records that the container is running as `container_pid`, owned by this process, in its
/// own `cgroup` when it has one.
pub fn mark_running(
    containers: &Containers,
    id: &str,
    container_pid: i32,
    cgroup: Option<&Path>,
) -> Result<(), ContainerError> {
    let me = std::process::id() as i32;
    let (my_start, pid1_start) = (
        super::state::process_start(me),
        super::state::process_start(container_pid),
    );
    containers.update_state(id, |st| {
        st.status = Status::Running;
        st.pid = Some(me);
        st.pid_start = my_start;
        st.container_pid = Some(container_pid);
        st.container_pid_start = pid1_start;
        st.started_at = Some(chrono::Utc::now());
        st.exit_code = None;
        st.finished_at = None;
        st.restarting = false;
        st.paused = false;
        st.cgroup = cgroup.map(Path::to_path_buf);
    })
}

/// Records that the user starts the container (as opposed to its restart policy): the
/// restart count starts over and an earlier `stop` no longer holds, as in podman.
pub fn mark_user_start(containers: &Containers, id: &str) -> Result<(), ContainerError> {
    containers.update_state(id, |st| {
        st.restart_count = 0;
        st.stopped_by_user = false;
    })
}

/// Records that the user stopped or signalled the container, so that its restart policy no
/// longer applies. Returns the state as it was (corrected, see `ContainerState::effective`).
pub fn mark_stopped_by_user(
    containers: &Containers,
    id: &str,
) -> Result<ContainerState, ContainerError> {
    containers.update_state(id, |st| {
        st.stopped_by_user = true;
        st.clone().effective()
    })
}

/// Records the container's exit.
pub fn mark_exited(containers: &Containers, id: &str, code: i32) -> Result<(), ContainerError> {
    record_exit(containers, id, code, |_| false).map(|_| ())
}

/// Records the container's exit, and asks `restart` (given the state with the exit recorded)
/// whether the owner will launch it again; if so the state says so (`restarting`, with the
/// owner kept) and the restart is counted. Both happen under the state lock, so a concurrent
/// `stop` either comes first and prevents the restart, or sees it pending and stops the owner.
pub fn record_exit(
    containers: &Containers,
    id: &str,
    code: i32,
    restart: impl FnOnce(&ContainerState) -> bool,
) -> Result<bool, ContainerError> {
    containers.update_state(id, |st| {
        st.status = Status::Exited;
        st.container_pid = None;
        st.container_pid_start = None;
        st.exit_code = Some(code);
        st.finished_at = Some(chrono::Utc::now());
        st.paused = false;
        let again = restart(st);
        st.restarting = again;
        if again {
            st.restart_count += 1;
        } else {
            st.pid = None;
            st.pid_start = None;
        }
        again
    })
}

/// Records that the owner gave up a pending restart (it was stopped, or the launch failed).
pub fn clear_restarting(containers: &Containers, id: &str) -> Result<(), ContainerError> {
    containers.update_state(id, |st| {
        st.restarting = false;
        st.pid = None;
        st.pid_start = None;
    })
}

/// Removes a container: its directory (upper layer, state, generated files) and, with
/// `with_volumes`, its anonymous volumes. A running container is refused unless `force`, which
/// stops it first (see [`stop`]).
/// The containers that join `id`'s namespaces (`--network container:ID`). Removing `id`
/// first would leave them pointing at a namespace that no longer exists, so podman refuses it
/// unless `rm --depend` removes them first.
pub fn dependents(
    containers: &Containers,
    id: &str,
) -> Result<Vec<ContainerRecord>, ContainerError> {
    Ok(containers
        .list()?
        .into_iter()
        .filter(|r| r.options.network.joined_container() == Some(id))
        .collect())
}

/// `targets` with every container that depends on them, directly or not, each dependent
/// ahead of the container it depends on: the order `rm --depend` removes them in.
pub fn with_dependents(
    containers: &Containers,
    targets: Vec<ContainerRecord>,
) -> Result<Vec<ContainerRecord>, ContainerError> {
    fn visit(
        containers: &Containers,
        rec: ContainerRecord,
        out: &mut Vec<ContainerRecord>,
    ) -> Result<(), ContainerError> {
        if out.iter().any(|r| r.id == rec.id) {
            return Ok(());
        }
        for d in dependents(containers, &rec.id)? {
            visit(containers, d, out)?;
        }
        if !out.iter().any(|r| r.id == rec.id) {
            out.push(rec);
        }
        Ok(())
    }
    let mut out = Vec::new();
    for t in targets {
        visit(containers, t, &mut out)?;
    }
    Ok(out)
}

/// `targets`, all to be removed together (the users of an image, volume or network that
/// `--force` removes), ordered so that each comes after the containers that depend on it.
/// Refuses, before anything is stopped, when a target has a dependent that is not a target
/// itself: removing it would leave that container joined to a namespace that is gone.
pub fn removal_order(
    containers: &Containers,
    targets: Vec<ContainerRecord>,
) -> Result<Vec<ContainerRecord>, ContainerError> {
    for t in &targets {
        let outside: Vec<String> = dependents(containers, &t.id)?
            .into_iter()
            .filter(|d| !targets.iter().any(|o| o.id == d.id))
            .map(|d| d.id)
            .collect();
        if !outside.is_empty() {
            return Err(ContainerError::HasDependents {
                id: t.id.clone(),
                dependents: outside.join(","),
            });
        }
    }
    with_dependents(containers, targets)
}

/// Removes a container (stopping it first with `force`), its own cgroup included. Returns
/// whether that cgroup is gone: after a kill -9 of its owner, processes may keep it busy, which
/// is no reason to fail; the caller decides whether to say so.
pub fn remove(
    containers: &Containers,
    vols: &Volumes,
    rec: &ContainerRecord,
    force: bool,
    with_volumes: bool,
) -> Result<super::cgroup::Removed, ContainerError> {
    let deps = dependents(containers, &rec.id)?;
    if !deps.is_empty() {
        return Err(ContainerError::HasDependents {
            id: rec.id.clone(),
            dependents: deps
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
        });
    }
    let st = containers.state(&rec.id)?;
    if st.restarting {
        // The monitor waits to restart it: the container is not running, but the monitor
        // must not bring it back once it is gone.
        stop(containers, rec, STOP_TIMEOUT)?;
    } else if st.status == Status::Running {
        if !force {
            return Err(ContainerError::WrongState {
                id: rec.id.clone(),
                status: "running".into(),
                what: "cannot remove a running container: stop it first or use -f",
            });
        }
        stop(containers, rec, STOP_TIMEOUT)?;
    }
    let _lock = containers.lock()?;
    remove_locked(containers, vols, rec, with_volumes)
}

/// Removes a container whose process the caller has just reaped (`run --rm` in the
/// foreground). Its state still says running: the exit is not recorded first, since the record
/// is about to go, and that write would cost an ext4 flush of the replaced state file. Its
/// files are only retired (see [`Containers::retire`]): the caller deletes them, with
/// [`purge_detached`] or [`Containers::purge_retired`].
pub fn remove_exited(
    containers: &Containers,
    vols: &Volumes,
    rec: &ContainerRecord,
) -> Result<(), ContainerError> {
    let _lock = containers.lock()?;
    containers.retire(&rec.id)?;
    remove_volumes(containers, vols, rec)
}

fn remove_locked(
    containers: &Containers,
    vols: &Volumes,
    rec: &ContainerRecord,
    with_volumes: bool,
) -> Result<super::cgroup::Removed, ContainerError> {
    // Its own cgroup first: once the record is gone, nothing knows where it is.
    let cgroup = match containers.state(&rec.id).ok().and_then(|st| st.cgroup) {
        Some(p) => super::cgroup::remove(&p)?,
        None => super::cgroup::Removed::Gone,
    };
    containers.delete(&rec.id)?;
    if with_volumes {
        remove_volumes(containers, vols, rec)?;
    }
    Ok(cgroup)
}

/// Removes the anonymous volumes of a removed container that no other container uses.
fn remove_volumes(
    containers: &Containers,
    vols: &Volumes,
    rec: &ContainerRecord,
) -> Result<(), ContainerError> {
    for m in &rec.options.mounts {
        if let MountKind::Volume { name } = &m.kind {
            let anonymous = vols.get(name).map(|v| v.anonymous).unwrap_or(false);
            if anonymous && vols.users(name, containers)?.is_empty() {
                vols.remove(name)?;
            }
        }
    }
    Ok(())
}

/// Deletes the retired container directories (see [`Containers::retire`]) in a child process
/// that outlives the caller, so that `run --rm` returns once the container's exit is known
/// rather than after its writable layer is gone: deleting a few dozen inodes costs several
/// milliseconds on ext4 (more with the `discard` mount option), and nothing waits on it, since
/// the container has already left every listing. The child is a session leader with its stdio
/// on /dev/null, so neither a terminal's Ctrl-C nor a shell reading the caller's output waits for
/// it or stops it. A process with threads cannot fork safely, so it deletes them itself.
pub fn purge_detached(containers: &Containers) -> Result<(), ContainerError> {
    let threads = std::fs::read_dir("/proc/self/task").map_or(2, |d| d.count());
    if threads != 1 {
        return containers.purge_retired();
    }
    let devnull = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .map_err(|e| ContainerError::io("open", Path::new("/dev/null"), e))?;
    // SAFETY: this process is single-threaded (checked above), so the child may allocate; it
    // leaves with _exit, running no destructor or exit handler of the parent's.
    match unsafe { nix::unistd::fork() } {
        Ok(nix::unistd::ForkResult::Child) => {
            use std::os::fd::AsRawFd;
            let _ = nix::unistd::setsid();
            for fd in 0..3 {
                // SAFETY: dup2 onto the standard descriptors of this child.
                unsafe { libc::dup2(devnull.as_raw_fd(), fd) };
            }
            // Nothing the parent holds open (a lock, a socket) may outlive it in this child.
            // SAFETY: close_range on descriptors of this child alone.
            unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32) };
            let code = i32::from(containers.purge_retired().is_err());
            // SAFETY: see above.
            unsafe { libc::_exit(code) }
        }
        Ok(nix::unistd::ForkResult::Parent { .. }) => Ok(()),
        // No process to spare: delete them here.
        Err(_) => containers.purge_retired(),
    }
}

/// How long a container gets to exit after its stop signal (podman's default).
pub const STOP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Stops a running container: its stop signal (default SIGTERM) to its pid 1, then SIGKILL after
/// `timeout`, then waits for the owning `rctr` to record the exit. Its restart policy no longer
/// applies afterwards; a monitor waiting to restart it is told to give up (SIGTERM).
///
/// Call it from the host's user namespace when possible (before `enter_userns`): from there the
/// invoking user holds CAP_KILL over the container's namespace, and so may signal container
/// processes that run as subordinate ids. From inside a fresh rctr namespace only the owner,
/// which forwards the stop signal, can be reached.
pub fn stop(
    containers: &Containers,
    rec: &ContainerRecord,
    timeout: std::time::Duration,
) -> Result<(), ContainerError> {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let st = mark_stopped_by_user(containers, &rec.id)?;
    thaw_if_paused(containers, &rec.id, &st);
    if st.restarting {
        return stop_restarting_owner(containers, rec, &st);
    }
    if st.status != Status::Running {
        return Ok(());
    }
    if st.orphaned() {
        return stop_orphan(containers, rec, &st, timeout);
    }
    let owner = st.pid.map(Pid::from_raw);
    let target = st.container_pid.or(st.pid).map(Pid::from_raw);
    let gone = |deadline: std::time::Instant| loop {
        // The recorded exit counts too: a monitor that has exited may linger as a zombie until
        // whoever adopted it reaps it.
        let recorded = containers
            .state(&rec.id)
            .map_or(true, |s| s.status != Status::Running);
        if recorded || owner.is_none_or(|p| kill(p, None).is_err()) {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let sig = stop_signal(rec);
    if let Some(t) = target {
        if kill(t, sig).is_err() {
            if let Some(o) = owner {
                let _ = kill(o, sig);
            }
        }
    }
    if gone(std::time::Instant::now() + timeout) {
        return Ok(());
    }
    if let Some(t) = target {
        let _ = kill(t, Signal::SIGKILL);
    }
    if !gone(std::time::Instant::now() + std::time::Duration::from_secs(2)) {
        if let Some(o) = owner {
            let _ = kill(o, Signal::SIGKILL);
        }
    }
    Ok(())
}

/// Thaws a paused container before it is signalled, as podman does: a frozen process would
/// not act on its stop signal (only SIGKILL reaches frozen tasks), and the monitor could not
/// record an exit that never comes. Best effort: a failure leaves SIGKILL to do the job.
pub fn thaw_if_paused(containers: &Containers, id: &str, st: &ContainerState) {
    if !st.paused {
        return;
    }
    let thawed = super::freezer::Freezer::of_container(st.cgroup.as_deref(), id, "unpause")
        .and_then(|f| f.set(false));
    if thawed.is_ok() {
        let _ = containers.update_state(id, |s| s.paused = false);
    }
}

fn stop_signal(rec: &ContainerRecord) -> nix::sys::signal::Signal {
    rec.options
        .stop_signal
        .as_deref()
        .and_then(parse_signal)
        .unwrap_or(nix::sys::signal::Signal::SIGTERM)
}

/// Polls until `dead()` holds or `within` passes; returns whether it held.
fn wait_until(within: std::time::Duration, dead: impl Fn() -> bool) -> bool {
    let deadline = std::time::Instant::now() + within;
    loop {
        if dead() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// A monitor waiting out its backoff: SIGTERM makes it give up the restart and exit.
fn stop_restarting_owner(
    containers: &Containers,
    rec: &ContainerRecord,
    st: &ContainerState,
) -> Result<(), ContainerError> {
    use nix::sys::signal::{kill, Signal};
    let (Some(pid), start) = (st.pid, st.pid_start) else {
        return Ok(());
    };
    let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGTERM);
    let alive = || super::state::process_alive(pid, start);
    if !wait_until(std::time::Duration::from_secs(5), || !alive()) {
        let _ = kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        wait_until(std::time::Duration::from_secs(2), || !alive());
    }
    // Only a monitor killed before it could clean up leaves the flag behind.
    let still = containers.state(&rec.id).is_ok_and(|s| s.restarting);
    if still {
        clear_restarting(containers, &rec.id)?;
    }
    Ok(())
}

/// A container whose monitor was killed: it is nobody's child, so its exit is observed by
/// polling its pid and recorded here. Its exit code is lost with the monitor; it is recorded
/// as -1, as podman does when conmon is gone.
fn stop_orphan(
    containers: &Containers,
    rec: &ContainerRecord,
    st: &ContainerState,
    timeout: std::time::Duration,
) -> Result<(), ContainerError> {
    use nix::sys::signal::{kill, Signal};
    let Some(pid) = st.container_pid else {
        return Ok(());
    };
    let start = st.container_pid_start;
    let alive = || super::state::process_alive(pid, start);
    let target = nix::unistd::Pid::from_raw(pid);
    if alive() {
        let _ = kill(target, stop_signal(rec));
    }
    if !wait_until(timeout, || !alive()) {
        let _ = kill(target, Signal::SIGKILL);
        wait_until(std::time::Duration::from_secs(5), || !alive());
    }
    ::log::warn!(
        "the monitor of container {} is gone, so its exit code is unknown",
        rec.name
    );
    mark_exited(containers, &rec.id, -1)
}

/// Parses a signal name or number: `TERM`, `SIGTERM`, `15`.
pub fn parse_signal(s: &str) -> Option<nix::sys::signal::Signal> {
    use std::str::FromStr;
    if let Ok(n) = s.parse::<i32>() {
        return nix::sys::signal::Signal::try_from(n).ok();
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    nix::sys::signal::Signal::from_str(&name).ok()
}
