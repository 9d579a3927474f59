//! One credentials file (`auth.json` or docker's `config.json`): `{"auths": {"host[:port]":
//! {"auth": base64("user:password")}}}`. Everything else in the file is kept as it was, so that
//! rewriting podman's or docker's file never loses their other settings.

use super::AuthError;
use base64::Engine as _;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// A credentials file loaded for reading or editing.
#[derive(Debug, Clone)]
pub struct AuthFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

/// The registry part of a login argument as podman normalises it: no scheme, no trailing slash,
/// and docker's historical hosts (`index.docker.io`, `registry-1.docker.io`) as `docker.io`.
pub fn normalize_registry(arg: &str) -> String {
    let s = arg
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let (host, rest) = match s.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (s, None),
    };
    let host = match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        h => h,
    };
    match rest {
        // docker writes `https://index.docker.io/v1/`: the path is the API version, not a repo.
        Some("v1") | Some("v2") | None => host.to_string(),
        Some(r) => format!("{host}/{r}"),
    }
}

impl AuthFile {
    /// Loads `path`; a file that does not exist reads as empty.
    pub fn load(path: &Path) -> Result<AuthFile, AuthError> {
        let doc = match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(|b| b.is_ascii_whitespace()) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) => {
                    return Err(AuthError::Shape {
                        path: path.to_owned(),
                    })
                }
                Err(source) => {
                    return Err(AuthError::Parse {
                        path: path.to_owned(),
                        source,
                    })
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(source) => {
                return Err(AuthError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        if doc.get("auths").is_some_and(|a| !a.is_object()) {
            return Err(AuthError::Shape {
                path: path.to_owned(),
            });
        }
        Ok(AuthFile {
            path: path.to_owned(),
            doc,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn auths(&self) -> Option<&Map<String, Value>> {
        self.doc.get("auths").and_then(Value::as_object)
    }

    /// The keys of `auths` that hold credentials for `key` (a normalised registry or
    /// registry/namespace): the exact key, and docker's URL spellings of the same registry.
    fn matching_keys(&self, key: &str) -> Vec<String> {
        let key = normalize_registry(key);
        self.auths()
            .map(|a| {
                a.keys()
                    .filter(|k| normalize_registry(k) == key)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The credentials stored for `registry`. An exact key is preferred over a URL spelling.
    pub fn get(&self, registry: &str) -> Result<Option<(String, String)>, AuthError> {
        let mut keys = self.matching_keys(registry);
        keys.sort_by_key(|k| k != registry);
        let auths = self.auths();
        for k in &keys {
            let entry = &auths.expect("matching keys come from auths")[k];
            let Some(encoded) = entry.get("auth").and_then(Value::as_str) else {
                continue;
            };
            if encoded.is_empty() {
                continue;
            }
            let bad = || AuthError::BadEntry {
                path: self.path.clone(),
                key: k.clone(),
            };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| bad())?;
            let text = String::from_utf8(decoded).map_err(|_| bad())?;
            let (user, pass) = text.split_once(':').ok_or_else(bad)?;
            return Ok(Some((user.to_string(), pass.to_string())));
        }
        // No inline entry: a credential helper may hold it, which rctr cannot call.
        let host = normalize_registry(registry);
        let helper = self
            .doc
            .get("credHelpers")
            .and_then(Value::as_object)
            .and_then(|h| {
                h.iter()
                    .find(|(k, _)| normalize_registry(k) == host)
                    .map(|(_, v)| v)
            })
            .or_else(|| self.doc.get("credsStore"))
            .and_then(Value::as_str)
            .filter(|h| !h.is_empty());
        if let Some(helper) = helper {
            return Err(AuthError::CredentialHelper {
                path: self.path.clone(),
                helper: helper.to_string(),
                registry: registry.to_string(),
            });
        }
        Ok(None)
    }

    /// Whether an entry exists for `key` (whatever its content).
    pub fn contains(&self, key: &str) -> bool {
        !self.matching_keys(key).is_empty()
    }

    /// Stores credentials under `key`, replacing any other spelling of the same registry.
    pub fn set(&mut self, key: &str, user: &str, pass: &str) {
        self.remove(key);
        let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = auths {
            m.insert(normalize_registry(key), serde_json::json!({ "auth": auth }));
        }
    }

    /// Removes every entry for `key`; returns whether there was one.
    pub fn remove(&mut self, key: &str) -> bool {
        let keys = self.matching_keys(key);
        if let Some(Value::Object(m)) = self.doc.get_mut("auths") {
            for k in &keys {
                m.remove(k);
            }
        }
        !keys.is_empty()
    }

    /// Removes every stored credential.
    pub fn clear(&mut self) {
        self.doc.insert("auths".into(), Value::Object(Map::new()));
    }

    /// Writes the file atomically (temp file, fsync, rename) with mode 0600, creating its
    /// directory with mode 0700: it holds passwords in the clear.
    pub fn save(&self) -> Result<(), AuthError> {
        use std::io::Write;
        use std::os::unix::fs::DirBuilderExt;
        let werr = |source| AuthError::Write {
            path: self.path.clone(),
            source,
        };
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(werr)?;
        // NamedTempFile creates the file 0600, so the password is never readable by others.
        let mut tmp = tempfile::Builder::new()
            .prefix(".auth.json.")
            .tempfile_in(dir)
            .map_err(werr)?;
        let mut text = serde_json::to_vec_pretty(&Value::Object(self.doc.clone()))
            .expect("a JSON map always serialises");
        text.push(b'\n');
        tmp.write_all(&text).map_err(werr)?;
        tmp.as_file().sync_all().map_err(werr)?;
        tmp.persist(&self.path).map_err(|e| werr(e.error))?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_podman() {
        assert_eq!(
            normalize_registry("https://index.docker.io/v1/"),
            "docker.io"
        );
        assert_eq!(normalize_registry("http://r:5000/"), "r:5000");
        assert_eq!(normalize_registry("quay.io/ns/repo"), "quay.io/ns/repo");
    }

    #[test]
    fn set_remove_keep_other_entries_and_fields() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/auth.json");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(
            &p,
            r#"{"auths":{"other:1":{"auth":"eDp5"}},"HttpHeaders":{"X":"1"}}"#,
        )
        .unwrap();
        let mut f = AuthFile::load(&p).unwrap();
        f.set("https://r:2/", "u", "p:w");
        f.save().unwrap();
        let f = AuthFile::load(&p).unwrap();
        assert_eq!(f.get("r:2").unwrap(), Some(("u".into(), "p:w".into())));
        assert_eq!(f.get("other:1").unwrap(), Some(("x".into(), "y".into())));
        assert!(f.doc.contains_key("HttpHeaders"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let mut f = f;
        assert!(f.remove("r:2"));
        assert!(!f.remove("r:2"));
        assert!(f.contains("other:1"));
    }

    #[test]
    fn bad_entry_names_file_and_key() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("auth.json");
        std::fs::write(&p, r#"{"auths":{"r:1":{"auth":"!!"}}}"#).unwrap();
        let err = AuthFile::load(&p).unwrap().get("r:1").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("r:1") && msg.contains("auth.json"), "{msg}");
    }
}
