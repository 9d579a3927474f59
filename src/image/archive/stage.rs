//! Reads an archive stream (a tar, possibly gzip- or zstd-compressed, possibly from a pipe) into
//! a staging directory, hashing each file as it is written. Archive entries come in any order
//! (podman writes `manifest.json` last), so nothing can be interpreted until the whole stream has
//! been read. Files are staged under numbered names, never under their archive paths, so a hostile
//! entry such as `../../x` cannot write outside the staging directory.

use super::ArchiveError;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// A regular file from the archive, staged on disk.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Where the bytes are.
    pub path: PathBuf,
    /// `sha256:` digest of the bytes.
    pub digest: String,
    pub size: u64,
}

/// The staged contents of an archive.
#[derive(Debug)]
pub struct Staged {
    /// The archive's name as the user gave it (a path, or `stdin`), for messages.
    pub archive: String,
    files: HashMap<String, StagedFile>,
    links: HashMap<String, String>,
}

/// The compression of a stream, told apart by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// Detects the compression from a stream's magic number.
pub fn detect(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

/// Wraps `r` in the decompressor its first bytes call for.
pub fn decompressed<'a, R: BufRead + 'a>(mut r: R) -> std::io::Result<Box<dyn Read + 'a>> {
    let head = r.fill_buf()?.to_vec();
    Ok(match detect(&head) {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
        Compression::None => Box::new(r),
    })
}

/// Normalises an archive path: no leading `./` or `/`, `..` resolved, no trailing slash.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join("/")
}

impl Staged {
    /// Reads the whole archive from `input` into `dir` (which must exist and be empty).
    pub fn read(input: impl Read, archive: &str, dir: &Path) -> Result<Staged, ArchiveError> {
        let rerr = |source| ArchiveError::Read {
            archive: archive.to_string(),
            source,
        };
        let stream = decompressed(BufReader::with_capacity(256 * 1024, input)).map_err(rerr)?;
        let mut tar = tar::Archive::new(stream);
        let mut staged = Staged {
            archive: archive.to_string(),
            files: HashMap::new(),
            links: HashMap::new(),
        };
        let entries = tar.entries().map_err(rerr)?;
        for (n, entry) in entries.enumerate() {
            let mut entry = entry.map_err(rerr)?;
            let name = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
            let kind = entry.header().entry_type();
            if kind.is_symlink() || kind.is_hard_link() {
                let target = entry
                    .link_name_bytes()
                    .map(|t| String::from_utf8_lossy(&t).into_owned())
                    .unwrap_or_default();
                // Symlink targets are relative to the link's directory; hard links to the root.
                let target = if kind.is_symlink() && !target.starts_with('/') {
                    let parent = name.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    normalize(&format!("{parent}/{target}"))
                } else {
                    normalize(&target)
                };
                staged.links.insert(name, target);
                continue;
            }
            if !kind.is_file() {
                continue;
            }
            let path = dir.join(format!("{n}"));
            let werr = |source| ArchiveError::Stage {
                path: path.clone(),
                source,
            };
            let mut out = std::io::BufWriter::with_capacity(
                256 * 1024,
                std::fs::File::create(&path).map_err(werr)?,
            );
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            let mut size = 0u64;
            loop {
                let k = entry.read(&mut buf).map_err(rerr)?;
                if k == 0 {
                    break;
                }
                hasher.update(&buf[..k]);
                out.write_all(&buf[..k]).map_err(werr)?;
                size += k as u64;
            }
            out.flush().map_err(werr)?;
            staged.files.insert(
                name,
                StagedFile {
                    path: path.clone(),
                    digest: format!("sha256:{}", hex::encode(hasher.finalize())),
                    size,
                },
            );
        }
        Ok(staged)
    }

    /// Whether the archive holds `name` (a file, or a link to one).
    pub fn has(&self, name: &str) -> bool {
        self.file(name).is_some()
    }

    fn file(&self, name: &str) -> Option<&StagedFile> {
        let mut name = normalize(name);
        // Follow links, with a bound so that a link cycle cannot loop forever.
        for _ in 0..16 {
            if let Some(f) = self.files.get(&name) {
                return Some(f);
            }
            name = self.links.get(&name)?.clone();
        }
        None
    }

    /// The staged file for archive entry `name`, or an error naming the archive and the entry.
    pub fn get(&self, name: &str) -> Result<&StagedFile, ArchiveError> {
        self.file(name).ok_or_else(|| ArchiveError::Missing {
            archive: self.archive.clone(),
            entry: name.to_string(),
        })
    }

    /// The bytes of a small entry (a JSON document).
    pub fn read_small(&self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        let f = self.get(name)?;
        if f.size > 64 << 20 {
            return Err(self.malformed(name, format!("{} bytes is too large", f.size)));
        }
        std::fs::read(&f.path).map_err(|source| ArchiveError::Stage {
            path: f.path.clone(),
            source,
        })
    }

    /// Parses a JSON entry, naming the archive and entry when it is not valid.
    pub fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> Result<T, ArchiveError> {
        let bytes = self.read_small(name)?;
        serde_json::from_slice(&bytes).map_err(|e| self.malformed(name, e.to_string()))
    }

    /// An error about entry `name` of this archive.
    pub fn malformed(&self, name: &str, message: String) -> ArchiveError {
        ArchiveError::Malformed {
            archive: self.archive.clone(),
            entry: name.to_string(),
            message,
        }
    }

    /// The entry `name`, checked to hash to `digest`.
    pub fn verified(&self, name: &str, digest: &str) -> Result<&StagedFile, ArchiveError> {
        let f = self.get(name)?;
        if f.digest != digest {
            return Err(ArchiveError::DigestMismatch {
                archive: self.archive.clone(),
                entry: name.to_string(),
                expected: digest.to_string(),
                actual: f.digest.clone(),
            });
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tar_with(entries: &[(&str, &[u8])], link: Option<(&str, &str)>) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            // Written raw: the tar crate refuses to build `..` paths, which hostile archives have.
            let raw = &mut h.as_gnu_mut().unwrap().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        if let Some((name, target)) = link {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, name, target).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn stages_files_follows_links_and_hashes() {
        let d = tempfile::tempdir().unwrap();
        let t = tar_with(
            &[("./a.tar", b"abc"), ("../../escape", b"x")],
            Some(("layer1/layer.tar", "../a.tar")),
        );
        let s = Staged::read(&t[..], "x.tar", d.path()).unwrap();
        let f = s.get("layer1/layer.tar").unwrap();
        assert_eq!(std::fs::read(&f.path).unwrap(), b"abc");
        assert_eq!(
            f.digest,
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(s.has("escape"));
        assert!(!d.path().parent().unwrap().join("escape").exists());
        let err = s.get("nope.json").unwrap_err().to_string();
        assert!(err.contains("x.tar") && err.contains("nope.json"), "{err}");
    }

    #[test]
    fn reads_gzip_compressed_archives() {
        let d = tempfile::tempdir().unwrap();
        let t = tar_with(&[("manifest.json", b"[]")], None);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&t).unwrap();
        let s = Staged::read(&gz.finish().unwrap()[..], "x.tar.gz", d.path()).unwrap();
        assert_eq!(s.read_small("manifest.json").unwrap(), b"[]");
    }
}
