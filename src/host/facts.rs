//! Reads host facts for `rctr info` and `rctr doctor`. Nothing here changes the host.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Which cgroup hierarchy the host uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum CgroupVersion {
    /// Unified cgroup v2 only.
    V2,
    /// cgroup v1 controllers, possibly with a v2 hierarchy beside them (hybrid).
    V1,
}

impl CgroupVersion {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupVersion::V2 => "v2",
            CgroupVersion::V1 => "v1",
        }
    }
}

/// The cgroup version, from the filesystem type mounted at /sys/fs/cgroup.
pub fn cgroup_version() -> CgroupVersion {
    match nix::sys::statfs::statfs("/sys/fs/cgroup") {
        Ok(s) if s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC => CgroupVersion::V2,
        _ => CgroupVersion::V1,
    }
}

/// The controllers delegated to the user's systemd service cgroup (empty when none or on v1).
pub fn delegated_controllers(uid: u32) -> Vec<String> {
    let p =
        format!("/sys/fs/cgroup/user.slice/user-{uid}.slice/user@{uid}.service/cgroup.controllers");
    std::fs::read_to_string(p)
        .map(|s| s.split_whitespace().map(String::from).collect())
        .unwrap_or_default()
}

/// The running kernel's release, e.g. `6.18.0-1-amd64`.
pub fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The host's OS name from /etc/os-release (`PRETTY_NAME`).
pub fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("PRETTY_NAME=")
                    .map(|v| v.trim_matches('"').to_string())
            })
        })
        .unwrap_or_else(|| "linux".into())
}

/// Parses a kernel release into (major, minor).
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

/// Finds an executable on `path` (a PATH-style list).
pub fn find_in_path(name: &str, path: &str) -> Option<PathBuf> {
    path.split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| {
            std::fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// How a helper like newuidmap is privileged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum HelperPrivilege {
    /// Owned by root with the setuid bit.
    Setuid,
    /// Carries file capabilities (security.capability xattr).
    FileCaps,
    /// Neither: it cannot map other ids.
    None,
}

/// Whether `path` is setuid root or has file capabilities.
pub fn helper_privilege(path: &Path) -> HelperPrivilege {
    use std::os::unix::fs::MetadataExt;
    if let Ok(m) = std::fs::metadata(path) {
        if m.uid() == 0 && m.mode() & 0o4000 != 0 {
            return HelperPrivilege::Setuid;
        }
    }
    let mut buf = [0u8; 64];
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap_or_default();
    // SAFETY: valid NUL-terminated strings and a buffer of the stated length.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"security.capability".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n > 0 {
        HelperPrivilege::FileCaps
    } else {
        HelperPrivilege::None
    }
}

/// The first line a tool prints for `--version`, or None when it cannot run.
pub fn tool_version(path: &Path) -> Option<String> {
    let out = std::process::Command::new(path)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = if out.stdout.is_empty() {
        out.stderr
    } else {
        out.stdout
    };
    String::from_utf8_lossy(&text)
        .lines()
        .next()
        .map(|l| l.trim().to_string())
}

/// Reads a sysctl under /proc/sys (e.g. `kernel/unprivileged_userns_clone`).
pub fn sysctl(name: &str) -> Option<String> {
    std::fs::read_to_string(Path::new("/proc/sys").join(name))
        .ok()
        .map(|s| s.trim().to_string())
}

/// Whether the process could open `path` for reading and writing (as slirp4netns opens /dev/net/tun).
pub fn can_open_rw(path: &Path) -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .is_ok()
}

/// Free bytes available to unprivileged users on the filesystem holding `path` (or its nearest
/// existing parent).
pub fn free_bytes(path: &Path) -> Option<u64> {
    let mut p = path;
    loop {
        if p.exists() {
            let s = nix::sys::statvfs::statvfs(p).ok()?;
            return Some(s.blocks_available() as u64 * s.fragment_size() as u64);
        }
        p = p.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_versions() {
        assert_eq!(kernel_version("6.18.0-1-amd64"), Some((6, 18)));
        assert_eq!(kernel_version("5.10"), Some((5, 10)));
        assert_eq!(kernel_version("x"), None);
    }

    #[test]
    fn path_lookup_needs_exec_bit() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("tool");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        let p = d.path().to_str().unwrap();
        assert_eq!(find_in_path("tool", p), None);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_in_path("tool", &format!("/nonexistent:{p}")), Some(f));
    }
}
