//! The per-container monitor of a detached container (`run -d`, `start`): the same binary,
//! re-executed with `_RCTR_MONITOR=<id>` in its environment (set only by rctr itself; there is
//! no user-visible subcommand) and `argv[0]` = `rctr-monitor`. It becomes a session leader, so it
//! survives the terminal closing, enters rctr's user namespace and a private mount namespace,
//! mounts the root filesystem and launches the container as its own child. It reports success
//! or the child's error over a pipe (fd 3) to the `rctr` that started it, then writes the
//! container's output to `ctr.log` (k8s-file format), forwards termination signals, records the
//! exit code and finish time, and removes `--rm` containers. It also serves the container's pty
//! or pipes on an attach socket (`monitor_attach`) for `attach`, `run -it` and `start -a`.
//!
//! It is single-threaded and waits in poll(2): no tokio, no threads, so it stays small.
//! It applies the restart policy (see `relaunch`). Nothing restarts a container after the
//! monitor dies or the machine reboots; `rctr generate systemd` makes a unit for that.

use super::monitor_attach::{Hub, Input};
use crate::container::lifecycle;
use crate::container::logs::{log_path, LogWriter, Stream};
use crate::container::state::ContainerRecord;
use crate::context::{Context, Overrides};
use crate::runtime::{self, LaunchOptions, StdioMode};
use anyhow::{anyhow, bail, Context as _, Result};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use std::io::{BufRead, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

pub(super) const ENV_ID: &str = "_RCTR_MONITOR";
pub(super) const ENV_ROOT: &str = "_RCTR_MONITOR_ROOT";
pub(super) const ENV_RUNROOT: &str = "_RCTR_MONITOR_RUNROOT";
/// Set by `spawn_attached`: hold output and exit back until the first attach client comes.
const ENV_HOLD: &str = "_RCTR_MONITOR_HOLD";
/// Set when the monitor re-executes itself to supervise a launched container (see `resume`).
const ENV_SUPERVISE: &str = "_RCTR_MONITOR_SUPERVISE";
/// The descriptor on which the monitor reports to the `rctr` that started it.
const REPORT_FD: i32 = 3;

/// Signals the monitor passes on to the container (a `kill` of the monitor means the container).
const FORWARDED: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Starts a monitor for `rec` and waits until it reports: Ok once the container runs, or the
/// error (with its exit code: 125, 126, 127) that kept it from starting. Call it single-threaded.
pub fn spawn(ctx: &Context, rec: &ContainerRecord) -> Result<()> {
    let containers = crate::container::state::Containers::open(&ctx.root)?;
    lifecycle::mark_user_start(&containers, &rec.id)?;
    spawn_with(ctx, rec, false)
}

/// Like `spawn`, for a caller that attaches right after (`run -it`, `start -a`): the monitor
/// holds the container's output and exit back until the first attach client connects.
pub fn spawn_attached(ctx: &Context, rec: &ContainerRecord) -> Result<()> {
    let containers = crate::container::state::Containers::open(&ctx.root)?;
    lifecycle::mark_user_start(&containers, &rec.id)?;
    spawn_with(ctx, rec, true)
}

/// Like [`spawn`], for a start that the restart policy makes (after a foreground run): the
/// restart count and the user's stop are kept.
pub fn spawn_keeping_count(ctx: &Context, rec: &ContainerRecord) -> Result<()> {
    spawn_with(ctx, rec, false)
}

fn spawn_with(ctx: &Context, rec: &ContainerRecord, hold: bool) -> Result<()> {
    let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC).context("cannot create a pipe")?;
    let wfd = w.as_raw_fd();
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0("rctr-monitor")
        .env(ENV_ID, &rec.id)
        .env(ENV_ROOT, &ctx.root)
        .env(ENV_RUNROOT, &ctx.runroot)
        .env(ENV_HOLD, if hold { "1" } else { "0" })
        .env(super::relaunch::ENV_STORE, super::relaunch::store_env(ctx))
        .env_remove(super::relaunch::ENV_AGAIN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls (dup2, fcntl, setsid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if wfd == REPORT_FD {
                libc::fcntl(REPORT_FD, libc::F_SETFD, 0);
            } else if libc::dup2(wfd, REPORT_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start the monitor of container {}", rec.name))?;
    drop(w);
    drop(cmd);
    let mut line = String::new();
    std::io::BufReader::new(std::fs::File::from(r))
        .read_line(&mut line)
        .context("cannot read the monitor's report")?;
    let line = line.trim_end();
    if line == "ok" {
        return Ok(());
    }
    if let Some(rest) = line.strip_prefix("err ") {
        let (code, msg) = rest.split_once(' ').unwrap_or(("125", rest));
        let code = code.parse().unwrap_or(crate::exit::FAILURE);
        return Err(crate::exit::with_code(code, anyhow!("{msg}")));
    }
    bail!(
        "the monitor (pid {}) of container {} exited without reporting",
        child.id(),
        rec.name
    )
}

/// When this process is a monitor (see the module docs), runs it and returns its exit status.
pub fn main_if_monitor() -> Option<i32> {
    if let Ok(v) = std::env::var(ENV_SUPERVISE) {
        std::env::remove_var(ENV_SUPERVISE);
        return Some(resume(&v));
    }
    let id = std::env::var(ENV_ID).ok()?;
    let over = Overrides {
        root: std::env::var_os(ENV_ROOT).map(Into::into),
        runroot: std::env::var_os(ENV_RUNROOT).map(Into::into),
        ..Default::default()
    };
    // Single-threaded: nothing else reads the environment concurrently.
    let hold = std::env::var(ENV_HOLD).is_ok_and(|v| v == "1");
    for v in [ENV_ID, ENV_ROOT, ENV_RUNROOT, ENV_HOLD] {
        std::env::remove_var(v);
    }
    // SAFETY: fd 3 was set up by `spawn`; mark it close-on-exec so the container never sees it.
    // A relaunched monitor (see `relaunch`) has nobody to report to.
    let mut report = (!super::relaunch::is_relaunch()).then(|| unsafe {
        libc::fcntl(REPORT_FD, libc::F_SETFD, libc::FD_CLOEXEC);
        std::fs::File::from_raw_fd(REPORT_FD)
    });
    super::log::init(::log::LevelFilter::Warn);
    match monitor(&id, &over, hold, &mut report) {
        Ok(code) => Some(code),
        Err(err) => {
            let code = crate::exit::code_of(&err);
            if let Some(mut r) = report.take() {
                let msg = format!("{err:#}").replace('\n', " ");
                let _ = writeln!(r, "err {code} {msg}");
            }
            Some(code)
        }
    }
}

fn monitor(
    id: &str,
    over: &Overrides,
    hold: bool,
    report: &mut Option<std::fs::File>,
) -> Result<i32> {
    let ctx = Context::resolve(over).context("cannot resolve rctr's configuration")?;
    // User-defined networks: join the shared namespace's user namespace before any other.
    let peek = crate::container::state::Containers::open(&ctx.root)?.record(id)?;
    let session = super::network::enter_for(&ctx, &peek.options.network)?;
    let e = super::container::engines(&ctx)?;
    let rec = e.containers.record(id)?;
    let signals = block_signals()?;
    let net: NetSlot = Default::default();
    let started = start(&ctx, &e, &rec, &net, session, hold);
    let (launched, outputs, mut hub) = match started {
        Ok(l) => l,
        Err(err) => {
            finish(&e.containers, &e.volumes, &rec, crate::exit::code_of(&err));
            return Err(err);
        }
    };
    if let Err(err) = super::pidfile::write(&ctx.runroot, &rec) {
        // Whoever waits on the pid file (systemd) would never see this container: undo it.
        let _ = kill(launched.pid, Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(launched.pid, None);
        drop(net.borrow_mut().take());
        finish(&e.containers, &e.volumes, &rec, crate::exit::FAILURE);
        return Err(err);
    }
    if let Some(mut r) = report.take() {
        let _ = r.write_all(b"ok\n");
    }
    // Everything done so far (config, image store, spec, seccomp) touched code and heap that
    // supervising never needs again. Re-executing keeps the pid, so the container stays our
    // child, and drops all of it: the monitor then costs little more than its log buffer.
    // slirp4netns and pasta stay our children across execve; the port forwarder is threads of
    // this image, so a container with published ports is supervised in place instead.
    let passed_net = net
        .borrow()
        .as_ref()
        .map_or(Some(String::new()), |h| h.pass());
    if let Some(passed_net) = passed_net {
        let Err(err) = reexec(&ctx, &rec, launched.pid, &outputs, &hub, &passed_net);
        std::env::remove_var(ENV_SUPERVISE);
        ::log::warn!("cannot re-execute the monitor, supervising in place: {err}");
    }
    let code = supervise_and_log(
        &e.containers,
        &rec,
        launched.pid,
        &signals,
        outputs,
        &mut hub,
    );
    drop(net.borrow_mut().take());
    let code = code?;
    // Attach clients hear the exit code once it is recorded, before a relaunch or removal.
    super::relaunch::after_exit(&e.containers, &e.volumes, &rec, code, &signals, || {
        hub.finish(code)
    });
    // The container's code is the monitor's, so that a systemd unit whose main process is
    // the monitor sees the container fail (`Restart=on-failure`).
    Ok(code)
}

fn supervise_and_log(
    containers: &crate::container::state::Containers,
    rec: &ContainerRecord,
    pid: nix::unistd::Pid,
    signals: &SignalFd,
    outputs: Outputs,
    hub: &mut Hub,
) -> Result<i32> {
    let mut log = if rec.options.log_none {
        None
    } else {
        let p = log_path(&containers.dir(&rec.id));
        Some(
            LogWriter::open(&p, rec.options.log_max_size)
                .with_context(|| format!("cannot open `{}`", p.display()))?,
        )
    };
    super::monitor_memory::shed_executable_pages();
    supervise(pid, signals, outputs, &mut log, hub)
}

/// Replaces this process image with a fresh monitor that only supervises. The signal mask
/// survives execve, so no signal is lost in between; the output descriptors are passed open,
/// and so are the network helpers (`net`, from `NetworkHandle::pass`), which stay children.
fn reexec(
    ctx: &Context,
    rec: &ContainerRecord,
    pid: nix::unistd::Pid,
    outputs: &Outputs,
    hub: &Hub,
    net: &str,
) -> Result<std::convert::Infallible> {
    let mut v = format!("{}\n{}\n{}", ctx.root.display(), rec.id, pid.as_raw());
    for (fd, stream) in outputs {
        // SAFETY: clearing FD_CLOEXEC on a descriptor we own.
        unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) };
        let s = if *stream == Stream::Stdout { "o" } else { "e" };
        v.push_str(&format!("\n{}{s}", fd.as_raw_fd()));
    }
    v.push('\n');
    v.push_str(&hub.pass());
    if !net.is_empty() {
        v.push_str("\nn:");
        v.push_str(net);
    }
    std::env::set_var(ENV_SUPERVISE, v);
    let exe = std::ffi::CString::new("/proc/self/exe")?;
    let arg0 = std::ffi::CString::new("rctr-monitor")?;
    Ok(nix::unistd::execv(&exe, &[arg0])?)
}

/// The re-executed monitor: supervises the container named in `v` (see `reexec`).
fn resume(v: &str) -> i32 {
    let run = || -> Result<i32> {
        let mut it = v.split('\n');
        let (Some(root), Some(id), Some(pid)) = (it.next(), it.next(), it.next()) else {
            bail!("malformed {ENV_SUPERVISE}");
        };
        let pid = nix::unistd::Pid::from_raw(pid.parse()?);
        let mut outputs = Vec::new();
        let mut hub = None;
        let mut net = None;
        for f in it {
            if f.starts_with("a:") {
                hub = Hub::from_passed(f);
                continue;
            }
            if let Some(n) = f.strip_prefix("n:") {
                net = crate::network::NetworkHandle::from_passed(n);
                if net.is_none() {
                    bail!("malformed {ENV_SUPERVISE}: network helpers `{n}`");
                }
                continue;
            }
            let (n, s) = f.split_at(f.len() - 1);
            // SAFETY: the descriptor was passed open by `reexec`, and is owned by nothing else.
            let fd = unsafe { OwnedFd::from_raw_fd(n.parse()?) };
            // SAFETY: as above.
            unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
            outputs.push((
                fd,
                if s == "o" {
                    Stream::Stdout
                } else {
                    Stream::Stderr
                },
            ));
        }
        let signals = block_signals()?;
        let root = std::path::Path::new(root);
        let containers = crate::container::state::Containers::open(root)?;
        let volumes = crate::container::volumes::Volumes::open(root)?;
        let rec = containers.record(id)?;
        let Some(mut hub) = hub else {
            bail!("malformed {ENV_SUPERVISE}: no attach socket");
        };
        let code = supervise_and_log(&containers, &rec, pid, &signals, outputs, &mut hub);
        // As in place: the helpers go with the container, before a relaunch starts new ones.
        drop(net);
        let code = code?;
        super::relaunch::after_exit(&containers, &volumes, &rec, code, &signals, || {
            hub.finish(code)
        });
        Ok(code)
    };
    match run() {
        Ok(code) => code,
        Err(_) => crate::exit::FAILURE,
    }
}

/// The container's output descriptors, with the stream each one carries.
type Outputs = Vec<(OwnedFd, Stream)>;

/// The container's network helpers (slirp4netns, the port forwarder), set once it exists.
type NetSlot = std::rc::Rc<std::cell::RefCell<Option<crate::network::NetworkHandle>>>;

fn start(
    ctx: &Context,
    e: &super::container::Engines,
    rec: &ContainerRecord,
    net: &NetSlot,
    session: Option<std::rc::Rc<crate::network::user::session::Session>>,
    hold: bool,
) -> Result<(runtime::Launched, Outputs, Hub)> {
    crate::storage::private_mount_namespace()?;
    let run_dir = crate::container::state::run_dir(&ctx.runroot, &rec.id);
    let prepared = lifecycle::prepare(
        &e.store,
        &e.containers,
        &e.volumes,
        rec,
        &run_dir,
        &e.map,
        (ctx.host_uid, ctx.host_gid),
    )
    .with_context(|| format!("cannot prepare container {}", rec.name))?;
    let cgroup_guard = super::cgroups::Guard::new(
        prepared.cgroup.as_ref().map(|c| c.path.as_path()),
        &rec.name,
    );
    // `exec` runs its processes with the container's own settings; it reads them from here
    // rather than rebuilding the spec, which would need the image store.
    let exec_json = super::exec::process_path(&e.containers.dir(&rec.id));
    crate::container::state::write_json(&exec_json, &prepared.spec.process())?;
    let seccomp = super::launch::seccomp_program(&prepared, &rec.options)?;
    let mut outputs = Vec::new();
    let sock = super::attach_socket::path(&ctx.runroot, &rec.id);
    let listener = super::attach_socket::listen(&sock)?;
    let mut stdin_writer = None;
    let stdio = if rec.options.tty {
        StdioMode::Pty
    } else {
        // `-i` without `-t`: the container reads a pipe that attach clients write to.
        let stdin = if rec.options.interactive {
            let (r, w) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
            stdin_writer = Some(w);
            Some(r)
        } else {
            None
        };
        let (or, ow) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        let (er, ew) = nix::unistd::pipe2(OFlag::O_CLOEXEC)?;
        outputs.push((or, Stream::Stdout));
        outputs.push((er, Stream::Stderr));
        StdioMode::Fds {
            stdin,
            stdout: ow,
            stderr: ew,
        }
    };
    let (containers, id) = (e.containers.clone(), rec.id.clone());
    let (net_slot, network, ports, cdir) = (
        net.clone(),
        rec.options.network.clone(),
        rec.options.ports.clone(),
        e.containers.dir(&rec.id),
    );
    let rec_c = rec.clone();
    let cgroup = prepared.cgroup.as_ref().map(|c| c.path.clone());
    let on_created: runtime::OnCreated = Box::new(move |pid| {
        // User networks fork a netlink helper: do it before the forwarder starts threads.
        super::network::attach(&session, &rec_c, &run_dir, pid.as_raw())?;
        let handle = crate::network::attach(network.attach(), &ports, pid.as_raw(), &cdir)
            .map_err(|e| e.to_string())?;
        *net_slot.borrow_mut() = Some(handle);
        lifecycle::mark_running(&containers, &id, pid.as_raw(), cgroup.as_deref())
            .map_err(|e| e.to_string())
    });
    let cgroup_fd = super::launch::cgroup_fd(&prepared)?;
    let launched = runtime::launch(
        &prepared.spec,
        LaunchOptions {
            stdio,
            init: rec.options.init,
            on_created: Some(on_created),
            seccomp,
            cgroup: cgroup_fd,
        },
    )
    .map_err(|e| crate::exit::with_code(e.exit_code(), anyhow!("{e}")))?;
    cgroup_guard.disarm();
    let mut input = stdin_writer.map(|fd| Input { fd, tty: false });
    if let Some(m) = &launched.pty_master {
        outputs.push((m.try_clone()?, Stream::Stdout));
        input = Some(Input {
            fd: m.try_clone()?,
            tty: true,
        });
    }
    Ok((launched, outputs, Hub::new(sock, listener, input, hold)))
}

fn block_signals() -> Result<SignalFd> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGCHLD);
    for s in FORWARDED {
        set.add(*s);
    }
    nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
    Ok(SignalFd::with_flags(
        &set,
        SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK,
    )?)
}

/// Copies the container's output to the log and forwards signals until the container exits;
/// returns its exit code.
fn supervise(
    pid: nix::unistd::Pid,
    signals: &SignalFd,
    mut outputs: Outputs,
    log: &mut Option<LogWriter>,
    hub: &mut Hub,
) -> Result<i32> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut exited = None;
    loop {
        if exited.is_none() {
            exited = runtime::try_wait(pid)?;
        }
        let holding = hub.holding();
        if let (Some(code), false) = (exited, holding) {
            drain(&mut outputs, log, &mut buf, hub);
            return Ok(code);
        }
        let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
        // While held, the output stays in its pipe or pty until the first client is there.
        let watched = if holding { 0 } else { outputs.len() };
        for (fd, _) in &outputs[..watched] {
            fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
        }
        hub.add_fds(&mut fds);
        match poll(&mut fds, hub.timeout()) {
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            while let Ok(Some(info)) = signals.read_signal() {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGCHLD) | Err(_) => {}
                    Ok(s) => {
                        let _ = kill(pid, s);
                    }
                }
            }
        }
        hub.handle(&ready[1 + watched..]);
        let mut i = 0;
        for r in &ready[1..1 + watched] {
            if *r && !pump(&outputs[i], log, &mut buf, hub) {
                outputs.remove(i);
            } else {
                i += 1;
            }
        }
    }
}

/// Reads once from an output into the log; false at its end.
fn pump(
    out: &(OwnedFd, Stream),
    log: &mut Option<LogWriter>,
    buf: &mut [u8],
    hub: &mut Hub,
) -> bool {
    match nix::unistd::read(out.0.as_raw_fd(), buf) {
        Ok(0) => false,
        Ok(n) => {
            hub.broadcast(out.1, &buf[..n]);
            if let Some(l) = log {
                if let Err(e) = l.write(out.1, &buf[..n]) {
                    ::log::warn!("cannot write the container log: {e}");
                }
            }
            true
        }
        Err(nix::Error::EINTR) | Err(nix::Error::EAGAIN) => true,
        // A pty master reads EIO once the last slave descriptor is closed.
        Err(_) => false,
    }
}

/// After the container exited: what is still buffered. Descendants that kept the pipes open
/// must not hold the monitor up, so the reads do not block.
fn drain(outputs: &mut Outputs, log: &mut Option<LogWriter>, buf: &mut [u8], hub: &mut Hub) {
    for out in outputs.drain(..) {
        let fd = out.0.as_raw_fd();
        // SAFETY: fcntl on a descriptor we own.
        unsafe {
            libc::fcntl(
                fd,
                libc::F_SETFL,
                libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK,
            )
        };
        while let Ok(n) = nix::unistd::read(fd, buf) {
            if n == 0 {
                break;
            }
            hub.broadcast(out.1, &buf[..n]);
            if let Some(l) = log.as_mut() {
                let _ = l.write(out.1, &buf[..n]);
            }
        }
    }
}

/// Records a launch that failed, and removes `--rm` containers.
fn finish(
    containers: &crate::container::state::Containers,
    volumes: &crate::container::volumes::Volumes,
    rec: &ContainerRecord,
    code: i32,
) {
    if let Err(err) = lifecycle::mark_exited(containers, &rec.id, code) {
        ::log::warn!("{err}");
    }
    // `<root>/containers/<id>`: the addresses live under `<root>/networks`.
    if let Some(root) = containers.dir(&rec.id).parent().and_then(|p| p.parent()) {
        super::network::release(root, rec);
    }
    let _ = rec.driver.driver().unmount(&containers.dir(&rec.id));
    super::cgroups::remove_recorded(containers, &rec.id, &rec.name);
    if rec.options.remove {
        if let Err(err) = lifecycle::remove(containers, volumes, rec, true, true) {
            ::log::warn!("cannot remove container {}: {err}", rec.name);
        }
    }
}
