//! Turning an image config plus a container's options into the OCI runtime spec the runtime
//! executes: process (args, env, user, cwd, caps, rlimits), mounts, namespaces, id mappings and
//! the security settings.

use super::options::{CreateOptions, MountKind, NetworkMode, SeccompChoice, UsernsMode};
use super::state::ContainerRecord;
use super::user::ResolvedUser;
use super::ContainerError;
use crate::runtime::idmap::IdMap;
use crate::runtime::{DEFAULT_CAPS, DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS};
use oci_spec::image::ImageConfiguration;
use oci_spec::runtime::Spec;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::runtime::DEFAULT_PATH;

/// Everything [`build`] needs besides the options.
pub struct SpecInput<'a> {
    pub rec: &'a ContainerRecord,
    pub image: &'a ImageConfiguration,
    /// The mounted root filesystem.
    pub rootfs: &'a Path,
    /// The container's directory of volatile files, holding the generated /etc files (see
    /// `state::run_dir`).
    pub run_dir: &'a Path,
    /// The resolved process identity (see `user::resolve`).
    pub user: &'a ResolvedUser,
    /// Host paths of the named volumes, in the order of the volume mounts in the options.
    pub volume_paths: &'a [PathBuf],
    /// rctr's id mapping, for `--userns=keep-id`.
    pub id_map: &'a IdMap,
    pub host_uid: u32,
    pub host_gid: u32,
}

/// The container's command: `--entrypoint` (or the image's Entrypoint) followed by the given
/// command (or the image's Cmd, unless `--entrypoint` was given, as docker does).
pub fn effective_command(opts: &CreateOptions, image: &ImageConfiguration) -> Vec<String> {
    let cfg = image.config().as_ref();
    let mut args = match &opts.entrypoint {
        Some(e) => e.clone(),
        None => cfg.and_then(|c| c.entrypoint().clone()).unwrap_or_default(),
    };
    if !opts.command.is_empty() {
        args.extend(opts.command.iter().cloned());
    } else if opts.entrypoint.is_none() {
        args.extend(cfg.and_then(|c| c.cmd().clone()).unwrap_or_default());
    }
    args
}

/// The hostname: `--hostname`, else the first 12 hex digits of the ID.
pub fn hostname(rec: &ContainerRecord) -> String {
    rec.options
        .hostname
        .clone()
        .unwrap_or_else(|| rec.id[..12].to_string())
}

/// Builds the runtime spec.
pub fn build(input: &SpecInput) -> Result<Spec, ContainerError> {
    let opts = &input.rec.options;
    let args = effective_command(opts, input.image);
    if args.is_empty() {
        return Err(ContainerError::Invalid(
            "no command or entrypoint specified: the image has neither, so give a command after the image name".into(),
        ));
    }
    let cfg = input.image.config().as_ref();
    let cwd = opts
        .workdir
        .clone()
        .or_else(|| cfg.and_then(|c| c.working_dir().clone()))
        .filter(|w| !w.is_empty())
        .unwrap_or_else(|| "/".into());
    let caps = capabilities(opts)?;
    let caps_json: Vec<&str> = caps.iter().map(String::as_str).collect();
    let mut process = json!({
        "terminal": opts.tty,
        "user": {
            "uid": input.user.uid,
            "gid": input.user.gid,
            "additionalGids": input.user.additional_gids,
        },
        "args": args,
        "env": environment(input, cfg.and_then(|c| c.env().clone()).unwrap_or_default()),
        "cwd": cwd,
        "capabilities": {
            "bounding": caps_json, "effective": caps_json, "permitted": caps_json,
        },
        "rlimits": opts.ulimits.iter().map(|u| json!({"type": u.name, "soft": u.soft, "hard": u.hard})).collect::<Vec<_>>(),
        "noNewPrivileges": opts.no_new_privileges,
    });
    if opts.tty {
        process["consoleSize"] = json!({"height": 24, "width": 80});
    }

    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    if opts.network.new_netns() {
        namespaces.push(json!({"type": "network"}));
    }
    let mut linux = json!({
        "namespaces": namespaces,
        "maskedPaths": if opts.privileged { vec![] } else { DEFAULT_MASKED_PATHS.to_vec() },
        "readonlyPaths": if opts.privileged { vec![] } else { DEFAULT_READONLY_PATHS.to_vec() },
    });
    if opts.userns == UsernsMode::KeepId {
        linux["namespaces"]
            .as_array_mut()
            .expect("namespaces is an array")
            .push(json!({"type": "user"}));
        linux["uidMappings"] = keep_id_mappings(input.host_uid, input.id_map.uid_count());
        linux["gidMappings"] = keep_id_mappings(input.host_gid, input.id_map.gid_count());
    }

    let mut annotations = serde_json::Map::new();
    if let Some(s) = &opts.stop_signal {
        annotations.insert("org.opencontainers.image.stopSignal".into(), json!(s));
    }
    let spec = json!({
        "ociVersion": "1.0.2",
        "root": {"path": input.rootfs, "readonly": opts.read_only},
        "hostname": hostname(input.rec),
        "process": process,
        "mounts": mounts(input)?,
        "linux": linux,
        "annotations": annotations,
    });
    serde_json::from_value(spec)
        .map_err(|e| ContainerError::Invalid(format!("cannot build the runtime spec: {e}")))
}

/// Image env, then the options' env (later wins by key), plus podman's additions.
fn environment(input: &SpecInput, image_env: Vec<String>) -> Vec<String> {
    let opts = &input.rec.options;
    let mut env: Vec<(String, String)> = Vec::new();
    let set = |kv: &str, env: &mut Vec<(String, String)>| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match env.iter_mut().find(|(ek, _)| ek == k) {
            Some(e) => e.1 = v.into(),
            None => env.push((k.into(), v.into())),
        }
    };
    set(&format!("PATH={DEFAULT_PATH}"), &mut env);
    if opts.tty {
        set("TERM=xterm", &mut env);
    }
    set("container=rctr", &mut env);
    for kv in image_env.iter().chain(opts.env.iter()) {
        set(kv, &mut env);
    }
    if !env.iter().any(|(k, _)| k == "HOSTNAME") {
        set(&format!("HOSTNAME={}", hostname(input.rec)), &mut env);
    }
    if !env.iter().any(|(k, _)| k == "HOME") {
        let home = input.user.home.clone().unwrap_or_else(|| "/".into());
        set(&format!("HOME={home}"), &mut env);
    }
    env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
}

/// Normalises a capability name: `net_admin` → `CAP_NET_ADMIN`.
fn cap_name(s: &str) -> String {
    let up = s.to_ascii_uppercase();
    if up.starts_with("CAP_") || up == "ALL" {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// The capability set, from the defaults (or all with --privileged) and --cap-add/--cap-drop.
pub fn capabilities(opts: &CreateOptions) -> Result<BTreeSet<String>, ContainerError> {
    // "All" is what this process may still grant: real root inside another container may have a
    // reduced bounding set, and asking for more fails at exec.
    let bounding = caps::read(None, caps::CapSet::Bounding).unwrap_or_else(|_| caps::all());
    let all: BTreeSet<String> = bounding.iter().map(|c| c.to_string()).collect();
    let known: BTreeSet<String> = caps::all().iter().map(|c| c.to_string()).collect();
    let adds: Vec<String> = opts.cap_add.iter().map(|c| cap_name(c)).collect();
    let drops: Vec<String> = opts.cap_drop.iter().map(|c| cap_name(c)).collect();
    for c in adds.iter().chain(drops.iter()) {
        if c != "ALL" && !known.contains(c) {
            return Err(ContainerError::Invalid(format!("unknown capability `{c}`")));
        }
    }
    let mut set: BTreeSet<String> = if opts.privileged {
        all.clone()
    } else if drops.iter().any(|c| c == "ALL") {
        BTreeSet::new()
    } else {
        DEFAULT_CAPS.iter().map(|s| s.to_string()).collect()
    };
    if adds.iter().any(|c| c == "ALL") {
        set = all.clone();
    }
    set.extend(adds.iter().filter(|c| *c != "ALL").cloned());
    for d in drops.iter().filter(|c| *c != "ALL") {
        if !adds.contains(d) {
            set.remove(d);
        }
    }
    Ok(set)
}

/// `--userns=keep-id`: a nested mapping in which the invoking user's id maps to itself
/// (rctr's namespace uid 0 is that user), the ids below it are shifted up by one, and the rest
/// map straight through. `count` is how many ids rctr's namespace has.
pub fn keep_id_mappings(host_id: u32, count: u64) -> Value {
    let count = count.min(u32::MAX as u64) as u32;
    let mut maps = Vec::new();
    let below = host_id.min(count.saturating_sub(1));
    if below > 0 {
        maps.push(json!({"containerID": 0, "hostID": 1, "size": below}));
    }
    maps.push(json!({"containerID": host_id, "hostID": 0, "size": 1}));
    if host_id + 1 < count {
        maps.push(
            json!({"containerID": host_id + 1, "hostID": host_id + 1, "size": count - host_id - 1}),
        );
    }
    Value::Array(maps)
}

fn mount(dst: &str, ty: &str, src: &str, options: &[&str]) -> Value {
    json!({"destination": dst, "type": ty, "source": src, "options": options})
}

/// podman's default mounts, the generated /etc files, then the user's mounts (which replace a
/// default at the same destination), parents before children.
fn mounts(input: &SpecInput) -> Result<Vec<Value>, ContainerError> {
    let opts = &input.rec.options;
    let shm = format!("size={}k", opts.shm_size.unwrap_or(64 << 20) / 1024);
    let mut out = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm],
        ),
    ];
    // sysfs can only be mounted by the owner of the network namespace; with the host's network
    // the host's /sys is bound read-only instead.
    if opts.network == NetworkMode::Host {
        out.push(mount(
            "/sys",
            "bind",
            "/sys",
            &["rbind", "nosuid", "noexec", "nodev", "ro"],
        ));
    } else {
        out.push(mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", "ro"],
        ));
    }
    if opts.privileged {
        out.extend(host_devices());
    }
    for f in ["hosts", "hostname", "resolv.conf"] {
        let src = match opts.network.etc_files_of() {
            // `--network container:` shares the target's (podman does the same).
            Some(id) if f != "hostname" => input.run_dir.with_file_name(id).join(f),
            _ => input.run_dir.join(f),
        };
        out.push(mount(
            &format!("/etc/{f}"),
            "bind",
            &src.display().to_string(),
            &["rbind", "rprivate"],
        ));
    }
    if opts.read_only {
        // podman's --read-only-tmpfs (on by default): scratch space stays writable.
        for d in ["/tmp", "/var/tmp", "/run"] {
            out.push(mount(
                d,
                "tmpfs",
                "tmpfs",
                &["rw", "nosuid", "nodev", "mode=1777"],
            ));
        }
    }
    let mut user: Vec<Value> = Vec::new();
    let mut vols = input.volume_paths.iter();
    for m in &opts.mounts {
        let mut o: Vec<String> = m
            .options
            .iter()
            .filter(|o| *o != "copy" && *o != "nocopy")
            .cloned()
            .collect();
        if m.read_only {
            o.push("ro".into());
        }
        let v = match &m.kind {
            MountKind::Bind { source } => {
                if !o.iter().any(|x| x == "bind") {
                    o.insert(0, "rbind".into());
                }
                json!({"destination": m.destination, "type": "bind", "source": source, "options": o})
            }
            MountKind::Volume { name } => {
                let src = vols.next().ok_or_else(|| {
                    ContainerError::Invalid(format!("volume `{name}` has no host path"))
                })?;
                o.insert(0, "rbind".into());
                json!({"destination": m.destination, "type": "bind", "source": src, "options": o})
            }
            MountKind::Tmpfs => {
                let mut t = vec![
                    "rw".to_string(),
                    "noexec".into(),
                    "nosuid".into(),
                    "nodev".into(),
                ];
                t.extend(o);
                json!({"destination": m.destination, "type": "tmpfs", "source": "tmpfs", "options": t})
            }
        };
        user.push(v);
    }
    out.retain(|d| !user.iter().any(|u| u["destination"] == d["destination"]));
    user.sort_by_key(|u| {
        u["destination"]
            .as_str()
            .map_or(0, |d| d.matches('/').count())
    });
    out.extend(user);
    Ok(out)
}

/// With --privileged, the host's devices are bound in (a user namespace cannot create device
/// nodes, but it can bind existing ones; access is still decided by their host permissions).
fn host_devices() -> Vec<Value> {
    use std::os::unix::fs::FileTypeExt;
    let skip = [
        "console", "full", "null", "random", "tty", "urandom", "zero", "ptmx",
    ];
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/dev") else {
        return out;
    };
    let mut names: Vec<_> = rd.flatten().collect();
    names.sort_by_key(|e| e.file_name());
    for e in names {
        let name = e.file_name().to_string_lossy().into_owned();
        let Ok(ft) = e.file_type() else { continue };
        if skip.contains(&name.as_str()) || !(ft.is_char_device() || ft.is_block_device()) {
            continue;
        }
        let p = format!("/dev/{name}");
        out.push(mount(&p, "bind", &p, &["bind", "nosuid"]));
    }
    out
}

/// Reads a seccomp profile file for `--security-opt seccomp=PROFILE.json` as JSON.
pub fn read_profile(path: &str) -> Result<Value, ContainerError> {
    let bytes =
        std::fs::read(path).map_err(|e| ContainerError::io("read seccomp profile", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| ContainerError::Json {
        path: path.into(),
        source,
    })
}

/// The seccomp filter the container gets: none with --privileged, else the user's choice. The
/// runtime receives it beside the spec (so the default profile's precompiled filter is reused).
pub fn seccomp_choice(opts: &CreateOptions) -> &SeccompChoice {
    if opts.privileged {
        &SeccompChoice::Unconfined
    } else {
        &opts.seccomp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CreateOptions {
        CreateOptions::default()
    }

    #[test]
    fn caps_follow_add_and_drop() {
        let d = capabilities(&opts()).unwrap();
        assert_eq!(d.len(), DEFAULT_CAPS.len());
        let mut o = opts();
        o.cap_add = vec!["net_admin".into()];
        o.cap_drop = vec!["CAP_CHOWN".into()];
        let c = capabilities(&o).unwrap();
        assert!(c.contains("CAP_NET_ADMIN") && !c.contains("CAP_CHOWN"));
        o.cap_drop = vec!["ALL".into()];
        assert_eq!(
            capabilities(&o).unwrap().into_iter().collect::<Vec<_>>(),
            vec!["CAP_NET_ADMIN"]
        );
        o.cap_add = vec!["bogus".into()];
        assert!(capabilities(&o).is_err());
        let mut p = opts();
        p.privileged = true;
        assert!(capabilities(&p).unwrap().contains("CAP_SYS_ADMIN"));
    }

    #[test]
    fn keep_id_maps_the_user_to_itself() {
        let m = keep_id_mappings(1000, 65537);
        assert_eq!(
            m,
            json!([
                {"containerID": 0, "hostID": 1, "size": 1000},
                {"containerID": 1000, "hostID": 0, "size": 1},
                {"containerID": 1001, "hostID": 1001, "size": 64536}
            ])
        );
    }
}
