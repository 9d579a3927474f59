//! Hostile images: every tampered or malicious fixture fails with exit 125 and a message naming
//! the image or blob, writes nothing outside the store and leaves nothing counted as present.

use crate::harness::{tb, TestEnv};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Files under `dir` (recursively) whose name contains `needle`.
fn find_named(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().contains(needle) {
            out.push(p.clone());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(find_named(&p, needle));
        }
    }
    out
}

/// Whether `p` was written after `t` (an escape would create or rewrite it).
fn written_since(p: &Path, t: SystemTime) -> bool {
    p.symlink_metadata()
        .is_ok_and(|m| m.modified().is_ok_and(|m| m >= t))
}

fn assert_refused(image: &str, needles: &[&str], outside: &[&str]) {
    assert_refused_in(TestEnv::new(), image, needles, outside)
}

fn assert_refused_in(env: TestEnv, image: &str, needles: &[&str], outside: &[&str]) {
    let start = SystemTime::now() - std::time::Duration::from_secs(1);
    let r = env.rctr(&["pull", image]).code(125);
    assert!(
        needles.iter().any(|n| r.stderr.contains(n)),
        "`{image}`: stderr names neither of {needles:?}:\n{}",
        r.stderr
    );
    assert_eq!(
        env.rctr(&["images", "-q"]).ok().out(),
        "",
        "{image} counted as present"
    );
    let layers: Vec<_> = std::fs::read_dir(env.store().join("layers"))
        .map(|rd| rd.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(layers.is_empty(), "{image}: layers left behind: {layers:?}");
    for o in outside {
        assert!(
            !written_since(Path::new(o), start),
            "{image} wrote `{o}` outside the store"
        );
    }
    assert!(
        find_named(env.path(), "rctr-hostile").is_empty(),
        "{image}: escaped files under the test dir"
    );
    assert!(
        find_named(&env.store(), ".tmp-").is_empty(),
        "{image}: temp data left visible"
    );
}

#[test]
fn dotdot_paths_are_refused() {
    let img = tb("RCTR_TEST_IMG_DOTDOT");
    assert_refused(&img, &["hostile-dotdot"], &["/tmp/rctr-hostile-dotdot"]);
}

#[test]
fn absolute_paths_are_refused() {
    let img = tb("RCTR_TEST_IMG_ABSPATH");
    assert_refused(&img, &["hostile-abspath"], &["/tmp/rctr-hostile-abspath"]);
}

#[test]
fn writes_through_symlinks_are_refused() {
    let img = tb("RCTR_TEST_IMG_SYMLINK_ESCAPE");
    assert_refused(&img, &["hostile-symlink"], &["/tmp/rctr-hostile-symlink"]);
}

#[test]
fn hardlinks_outside_the_layer_are_refused() {
    let img = tb("RCTR_TEST_IMG_HARDLINK_ESCAPE");
    assert_refused(&img, &["hostile-hardlink"], &[]);
}

#[test]
fn device_nodes_are_refused() {
    let img = tb("RCTR_TEST_IMG_DEVNODE");
    assert_refused(&img, &["hostile-devnode"], &[]);
}

fn hostile(key: &str) -> String {
    format!("{}/{}", tb("RCTR_TEST_HOSTILE_REGISTRY"), tb(key))
}

#[test]
fn digest_mismatch_is_refused() {
    assert_refused(
        &hostile("RCTR_TEST_HOSTILE_IMG_BADDIGEST"),
        &["baddigest"],
        &[],
    );
}

#[test]
fn truncated_blob_is_refused() {
    assert_refused(
        &hostile("RCTR_TEST_HOSTILE_IMG_TRUNCATED"),
        &["truncated"],
        &[],
    );
}

#[test]
fn malformed_manifest_is_refused() {
    assert_refused(
        &hostile("RCTR_TEST_HOSTILE_IMG_BADMANIFEST"),
        &["badmanifest"],
        &[],
    );
    let img = tb("RCTR_TEST_BADJSON_IMAGE");
    let env = TestEnv::new();
    let reg = img.split('/').next().unwrap().to_string();
    env.write_config(&format!(
        "[registries]\nsearch = []\ninsecure = [\"{reg}\"]\n"
    ));
    assert_refused_in(env, &img, &["badjson"], &[]);
}

#[test]
fn manifest_digest_path_mismatch_is_refused() {
    assert_refused(
        &hostile("RCTR_TEST_HOSTILE_IMG_DIGESTPATH"),
        &["digestpath"],
        &[],
    );
}

#[test]
fn unsupported_media_type_is_refused() {
    assert_refused(
        &hostile("RCTR_TEST_HOSTILE_IMG_BADMEDIA"),
        &["badmedia"],
        &[],
    );
}

#[test]
fn the_hostile_registry_still_serves_good_images() {
    let env = TestEnv::new();
    env.rctr(&["pull", "-q", &hostile("RCTR_TEST_HOSTILE_IMG_GOOD")])
        .ok();
}

#[test]
fn http_errors_are_reported_with_the_registry() {
    for key in ["RCTR_TEST_ERR500_REGISTRY", "RCTR_TEST_ERR404_REGISTRY"] {
        let reg = tb(key);
        let env = TestEnv::new();
        env.write_config(&format!(
            "[registries]\nsearch = []\ninsecure = [\"{reg}\"]\n"
        ));
        let code = if key.contains("500") { "500" } else { "404" };
        env.rctr(&["pull", &format!("{reg}/x")])
            .code(125)
            .stderr_has(&reg)
            .stderr_has(code);
        assert_eq!(env.rctr(&["images", "-q"]).ok().out(), "");
    }
}
