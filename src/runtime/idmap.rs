//! Subordinate id ranges from `/etc/subuid` and `/etc/subgid`, and the mapping every rctr user
//! namespace uses: container 0 is the invoking user, container 1.. are the subordinate ids in order.
//! Every container and every store operation uses this same mapping, so ownership on disk is stable.

use std::path::Path;

/// One line of a uid_map or gid_map: `size` ids starting at `container` map to ids starting at `host`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdRange {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// The uid and gid mappings for rctr's user namespaces.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdMap {
    pub uids: Vec<IdRange>,
    pub gids: Vec<IdRange>,
    /// False when no subordinate ranges were found and only the invoking user is mapped.
    pub full: bool,
}

/// Errors reading the subordinate id files.
#[derive(Debug, thiserror::Error)]
pub enum IdMapError {
    #[error("cannot read `{path}`")]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A subordinate range as listed in /etc/subuid: `count` ids starting at `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubRange {
    pub start: u32,
    pub count: u32,
}

/// Parses subuid/subgid text, returning the ranges that belong to `name` or to the numeric `id`.
pub fn parse_subid(text: &str, name: Option<&str>, id: u32) -> Vec<SubRange> {
    let id_str = id.to_string();
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let mut parts = line.split(':');
            let owner = parts.next()?;
            let start = parts.next()?.trim().parse().ok()?;
            let count: u32 = parts.next()?.trim().parse().ok()?;
            let matches = owner == id_str || Some(owner) == name;
            (matches && count > 0).then_some(SubRange { start, count })
        })
        .collect()
}

/// Reads a subordinate id file; a missing file means no ranges.
pub fn read_subid(path: &Path, name: Option<&str>, id: u32) -> Result<Vec<SubRange>, IdMapError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(parse_subid(&text, name, id)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(source) => Err(IdMapError::Read {
            path: path.to_owned(),
            source,
        }),
    }
}

fn build(own: u32, subs: &[SubRange]) -> Vec<IdRange> {
    let mut out = vec![IdRange {
        container: 0,
        host: own,
        size: 1,
    }];
    let mut next = 1u32;
    for r in subs {
        // Never map the user's own id twice: a range that contains it is skipped.
        if own >= r.start && own < r.start.saturating_add(r.count) {
            continue;
        }
        out.push(IdRange {
            container: next,
            host: r.start,
            size: r.count,
        });
        next = next.saturating_add(r.count);
    }
    out
}

impl IdMap {
    /// The mapping for the invoking user: full when both subuid and subgid ranges exist, else
    /// only the user's own uid and gid as container root.
    pub fn for_user(
        uid: u32,
        gid: u32,
        name: Option<&str>,
        subuid: &Path,
        subgid: &Path,
    ) -> Result<IdMap, IdMapError> {
        let su = read_subid(subuid, name, uid)?;
        let sg = read_subid(subgid, name, uid)?;
        let uids = build(uid, &su);
        let gids = build(gid, &sg);
        let full = uids.len() > 1 && gids.len() > 1;
        if full {
            Ok(IdMap { uids, gids, full })
        } else {
            Ok(IdMap::single(uid, gid))
        }
    }

    /// The fallback mapping: only the invoking user, as container root.
    pub fn single(uid: u32, gid: u32) -> IdMap {
        IdMap {
            uids: vec![IdRange {
                container: 0,
                host: uid,
                size: 1,
            }],
            gids: vec![IdRange {
                container: 0,
                host: gid,
                size: 1,
            }],
            full: false,
        }
    }

    /// The identity mapping used when rctr runs as real root: no user namespace is needed.
    pub fn identity() -> IdMap {
        let all = IdRange {
            container: 0,
            host: 0,
            size: u32::MAX,
        };
        IdMap {
            uids: vec![all],
            gids: vec![all],
            full: true,
        }
    }

    /// How many container uids are mapped (the highest usable uid is one less).
    pub fn uid_count(&self) -> u64 {
        self.uids.iter().map(|r| r.size as u64).sum()
    }

    /// How many container gids are mapped.
    pub fn gid_count(&self) -> u64 {
        self.gids.iter().map(|r| r.size as u64).sum()
    }

    /// The host uid that container uid `id` maps to, if mapped.
    pub fn host_uid(&self, id: u32) -> Option<u32> {
        lookup(&self.uids, id)
    }

    /// The host gid that container gid `id` maps to, if mapped.
    pub fn host_gid(&self, id: u32) -> Option<u32> {
        lookup(&self.gids, id)
    }
}

fn lookup(ranges: &[IdRange], id: u32) -> Option<u32> {
    ranges
        .iter()
        .find(|r| id >= r.container && (id - r.container) < r.size)
        .map(|r| r.host + (id - r.container))
}

/// Formats ranges as the text written to `/proc/PID/uid_map`.
pub fn map_text(ranges: &[IdRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{} {} {}\n", r.container, r.host, r.size))
        .collect()
}

/// Translates `id` of this process's user namespace to the id it is in the parent namespace,
/// by the mapping text of `/proc/self/uid_map` or `gid_map`. None when `id` is unmapped.
pub fn outer_id(map: &str, id: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut f = line.split_whitespace().map(|n| n.parse::<u32>().ok());
        let (Some(Some(inner)), Some(Some(outer)), Some(Some(size))) =
            (f.next(), f.next(), f.next())
        else {
            return None;
        };
        (id >= inner && id - inner < size).then(|| outer + (id - inner))
    })
}

/// The invoking user's uid and gid on the host. A process that was started inside rctr's user
/// namespace (a container's monitor, re-executed there by `rctr run -d`) is root there, so its
/// `getuid()` is 0: its ids are translated back through its own uid_map and gid_map, which
/// name the host user that created the namespace. In the initial namespace the maps are the
/// identity and this is plain `getuid()`/`getgid()`.
pub fn host_ids() -> (u32, u32) {
    let (uid, gid) = (
        nix::unistd::getuid().as_raw(),
        nix::unistd::getgid().as_raw(),
    );
    let through = |file: &str, id: u32| {
        std::fs::read_to_string(file)
            .ok()
            .and_then(|m| outer_id(&m, id))
            .unwrap_or(id)
    };
    (
        through("/proc/self/uid_map", uid),
        through("/proc/self/gid_map", gid),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_by_name_and_uid_and_skips_junk() {
        let text =
            "# c\nalice:100000:65536\n1000:300000:10\nbob:200000:65536\nbad line\nalice:x:1\n";
        let r = parse_subid(text, Some("alice"), 1000);
        assert_eq!(
            r,
            vec![
                SubRange {
                    start: 100000,
                    count: 65536
                },
                SubRange {
                    start: 300000,
                    count: 10
                }
            ]
        );
        assert!(parse_subid(text, Some("carol"), 5).is_empty());
    }

    #[test]
    fn full_map_puts_user_at_root_then_ranges_in_order() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub");
        std::fs::write(&p, "u:100000:65536\nu:300000:10\n").unwrap();
        let m = IdMap::for_user(1000, 1000, Some("u"), &p, &p).unwrap();
        assert!(m.full);
        assert_eq!(m.host_uid(0), Some(1000));
        assert_eq!(m.host_uid(1), Some(100000));
        assert_eq!(m.host_uid(65536), Some(165535));
        assert_eq!(m.host_uid(65537), Some(300000));
        assert_eq!(m.host_uid(65547), None);
        assert_eq!(m.uid_count(), 65547);
        assert_eq!(map_text(&m.uids[..1]), "0 1000 1\n");
    }

    #[test]
    fn no_entries_falls_back_to_single() {
        let d = tempfile::tempdir().unwrap();
        let m = IdMap::for_user(
            1000,
            1001,
            Some("u"),
            &d.path().join("a"),
            &d.path().join("b"),
        )
        .unwrap();
        assert!(!m.full);
        assert_eq!(m, IdMap::single(1000, 1001));
    }

    #[test]
    fn outer_id_translates_through_the_map() {
        let m = "         0       1001          1\n         1     100000      65536\n";
        assert_eq!(outer_id(m, 0), Some(1001));
        assert_eq!(outer_id(m, 2), Some(100001));
        assert_eq!(outer_id(m, 65537), None);
        assert_eq!(outer_id("0 0 4294967295\n", 1000), Some(1000));
    }

    #[test]
    fn range_containing_own_uid_is_skipped() {
        let r = build(
            100005,
            &[SubRange {
                start: 100000,
                count: 10,
            }],
        );
        assert_eq!(r.len(), 1);
    }
}
