//! Registry credentials, read from podman's `auth.json` and docker's `config.json`
//! (`{"auths": {"host:port": {"auth": base64("user:pass")}}}`), podman's file first.

use crate::context::Context;
use base64::Engine as _;
use std::path::Path;

/// The credentials stored for `registry` (`host` or `host:port`), if any.
pub fn credentials(ctx: &Context, registry: &str) -> Option<(String, String)> {
    [ctx.auth_file(), ctx.docker_config_file()]
        .iter()
        .find_map(|f| from_file(f, registry))
}

fn from_file(path: &Path, registry: &str) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            log::warn!("ignoring credentials file `{}`: {e}", path.display());
            return None;
        }
    };
    let auths = v.get("auths")?.as_object()?;
    let entry = auths.iter().find_map(|(k, e)| {
        let host = k
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or("");
        let matches = host == registry
            || (registry == "docker.io"
                && matches!(host, "index.docker.io" | "registry-1.docker.io"));
        matches.then_some(e)
    })?;
    let auth = entry.get("auth")?.as_str()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(auth.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}
