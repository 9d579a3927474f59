//! `diff`: a container's changes on each storage driver, and an image's top layer.

use crate::harness::safename;
use crate::run::env;

const SCRIPT: &str = "echo x > /newfile; rm /etc/passwd; mkdir -p /newdir/a; \
                      echo 1 >> /etc/rctr-fixture; rm -r /opaque";

const EXPECTED: &str = "C /etc\nD /etc/passwd\nC /etc/rctr-fixture\nA /newdir\nA /newdir/a\n\
                        A /newfile\nD /opaque";

fn diff_on(driver: &str) {
    let env = env();
    let c = safename("diff");
    env.rctr(&[
        "--storage-driver",
        driver,
        "run",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        SCRIPT,
    ])
    .ok();
    let out = env.rctr(&["diff", &c]).ok();
    assert_eq!(out.out(), EXPECTED, "driver {driver}");
    let json = env
        .rctr(&["container", "diff", "--format", "json", &c])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(
        v["changed"],
        serde_json::json!(["/etc", "/etc/rctr-fixture"])
    );
    assert_eq!(
        v["added"],
        serde_json::json!(["/newdir", "/newdir/a", "/newfile"])
    );
    assert_eq!(v["deleted"], serde_json::json!(["/etc/passwd", "/opaque"]));
    // Key order as podman prints it.
    let (ch, ad, de) = (
        json.stdout.find("changed").unwrap(),
        json.stdout.find("added").unwrap(),
        json.stdout.find("deleted").unwrap(),
    );
    assert!(ch < ad && ad < de, "{}", json.stdout);
}

#[test]
fn diff_lists_overlay_changes() {
    diff_on("overlay");
}

/// The same changes give byte-identical output from podman 4.3 and rctr, text and JSON.
#[test]
fn diff_output_matches_podman() {
    let env = env();
    let c = safename("diffpod");
    env.rctr(&["run", "--name", &c, "busybox", "sh", "-c", SCRIPT])
        .ok();
    env.podman(&["run", "--name", &c, "busybox", "sh", "-c", SCRIPT])
        .ok();
    for args in [
        vec!["diff", c.as_str()],
        vec!["diff", "--format", "json", c.as_str()],
    ] {
        let ours = env.rctr(&args).ok();
        let theirs = env.podman(&args).ok();
        assert_eq!(ours.stdout, theirs.stdout, "{args:?}");
    }
    env.podman(&["rm", &c]).ok();
}

#[test]
fn diff_lists_vfs_changes() {
    diff_on("vfs");
}

#[test]
fn diff_lists_fuse_overlayfs_changes() {
    diff_on("fuse-overlayfs");
}

#[test]
fn diff_of_an_image_is_its_top_layer_and_errors_name_the_target() {
    let env = env();
    env.rctr(&["pull", "-q", "busybox"]).ok();
    // The fixture's upper layer deletes /etc/deleted-me and replaces /opaque.
    env.rctr(&["diff", "busybox"])
        .ok()
        .stdout_has("D /etc/deleted-me\n");
    env.rctr(&["diff", "nosuch"])
        .code(125)
        .stderr_has("`nosuch` is neither a container nor an image");
    env.rctr(&["diff", "--format", "table", "busybox"])
        .code(125)
        .stderr_has("only valid format");
}
