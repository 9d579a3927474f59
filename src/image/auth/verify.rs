//! Checks a user name and password against a registry before `login` stores them, the way podman
//! does: ping `/v2/`, then answer its challenge. A `Basic` challenge is answered on `/v2/` itself;
//! a `Bearer` challenge by asking the token realm for a token with the credentials.

use std::path::{Path, PathBuf};

/// Errors verifying a login. Each names the registry.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("logging into {registry:?}: invalid username/password")]
    Unauthorized { registry: String },
    #[error("logging into {registry:?}: cannot reach {url}")]
    Connect {
        registry: String,
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error(
        "logging into {registry:?}: the certificate of {url} is not trusted ({reason})\n\
         hint: put the registry's CA in ~/.config/containers/certs.d/{registry}/ca.crt, or pass \
         --cert-dir DIR, or --tls-verify=false if you trust the network"
    )]
    Untrusted {
        registry: String,
        url: String,
        reason: String,
    },
    #[error("logging into {registry:?}: {url} answered with status {status}")]
    Status {
        registry: String,
        url: String,
        status: u16,
    },
    #[error("logging into {registry:?}: cannot read certificate `{path}`: {message}")]
    Cert {
        registry: String,
        path: PathBuf,
        message: String,
    },
    #[error("logging into {registry:?}: cannot set up the HTTP client")]
    Client {
        registry: String,
        #[source]
        source: reqwest::Error,
    },
}

/// How to reach the registry over TLS.
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// Verify certificates and refuse plain HTTP. `false` also allows falling back to plain HTTP,
    /// as for registries listed in `registries.insecure`.
    pub verify: bool,
    /// Directories holding `*.crt` CA certificates and `*.cert`/`*.key` client pairs.
    pub cert_dirs: Vec<PathBuf>,
}

/// The host to contact for a registry name: docker.io's API lives on registry-1.docker.io.
fn api_host(registry: &str) -> &str {
    match registry {
        "docker.io" => "registry-1.docker.io",
        r => r,
    }
}

fn build_client(registry: &str, tls: &TlsOptions) -> Result<reqwest::Client, VerifyError> {
    // rctr builds rustls without a default crypto provider; install ring once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("rctr/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(30))
        .timeout(std::time::Duration::from_secs(60))
        .danger_accept_invalid_certs(!tls.verify);
    let cert_err = |path: &Path, message: String| VerifyError::Cert {
        registry: registry.to_string(),
        path: path.to_owned(),
        message,
    };
    let mut roots = Vec::new();
    for dir in &tls.cert_dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        names.sort();
        for path in names {
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let read = |p: &Path| std::fs::read(p).map_err(|e| cert_err(p, e.to_string()));
            match ext {
                "crt" => roots.extend(
                    reqwest::Certificate::from_pem_bundle(&read(&path)?)
                        .map_err(|e| cert_err(&path, e.to_string()))?,
                ),
                "cert" => {
                    // A client certificate `x.cert` pairs with its key `x.key`, as in podman.
                    let key = path.with_extension("key");
                    let mut pem = read(&path)?;
                    pem.push(b'\n');
                    pem.extend(read(&key)?);
                    let id = reqwest::Identity::from_pem(&pem)
                        .map_err(|e| cert_err(&path, e.to_string()))?;
                    b = b.identity(id);
                }
                _ => {}
            }
        }
    }
    if !roots.is_empty() {
        b = b.tls_certs_merge(roots);
    }
    b.build().map_err(|source| VerifyError::Client {
        registry: registry.to_string(),
        source,
    })
}

/// A parsed `WWW-Authenticate` challenge: its scheme and parameters.
fn parse_challenge(header: &str) -> (String, Vec<(String, String)>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((k, after)) = rest.split_once('=') else {
            break;
        };
        let (v, after) = if let Some(q) = after.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (&q[..end], &q[end + 1..]),
                None => (q, ""),
            }
        } else {
            after.split_once(',').unwrap_or((after, ""))
        };
        params.push((k.trim().to_lowercase(), v.to_string()));
        rest = after.trim_start_matches([',', ' ']);
    }
    (scheme.to_lowercase(), params)
}

/// Verifies `user`/`pass` against `registry`. `Ok` means the registry accepted them (or needs
/// no credentials at all, as podman also reports a success then).
pub async fn verify_login(
    registry: &str,
    user: &str,
    pass: &str,
    tls: &TlsOptions,
) -> Result<(), VerifyError> {
    let client = build_client(registry, tls)?;
    let host = api_host(registry.split('/').next().unwrap_or(registry));
    let schemes: &[&str] = if tls.verify {
        &["https"]
    } else {
        &["https", "http"]
    };
    let mut last = None;
    for scheme in schemes {
        let url = format!("{scheme}://{host}/v2/");
        match client.get(&url).send().await {
            Ok(resp) => return answer(&client, registry, &url, resp, user, pass).await,
            // Over plain HTTP a TLS handshake fails at once; try the next scheme.
            Err(source) => {
                let registry = registry.to_string();
                last = Some(if let Some(reason) = certificate_error(&source) {
                    VerifyError::Untrusted {
                        registry,
                        url,
                        reason,
                    }
                } else {
                    VerifyError::Connect {
                        registry,
                        url,
                        source,
                    }
                })
            }
        }
    }
    Err(last.expect("at least one scheme is tried"))
}

/// The reason, when a request failed because the server's certificate was not trusted.
fn certificate_error(e: &reqwest::Error) -> Option<String> {
    let mut cur: Option<&dyn std::error::Error> = Some(e);
    while let Some(err) = cur {
        let text = err.to_string();
        if let Some(i) = text.find("invalid peer certificate") {
            return Some(text[i..].to_string());
        }
        cur = err.source();
    }
    None
}

async fn answer(
    client: &reqwest::Client,
    registry: &str,
    url: &str,
    ping: reqwest::Response,
    user: &str,
    pass: &str,
) -> Result<(), VerifyError> {
    let connect = |url: &str, source| VerifyError::Connect {
        registry: registry.to_string(),
        url: url.to_string(),
        source,
    };
    let status_err = |url: &str, status: reqwest::StatusCode| {
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            VerifyError::Unauthorized {
                registry: registry.to_string(),
            }
        } else {
            VerifyError::Status {
                registry: registry.to_string(),
                url: url.to_string(),
                status: status.as_u16(),
            }
        }
    };
    if ping.status().is_success() {
        return Ok(());
    }
    if ping.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Err(status_err(url, ping.status()));
    }
    let challenge = ping
        .headers()
        .get(reqwest::header::WWW_AUTHENTICATE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("Basic")
        .to_string();
    let (scheme, params) = parse_challenge(&challenge);
    let resp = if scheme == "bearer" {
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let realm = param("realm").unwrap_or_default();
        let mut query = vec![("account", user.to_string())];
        if let Some(s) = param("service") {
            query.push(("service", s));
        }
        let req = client
            .get(&realm)
            .query(&query)
            .basic_auth(user, Some(pass));
        req.send().await.map_err(|e| connect(&realm, e))?
    } else {
        client
            .get(url)
            .basic_auth(user, Some(pass))
            .send()
            .await
            .map_err(|e| connect(url, e))?
    };
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(status_err(resp.url().as_str(), resp.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenge() {
        let (s, p) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="x""#,
        );
        assert_eq!(s, "bearer");
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1], ("service".into(), "registry.example".into()));
        assert_eq!(parse_challenge("Basic realm=\"r\"").0, "basic");
    }
}
