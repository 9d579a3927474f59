//! Resolving `-u user[:group]` and `--group-add` against the container's own /etc/passwd and
//! /etc/group, as podman does: names are looked up in the image, numbers are taken as they are.

use super::ContainerError;
use std::path::Path;

/// The identity the container process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// The home directory from /etc/passwd, used for `HOME` when the image does not set it.
    pub home: Option<String>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolves `user` (default root) and `group_add` in the root filesystem at `rootfs`.
pub fn resolve(
    rootfs: &Path,
    user: Option<&str>,
    group_add: &[String],
) -> Result<ResolvedUser, ContainerError> {
    let passwd = read_passwd(&read_etc(rootfs, "passwd"));
    let groups = read_group(&read_etc(rootfs, "group"));
    let spec = user.filter(|u| !u.is_empty()).unwrap_or("0");
    let (u, g) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let entry =
        match u.parse::<u32>() {
            Ok(n) => passwd.iter().find(|e| e.uid == n),
            Err(_) => Some(passwd.iter().find(|e| e.name == u).ok_or_else(|| {
                ContainerError::NoSuchUser {
                    user: u.into(),
                    file: "/etc/passwd",
                }
            })?),
        };
    let uid = u
        .parse::<u32>()
        .unwrap_or_else(|_| entry.map_or(0, |e| e.uid));
    let gid = match g {
        Some(g) => group_id(g, &groups)?,
        None => entry.map_or(0, |e| e.gid),
    };
    let mut additional_gids = Vec::new();
    // Supplementary groups from /etc/group, as login would set them, unless a group was given.
    if let (Some(e), None) = (entry, g) {
        for gr in &groups {
            if gr.members.contains(&e.name) && gr.gid != gid {
                additional_gids.push(gr.gid);
            }
        }
    }
    for g in group_add {
        if g == "keep-groups" {
            continue;
        }
        let id = group_id(g, &groups)?;
        if !additional_gids.contains(&id) {
            additional_gids.push(id);
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home: entry.map(|e| e.home.clone()),
    })
}

fn group_id(g: &str, groups: &[GroupEntry]) -> Result<u32, ContainerError> {
    if let Ok(n) = g.parse::<u32>() {
        return Ok(n);
    }
    groups
        .iter()
        .find(|e| e.name == g)
        .map(|e| e.gid)
        .ok_or_else(|| ContainerError::NoSuchUser {
            user: format!("group {g}"),
            file: "/etc/group",
        })
}

/// Reads `/etc/NAME` of the root filesystem. A symlink is not followed, since it would be
/// resolved against the host's root rather than the container's.
fn read_etc(rootfs: &Path, name: &str) -> String {
    let p = rootfs.join("etc").join(name);
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_file() => std::fs::read_to_string(&p).unwrap_or_default(),
        _ => String::new(),
    }
}

fn read_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 7 {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].into(),
                uid: f[2].parse().ok()?,
                gid: f[3].parse().ok()?,
                home: f[5].into(),
            })
        })
        .collect()
}

fn read_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 4 {
                return None;
            }
            Some(GroupEntry {
                name: f[0].into(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        std::fs::write(
            d.path().join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:1000:1000::/home/alice:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(
            d.path().join("etc/group"),
            "root:x:0:\nwheel:x:10:alice\nalice:x:1000:\nnogroup:x:65534:\n",
        )
        .unwrap();
        d
    }

    #[test]
    fn names_and_numbers() {
        let d = rootfs();
        let r = resolve(d.path(), Some("alice"), &[]).unwrap();
        assert_eq!(
            (r.uid, r.gid, r.additional_gids.clone()),
            (1000, 1000, vec![10])
        );
        assert_eq!(r.home.as_deref(), Some("/home/alice"));
        let r = resolve(d.path(), Some("nobody:wheel"), &["1234".into()]).unwrap();
        assert_eq!((r.uid, r.gid, r.additional_gids), (65534, 10, vec![1234]));
        let r = resolve(d.path(), Some("4242"), &[]).unwrap();
        assert_eq!((r.uid, r.gid, r.home), (4242, 0, None));
        assert!(resolve(d.path(), Some("bob"), &[]).is_err());
        assert!(resolve(d.path(), Some("0:nosuch"), &[]).is_err());
        assert_eq!(resolve(d.path(), None, &[]).unwrap().uid, 0);
    }
}
