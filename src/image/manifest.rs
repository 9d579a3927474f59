//! Parsing manifests and indexes (OCI and Docker v2) and choosing an index entry for a platform.

use serde::Deserialize;

/// Layer media types rctr can unpack (the compression is also sniffed from the bytes).
pub const LAYER_TYPES: &[&str] = &[
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.zstd",
];

/// Config media types rctr understands.
pub const CONFIG_TYPES: &[&str] = &[
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
];

/// Errors interpreting a manifest; the caller adds the image name.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("malformed manifest: {0}")]
    Malformed(String),
    #[error("unsupported media type `{0}`")]
    UnsupportedMediaType(String),
    #[error("no manifest for platform `{wanted}` (available: {available})")]
    NoPlatform { wanted: String, available: String },
}

/// A content descriptor.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub platform: Option<Platform>,
}

/// An index entry's platform.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, Default)]
pub struct Platform {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

impl Platform {
    /// This machine's platform in Go's terms (`linux/amd64`, `linux/arm64`).
    pub fn host() -> Platform {
        let arch = match std::env::consts::ARCH {
            "x86_64" => "amd64",
            "aarch64" => "arm64",
            "x86" => "386",
            "powerpc64" => "ppc64le",
            other => other,
        };
        Platform {
            os: std::env::consts::OS.into(),
            architecture: arch.into(),
            variant: None,
        }
    }

    /// Parses `os/arch[/variant]` as `--platform` takes it.
    pub fn parse(s: &str) -> Option<Platform> {
        let mut parts = s.split('/');
        let os = parts.next().filter(|p| !p.is_empty())?;
        let arch = parts.next().filter(|p| !p.is_empty())?;
        let variant = parts.next().map(String::from);
        if parts.next().is_some() {
            return None;
        }
        Some(Platform {
            os: os.into(),
            architecture: arch.into(),
            variant,
        })
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image manifest: its config and layers.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// What a manifest endpoint returned.
pub enum Fetched {
    Index(Vec<Descriptor>),
    Image(Manifest),
}

/// Interprets manifest bytes, checking the media types of the manifest, config and layers.
pub fn parse(bytes: &[u8]) -> Result<Fetched, ManifestError> {
    let v: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ManifestError::Malformed(e.to_string()))?;
    if v.get("schemaVersion").and_then(|s| s.as_i64()) == Some(1) {
        return Err(ManifestError::UnsupportedMediaType(
            "application/vnd.docker.distribution.manifest.v1+json".into(),
        ));
    }
    let mt = v.get("mediaType").and_then(|m| m.as_str()).unwrap_or("");
    if !mt.is_empty() && !crate::image::registry::MANIFEST_TYPES.contains(&mt) {
        return Err(ManifestError::UnsupportedMediaType(mt.into()));
    }
    if v.get("manifests").is_some() {
        #[derive(Deserialize)]
        struct Index {
            manifests: Vec<Descriptor>,
        }
        let idx: Index =
            serde_json::from_value(v).map_err(|e| ManifestError::Malformed(e.to_string()))?;
        return Ok(Fetched::Index(idx.manifests));
    }
    let m: Manifest =
        serde_json::from_value(v).map_err(|e| ManifestError::Malformed(e.to_string()))?;
    if !m.config.media_type.is_empty() && !CONFIG_TYPES.contains(&m.config.media_type.as_str()) {
        return Err(ManifestError::UnsupportedMediaType(m.config.media_type));
    }
    for l in &m.layers {
        if !LAYER_TYPES.contains(&l.media_type.as_str()) {
            return Err(ManifestError::UnsupportedMediaType(l.media_type.clone()));
        }
        crate::image::store::blobs::digest_hex(&l.digest).map_err(|_| {
            ManifestError::Malformed(format!("invalid layer digest `{}`", l.digest))
        })?;
    }
    crate::image::store::blobs::digest_hex(&m.config.digest).map_err(|_| {
        ManifestError::Malformed(format!("invalid config digest `{}`", m.config.digest))
    })?;
    Ok(Fetched::Image(m))
}

/// The index entry for `want`: os and architecture must match, and the variant too when given.
pub fn select<'a>(
    entries: &'a [Descriptor],
    want: &Platform,
) -> Result<&'a Descriptor, ManifestError> {
    entries
        .iter()
        .find(|d| {
            d.platform.as_ref().is_some_and(|p| {
                p.os == want.os
                    && p.architecture == want.architecture
                    && (want.variant.is_none() || p.variant == want.variant)
            })
        })
        .ok_or_else(|| ManifestError::NoPlatform {
            wanted: want.to_string(),
            available: entries
                .iter()
                .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
                .collect::<Vec<_>>()
                .join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_platform_and_rejects_unknown_types() {
        let idx = br#"{"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
          {"mediaType":"m","digest":"sha256:a","size":1,"platform":{"os":"linux","architecture":"amd64"}},
          {"mediaType":"m","digest":"sha256:b","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}}]}"#;
        let Fetched::Index(e) = parse(idx).unwrap() else {
            panic!()
        };
        let arm = Platform::parse("linux/arm64").unwrap();
        assert_eq!(select(&e, &arm).unwrap().digest, "sha256:b");
        assert!(select(&e, &Platform::parse("linux/s390x").unwrap()).is_err());
        let bad = br#"{"mediaType":"application/x-nope","layers":[]}"#;
        assert!(matches!(
            parse(bad),
            Err(ManifestError::UnsupportedMediaType(_))
        ));
        assert!(matches!(
            parse(b"{not json"),
            Err(ManifestError::Malformed(_))
        ));
    }
}
