//! Resource limits (`--memory`, `--cpus`, `--pids-limit`) need cgroup v2 controllers the user
//! may write to: they are written into the container's own cgroup (see `cgroup`) when its
//! delegated parent grants the memory, cpu and pids controllers (systemd user delegation). On
//! cgroup v1, or without delegated controllers, podman warns and runs without them, and so does
//! rctr.

use super::cgroup::{self, Cgroup, CgroupError};
use super::options::CreateOptions;

/// The cgroup v2 period `--cpus` is expressed in, as podman's (100 ms).
const CPU_PERIOD: u64 = 100_000;

/// One limit: the controller it needs, the cgroup file and the value written to it.
#[derive(Debug, PartialEq, Eq)]
pub struct Limit {
    pub controller: &'static str,
    pub file: &'static str,
    pub value: String,
}

/// The cgroup v2 files and values the options ask for. `--memory` also caps swap at as much
/// again (podman's default `--memory-swap` of twice the memory).
pub fn limits(opts: &CreateOptions) -> Vec<Limit> {
    let mut out = Vec::new();
    let mut add = |controller, file, value: String| {
        out.push(Limit {
            controller,
            file,
            value,
        })
    };
    if let Some(m) = opts.memory {
        add("memory", "memory.max", m.to_string());
        add("memory", "memory.swap.max", m.to_string());
    }
    if let Some(c) = opts.cpus {
        add("cpu", "cpu.max", cpu_max(c));
    }
    if let Some(p) = opts.pids_limit {
        add(
            "pids",
            "pids.max",
            if p <= 0 { "max".into() } else { p.to_string() },
        );
    }
    out
}

/// `cpu.max` for `--cpus N`: quota and period in microseconds (1.5 → "150000 100000").
fn cpu_max(cpus: f64) -> String {
    let quota = (cpus * CPU_PERIOD as f64).round() as u64;
    if quota == 0 {
        return format!("max {CPU_PERIOD}");
    }
    format!("{quota} {CPU_PERIOD}")
}

/// Writes the options' limits into the container's cgroup. Returns whether every one was
/// applied; a missing controller leaves its limit out (the warning came at creation). A
/// missing `memory.swap.max` (no swap accounting) is no failure.
pub fn apply(cg: &Cgroup, opts: &CreateOptions) -> Result<bool, CgroupError> {
    let wanted = limits(opts);
    if wanted.is_empty() {
        return Ok(true);
    }
    let have = cg.controllers();
    let mut all = true;
    for l in wanted {
        if !have.iter().any(|c| c == l.controller) {
            all = false;
            continue;
        }
        if l.file == "memory.swap.max" && !cg.path.join(l.file).exists() {
            continue;
        }
        cg.write(l.file, &l.value)?;
    }
    Ok(all)
}

/// Drops from `opts` the limits that cannot be enforced here and says why, or returns `None`
/// when none were asked for or all can be. As podman, a limit that is not enforced is not
/// recorded either, so that `inspect` does not claim it.
pub fn drop_unenforceable(opts: &mut CreateOptions) -> Option<String> {
    let wanted = limits(opts);
    if wanted.is_empty() {
        return None;
    }
    let (have, why) = match cgroup::locate() {
        None => (
            Vec::new(),
            if cgroup::cgroup2_mount().as_deref() != Some("/sys/fs/cgroup".as_ref()) {
                "Resource limits are not supported and ignored on cgroups V1 rootless systems"
                    .to_string()
            } else {
                "Resource limits are ignored: no cgroup v2 subtree is delegated to this user (enable systemd user delegation)".into()
            },
        ),
        Some(group) => {
            // Before the first container the group does not exist yet: what its parent
            // grants is what it will have.
            let have = if group.exists() {
                cgroup::delegated_controllers(&group)
            } else {
                cgroup::available_controllers(&group)
            };
            let why = format!(
                "Resource limits are ignored: the controllers they need are not delegated to cgroup `{}`",
                group.display()
            );
            (have, why)
        }
    };
    let missing = |c: &str| !have.iter().any(|h| h == c);
    if !wanted.iter().any(|l| missing(l.controller)) {
        return None;
    }
    if missing("memory") {
        opts.memory = None;
    }
    if missing("cpu") {
        opts.cpus = None;
    }
    if missing("pids") {
        opts.pids_limit = None;
    }
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_written_in_cgroup_v2_syntax() {
        let opts = CreateOptions {
            memory: Some(64 << 20),
            cpus: Some(1.5),
            pids_limit: Some(100),
            ..Default::default()
        };
        let got: Vec<(&str, String)> = limits(&opts)
            .into_iter()
            .map(|l| (l.file, l.value))
            .collect();
        assert_eq!(
            got,
            [
                ("memory.max", "67108864".to_string()),
                ("memory.swap.max", "67108864".to_string()),
                ("cpu.max", "150000 100000".to_string()),
                ("pids.max", "100".to_string()),
            ]
        );
        assert_eq!(cpu_max(0.5), "50000 100000");
        assert_eq!(cpu_max(0.0), "max 100000");
        let unlimited = CreateOptions {
            pids_limit: Some(-1),
            ..Default::default()
        };
        assert_eq!(limits(&unlimited)[0].value, "max");
        assert!(drop_unenforceable(&mut CreateOptions::default()).is_none());
    }
}
