//! The JSON documents inside image archives: docker-archive's `manifest.json` and `repositories`,
//! and the OCI image layout's `index.json`, manifests and descriptors. Only the fields rctr reads
//! or writes are typed; manifests are otherwise kept as the exact bytes they arrived as, since
//! their digests must not change.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The annotation naming an image in an OCI layout's index.json.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation containerd and docker (25+) use for the full image name.
pub const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// One image in docker-archive's `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DockerManifestEntry {
    /// Path of the config file inside the archive.
    pub config: String,
    /// Names of the image; docker writes `null` for an untagged image.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub repo_tags: Vec<String>,
    /// Paths of the uncompressed layer tars, lowest first.
    pub layers: Vec<String>,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// A content descriptor (OCI image spec): what a blob is, its digest and size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An OCI image index (`index.json`) or docker manifest list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// An image manifest (OCI, or docker schema 2, which has the same shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// The part of an image config that archives need: the uncompressed layer digests.
#[derive(Debug, Clone, Deserialize)]
pub struct ConfigRootfs {
    pub rootfs: Rootfs,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rootfs {
    #[serde(default)]
    pub diff_ids: Vec<String>,
}

/// Whether `media_type` names an index (a list of manifests) rather than an image manifest.
pub fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_LIST
}

/// The OCI equivalent of a docker schema 2 media type (OCI types map to themselves). Used when
/// writing an oci-archive of an image that was pulled with a docker manifest.
pub fn to_oci_media_type(media_type: &str) -> &str {
    match media_type {
        DOCKER_MANIFEST => OCI_MANIFEST,
        DOCKER_CONFIG => OCI_CONFIG,
        DOCKER_LAYER => OCI_LAYER,
        DOCKER_LAYER_GZIP => OCI_LAYER_GZIP,
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => OCI_LAYER_GZIP,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_manifest_accepts_null_repo_tags() {
        let m: Vec<DockerManifestEntry> =
            serde_json::from_str(r#"[{"Config":"a.json","RepoTags":null,"Layers":["l.tar"]}]"#)
                .unwrap();
        assert!(m[0].repo_tags.is_empty());
        let back = serde_json::to_string(&m[0]).unwrap();
        assert!(back.contains(r#""RepoTags":[]"#), "{back}");
    }

    #[test]
    fn index_round_trips_annotations() {
        let text = r#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:00","size":3,"annotations":{"org.opencontainers.image.ref.name":"r/x:1"}}]}"#;
        let i: Index = serde_json::from_str(text).unwrap();
        assert_eq!(i.manifests[0].annotations[REF_NAME], "r/x:1");
        assert_eq!(serde_json::to_string(&i).unwrap(), text);
    }
}
