//! Capabilities: podman's default set, parsing of `--cap-add`/`--cap-drop` style names, and
//! applying the spec's five sets in the child with the fewest syscalls (one capset for three sets).

use super::error::ChildError;
use oci_spec::runtime::{Capabilities, LinuxCapabilities};
use std::str::FromStr;

pub use super::defaults::DEFAULT_CAPS;

/// An unknown capability name.
#[derive(Debug, thiserror::Error)]
#[error("unknown capability `{0}`")]
pub struct UnknownCap(pub String);

/// Normalises a capability name as users type it (`net_admin`, `NET_ADMIN`, `CAP_NET_ADMIN`) to
/// the `CAP_NET_ADMIN` form; `ALL` stays `ALL`.
pub fn normalize(name: &str) -> Result<String, UnknownCap> {
    let up = name.trim().to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let full = if up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    };
    caps::Capability::from_str(&full).map_err(|_| UnknownCap(name.to_string()))?;
    Ok(full)
}

/// The set that results from `base` with `add` and `drop` applied, as podman computes it: `ALL`
/// in `drop` empties the set first, `ALL` in `add` adds every capability the crate knows.
pub fn resolve(base: &[&str], add: &[String], drop: &[String]) -> Result<Vec<String>, UnknownCap> {
    let add: Vec<String> = add.iter().map(|n| normalize(n)).collect::<Result<_, _>>()?;
    let drop: Vec<String> = drop
        .iter()
        .map(|n| normalize(n))
        .collect::<Result<_, _>>()?;
    let mut set: Vec<String> = if drop.iter().any(|d| d == "ALL") {
        Vec::new()
    } else {
        base.iter()
            .map(|s| s.to_string())
            .filter(|c| !drop.contains(c))
            .collect()
    };
    for a in add {
        if a == "ALL" {
            let mut all: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
            all.sort();
            for c in all {
                if !set.contains(&c) && !drop.contains(&c) {
                    set.push(c);
                }
            }
        } else if !set.contains(&a) {
            set.push(a);
        }
    }
    Ok(set)
}

/// The bit mask of an OCI capability set.
fn mask(set: &Option<Capabilities>) -> u64 {
    set.iter()
        .flatten()
        .filter_map(|c| caps::Capability::from_str(&format!("CAP_{c}")).ok())
        .fold(0u64, |m, c| m | c.bitmask())
}

/// Masks of the five sets, computed in the parent so the child does no parsing.
#[derive(Debug, Clone, Copy, Default)]
pub struct CapMasks {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

impl CapMasks {
    /// The masks for the spec's capabilities; no capabilities at all when the spec has none.
    pub fn from_spec(c: Option<&LinuxCapabilities>) -> CapMasks {
        match c {
            None => CapMasks::default(),
            Some(c) => CapMasks {
                bounding: mask(c.bounding()),
                effective: mask(c.effective()),
                permitted: mask(c.permitted()),
                inheritable: mask(c.inheritable()),
                ambient: mask(c.ambient()),
            },
        }
    }
}

fn os_err(what: &str) -> ChildError {
    ChildError::os(
        "capabilities",
        "",
        format!("cannot set the {what} capabilities"),
        std::io::Error::last_os_error(),
    )
}

/// Drops what the bounding set must not hold. Needs CAP_SETPCAP, so it runs before the user
/// switch; capabilities beyond what this kernel knows fail with EINVAL and end the loop.
pub fn apply_bounding(m: &CapMasks) -> Result<(), ChildError> {
    for i in 0..64u64 {
        if m.bounding & (1 << i) != 0 {
            continue;
        }
        // SAFETY: prctl with integer arguments.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, i, 0, 0, 0) } < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
                break;
            }
            return Err(os_err("bounding"));
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Sets effective, permitted and inheritable in one capset, then the ambient set.
pub fn apply_sets(m: &CapMasks) -> Result<(), ChildError> {
    let hdr = CapHeader {
        version: 0x20080522,
        pid: 0,
    };
    let lo = |v: u64| v as u32;
    let hi = |v: u64| (v >> 32) as u32;
    let data = [
        CapData {
            effective: lo(m.effective),
            permitted: lo(m.permitted),
            inheritable: lo(m.inheritable),
        },
        CapData {
            effective: hi(m.effective),
            permitted: hi(m.permitted),
            inheritable: hi(m.inheritable),
        },
    ];
    // SAFETY: version 3 capset takes a header and two data structs.
    if unsafe { libc::syscall(libc::SYS_capset, &hdr as *const CapHeader, data.as_ptr()) } < 0 {
        return Err(os_err("process"));
    }
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL,
            0,
            0,
            0,
        )
    };
    for i in 0..64u64 {
        if m.ambient & (1 << i) != 0 {
            // SAFETY: as above. A capability missing from permitted or inheritable cannot be
            // ambient; the kernel refuses it and so do we.
            if unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_RAISE, i, 0, 0) } < 0
            {
                return Err(os_err("ambient"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        assert_eq!(normalize("net_admin").unwrap(), "CAP_NET_ADMIN");
        assert_eq!(normalize("CAP_SYS_ADMIN").unwrap(), "CAP_SYS_ADMIN");
        assert_eq!(normalize("all").unwrap(), "ALL");
        assert!(normalize("FLY").is_err());
    }

    #[test]
    fn add_and_drop() {
        let s = resolve(
            DEFAULT_CAPS,
            &["net_raw".into()],
            &["chown".into(), "CAP_KILL".into()],
        )
        .unwrap();
        assert!(s.contains(&"CAP_NET_RAW".to_string()));
        assert!(!s.contains(&"CAP_CHOWN".to_string()));
        assert!(!s.contains(&"CAP_KILL".to_string()));
        assert_eq!(s.len(), DEFAULT_CAPS.len() - 1);
        let none = resolve(DEFAULT_CAPS, &["SETUID".into()], &["all".into()]).unwrap();
        assert_eq!(none, vec!["CAP_SETUID".to_string()]);
    }

    #[test]
    fn masks_from_spec() {
        use oci_spec::runtime::Capability;
        let set: Capabilities = [Capability::Chown, Capability::Kill].into_iter().collect();
        let c = oci_spec::runtime::LinuxCapabilitiesBuilder::default()
            .bounding(set)
            .effective(Capabilities::new())
            .build()
            .unwrap();
        let m = CapMasks::from_spec(Some(&c));
        assert_eq!(m.bounding, (1 << 0) | (1 << 5)); // CAP_CHOWN, CAP_KILL
        assert_eq!(m.effective, 0);
    }
}
