//! Named volumes, bind mounts and tmpfs mounts.

use crate::harness::safename;
use crate::run::env;
use std::os::unix::fs::MetadataExt;

#[test]
fn volume_commands_match_podman() {
    let env = env();
    let v = safename("vol");
    env.rctr(&["volume", "create", "--label", "team=rctr", &v])
        .ok()
        .stdout_has(&v);
    env.rctr(&["volume", "create", &v])
        .code(125)
        .stderr_has("already exists");
    env.rctr(&["volume", "create", "--ignore", &v]).ok();
    let ls = env.rctr(&["volume", "ls"]).ok();
    let mut lines = ls.stdout.lines();
    assert_eq!(lines.next(), Some("DRIVER      VOLUME NAME"));
    assert_eq!(lines.next(), Some(format!("local       {v}").as_str()));
    assert_eq!(
        env.rctr(&["volume", "ls", "-q", "--filter", "label=team=rctr"])
            .out(),
        v
    );
    assert_eq!(
        env.rctr(&["volume", "ls", "-q", "--filter", "label=other"])
            .out(),
        ""
    );
    let inspect = env.rctr(&["volume", "inspect", &v]).ok();
    let j: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(j[0]["Name"], v.as_str());
    assert_eq!(j[0]["Driver"], "local");
    assert_eq!(j[0]["Labels"]["team"], "rctr");
    assert!(j[0]["Mountpoint"]
        .as_str()
        .unwrap()
        .ends_with(&format!("volumes/{v}/_data")));
    assert_eq!(
        env.rctr(&["volume", "inspect", "--format", "{{.Scope}}", &v])
            .out(),
        "local"
    );
    env.rctr(&["volume", "inspect", "nosuchvol"])
        .code(125)
        .stderr_has("nosuchvol");
    env.rctr(&["volume", "rm", &v]).ok().stdout_has(&v);
    env.rctr(&["volume", "rm", &v]).code(1);
    let anon = env.rctr(&["volume", "create"]).ok().out().to_string();
    assert_eq!(anon.len(), 64);
    env.rctr(&["volume", "prune", "-f"]).ok().stdout_has(&anon);
    assert_eq!(env.rctr(&["volume", "ls", "-q"]).out(), "");
}

#[test]
fn named_volume_is_created_filled_from_the_image_and_kept() {
    let env = env();
    let v = safename("data");
    // First use creates the volume and copies the image's /etc into it (docker's copy-up).
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-v",
            &format!("{v}:/etc"),
            "busybox",
            "sh",
            "-c",
            "cat /etc/rctr-fixture; echo kept > /etc/new",
        ])
        .ok();
    assert_eq!(r.stdout, "busybox fixture, layer 2\n");
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-v",
            &format!("{v}:/mnt"),
            "busybox",
            "cat",
            "/mnt/new",
            "/mnt/passwd",
        ])
        .ok();
    assert!(r.stdout.starts_with("kept\nroot:x:0:0"), "{}", r.stdout);
    // A volume in use cannot be removed; once its container is gone it can.
    let c = safename("user");
    env.rctr(&[
        "create",
        "--name",
        &c,
        "-v",
        &format!("{v}:/d"),
        "busybox",
        "true",
    ])
    .ok();
    env.rctr(&["volume", "rm", &v])
        .code(2)
        .stderr_has("is in use");
    env.rctr(&["volume", "prune", "-f"]).ok();
    env.rctr(&["volume", "inspect", &v]).ok();
    env.rctr(&["rm", &c]).ok();
    env.rctr(&["volume", "rm", &v]).ok();
}

#[test]
fn anonymous_volumes_go_with_rm_v() {
    let env = env();
    env.rctr(&[
        "run",
        "--rm",
        "-v",
        "/scratch",
        "busybox",
        "touch",
        "/scratch/x",
    ])
    .ok();
    assert_eq!(
        env.rctr(&["volume", "ls", "-q"]).out(),
        "",
        "--rm removes anonymous volumes"
    );
    let c = safename("anon");
    env.rctr(&["run", "--name", &c, "-v", "/scratch", "busybox", "true"])
        .ok();
    assert_eq!(env.rctr(&["volume", "ls", "-q"]).out().len(), 64);
    env.rctr(&["rm", "-v", &c]).ok();
    assert_eq!(env.rctr(&["volume", "ls", "-q"]).out(), "");
}

#[test]
fn bind_mounts_read_write_and_read_only() {
    let env = env();
    let dir = env.path().join("shared");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("in"), "from host\n").unwrap();
    let d = dir.to_str().unwrap();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-v",
            &format!("{d}:/h"),
            "busybox",
            "sh",
            "-c",
            "cat /h/in; echo back > /h/out",
        ])
        .ok();
    assert_eq!(r.stdout, "from host\n");
    assert_eq!(std::fs::read_to_string(dir.join("out")).unwrap(), "back\n");
    // Files the container's root makes belong to the invoking user on the host.
    assert_eq!(
        std::fs::metadata(dir.join("out")).unwrap().uid(),
        nix::unistd::getuid().as_raw()
    );
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-v",
            &format!("{d}:/h:ro"),
            "busybox",
            "sh",
            "-c",
            "echo no > /h/out2",
        ])
        .code(1);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    assert!(!dir.join("out2").exists());
    env.rctr(&[
        "run",
        "--rm",
        "--mount",
        &format!("type=bind,source={d},target=/m,readonly"),
        "busybox",
        "sh",
        "-c",
        "touch /m/x",
    ])
    .code(1);
    env.rctr(&["run", "--rm", "-v", "/no/such/dir:/x", "busybox", "true"])
        .code(125)
        .stderr_has("/no/such/dir");
}

#[test]
fn keep_id_keeps_the_invoking_users_ownership() {
    let env = env();
    if nix::unistd::geteuid().is_root() {
        env.rctr(&["run", "--rm", "--userns=keep-id", "busybox", "true"])
            .code(125)
            .stderr_has("rootless");
        return;
    }
    let dir = env.path().join("mine");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("f"), "x").unwrap();
    let uid = nix::unistd::getuid().as_raw();
    let gid = nix::unistd::getgid().as_raw();
    let d = dir.to_str().unwrap();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--userns=keep-id",
            "-v",
            &format!("{d}:/mine"),
            "busybox",
            "sh",
            "-c",
            "id -u; id -g; stat -c %u:%g /mine/f; touch /mine/new",
        ])
        .ok();
    assert_eq!(r.stdout, format!("{uid}\n{gid}\n{uid}:{gid}\n"));
    assert_eq!(std::fs::metadata(dir.join("new")).unwrap().uid(), uid);
    // Without keep-id the user's files show as root's.
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-v",
            &format!("{d}:/mine"),
            "busybox",
            "stat",
            "-c",
            "%u",
            "/mine/f",
        ])
        .ok();
    assert_eq!(r.out(), "0");
}

#[test]
fn u_option_chowns_the_source_to_the_container_user() {
    let env = env();
    let dir = env.path().join("chowned");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("f"), "x").unwrap();
    let spec = format!("{}:/data:U", dir.display());
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "-u",
            "nobody",
            "-v",
            &spec,
            "busybox",
            "sh",
            "-c",
            "stat -c %u:%g /data /data/f; touch /data/mine",
        ])
        .ok();
    assert_eq!(r.stdout, "65534:65534\n65534:65534\n");
    // Give the files back to the invoking user so the test directory can be removed.
    let spec = format!("{}:/data:U", dir.display());
    env.rctr(&["run", "--rm", "-v", &spec, "busybox", "true"])
        .ok();
    assert_eq!(
        std::fs::metadata(dir.join("mine")).unwrap().uid(),
        nix::unistd::getuid().as_raw()
    );
}

#[test]
fn tmpfs_and_read_only_root() {
    let env = env();
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--tmpfs",
            "/scratch:size=1m",
            "busybox",
            "sh",
            "-c",
            "grep ' /scratch ' /proc/mounts",
        ])
        .ok();
    assert!(
        r.stdout.starts_with("tmpfs /scratch tmpfs rw,"),
        "{}",
        r.stdout
    );
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--read-only",
            "busybox",
            "sh",
            "-c",
            "touch /tmp/ok && touch /etc/no",
        ])
        .code(1);
    assert!(r.stderr.contains("Read-only file system"), "{}", r.stderr);
    let r = env
        .rctr(&[
            "run",
            "--rm",
            "--shm-size",
            "2m",
            "busybox",
            "df",
            "-k",
            "/dev/shm",
        ])
        .ok();
    assert!(r.stdout.contains(" 2048 "), "{}", r.stdout);
}
