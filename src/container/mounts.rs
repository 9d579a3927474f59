//! Parsing `-v`, `--mount` and `--tmpfs` into [`MountSpec`]s, with podman's syntax and checks.

use super::options::{parse_size, MountKind, MountSpec};
use std::path::Path;

/// Options accepted after the second colon of `-v` and passed to the mount as they are.
const PASS_THROUGH: &[&str] = &[
    "nosuid", "suid", "nodev", "dev", "noexec", "exec", "private", "rprivate", "shared", "rshared",
    "slave", "rslave", "bind", "rbind",
];

/// Parses `-v SRC:DST[:OPTS]` or `-v DST` (an anonymous volume). A source that starts with `/`
/// or `.` is a host path (made absolute against `cwd`); anything else names a volume.
pub fn parse_volume(spec: &str, cwd: &Path) -> Result<MountSpec, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (src, dst, opts) = match parts.as_slice() {
        [dst] => (None, *dst, None),
        [src, dst] => (Some(*src), *dst, None),
        [src, dst, opts] => (Some(*src), *dst, Some(*opts)),
        _ => {
            return Err(format!(
                "invalid volume `{spec}`: expected SRC:DST[:OPTIONS]"
            ))
        }
    };
    check_destination(dst, spec)?;
    let kind = match src {
        None => MountKind::Volume {
            name: anonymous_name(),
        },
        Some(s) if s.starts_with('/') || s.starts_with('.') => MountKind::Bind {
            source: absolute(s, cwd),
        },
        Some(s) => {
            check_volume_name(s)?;
            MountKind::Volume { name: s.into() }
        }
    };
    let mut m = MountSpec {
        kind,
        destination: dst.into(),
        read_only: false,
        chown: false,
        options: Vec::new(),
    };
    for o in opts.into_iter().flat_map(|o| o.split(',')) {
        match o {
            "ro" => m.read_only = true,
            "rw" => m.read_only = false,
            "U" => m.chown = true,
            // SELinux relabelling: this host has no SELinux, so there is nothing to relabel,
            // exactly as podman behaves on such hosts.
            "z" | "Z" => {}
            "copy" | "nocopy" if matches!(m.kind, MountKind::Volume { .. }) => {
                m.options.push(o.into())
            }
            o if PASS_THROUGH.contains(&o) => m.options.push(o.into()),
            o => return Err(format!("invalid option `{o}` in volume `{spec}`")),
        }
    }
    check_source(&m)?;
    Ok(m)
}

/// Parses `--mount type=bind|volume|tmpfs,source=..,target=..,...`.
pub fn parse_mount(spec: &str, cwd: &Path) -> Result<MountSpec, String> {
    let mut kind = None;
    let mut source = None;
    let mut target = None;
    let mut m = MountSpec {
        kind: MountKind::Tmpfs,
        destination: String::new(),
        read_only: false,
        chown: false,
        options: Vec::new(),
    };
    for field in spec.split(',') {
        let (k, v) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field, None),
        };
        let flag = |v: Option<&str>| -> Result<bool, String> {
            match v {
                None | Some("true") => Ok(true),
                Some("false") => Ok(false),
                Some(x) => Err(format!("invalid value `{x}` for `{k}` in --mount `{spec}`")),
            }
        };
        match (k, v) {
            ("type", Some(t)) => kind = Some(t.to_string()),
            ("source" | "src", Some(s)) => source = Some(s.to_string()),
            ("target" | "destination" | "dst" | "dest", Some(t)) => target = Some(t.to_string()),
            ("readonly" | "ro", v) => m.read_only = flag(v)?,
            ("rw", v) => m.read_only = !flag(v)?,
            ("U" | "chown", v) => m.chown = flag(v)?,
            ("z" | "Z" | "relabel", _) => {}
            ("bind-propagation", Some(p)) => m.options.push(p.into()),
            ("tmpfs-size", Some(s)) => m.options.push(format!("size={}", parse_size(s)?)),
            ("tmpfs-mode", Some(md)) => m.options.push(format!("mode={md}")),
            ("volume-nocopy", v) => {
                if flag(v)? {
                    m.options.push("nocopy".into())
                }
            }
            (o, None) if PASS_THROUGH.contains(&o) => m.options.push(o.into()),
            _ => return Err(format!("invalid field `{field}` in --mount `{spec}`")),
        }
    }
    let target = target.ok_or_else(|| format!("--mount `{spec}` needs target="))?;
    check_destination(&target, spec)?;
    m.destination = target;
    m.kind = match kind.as_deref() {
        Some("bind") => MountKind::Bind {
            source: absolute(
                &source.ok_or_else(|| format!("--mount `{spec}` needs source="))?,
                cwd,
            ),
        },
        Some("volume") => match source {
            Some(s) => {
                check_volume_name(&s)?;
                MountKind::Volume { name: s }
            }
            None => MountKind::Volume {
                name: anonymous_name(),
            },
        },
        Some("tmpfs") => MountKind::Tmpfs,
        Some(t) => return Err(format!("unsupported mount type `{t}` in --mount `{spec}`")),
        None => return Err(format!("--mount `{spec}` needs type=")),
    };
    check_source(&m)?;
    Ok(m)
}

/// Parses `--tmpfs /path[:options]`.
pub fn parse_tmpfs(spec: &str) -> Result<MountSpec, String> {
    let (dst, opts) = match spec.split_once(':') {
        Some((d, o)) => (d, o.split(',').map(str::to_string).collect()),
        None => (spec, Vec::new()),
    };
    check_destination(dst, spec)?;
    let read_only = opts.iter().any(|o| o == "ro");
    Ok(MountSpec {
        kind: MountKind::Tmpfs,
        destination: dst.into(),
        read_only,
        chown: false,
        options: opts
            .into_iter()
            .filter(|o| o != "ro" && o != "rw")
            .collect(),
    })
}

fn check_destination(dst: &str, spec: &str) -> Result<(), String> {
    if !dst.starts_with('/') {
        return Err(format!(
            "invalid container path `{dst}` in `{spec}`: it must be absolute"
        ));
    }
    Ok(())
}

fn check_source(m: &MountSpec) -> Result<(), String> {
    if let MountKind::Bind { source } = &m.kind {
        if std::fs::metadata(source).is_err() {
            return Err(format!(
                "statfs {source}: no such file or directory (bind mount sources must exist)"
            ));
        }
    }
    Ok(())
}

/// Volume names follow podman's rule.
pub fn check_volume_name(name: &str) -> Result<(), String> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid volume name `{name}`: names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"
        ))
    }
}

fn absolute(s: &str, cwd: &Path) -> String {
    let p = Path::new(s);
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    // Normalise `.` and `..` lexically, as podman does for relative sources.
    let mut out = std::path::PathBuf::new();
    for c in joined.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            c => out.push(c),
        }
    }
    out.display().to_string()
}

/// Anonymous volumes get a random 64-hex name, like podman's.
pub fn anonymous_name() -> String {
    super::state::random_id()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_forms() {
        let cwd = Path::new("/");
        let m = parse_volume("/tmp:/data:ro,U,z", cwd).unwrap();
        assert_eq!(
            m.kind,
            MountKind::Bind {
                source: "/tmp".into()
            }
        );
        assert!(m.read_only && m.chown);
        let m = parse_volume("vol1:/data", cwd).unwrap();
        assert_eq!(
            m.kind,
            MountKind::Volume {
                name: "vol1".into()
            }
        );
        let m = parse_volume("/anon", cwd).unwrap();
        assert!(matches!(m.kind, MountKind::Volume { name } if name.len() == 64));
        assert!(parse_volume("/nonexistent-xyz:/d", cwd).is_err());
        assert!(parse_volume("/tmp:rel", cwd).is_err());
        assert!(parse_volume("/tmp:/d:bogus", cwd).is_err());
        let m = parse_volume("./tmp:/d", Path::new("/")).unwrap();
        assert_eq!(
            m.kind,
            MountKind::Bind {
                source: "/tmp".into()
            }
        );
    }

    #[test]
    fn mount_forms() {
        let cwd = Path::new("/");
        let m = parse_mount("type=bind,source=/tmp,target=/t,readonly", cwd).unwrap();
        assert!(m.read_only);
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m", cwd).unwrap();
        assert_eq!(m.options, vec!["size=1048576"]);
        assert!(parse_mount("type=nfs,dst=/t", cwd).is_err());
        assert!(parse_mount("type=bind,dst=/t", cwd).is_err());
        let m = parse_tmpfs("/scratch:size=1m,ro").unwrap();
        assert!(m.read_only);
        assert_eq!(m.options, vec!["size=1m"]);
    }
}
