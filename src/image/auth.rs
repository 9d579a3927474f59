//! Registry credentials, kept in the files podman and docker already use so that a user who ran
//! `podman login` or `docker login` is logged in for rctr too.
//!
//! Lookup order is podman's: `$XDG_RUNTIME_DIR/containers/auth.json` (or an `--authfile` given on
//! the command line), then `~/.docker/config.json`. Engines never read `$REGISTRY_AUTH_FILE`: the
//! CLI resolves such overrides and passes the file list down.

mod authfile;
mod verify;

pub use authfile::{normalize_registry, AuthFile};
pub use verify::{verify_login, TlsOptions, VerifyError};

use crate::context::Context;
use std::path::PathBuf;

/// Errors reading or writing a credentials file. Each names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("cannot read credentials file `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid JSON in credentials file `{path}`")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("credentials file `{path}` is not a JSON object with an `auths` object")]
    Shape { path: PathBuf },
    #[error(
        "invalid `auth` entry for `{key}` in credentials file `{path}`: not base64 of `user:password`"
    )]
    BadEntry { path: PathBuf, key: String },
    #[error(
        "credentials for `{registry}` are kept by the credential helper `docker-credential-{helper}` \
         (configured in `{path}`), and rctr does not support credential helpers; \
         use `rctr login {registry}` to store them in rctr's auth file"
    )]
    CredentialHelper {
        path: PathBuf,
        helper: String,
        registry: String,
    },
    #[error("cannot write credentials file `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The credentials files consulted for a lookup, in order: `authfile` (from `--authfile`) or
/// podman's auth.json, then docker's config.json.
pub fn auth_files(ctx: &Context, authfile: Option<&std::path::Path>) -> Vec<PathBuf> {
    vec![
        authfile
            .map(|p| p.to_owned())
            .unwrap_or_else(|| ctx.auth_file()),
        ctx.docker_config_file(),
    ]
}

/// The user name and password stored for `registry` (`host[:port]`), or `None` when the user is
/// not logged in there. Problems with the files (bad JSON, a credential helper rctr cannot call)
/// are logged as warnings, and the registry is then contacted anonymously.
pub fn credentials(ctx: &Context, registry: &str) -> Option<(String, String)> {
    match lookup(&auth_files(ctx, None), registry) {
        Ok(found) => found,
        Err(e) => {
            log::warn!("{e}");
            None
        }
    }
}

/// Looks `registry` up in `files`, first match wins. A file that does not exist is skipped.
pub fn lookup(files: &[PathBuf], registry: &str) -> Result<Option<(String, String)>, AuthError> {
    for path in files {
        let file = AuthFile::load(path)?;
        if let Some(found) = file.get(registry)? {
            return Ok(Some(found));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_file_wins_and_docker_fallback_is_used() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("auth.json");
        let b = d.path().join("config.json");
        std::fs::write(
            &b,
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"ZDpkcA=="},"r:1":{"auth":"YjpicA=="}}}"#,
        )
        .unwrap();
        let files = vec![a.clone(), b.clone()];
        assert_eq!(
            lookup(&files, "docker.io").unwrap(),
            Some(("d".into(), "dp".into()))
        );
        assert_eq!(
            lookup(&files, "r:1").unwrap(),
            Some(("b".into(), "bp".into()))
        );
        std::fs::write(&a, r#"{"auths":{"r:1":{"auth":"YTphcA=="}}}"#).unwrap();
        assert_eq!(
            lookup(&files, "r:1").unwrap(),
            Some(("a".into(), "ap".into()))
        );
        assert_eq!(lookup(&files, "other:2").unwrap(), None);
    }

    #[test]
    fn credential_helper_is_reported() {
        let d = tempfile::tempdir().unwrap();
        let b = d.path().join("config.json");
        std::fs::write(&b, r#"{"auths":{},"credsStore":"desktop"}"#).unwrap();
        let err = lookup(&[b], "quay.io").unwrap_err();
        assert!(
            err.to_string().contains("docker-credential-desktop"),
            "{err}"
        );
    }
}
