//! Resolves paths, configuration and environment once, at start-up, into a [`Context`] that is passed
//! down explicitly. Engines never read the environment themselves.

use crate::config::{Config, ConfigError};
use std::path::{Path, PathBuf};

/// Errors resolving the context. Each names the path or variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("HOME is not set and no home directory could be found for uid {0}")]
    NoHome(u32),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create directory `{path}`")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "runtime directory `{path}` is owned by uid {owner}, not by uid {uid}; refusing to use it"
    )]
    UnsafeRunDir { path: PathBuf, owner: u32, uid: u32 },
}

/// Overrides from the command line (global flags).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub root: Option<PathBuf>,
    pub runroot: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub storage_driver: Option<String>,
}

/// Everything a command needs to know about where things live and how it is configured.
#[derive(Debug, Clone)]
pub struct Context {
    /// The invoking user's uid and gid on the host, recorded before any user namespace is entered.
    pub host_uid: u32,
    pub host_gid: u32,
    /// The invoking user's name, used to find `/etc/subuid` entries.
    pub user_name: Option<String>,
    pub home: PathBuf,
    /// Persistent store: blobs, layers, images, containers, volumes (`~/.local/share/rctr`).
    pub root: PathBuf,
    /// Volatile state: locks, sockets, pid files (`$XDG_RUNTIME_DIR/rctr`, else `/tmp/rctr-$UID`).
    pub runroot: PathBuf,
    /// `$XDG_RUNTIME_DIR` itself, if set: auth.json lives under it as podman expects.
    pub xdg_runtime_dir: Option<PathBuf>,
    /// `~/.config`.
    pub config_home: PathBuf,
    pub config: Config,
}

impl Context {
    /// Resolves the context from the environment and the command line.
    pub fn resolve(over: &Overrides) -> Result<Context, ContextError> {
        let (host_uid, host_gid) = crate::runtime::idmap::host_ids();
        let user = nix::unistd::User::from_uid(host_uid.into()).ok().flatten();
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .map(PathBuf::from)
            .or_else(|| user.as_ref().map(|u| u.dir.clone()))
            .ok_or(ContextError::NoHome(host_uid))?;
        let env_dir = |var: &str, default: &str| {
            std::env::var_os(var)
                .filter(|v| !v.is_empty() && Path::new(v).is_absolute())
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(default))
        };
        let config_home = env_dir("XDG_CONFIG_HOME", ".config");
        let data_home = env_dir("XDG_DATA_HOME", ".local/share");
        let xdg_runtime_dir = std::env::var_os("XDG_RUNTIME_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .filter(|p| p.is_dir());

        let root = over.root.clone().unwrap_or_else(|| data_home.join("rctr"));
        let runroot = match (&over.runroot, &xdg_runtime_dir) {
            (Some(r), _) => r.clone(),
            (None, Some(x)) => x.join("rctr"),
            (None, None) => PathBuf::from(format!("/tmp/rctr-{host_uid}")),
        };

        let (config_file, explicit) = match over.config.clone().or_else(|| {
            std::env::var_os("RCTR_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        }) {
            Some(p) => (p, true),
            None => (config_home.join("rctr/config.toml"), false),
        };
        let registries_confs = [config_home.join("containers/registries.conf")];
        let mut config = Config::load(
            &config_file,
            explicit,
            &registries_confs,
            Path::new("/etc/rctr/config.toml"),
        )?;
        if let Some(d) = &over.storage_driver {
            config.storage.driver = d.clone();
        }
        Ok(Context {
            host_uid,
            host_gid,
            user_name: user.map(|u| u.name),
            home,
            root,
            runroot,
            xdg_runtime_dir,
            config_home,
            config,
        })
    }

    /// Creates the store and runtime directories if needed. The runtime directory is created 0700
    /// and must belong to the invoking user, since it holds sockets and locks.
    pub fn ensure_dirs(&self) -> Result<(), ContextError> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt};
        for dir in [&self.root, &self.runroot] {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| ContextError::CreateDir {
                    path: dir.clone(),
                    source,
                })?;
        }
        let meta = std::fs::metadata(&self.runroot).map_err(|source| ContextError::CreateDir {
            path: self.runroot.clone(),
            source,
        })?;
        // Inside our own user namespace the owner shows as 0 when it is the host user.
        let me = nix::unistd::geteuid().as_raw();
        if meta.uid() != self.host_uid && meta.uid() != me {
            return Err(ContextError::UnsafeRunDir {
                path: self.runroot.clone(),
                owner: meta.uid(),
                uid: self.host_uid,
            });
        }
        Ok(())
    }

    /// Where podman keeps credentials: `$XDG_RUNTIME_DIR/containers/auth.json`, falling back to
    /// `~/.config/containers/auth.json` when no runtime directory is set.
    pub fn auth_file(&self) -> PathBuf {
        match &self.xdg_runtime_dir {
            Some(x) => x.join("containers/auth.json"),
            None => self.config_home.join("containers/auth.json"),
        }
    }

    /// Docker's credential file, read as a fallback.
    pub fn docker_config_file(&self) -> PathBuf {
        self.home.join(".docker/config.json")
    }

    /// Directories holding per-registry CA certificates (`certs.d/<host:port>/*.crt`).
    pub fn certs_dirs(&self) -> Vec<PathBuf> {
        vec![
            self.config_home.join("containers/certs.d"),
            PathBuf::from("/etc/containers/certs.d"),
        ]
    }

    /// Whether this process is running without real root on the host.
    pub fn rootless(&self) -> bool {
        self.host_uid != 0
    }
}
