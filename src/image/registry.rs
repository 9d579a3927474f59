//! Talking to registries through oci-client: one client per registry endpoint with its protocol
//! (HTTPS, or plain HTTP for insecure registries), CA certificates from `certs.d`, and
//! credentials; plus the mapping of oci-client's errors to messages that name the registry and image.

use crate::context::Context;
use crate::image::reference::ImageRef;
use oci_client::client::{Certificate, CertificateEncoding, ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use std::path::PathBuf;

/// Manifest media types rctr accepts: OCI and Docker v2 manifests and indexes.
pub const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Errors talking to a registry. Each names the registry and the image.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(
        "registry `{registry}` requires authentication to pull `{image}` (401 Unauthorized)\n\
         hint: log in with `rctr login {registry}`"
    )]
    Unauthorized { registry: String, image: String },
    #[error("`{image}` not found in registry `{registry}` (404 Not Found)")]
    NotFound { registry: String, image: String },
    #[error("registry `{registry}` failed for `{image}` with HTTP {code}: {message}")]
    Server {
        registry: String,
        image: String,
        code: u16,
        message: String,
    },
    #[error("cannot reach registry `{registry}` for `{image}`")]
    Connect {
        registry: String,
        image: String,
        #[source]
        source: OciDistributionError,
    },
    #[error("registry `{registry}` failed for `{image}`")]
    Other {
        registry: String,
        image: String,
        #[source]
        source: OciDistributionError,
    },
    #[error("cannot read CA certificate `{path}`")]
    Cert {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl RegistryError {
    /// Whether trying another endpoint or search registry could help.
    pub fn is_not_found_or_unreachable(&self) -> bool {
        matches!(
            self,
            RegistryError::NotFound { .. } | RegistryError::Connect { .. }
        )
    }

    /// Maps an oci-client error for `image` on `registry`.
    pub fn from_oci(registry: &str, image: &ImageRef, e: OciDistributionError) -> RegistryError {
        let (registry, image) = (registry.to_string(), image.to_string());
        match e {
            OciDistributionError::UnauthorizedError { .. }
            | OciDistributionError::AuthenticationFailure(_) => {
                RegistryError::Unauthorized { registry, image }
            }
            OciDistributionError::ImageManifestNotFoundError(_) => {
                RegistryError::NotFound { registry, image }
            }
            OciDistributionError::RegistryError { ref envelope, .. } => {
                let codes: Vec<&OciErrorCode> = envelope.errors.iter().map(|e| &e.code).collect();
                if codes
                    .iter()
                    .any(|c| matches!(c, OciErrorCode::Unauthorized | OciErrorCode::Denied))
                {
                    RegistryError::Unauthorized { registry, image }
                } else if codes.iter().any(|c| {
                    matches!(
                        c,
                        OciErrorCode::ManifestUnknown
                            | OciErrorCode::NameUnknown
                            | OciErrorCode::BlobUnknown
                            | OciErrorCode::NotFound
                    )
                }) {
                    RegistryError::NotFound { registry, image }
                } else {
                    RegistryError::Other {
                        registry,
                        image,
                        source: e,
                    }
                }
            }
            OciDistributionError::ServerError { code, message, .. } => match code {
                401 | 403 => RegistryError::Unauthorized { registry, image },
                404 => RegistryError::NotFound { registry, image },
                _ => RegistryError::Server {
                    registry,
                    image,
                    code,
                    message: message.trim().chars().take(200).collect(),
                },
            },
            OciDistributionError::RequestError(_) => RegistryError::Connect {
                registry,
                image,
                source: e,
            },
            _ => RegistryError::Other {
                registry,
                image,
                source: e,
            },
        }
    }
}

/// How to reach one registry endpoint.
pub struct Endpoint {
    /// `host[:port]` of this endpoint (a mirror or the origin).
    pub registry: String,
    pub client: oci_client::Client,
    pub auth: RegistryAuth,
}

impl Endpoint {
    /// `image` addressed at this endpoint, as oci-client wants it.
    pub fn reference(&self, image: &ImageRef) -> oci_client::Reference {
        let repo = image.repository.clone();
        match (&image.digest, &image.tag) {
            (Some(d), _) => {
                oci_client::Reference::with_digest(self.registry.clone(), repo, d.clone())
            }
            (None, Some(t)) => {
                oci_client::Reference::with_tag(self.registry.clone(), repo, t.clone())
            }
            (None, None) => {
                oci_client::Reference::with_tag(self.registry.clone(), repo, "latest".into())
            }
        }
    }
}

/// Installs ring as rustls's crypto provider, once per process.
fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The ways to reach `registry`, in the order to try them: plain HTTP for insecure registries;
/// HTTPS without verification and then plain HTTP with `--tls-verify=false`; verified HTTPS
/// (with the CAs from `certs.d/<registry>/`) otherwise.
pub fn endpoints_for(
    ctx: &Context,
    registry: &str,
    tls_verify: Option<bool>,
) -> Result<Vec<Endpoint>, RegistryError> {
    install_crypto();
    let auth = match crate::image::auth::credentials(ctx, registry) {
        Some((u, p)) => RegistryAuth::Basic(u, p),
        None => RegistryAuth::Anonymous,
    };
    let make = |protocol: ClientProtocol, verify: bool, certs: Vec<Certificate>| Endpoint {
        registry: registry.to_string(),
        client: oci_client::Client::new(ClientConfig {
            protocol,
            accept_invalid_certificates: !verify,
            extra_root_certificates: certs,
            platform_resolver: None,
            max_concurrent_download: 8,
            connect_timeout: Some(std::time::Duration::from_secs(10)),
            user_agent: concat!("rctr/", env!("CARGO_PKG_VERSION")),
            ..Default::default()
        }),
        auth: auth.clone(),
    };
    if ctx.config.is_insecure(registry) && tls_verify != Some(true) {
        return Ok(vec![make(ClientProtocol::Http, false, Vec::new())]);
    }
    if tls_verify == Some(false) {
        return Ok(vec![
            make(ClientProtocol::Https, false, Vec::new()),
            make(ClientProtocol::Http, false, Vec::new()),
        ]);
    }
    Ok(vec![make(
        ClientProtocol::Https,
        true,
        ca_certs(ctx, registry)?,
    )])
}

/// PEM certificates from `<certs dir>/<registry>/*.crt`, as podman and docker read them.
fn ca_certs(ctx: &Context, registry: &str) -> Result<Vec<Certificate>, RegistryError> {
    let mut out = Vec::new();
    for base in ctx.certs_dirs() {
        let dir = base.join(registry);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        paths.sort();
        for p in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        {
            let data = std::fs::read(&p).map_err(|source| RegistryError::Cert {
                path: p.clone(),
                source,
            })?;
            out.push(Certificate {
                encoding: CertificateEncoding::Pem,
                data,
            });
        }
    }
    Ok(out)
}
