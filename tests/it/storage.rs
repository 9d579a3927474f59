//! Each storage driver runs the same busybox image and presents its layers correctly:
//! whiteouts delete, opaque directories hide what lies below, and writes stay in the container.

use crate::run::env;

fn check_driver(driver: &str) {
    let env = env();
    let script = "test ! -e /etc/deleted-me && echo whiteout-ok; ls /opaque; cat /etc/rctr-fixture; echo w > /etc/deleted-me";
    let r = env
        .rctr(&[
            "--storage-driver",
            driver,
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            script,
        ])
        .ok();
    assert_eq!(
        r.stdout, "whiteout-ok\nnew\nbusybox fixture, layer 2\n",
        "driver {driver}"
    );
    // The write above went to that container's layer only.
    let r = env
        .rctr(&[
            "--storage-driver",
            driver,
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "test ! -e /etc/deleted-me && echo still-gone",
        ])
        .ok();
    assert_eq!(r.out(), "still-gone");
    // The driver is recorded, so start uses the same one even without the flag.
    let c = crate::harness::safename("drv");
    env.rctr(&[
        "--storage-driver",
        driver,
        "create",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "ls /opaque",
    ])
    .ok();
    assert_eq!(env.rctr(&["start", "-a", &c]).ok().out(), "new");
    env.rctr(&["rm", &c]).ok();
}

#[test]
fn overlay_driver() {
    check_driver("overlay");
}

#[test]
fn fuse_overlayfs_driver() {
    check_driver("fuse-overlayfs");
}

#[test]
fn vfs_driver() {
    check_driver("vfs");
}

#[test]
fn unknown_driver_is_refused() {
    let env = env();
    env.rctr(&["--storage-driver", "zfs", "run", "--rm", "busybox", "true"])
        .code(125)
        .stderr_has("zfs");
}
