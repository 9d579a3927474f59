//! User configuration: `~/.config/rctr/config.toml`, layered over `/etc/rctr/config.toml`, plus the
//! podman `registries.conf` files so that podman users keep their registry settings.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors reading or parsing a configuration file. Each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid TOML in config file `{path}`")]
    Parse {
        path: PathBuf,
        #[source]
        source: toml::de::Error,
    },
    #[error("invalid value in config file `{path}`: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// The merged configuration that every command sees.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub registries: Registries,
    pub storage: StorageConfig,
    pub network: NetworkConfig,
}

/// Registry settings: where short names are searched, which registries may use plain HTTP,
/// mirrors tried before their origin, and short-name aliases.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Registries {
    pub search: Vec<String>,
    pub insecure: Vec<String>,
    pub mirrors: BTreeMap<String, Vec<String>>,
    pub aliases: BTreeMap<String, String>,
}

/// Which storage driver to use: `auto` probes native overlay, then fuse-overlayfs, then vfs.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageConfig {
    pub driver: String,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            driver: "auto".into(),
        }
    }
}

/// The network mode used when `run` is given no `--network`.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    pub default: String,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            default: "slirp4netns".into(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    registries: Option<RawRegistries>,
    storage: Option<RawStorage>,
    network: Option<RawNetwork>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegistries {
    search: Option<Vec<String>>,
    insecure: Option<Vec<String>>,
    mirrors: Option<BTreeMap<String, Vec<String>>>,
    aliases: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    driver: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetwork {
    default: Option<String>,
}

/// podman's `registries.conf` (v2 format): only the parts rctr uses; unknown keys are ignored.
#[derive(Debug, Default, Deserialize)]
struct RegistriesConf {
    #[serde(rename = "unqualified-search-registries")]
    unqualified_search_registries: Option<Vec<String>>,
    #[serde(default)]
    registry: Vec<RegistriesConfEntry>,
    aliases: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
struct RegistriesConfEntry {
    prefix: Option<String>,
    location: Option<String>,
    insecure: Option<bool>,
    #[serde(default)]
    mirror: Vec<RegistriesConfMirror>,
}

#[derive(Debug, Default, Deserialize)]
struct RegistriesConfMirror {
    location: String,
    insecure: Option<bool>,
}

const DRIVERS: &[&str] = &["auto", "overlay", "fuse-overlayfs", "vfs"];
const NETWORKS: &[&str] = &["slirp4netns", "pasta", "none", "host"];

impl Config {
    /// Loads the configuration: built-in defaults, then podman's registries.conf files, then the system
    /// config `/etc/rctr/config.toml`, then the user's file (or `explicit`, which must exist).
    pub fn load(
        user_file: &Path,
        explicit: bool,
        registries_confs: &[PathBuf],
        system_file: &Path,
    ) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        cfg.registries.search = vec!["docker.io".into()];
        for conf in registries_confs {
            if conf.is_file() {
                cfg.apply_registries_conf(conf)?;
            }
        }
        if system_file.is_file() {
            cfg.apply_file(system_file)?;
        }
        if explicit || user_file.is_file() {
            cfg.apply_file(user_file)?;
        }
        Ok(cfg)
    }

    fn apply_file(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = read(path)?;
        let raw: RawConfig = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if let Some(r) = raw.registries {
            if let Some(s) = r.search {
                self.registries.search = s;
            }
            if let Some(i) = r.insecure {
                self.registries.insecure = i;
            }
            if let Some(m) = r.mirrors {
                self.registries.mirrors.extend(m);
            }
            if let Some(a) = r.aliases {
                self.registries.aliases.extend(a);
            }
        }
        if let Some(d) = raw.storage.and_then(|s| s.driver) {
            if !DRIVERS.contains(&d.as_str()) {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    message: format!("storage.driver `{d}` is not one of {}", DRIVERS.join(", ")),
                });
            }
            self.storage.driver = d;
        }
        if let Some(n) = raw.network.and_then(|n| n.default) {
            if !NETWORKS.contains(&n.as_str()) {
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    message: format!(
                        "network.default `{n}` is not one of {}",
                        NETWORKS.join(", ")
                    ),
                });
            }
            self.network.default = n;
        }
        Ok(())
    }

    fn apply_registries_conf(&mut self, path: &Path) -> Result<(), ConfigError> {
        let text = read(path)?;
        let raw: RegistriesConf = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        if let Some(s) = raw.unqualified_search_registries {
            self.registries.search = s;
        }
        for entry in raw.registry {
            let Some(loc) = entry.location.clone().or(entry.prefix.clone()) else {
                continue;
            };
            if entry.insecure == Some(true) && !self.registries.insecure.contains(&loc) {
                self.registries.insecure.push(loc.clone());
            }
            for m in &entry.mirror {
                if m.insecure == Some(true) && !self.registries.insecure.contains(&m.location) {
                    self.registries.insecure.push(m.location.clone());
                }
            }
            if !entry.mirror.is_empty() {
                let key = entry.prefix.unwrap_or(loc);
                self.registries
                    .mirrors
                    .insert(key, entry.mirror.into_iter().map(|m| m.location).collect());
            }
        }
        if let Some(a) = raw.aliases {
            self.registries.aliases.extend(a);
        }
        Ok(())
    }

    /// Whether `registry` (host or host:port) may be reached over plain HTTP or with unverified TLS.
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.registries.insecure.iter().any(|r| r == registry)
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn user_file_overrides_registries_conf_and_defaults() {
        let d = tempfile::tempdir().unwrap();
        let reg = write(
            d.path(),
            "registries.conf",
            "unqualified-search-registries = [\"quay.io\"]\n[[registry]]\nlocation = \"localhost:5000\"\ninsecure = true\n[[registry.mirror]]\nlocation = \"m.example:1\"\n",
        );
        let user = write(
            d.path(),
            "config.toml",
            "[registries]\nsearch = [\"127.0.0.1:5000\"]\n[registries.aliases]\nbb = \"127.0.0.1:5000/busybox\"\n[storage]\ndriver = \"vfs\"\n",
        );
        let cfg = Config::load(&user, false, &[reg], &d.path().join("none")).unwrap();
        assert_eq!(cfg.registries.search, vec!["127.0.0.1:5000"]);
        assert!(cfg.is_insecure("localhost:5000"));
        assert_eq!(
            cfg.registries.mirrors["localhost:5000"],
            vec!["m.example:1"]
        );
        assert_eq!(cfg.registries.aliases["bb"], "127.0.0.1:5000/busybox");
        assert_eq!(cfg.storage.driver, "vfs");
        assert_eq!(cfg.network.default, "slirp4netns");
    }

    #[test]
    fn bad_driver_names_the_file() {
        let d = tempfile::tempdir().unwrap();
        let user = write(d.path(), "c.toml", "[storage]\ndriver = \"zfs\"\n");
        let err = Config::load(&user, true, &[], &d.path().join("none")).unwrap_err();
        assert!(err.to_string().contains("c.toml"), "{err}");
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let err = Config::load(&d.path().join("nope.toml"), true, &[], &d.path().join("x"));
        assert!(matches!(err, Err(ConfigError::Read { .. })));
    }
}
