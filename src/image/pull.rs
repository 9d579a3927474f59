//! Pulling an image: resolve the manifest (through mirrors, picking this platform from an
//! index), fetch the config, then download every missing layer in parallel, each decompressed and
//! unpacked while it downloads, and finally record the image.

use crate::context::Context;
use crate::image::manifest::{self, Descriptor, Fetched, Platform};
use crate::image::reference::{self, ImageRef};
use crate::image::registry::{self, Endpoint, RegistryError};
use crate::image::store::{blobs, layers::chain_ids, ImageRecord, LayerMeta, LayerRef, Store};
use crate::image::{ImageError, PullReporter};
use bytes::Bytes;
use futures_util::StreamExt;
use oci_client::client::BlobResponse;
use std::io::Read;

/// Options of `pull` beyond the name.
#[derive(Debug, Clone, Default)]
pub struct PullOptions {
    /// `os/arch[/variant]` to pick from an index instead of this machine's platform.
    pub platform: Option<String>,
    /// `Some(false)` allows plain HTTP and unverified TLS; `Some(true)` insists on verified TLS
    /// even for registries configured as insecure.
    pub tls_verify: Option<bool>,
}

/// Pulls `image` from its registry (mirrors first), storing blobs, layers and the record.
pub async fn pull_ref(
    ctx: &Context,
    store: &Store,
    image: &ImageRef,
    opts: &PullOptions,
    reporter: &dyn PullReporter,
) -> Result<ImageRecord, ImageError> {
    let platform = match &opts.platform {
        Some(p) => Platform::parse(p).ok_or_else(|| ImageError::BadPlatform(p.clone()))?,
        None => Platform::host(),
    };
    let mut last: Option<ImageError> = None;
    for reg in reference::endpoints(&image.registry, &ctx.config.registries) {
        for ep in registry::endpoints_for(ctx, &reg, opts.tls_verify)? {
            match fetch_manifest(&ep, image, &platform).await {
                Ok(found) => return pull_from(store, &ep, image, found, reporter).await,
                Err(ImageError::Registry(e)) if e.is_not_found_or_unreachable() => {
                    log::info!("{e}");
                    // An error from the origin is more telling than one from a mirror.
                    last = Some(ImageError::Registry(e));
                }
                Err(e) => return Err(e),
            }
        }
    }
    Err(last.expect("at least the origin registry was tried"))
}

/// The resolved manifest: its bytes and digest, and the index it was chosen from, if any.
struct Found {
    manifest: manifest::Manifest,
    bytes: Bytes,
    digest: String,
    index: Option<(Bytes, String)>,
}

async fn fetch_manifest(
    ep: &Endpoint,
    image: &ImageRef,
    platform: &Platform,
) -> Result<Found, ImageError> {
    let r = ep.reference(image);
    let bad = |source| ImageError::Manifest {
        image: image.to_string(),
        source,
    };
    let oci = |e| ImageError::Registry(RegistryError::from_oci(&ep.registry, image, e));
    let (bytes, digest) = ep
        .client
        .pull_manifest_raw(&r, &ep.auth, registry::MANIFEST_TYPES)
        .await
        .map_err(oci)?;
    check_digest(image, &bytes, &digest)?;
    match manifest::parse(&bytes).map_err(bad)? {
        Fetched::Image(m) => Ok(Found {
            manifest: m,
            bytes,
            digest,
            index: None,
        }),
        Fetched::Index(entries) => {
            let chosen = manifest::select(&entries, platform).map_err(bad)?;
            let r2 = ep.reference(&ImageRef {
                digest: Some(chosen.digest.clone()),
                tag: None,
                ..image.clone()
            });
            let (mbytes, mdigest) = ep
                .client
                .pull_manifest_raw(&r2, &ep.auth, registry::MANIFEST_TYPES)
                .await
                .map_err(oci)?;
            check_digest(image, &mbytes, &chosen.digest)?;
            match manifest::parse(&mbytes).map_err(bad)? {
                Fetched::Image(m) => Ok(Found {
                    manifest: m,
                    bytes: mbytes,
                    digest: mdigest,
                    index: Some((bytes, digest)),
                }),
                Fetched::Index(_) => Err(bad(manifest::ManifestError::Malformed(
                    "an index entry points to another index".into(),
                ))),
            }
        }
    }
}

/// Checks a manifest's bytes against the digest it was fetched by or announced with.
fn check_digest(image: &ImageRef, bytes: &[u8], digest: &str) -> Result<(), ImageError> {
    let actual = blobs::sha256_digest(bytes);
    if actual != digest {
        return Err(ImageError::DigestMismatch {
            image: image.to_string(),
            blob: digest.to_string(),
            actual,
        });
    }
    Ok(())
}

async fn pull_from(
    store: &Store,
    ep: &Endpoint,
    image: &ImageRef,
    found: Found,
    reporter: &dyn PullReporter,
) -> Result<ImageRecord, ImageError> {
    let repo = image.repo();
    let mut repo_digests = vec![format!("{repo}@{}", found.digest)];
    if let Some((_, d)) = &found.index {
        repo_digests.push(format!("{repo}@{d}"));
    }
    let names: Vec<String> = image.tagged_name().into_iter().collect();
    let pinned = names.is_empty();

    // Already present with the same manifest: only (re)attach the name.
    if let Some(rec) = store
        .images()?
        .into_iter()
        .find(|r| r.digest == found.digest && r.layers.iter().all(|l| store.has_layer(&l.chain_id)))
    {
        for l in &rec.layers {
            reporter.layer_done(&l.digest, true);
        }
        return Ok(store.add_image(ImageRecord {
            names,
            repo_digests,
            pinned,
            ..rec
        })?);
    }

    let r = ep.reference(image);
    let m = &found.manifest;
    let config = fetch_small_blob(ep, &r, image, &m.config.digest).await?;
    let cfg: serde_json::Value =
        serde_json::from_slice(&config).map_err(|e| ImageError::Manifest {
            image: image.to_string(),
            source: manifest::ManifestError::Malformed(format!("config {}: {e}", m.config.digest)),
        })?;
    let diff_ids: Vec<String> = cfg["rootfs"]["diff_ids"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|d| d.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if diff_ids.len() != m.layers.len() {
        return Err(ImageError::Manifest {
            image: image.to_string(),
            source: manifest::ManifestError::Malformed(format!(
                "{} layers but {} diff_ids in config {}",
                m.layers.len(),
                diff_ids.len(),
                m.config.digest
            )),
        });
    }
    let chains = chain_ids(&diff_ids);
    let jobs = m
        .layers
        .iter()
        .zip(&diff_ids)
        .zip(&chains)
        .map(|((desc, diff_id), chain)| {
            pull_layer(store, ep, &r, image, desc, diff_id, chain, reporter)
        });
    let metas: Vec<LayerMeta> = futures_util::future::try_join_all(jobs).await?;

    store.write_blob(&m.config.digest, &config)?;
    store.write_blob(&found.digest, &found.bytes)?;
    if let Some((bytes, d)) = &found.index {
        store.write_blob(d, bytes)?;
    }
    let created = cfg["created"]
        .as_str()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|c| c.with_timezone(&chrono::Utc));
    let layers = m
        .layers
        .iter()
        .zip(&diff_ids)
        .zip(&chains)
        .map(|((d, diff_id), chain)| LayerRef {
            chain_id: chain.clone(),
            diff_id: diff_id.clone(),
            digest: d.digest.clone(),
            media_type: d.media_type.clone(),
            size: d.size,
        })
        .collect();
    Ok(store.add_image(ImageRecord {
        id: blobs::digest_hex(&m.config.digest)?.to_string(),
        names,
        digest: found.digest.clone(),
        repo_digests,
        created,
        size: metas.iter().map(|m| m.size).sum(),
        layers,
        pinned,
    })?)
}

/// Fetches a config blob into memory and verifies its digest.
async fn fetch_small_blob(
    ep: &Endpoint,
    r: &oci_client::Reference,
    image: &ImageRef,
    digest: &str,
) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    ep.client
        .pull_blob(r, digest, &mut out)
        .await
        .map_err(|e| blob_err(ep, image, digest, e))?;
    check_digest(image, &out, digest)?;
    Ok(out)
}

fn blob_err(
    ep: &Endpoint,
    image: &ImageRef,
    digest: &str,
    e: oci_client::errors::OciDistributionError,
) -> ImageError {
    ImageError::Blob {
        image: image.to_string(),
        blob: digest.to_string(),
        source: Box::new(RegistryError::from_oci(&ep.registry, image, e)),
    }
}

/// Downloads one layer and unpacks it while it arrives, unless it is already present. The
/// per-layer lock makes a concurrent pull of the same layer wait for this one and then reuse it.
#[allow(clippy::too_many_arguments)]
async fn pull_layer(
    store: &Store,
    ep: &Endpoint,
    r: &oci_client::Reference,
    image: &ImageRef,
    desc: &Descriptor,
    diff_id: &str,
    chain: &str,
    reporter: &dyn PullReporter,
) -> Result<LayerMeta, ImageError> {
    let s = store.clone();
    let c = chain.to_string();
    let lock = tokio::task::spawn_blocking(move || s.lock_layer(&c))
        .await
        .map_err(|e| ImageError::Internal(e.to_string()))??;
    if store.has_layer(chain) {
        reporter.layer_done(&desc.digest, true);
        return Ok(store.layer_meta(chain)?);
    }
    reporter.layer_start(&desc.digest, desc.size);
    // Asking for the blob from offset 0 gets the whole blob either way, but oci-client then
    // leaves it unverified instead of hashing every byte a second time on the async thread:
    // the blob writer below hashes it already and refuses a mismatch at commit.
    // (An empty blob has no byte 0 to start from: a registry would answer 416.)
    let fetched = if desc.size > 0 {
        ep.client
            .pull_blob_stream_partial(r, desc.digest.as_str(), 0, None)
            .await
            .map(|resp| match resp {
                BlobResponse::Full(s) | BlobResponse::Partial(s) => s,
            })
    } else {
        ep.client.pull_blob_stream(r, desc.digest.as_str()).await
    };
    let mut stream = fetched.map_err(|e| blob_err(ep, image, &desc.digest, e))?;

    let tmp = store.layer_temp(chain)?;
    let mut blob = store.blob_writer()?;
    let diff = tmp.diff();
    // Network bytes fan out through bounded channels to two blocking threads: one saves and
    // hashes the compressed blob, the other decompresses and applies the tar (itself split in
    // two threads, see `apply_layer`). So download, saving and unpacking all overlap, and the
    // blob's SHA-256 does not lengthen the decompression thread, the longest of the pipeline.
    let (btx, mut brx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let saver = tokio::task::spawn_blocking(move || -> std::io::Result<blobs::BlobWriter> {
        use std::io::Write;
        while let Some(b) = brx.blocking_recv() {
            blob.write_all(&b)?;
        }
        Ok(blob)
    });
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(64);
    let worker = tokio::task::spawn_blocking(move || {
        let mut reader = ChannelReader {
            rx,
            cur: Bytes::new(),
        };
        let applied = crate::image::unpack::apply_layer(&mut reader, &diff);
        // Read whatever follows the compressed stream so that the download runs to its end and
        // the blob digest covers every byte.
        let drained = std::io::copy(&mut reader, &mut std::io::sink());
        (applied, drained)
    });
    let mut stream_err = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(b) => {
                reporter.layer_progress(&desc.digest, b.len() as u64);
                // A closed channel means that side failed; its error is reported below.
                if btx.send(b.clone()).await.is_err() || tx.send(Ok(b)).await.is_err() {
                    break;
                }
            }
            Err(e) => {
                stream_err = Some(e.to_string());
                let _ = tx.send(Err(e)).await;
                break;
            }
        }
    }
    drop(tx);
    drop(btx);
    let (applied, drained) = worker
        .await
        .map_err(|e| ImageError::Internal(e.to_string()))?;
    let saved = saver
        .await
        .map_err(|e| ImageError::Internal(e.to_string()))?;
    let layer_err = |msg: String| ImageError::Layer {
        image: image.to_string(),
        blob: desc.digest.clone(),
        message: msg,
    };
    if let Some(e) = stream_err {
        return Err(layer_err(format!("download failed: {e}")));
    }
    // A failed save also cut the stream short, so it is the cause of any unpack error.
    let blob = saved.map_err(|e| layer_err(format!("cannot save the blob: {e}")))?;
    let applied = applied.map_err(|e| ImageError::Unpack {
        image: image.to_string(),
        blob: desc.digest.clone(),
        source: e,
    })?;
    drained.map_err(|e| layer_err(format!("download failed: {e}")))?;
    let actual = blob.digest();
    if actual != desc.digest {
        return Err(ImageError::DigestMismatch {
            image: image.to_string(),
            blob: desc.digest.clone(),
            actual,
        });
    }
    if applied.diff_id != diff_id {
        return Err(layer_err(format!(
            "uncompressed content has digest {} but the config says {diff_id}",
            applied.diff_id
        )));
    }
    blob.commit(&desc.digest)?;
    let meta = LayerMeta {
        diff_id: applied.diff_id,
        size: applied.size,
    };
    tmp.commit(&meta)?;
    drop(lock);
    reporter.layer_done(&desc.digest, false);
    Ok(meta)
}

/// Adapts the channel of downloaded chunks to `Read`.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>,
    cur: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.cur.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.cur = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len());
        buf[..n].copy_from_slice(&self.cur[..n]);
        let _ = self.cur.split_to(n);
        Ok(n)
    }
}
