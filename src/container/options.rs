//! The options a container is created with: everything `run`/`create` accepts, already parsed
//! and validated, and stored in the container's record so that `start` rebuilds the same spec.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Options for one container, independent of the command line that produced them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateOptions {
    /// Arguments after the image name; replace the image's Cmd.
    pub command: Vec<String>,
    /// `--entrypoint`: replaces the image's Entrypoint (an empty list clears it).
    pub entrypoint: Option<Vec<String>>,
    /// Environment from --env-host, --env-file and --env, later entries winning.
    pub env: Vec<String>,
    pub workdir: Option<String>,
    /// `-u user[:group]`, resolved in the container's /etc/passwd and /etc/group at start.
    pub user: Option<String>,
    pub group_add: Vec<String>,
    pub hostname: Option<String>,
    pub mounts: Vec<MountSpec>,
    pub read_only: bool,
    /// `--add-host name:ip` pairs; `host-gateway` is resolved when /etc/hosts is written.
    pub add_hosts: Vec<(String, String)>,
    pub dns: Vec<String>,
    pub dns_search: Vec<String>,
    pub dns_option: Vec<String>,
    pub stop_signal: Option<String>,
    /// Size of /dev/shm in bytes.
    pub shm_size: Option<u64>,
    pub ulimits: Vec<Ulimit>,
    pub network: NetworkMode,
    /// `-p`: ports published on the host, with random host ports already chosen.
    #[serde(default)]
    pub ports: Vec<crate::network::PortMapping>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub privileged: bool,
    pub no_new_privileges: bool,
    pub seccomp: SeccompChoice,
    pub userns: UsernsMode,
    pub labels: BTreeMap<String, String>,
    pub tty: bool,
    pub interactive: bool,
    pub init: bool,
    /// `--rm`: remove the container when it exits.
    pub remove: bool,
    /// `--memory` in bytes, `--cpus`, `--pids-limit`: recorded, and enforced only where cgroup
    /// controllers are delegated to the user (see `resources`).
    pub memory: Option<u64>,
    pub cpus: Option<f64>,
    pub pids_limit: Option<i64>,
    /// `--log-driver none` keeps no log of a detached container's output.
    #[serde(default)]
    pub log_none: bool,
    /// `--log-opt max-size=N`: the log is truncated when it would grow past N bytes.
    #[serde(default)]
    pub log_max_size: Option<u64>,
    /// `--expose`: container ports to publish with `-P`, besides the image's ExposedPorts
    /// (`80`, `80/udp`, `8000-8002/tcp`).
    #[serde(default)]
    pub expose: Vec<String>,
    /// `-P`: publish every exposed port on a random host port, chosen at create time.
    #[serde(default)]
    pub publish_all: bool,
    /// `--restart`: what the monitor of a detached container does when it exits.
    #[serde(default)]
    pub restart: super::restart::RestartPolicy,
    /// `--conmon-pidfile` (podman's name): where the monitor writes its pid, for systemd.
    #[serde(default)]
    pub monitor_pidfile: Option<std::path::PathBuf>,
    /// The command line that created the container (podman's `CreateCommand`), which
    /// `generate systemd --new` turns into a unit that recreates it.
    #[serde(default)]
    pub create_command: Vec<String>,
}

/// One filesystem mount requested with -v, --mount or --tmpfs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountSpec {
    pub kind: MountKind,
    /// Absolute path inside the container.
    pub destination: String,
    pub read_only: bool,
    /// `U`: chown the source to the container's user before starting.
    pub chown: bool,
    /// Extra mount options passed through (propagation, nosuid, size=, mode=...).
    pub options: Vec<String>,
}

/// Where a mount's content comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MountKind {
    /// A host path.
    Bind {
        source: String,
    },
    /// A named volume (created on first use; an anonymous one gets a random name).
    Volume {
        name: String,
    },
    Tmpfs,
}

/// `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ulimit {
    /// The rlimit name as in the OCI spec, e.g. `RLIMIT_NOFILE`.
    pub name: String,
    pub soft: u64,
    pub hard: u64,
}

/// `--network`: which network namespace the container gets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// A new network namespace with only loopback.
    #[default]
    None,
    /// The host's (rctr's) network namespace.
    Host,
    /// A new network namespace connected to the outside by slirp4netns.
    Slirp4netns(crate::network::SlirpOptions),
    /// A new network namespace connected to the outside by pasta.
    Pasta(crate::network::PastaOptions),
    /// The network namespace of another container (by id), and its /etc/hosts and resolv.conf.
    Container(String),
    /// The network namespace bound at a path (`ns:PATH`).
    Ns(String),
    /// A new network namespace attached to user-defined networks (`--network NAME[,NAME2]`).
    Bridge(Vec<crate::network::user::session::NetAttach>),
}

impl NetworkMode {
    /// Whether the container gets a network namespace of its own.
    pub fn new_netns(&self) -> bool {
        matches!(
            self,
            NetworkMode::None
                | NetworkMode::Slirp4netns(_)
                | NetworkMode::Pasta(_)
                | NetworkMode::Bridge(_)
        )
    }

    /// The mode as podman's inspect shows it in HostConfig.NetworkMode (`slirp4netns`, `pasta`,
    /// `container:ID`, `ns:PATH`, ...).
    pub fn name(&self) -> String {
        match self {
            NetworkMode::None => "none".into(),
            NetworkMode::Host => "host".into(),
            NetworkMode::Slirp4netns(_) => "slirp4netns".into(),
            NetworkMode::Pasta(_) => "pasta".into(),
            NetworkMode::Container(id) => format!("container:{id}"),
            NetworkMode::Ns(p) => format!("ns:{p}"),
            NetworkMode::Bridge(_) => "bridge".into(),
        }
    }

    /// The container whose /etc/hosts and resolv.conf this one shares, as podman does for
    /// `--network container:`.
    pub fn etc_files_of(&self) -> Option<&str> {
        match self {
            NetworkMode::Container(id) => Some(id),
            _ => None,
        }
    }

    /// The container whose network namespace this one joins (`--network container:ID`):
    /// that container cannot be removed while this one exists.
    pub fn joined_container(&self) -> Option<&str> {
        match self {
            NetworkMode::Container(id) => Some(id),
            _ => None,
        }
    }

    /// What `network::attach` must start for this mode.
    pub fn attach(&self) -> crate::network::Attach<'_> {
        match self {
            NetworkMode::Slirp4netns(o) => crate::network::Attach::Slirp4netns(o),
            NetworkMode::Pasta(o) => crate::network::Attach::Pasta(o),
            _ => crate::network::Attach::Nothing,
        }
    }

    /// The user-defined networks the container is attached to (none for the other modes).
    pub fn user_networks(&self) -> &[crate::network::user::session::NetAttach] {
        match self {
            NetworkMode::Bridge(n) => n,
            _ => &[],
        }
    }
}

/// `--security-opt seccomp=`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SeccompChoice {
    #[default]
    Default,
    Unconfined,
    /// A profile file (OCI or docker JSON), read when the container starts.
    Profile(String),
}

/// `--userns`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UsernsMode {
    /// rctr's own namespace: container root is the invoking user.
    #[default]
    Host,
    /// A nested namespace in which the invoking user keeps its own uid and gid.
    KeepId,
}

/// Parses `--ulimit name=soft[:hard]` (`-1` or `unlimited` for no limit).
pub fn parse_ulimit(s: &str) -> Result<Ulimit, String> {
    let (name, vals) = s
        .split_once('=')
        .ok_or_else(|| format!("invalid ulimit `{s}`: expected name=soft[:hard]"))?;
    let known = [
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
        "as",
    ];
    if !known.contains(&name) {
        return Err(format!("invalid ulimit type `{name}`"));
    }
    let num = |v: &str| -> Result<u64, String> {
        match v {
            "-1" | "unlimited" => Ok(u64::MAX),
            _ => v
                .parse()
                .map_err(|_| format!("invalid ulimit value `{v}` in `{s}`")),
        }
    };
    let (soft, hard) = match vals.split_once(':') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => (num(vals)?, num(vals)?),
    };
    if soft > hard {
        return Err(format!("ulimit `{s}`: soft limit exceeds hard limit"));
    }
    Ok(Ulimit {
        name: format!("RLIMIT_{}", name.to_uppercase()),
        soft,
        hard,
    })
}

/// Parses a size such as `64m`, `1g`, `512k` or a byte count.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num.parse().map_err(|_| {
        format!("invalid size `{s}`: expected a number with an optional k, m, g suffix")
    })?;
    if n < 0.0 {
        return Err(format!("invalid size `{s}`: negative"));
    }
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulimits_parse() {
        let u = parse_ulimit("nofile=1024:2048").unwrap();
        assert_eq!(
            (u.name.as_str(), u.soft, u.hard),
            ("RLIMIT_NOFILE", 1024, 2048)
        );
        assert_eq!(parse_ulimit("core=-1").unwrap().hard, u64::MAX);
        assert!(parse_ulimit("nofile=3:2").is_err());
        assert!(parse_ulimit("bogus=1").is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("64m").unwrap(), 64 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert!(parse_size("x").is_err());
    }
}
