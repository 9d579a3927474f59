//! Parsing of OCI mount options (`ro`, `nosuid`, `rbind`, `rslave`, `size=64m`, ...) into what the
//! kernel wants: flags for mount(2), attributes for mount_setattr(2) (used on bind mounts, where
//! flags locked by a user namespace must not be cleared by a remount), a propagation change, and
//! the filesystem-specific data string.

use nix::mount::MsFlags;

/// `MOUNT_ATTR_*` values from linux/mount.h.
pub const ATTR_RDONLY: u64 = 0x1;
pub const ATTR_NOSUID: u64 = 0x2;
pub const ATTR_NODEV: u64 = 0x4;
pub const ATTR_NOEXEC: u64 = 0x8;
pub const ATTR_NOATIME: u64 = 0x10;
pub const ATTR_STRICTATIME: u64 = 0x20;
pub const ATTR_NODIRATIME: u64 = 0x80;

/// Parsed options of one mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOpts {
    /// Flags for a new (non-bind) mount.
    pub flags: MsFlags,
    /// Attributes to set on a bind mount after it is made.
    pub attr_set: u64,
    /// Attributes to clear on a bind mount (`rw`, `suid`, ...).
    pub attr_clr: u64,
    /// A bind mount (`bind` or `rbind`).
    pub bind: bool,
    /// A recursive bind mount (`rbind`), whose attributes also apply recursively.
    pub recursive: bool,
    /// A propagation change to apply after mounting (MS_SHARED, MS_SLAVE... with MS_REC).
    pub propagation: Option<MsFlags>,
    /// Filesystem-specific options, comma-joined for the data argument.
    pub data: String,
}

/// Options podman passes that concern only podman itself (SELinux relabelling, copy-up, volume
/// ownership) and must not reach the kernel.
const IGNORED: &[&str] = &[
    "z",
    "Z",
    "tmpcopyup",
    "notmpcopyup",
    "copy",
    "nocopy",
    "U",
    "idmap",
];

/// Parses a list of mount options.
pub fn parse(options: &[String]) -> MountOpts {
    let mut o = MountOpts {
        flags: MsFlags::empty(),
        attr_set: 0,
        attr_clr: 0,
        bind: false,
        recursive: false,
        propagation: None,
        data: String::new(),
    };
    let mut data: Vec<&str> = Vec::new();
    for opt in options {
        let opt = opt.as_str();
        let (flag, set, clr): (MsFlags, u64, u64) = match opt {
            "ro" => (MsFlags::MS_RDONLY, ATTR_RDONLY, 0),
            "rw" => (MsFlags::empty(), 0, ATTR_RDONLY),
            "nosuid" => (MsFlags::MS_NOSUID, ATTR_NOSUID, 0),
            "suid" => (MsFlags::empty(), 0, ATTR_NOSUID),
            "nodev" => (MsFlags::MS_NODEV, ATTR_NODEV, 0),
            "dev" => (MsFlags::empty(), 0, ATTR_NODEV),
            "noexec" => (MsFlags::MS_NOEXEC, ATTR_NOEXEC, 0),
            "exec" => (MsFlags::empty(), 0, ATTR_NOEXEC),
            "noatime" => (MsFlags::MS_NOATIME, ATTR_NOATIME, 0),
            "strictatime" => (MsFlags::MS_STRICTATIME, ATTR_STRICTATIME, 0),
            "nodiratime" => (MsFlags::MS_NODIRATIME, ATTR_NODIRATIME, 0),
            "relatime" | "atime" | "diratime" | "defaults" | "async" => (MsFlags::empty(), 0, 0),
            "sync" => (MsFlags::MS_SYNCHRONOUS, 0, 0),
            "dirsync" => (MsFlags::MS_DIRSYNC, 0, 0),
            "mand" => (MsFlags::MS_MANDLOCK, 0, 0),
            "bind" => {
                o.bind = true;
                continue;
            }
            "rbind" => {
                o.bind = true;
                o.recursive = true;
                continue;
            }
            p if propagation(p).is_some() => {
                o.propagation = propagation(p);
                continue;
            }
            i if IGNORED.contains(&i) => continue,
            other => {
                data.push(other);
                continue;
            }
        };
        o.flags |= flag;
        o.attr_set |= set;
        o.attr_set &= !clr;
        o.attr_clr |= clr;
        if opt == "rw" {
            o.flags.remove(MsFlags::MS_RDONLY);
        }
    }
    o.data = data.join(",");
    o
}

/// The propagation flags for a propagation option name.
pub fn propagation(name: &str) -> Option<MsFlags> {
    Some(match name {
        "private" => MsFlags::MS_PRIVATE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(list: &[&str]) -> MountOpts {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_and_data() {
        let o = p(&["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]);
        assert_eq!(
            o.flags,
            MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC | MsFlags::MS_NODEV
        );
        assert_eq!(o.data, "mode=1777,size=65536k");
        assert!(!o.bind);
    }

    #[test]
    fn bind_attrs_and_propagation() {
        let o = p(&["rbind", "ro", "rslave", "z"]);
        assert!(o.bind && o.recursive);
        assert_eq!(o.attr_set, ATTR_RDONLY);
        assert_eq!(o.propagation, Some(MsFlags::MS_SLAVE | MsFlags::MS_REC));
        assert_eq!(o.data, "");
    }

    #[test]
    fn later_rw_wins() {
        let o = p(&["bind", "ro", "rw"]);
        assert_eq!(o.attr_set, 0);
        assert_eq!(o.attr_clr, ATTR_RDONLY);
        assert!(!o.flags.contains(MsFlags::MS_RDONLY));
    }
}
