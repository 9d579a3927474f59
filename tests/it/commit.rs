//! `commit`: a container's changes become an image that runs, keeps the container's settings
//! and `--change`s, and round-trips through `save` into podman.

use crate::harness::{safename, TestEnv};
use crate::run::env;

const SCRIPT: &str = "echo x > /newfile; rm /etc/passwd; mkdir -p /newdir/a; \
                      echo 1 >> /etc/rctr-fixture; rm -r /opaque";

/// Checks the committed image `img` from a container that ran SCRIPT.
fn check_image(env: &TestEnv, img: &str) {
    let out = env
        .rctr(&[
            "run",
            "--rm",
            img,
            "sh",
            "-c",
            "cat /newfile /etc/rctr-fixture; test -e /etc/passwd || echo passwd-gone; \
             test -e /opaque || echo opaque-gone; test -d /newdir/a && echo dir",
        ])
        .ok();
    assert!(out.stdout.starts_with("x\n"), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("1\npasswd-gone\nopaque-gone\ndir\n"),
        "{}",
        out.stdout
    );
}

fn commit_on(driver: &str) {
    let env = env();
    let c = safename("commit");
    env.rctr(&[
        "--storage-driver",
        driver,
        "run",
        "--name",
        &c,
        "-e",
        "FROM_CTR=yes",
        "busybox",
        "sh",
        "-c",
        SCRIPT,
    ])
    .ok();
    let img = safename("committed");
    let run = env
        .rctr(&[
            "commit",
            "-q",
            "-a",
            "A. Author",
            "-m",
            "my message",
            "-c",
            r#"CMD ["cat", "/newfile"]"#,
            "-c",
            "ENV EXTRA=\"two words\"",
            "-c",
            "LABEL team=rctr",
            "-c",
            "EXPOSE 8080/udp",
            "-c",
            "WORKDIR /newdir",
            &c,
            &img,
        ])
        .ok();
    let id = run.out().to_string();
    assert_eq!(id.len(), 64, "{}", run.stdout);
    assert_eq!(run.stderr, "");
    check_image(&env, &img);
    assert_eq!(env.rctr(&["run", "--rm", &img]).ok().out(), "x");
    let out = env
        .rctr(&[
            "run",
            "--rm",
            &img,
            "sh",
            "-c",
            "echo $FROM_CTR $EXTRA; pwd",
        ])
        .ok();
    assert_eq!(out.out(), "yes two words\n/newdir");
    let ins = env.rctr(&["image", "inspect", &img]).ok();
    let v: serde_json::Value = serde_json::from_str(&ins.stdout).unwrap();
    assert_eq!(v[0]["Id"], id.as_str());
    assert_eq!(v[0]["Author"], "A. Author");
    assert_eq!(v[0]["Config"]["Labels"]["team"], "rctr");
    assert!(
        v[0]["Config"]["ExposedPorts"]["8080/udp"].is_object(),
        "{}",
        ins.stdout
    );
    assert_eq!(
        v[0]["RootFS"]["Layers"].as_array().unwrap().len(),
        3,
        "{}",
        ins.stdout
    );
    env.rctr(&["history", &img]).ok().stdout_has("my message");
    // The image is named under localhost/, as podman names it.
    env.rctr(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .stdout_has(&format!("localhost/{img}:latest"));
}

#[test]
fn commit_from_overlay_runs() {
    commit_on("overlay");
}

#[test]
fn commit_from_vfs_runs() {
    commit_on("vfs");
}

#[test]
fn commit_from_fuse_overlayfs_runs() {
    commit_on("fuse-overlayfs");
}

#[test]
fn commit_of_a_running_container_warns_about_pause_and_round_trips_into_podman() {
    let env = TestEnv::new();
    let c = safename("commitrun");
    env.run_detached(
        &c,
        &["busybox", "sh", "-c", &format!("{SCRIPT}; sleep 600")],
    );
    // SCRIPT's last step removes /opaque: once it is gone, every change is made.
    env.exec_until(&c, &["test", "!", "-e", "/opaque"]);
    let img = safename("runcommit");
    let iid = env.path().join("iid");
    let run = env
        .rctr(&[
            "container",
            "commit",
            "--pause",
            "--iidfile",
            iid.to_str().unwrap(),
            &c,
            &img,
        ])
        .ok()
        .stderr_has("Writing manifest to image destination");
    // Frozen while committed where the container has a cgroup of its own; else committed
    // while it runs, with a warning that says why.
    assert_eq!(
        run.stderr.contains("cannot pause container"),
        crate::cgroup::delegated().is_none(),
        "{}",
        run.stderr
    );
    assert!(crate::detach::status(&env, &c).starts_with("Up "));
    let id = run.out().to_string();
    assert_eq!(
        std::fs::read_to_string(&iid).unwrap(),
        format!("sha256:{id}")
    );
    check_image(&env, &img);
    // --squash makes one layer of everything.
    let sq = safename("squashed");
    env.rctr(&["commit", "-q", "--squash", &c, &sq]).ok();
    check_image(&env, &sq);
    let ins = env.rctr(&["image", "inspect", &sq]).ok();
    let v: serde_json::Value = serde_json::from_str(&ins.stdout).unwrap();
    assert_eq!(
        v[0]["RootFS"]["Layers"].as_array().unwrap().len(),
        1,
        "{}",
        ins.stdout
    );
    // Unnamed commits are allowed, and a bad --change is refused before anything is made.
    env.rctr(&["commit", "-q", &c]).ok();
    env.rctr(&["commit", "-c", "FROM scratch", &c])
        .code(125)
        .stderr_has("unknown instruction");
    env.rctr(&["rm", "-f", &c]).ok();

    let file = env.path().join("committed.tar");
    env.rctr(&["save", "-q", "-o", file.to_str().unwrap(), &img])
        .ok();
    env.podman(&["load", "-i", file.to_str().unwrap()]).ok();
    let out = env
        .podman(&[
            "run",
            "--rm",
            &format!("localhost/{img}"),
            "cat",
            "/newfile",
            "/etc/rctr-fixture",
        ])
        .ok();
    assert!(
        out.stdout.starts_with("x\n") && out.stdout.ends_with("1\n"),
        "{}",
        out.stdout
    );
    env.podman(&[
        "run",
        "--rm",
        &format!("localhost/{img}"),
        "ls",
        "/etc/passwd",
    ])
    .code(1);
}
