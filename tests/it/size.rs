//! `ps --size` and `inspect --size`: what a container wrote, and its whole root filesystem.

use crate::harness::safename;
use crate::run::env;

#[test]
fn ps_and_inspect_report_container_sizes() {
    let env = env();
    let c = safename("size");
    env.rctr(&[
        "run",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "dd if=/dev/zero of=/big bs=1000 count=150 2>/dev/null",
    ])
    .ok();
    let ins = env.rctr(&["inspect", "--size", &c]).ok();
    let v: serde_json::Value = serde_json::from_str(&ins.stdout).unwrap();
    let rw = v[0]["SizeRw"].as_u64().unwrap();
    let root = v[0]["SizeRootFs"].as_u64().unwrap();
    assert!((150_000..151_000).contains(&rw), "{rw}");
    let img = env.rctr(&["image", "inspect", "busybox"]).ok();
    let iv: serde_json::Value = serde_json::from_str(&img.stdout).unwrap();
    assert_eq!(root, iv[0]["Size"].as_u64().unwrap() + rw);
    // Without --size, podman leaves the fields out.
    let plain = env.rctr(&["inspect", &c]).ok();
    assert!(!plain.stdout.contains("SizeRw"));

    let ps = env.rctr(&["ps", "-a", "--size"]).ok();
    let mut lines = ps.stdout.lines();
    assert!(lines.next().unwrap().ends_with("SIZE"), "{}", ps.stdout);
    let row = lines.next().unwrap();
    let want = format!("150kB (virtual {})", compact(root));
    assert!(row.ends_with(&want), "{row:?} does not end with {want:?}");
    let json = env.rctr(&["ps", "-a", "-s", "--format", "json"]).ok();
    let j: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(j[0]["Size"]["rwSize"].as_u64(), Some(rw));
    assert_eq!(j[0]["Size"]["rootFsSize"].as_u64(), Some(root));
    env.rctr(&["ps", "-a", "-s", "--format", "{{.Names}} {{.Size}}"])
        .ok()
        .stdout_has(&format!("{c} 150kB (virtual"));
}

/// Go's units.HumanSizeWithPrecision(n, 3) for MB-sized values.
fn compact(n: u64) -> String {
    let v = n as f64 / 1e6;
    let s = format!("{v:.2}");
    format!("{}MB", s.trim_end_matches('0').trim_end_matches('.'))
}
