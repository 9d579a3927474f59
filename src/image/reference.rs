//! Image references: docker's normalisation (`alpine` → `docker.io/library/alpine:latest`),
//! validation with errors that name the input, and the expansion of short names through the
//! configured aliases and search registries.

use crate::config::Registries;
use std::fmt;

/// The registry that unqualified names belong to, as docker defines it.
pub const DOCKER_HUB: &str = "docker.io";

/// Errors parsing a reference. Each names the reference as the user typed it.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("invalid reference format `{input}`: {reason}")]
    Invalid { input: String, reason: &'static str },
}

/// A fully qualified image reference: registry, repository, and a tag and/or digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// `host`, `host:port`, or `docker.io`.
    pub registry: String,
    /// Path within the registry, e.g. `library/alpine`.
    pub repository: String,
    /// Tag; `latest` when neither a tag nor a digest was given.
    pub tag: Option<String>,
    /// `sha256:<hex>` when the reference pins a digest.
    pub digest: Option<String>,
}

/// A parsed reference before short-name expansion: `domain` is `None` for names like `alpine`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub domain: Option<String>,
    pub path: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// `registry/repository` without tag or digest: what `images` shows as REPOSITORY.
    pub fn repo(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The name recorded for this reference in the store: `repo:tag`, or `None` for a
    /// digest-only reference (which gets no tag, as in podman).
    pub fn tagged_name(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{t}", self.repo()))
    }

    /// The same reference on another registry (a mirror).
    pub fn on_registry(&self, registry: &str) -> ImageRef {
        let mut r = self.clone();
        r.registry = registry.to_string();
        r
    }

    /// Parses and fully qualifies a reference, treating a short name as a Docker Hub name.
    pub fn parse_normalized(input: &str) -> Result<ImageRef, ReferenceError> {
        Ok(parse(input)?.qualify(DOCKER_HUB))
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.repo())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl Parsed {
    /// Whether the name carried no registry domain, so it is subject to short-name resolution.
    pub fn is_short(&self) -> bool {
        self.domain.is_none()
    }

    /// Qualifies the reference with `registry` when it had no domain, adding docker's `library/`
    /// for single-component names on Docker Hub and the `latest` tag when neither tag nor digest was given.
    pub fn qualify(&self, registry: &str) -> ImageRef {
        let registry = self.domain.clone().unwrap_or_else(|| registry.to_string());
        let registry = match registry.as_str() {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB.to_string(),
            _ => registry,
        };
        let repository = if registry == DOCKER_HUB && !self.path.contains('/') {
            format!("library/{}", self.path)
        } else {
            self.path.clone()
        };
        let tag = match (&self.tag, &self.digest) {
            (None, None) => Some("latest".to_string()),
            (t, _) => t.clone(),
        };
        ImageRef {
            registry,
            repository,
            tag,
            digest: self.digest.clone(),
        }
    }
}

fn invalid(input: &str, reason: &'static str) -> ReferenceError {
    ReferenceError::Invalid {
        input: input.to_string(),
        reason,
    }
}

/// Parses a reference as docker does, without qualifying it.
pub fn parse(input: &str) -> Result<Parsed, ReferenceError> {
    if input.is_empty() {
        return Err(invalid(input, "empty name"));
    }
    if input.len() > 4096 {
        return Err(invalid(input, "name too long"));
    }
    let (rest, digest) = match input.split_once('@') {
        Some((r, d)) => {
            let hex = d
                .strip_prefix("sha256:")
                .ok_or_else(|| invalid(input, "only sha256 digests are supported"))?;
            if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(invalid(
                    input,
                    "digest must be sha256: and 64 lowercase hex digits",
                ));
            }
            (r, Some(d.to_string()))
        }
        None => (input, None),
    };
    // The tag follows the last ':' that is not part of a `host:port` (i.e. not followed by '/').
    let (name, tag) = match rest.rfind(':') {
        Some(i) if !rest[i + 1..].contains('/') => (&rest[..i], Some(rest[i + 1..].to_string())),
        _ => (rest, None),
    };
    if let Some(t) = &tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.bytes().enumerate().all(|(i, b)| {
                b.is_ascii_alphanumeric() || b == b'_' || (i > 0 && (b == b'.' || b == b'-'))
            });
        if !ok {
            return Err(invalid(input, "invalid tag"));
        }
    }
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains('.') || first.contains(':') || first == "localhost" =>
        {
            (Some(first.to_string()), rest)
        }
        _ => (None, name),
    };
    if let Some(d) = &domain {
        let ok = d
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
        if !ok {
            return Err(invalid(input, "invalid registry host"));
        }
    }
    if path.is_empty() {
        return Err(invalid(input, "empty repository name"));
    }
    for comp in path.split('/') {
        if !valid_component(comp) {
            return Err(invalid(
                input,
                "repository name must be lowercase letters, digits and separators (., _, __, -)",
            ));
        }
    }
    Ok(Parsed {
        domain,
        path: path.to_string(),
        tag,
        digest,
    })
}

/// A path component: `[a-z0-9]+` groups joined by `.`, `_`, `__` or one or more `-`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// The fully qualified references to try for `input`, in order: the name itself when it names a
/// registry; otherwise a matching alias, then each search registry.
pub fn candidates(input: &str, regs: &Registries) -> Result<Vec<ImageRef>, ReferenceError> {
    let parsed = parse(input)?;
    if !parsed.is_short() {
        return Ok(vec![parsed.qualify(DOCKER_HUB)]);
    }
    let mut out = Vec::new();
    if let Some(target) = regs.aliases.get(&parsed.path) {
        let mut aliased = parse(target)?;
        if parsed.tag.is_some() || parsed.digest.is_some() {
            aliased.tag = parsed.tag.clone();
            aliased.digest = parsed.digest.clone();
        }
        out.push(aliased.qualify(DOCKER_HUB));
    }
    for reg in &regs.search {
        let r = parsed.qualify(reg);
        if !out.contains(&r) {
            out.push(r);
        }
    }
    if out.is_empty() {
        out.push(parsed.qualify(DOCKER_HUB));
    }
    Ok(out)
}

/// The registries to contact for `registry`, in order: its mirrors, then itself.
pub fn endpoints(registry: &str, regs: &Registries) -> Vec<String> {
    let mut out: Vec<String> = regs.mirrors.get(registry).cloned().unwrap_or_default();
    out.push(registry.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        ImageRef::parse_normalized(s).unwrap().to_string()
    }

    #[test]
    fn normalises_like_docker() {
        assert_eq!(n("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(n("user/app:1.2"), "docker.io/user/app:1.2");
        assert_eq!(n("localhost/app"), "localhost/app:latest");
        assert_eq!(n("127.0.0.1:5000/a/b:t"), "127.0.0.1:5000/a/b:t");
        assert_eq!(
            n("index.docker.io/alpine"),
            "docker.io/library/alpine:latest"
        );
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(n(&format!("h:1/x@{d}")), format!("h:1/x@{d}"));
        assert_eq!(n(&format!("h:1/x:t@{d}")), format!("h:1/x:t@{d}"));
    }

    #[test]
    fn rejects_bad_names_naming_them() {
        for bad in [
            "",
            "Alpine",
            "a//b",
            "a:",
            "a@sha256:12",
            "-a",
            "a:-x",
            "a b",
        ] {
            let e = ImageRef::parse_normalized(bad).unwrap_err().to_string();
            assert!(e.contains(&format!("`{bad}`")), "{e}");
        }
    }

    #[test]
    fn short_names_use_aliases_then_search() {
        let mut regs = Registries {
            search: vec!["r1:5000".into(), "docker.io".into()],
            ..Default::default()
        };
        regs.aliases
            .insert("bb".into(), "r2:1/tools/busybox".into());
        let c = candidates("bb:1", &regs).unwrap();
        assert_eq!(c[0].to_string(), "r2:1/tools/busybox:1");
        assert_eq!(c[1].to_string(), "r1:5000/bb:1");
        assert_eq!(c[2].to_string(), "docker.io/library/bb:1");
        let c = candidates("q.io/x", &regs).unwrap();
        assert_eq!(c.len(), 1);
        regs.mirrors.insert("q.io".into(), vec!["m:1".into()]);
        assert_eq!(endpoints("q.io", &regs), vec!["m:1", "q.io"]);
    }
}
