//! `cp`: host ⇄ container copies for stopped and running containers, tar streams, owners,
//! modes and mtimes, and symlinks in the container that point out of it.

use crate::harness::{safename, TestEnv};
use crate::run::env;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// A host tree: `d/f` (0640, mtime 2001-01-01), `d/sub/g`, `d/sub/link -> g`, and `top` (0755).
fn host_tree(dir: &Path) {
    let d = dir.join("d");
    std::fs::create_dir_all(d.join("sub")).unwrap();
    std::fs::write(d.join("f"), "eff\n").unwrap();
    std::fs::set_permissions(d.join("f"), std::fs::Permissions::from_mode(0o640)).unwrap();
    std::fs::write(d.join("sub/g"), "gee\n").unwrap();
    std::os::unix::fs::symlink("g", d.join("sub/link")).unwrap();
    std::fs::write(dir.join("top"), "top\n").unwrap();
    std::fs::set_permissions(dir.join("top"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let t = std::process::Command::new("touch")
        .args(["-h", "-d", "2001-01-01 00:00:00"])
        .arg(d.join("f"))
        .arg(d.join("sub"))
        .status()
        .unwrap();
    assert!(t.success());
}

fn mtime(p: &Path) -> i64 {
    std::fs::symlink_metadata(p).unwrap().mtime()
}

#[test]
fn cp_round_trips_a_stopped_container() {
    let env = env();
    let host = env.path().join("host");
    host_tree(&host);
    let c = safename("cp");
    env.rctr(&[
        "create",
        "--name",
        &c,
        "busybox",
        "cat",
        "/renamed",
        "/contents/f",
    ])
    .ok();
    let d = host.join("d");
    env.rctr(&["cp", d.to_str().unwrap(), &format!("{c}:/tmp")])
        .ok();
    // A file onto a new name, and a directory's contents (`/.`) into a new directory.
    env.rctr(&[
        "cp",
        host.join("top").to_str().unwrap(),
        &format!("{c}:/renamed"),
    ])
    .ok();
    env.rctr(&[
        "cp",
        &format!("{}/.", d.display()),
        &format!("{c}:/contents"),
    ])
    .ok();
    // A missing parent directory is an error, as in podman.
    env.rctr(&[
        "cp",
        host.join("top").to_str().unwrap(),
        &format!("{c}:/no/such/x"),
    ])
    .code(125)
    .stderr_has("no such file or directory");

    let out = env.path().join("out");
    std::fs::create_dir(&out).unwrap();
    env.rctr(&["cp", &format!("{c}:/tmp/d"), out.to_str().unwrap()])
        .ok();
    env.rctr(&[
        "cp",
        &format!("{c}:/renamed"),
        out.join("r").to_str().unwrap(),
    ])
    .ok();
    env.rctr(&[
        "cp",
        &format!("{c}:/contents"),
        out.join("c").to_str().unwrap(),
    ])
    .ok();
    assert_eq!(std::fs::read_to_string(out.join("d/f")).unwrap(), "eff\n");
    assert_eq!(
        std::fs::read_to_string(out.join("d/sub/g")).unwrap(),
        "gee\n"
    );
    assert_eq!(
        std::fs::read_link(out.join("d/sub/link")).unwrap(),
        Path::new("g")
    );
    let m = std::fs::metadata(out.join("d/f")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o640);
    assert_eq!(m.mtime(), mtime(&d.join("f")));
    assert_eq!(mtime(&out.join("d/sub")), mtime(&d.join("sub")));
    // Copies to the host belong to the invoking user, whatever they were in the container.
    assert_eq!(m.uid(), nix_uid());
    let r = std::fs::metadata(out.join("r")).unwrap();
    assert_eq!(r.mode() & 0o777, 0o755);
    assert_eq!(
        std::fs::read_to_string(out.join("c/sub/g")).unwrap(),
        "gee\n"
    );

    // The container sees them too.
    let run = env.rctr(&["start", "-a", &c]).ok();
    assert_eq!(run.out(), "top\neff");
    env.rctr(&["rm", &c]).ok();
}

fn nix_uid() -> u32 {
    nix::unistd::getuid().as_raw()
}

#[test]
fn cp_into_a_running_container_sets_owners() {
    let env = env();
    let host = env.path().join("host");
    host_tree(&host);
    let c = safename("cprun");
    env.run_detached(&c, &["--user", "1000:1000", "busybox", "sleep", "600"]);
    let top = host.join("top");
    env.rctr(&["cp", top.to_str().unwrap(), &format!("{c}:/tmp/owned")])
        .ok();
    env.rctr(&[
        "cp",
        "--archive=false",
        top.to_str().unwrap(),
        &format!("{c}:/tmp/kept"),
    ])
    .ok();
    env.rctr(&[
        "cp",
        host.join("d").to_str().unwrap(),
        &format!("{c}:/tmp/"),
    ])
    .ok();
    let st = env
        .rctr(&[
            "exec",
            &c,
            "stat",
            "-c",
            "%u:%g %a %Y %n",
            "/tmp/owned",
            "/tmp/kept",
            "/tmp/d/f",
        ])
        .ok();
    let lines: Vec<&str> = st.stdout.lines().collect();
    assert!(lines[0].starts_with("1000:1000 755 "), "{}", st.stdout);
    // --archive=false keeps the host owner, which is root in the user namespace.
    assert!(lines[1].starts_with("0:0 755 "), "{}", st.stdout);
    assert_eq!(
        lines[2],
        format!("1000:1000 640 {} /tmp/d/f", mtime(&host.join("d/f")))
    );
    env.rctr(&["exec", &c, "cat", "/tmp/d/sub/link"])
        .ok()
        .stdout_has("gee");

    // A file written by the container comes back out, from the live overlay.
    env.rctr(&["exec", &c, "sh", "-c", "echo live > /tmp/live"])
        .ok();
    let back = env.path().join("live");
    env.rctr(&["cp", &format!("{c}:/tmp/live"), back.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "live\n");

    // A directory may not replace a file without --overwrite.
    env.rctr(&[
        "cp",
        host.join("d").to_str().unwrap(),
        &format!("{c}:/tmp/owned"),
    ])
    .code(125)
    .stderr_has("cannot copy a directory onto the file");
    env.rctr(&["rm", "-f", &c]).ok();
}

#[test]
fn cp_streams_tar_archives() {
    let env = env();
    let c = safename("cptar");
    env.rctr(&["create", "--name", &c, "busybox", "true"]).ok();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4);
    h.set_mode(0o600);
    h.set_mtime(1_000_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "streamed/file", &b"data"[..])
        .unwrap();
    let tar = b.into_inner().unwrap();
    env.rctr_stdin(&["cp", "-", &format!("{c}:/srv")], &tar)
        .code(125)
        .stderr_has("no such file or directory");
    env.rctr_stdin(&["cp", "-", &format!("{c}:/tmp")], &tar)
        .ok();
    let out = env
        .cmd(&["cp", &format!("{c}:/tmp/streamed"), "-"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut ar = tar::Archive::new(&out.stdout[..]);
    let mut found = Vec::new();
    for e in ar.entries().unwrap() {
        let e = e.unwrap();
        found.push((
            e.path().unwrap().display().to_string(),
            e.header().mode().unwrap() & 0o777,
            e.header().mtime().unwrap(),
        ));
    }
    assert!(
        found.contains(&("streamed/file".into(), 0o600, 1_000_000_000)),
        "{found:?}"
    );
    env.rctr(&["rm", &c]).ok();
}

/// Symlinks in the container that point at a host directory (absolutely, or by climbing with
/// `..`) must resolve inside the container: neither reads nor writes may reach the host.
#[test]
fn cp_never_follows_container_symlinks_out_of_the_rootfs() {
    let env = env();
    let hostdir = env.path().join("hostdir");
    std::fs::create_dir(&hostdir).unwrap();
    std::fs::write(hostdir.join("secret"), "host secret\n").unwrap();
    let h = hostdir.display().to_string();
    let up = format!("../../../../../../../../..{h}");
    let file = env.path().join("payload");
    std::fs::write(&file, "payload\n").unwrap();
    let f = file.to_str().unwrap();
    let script = format!("ln -s {h} /abs && ln -s {up} /up && ln -s /etc /etclink");
    // A stopped container (its rootfs mounted) and a running one (reached through /proc).
    let stopped = safename("cpesc");
    env.rctr(&["run", "--name", &stopped, "busybox", "sh", "-c", &script])
        .ok();
    let running = safename("cpescr");
    env.run_detached(
        &running,
        &["busybox", "sh", "-c", &format!("{script} && sleep 600")],
    );
    // Wait for the links.
    env.exec_until(&running, &["test", "-L", "/etclink"]);
    for c in [&stopped, &running] {
        for link in ["abs", "up"] {
            env.rctr(&["cp", f, &format!("{c}:/{link}/written")])
                .code(125);
            env.rctr(&["cp", f, &format!("{c}:/{link}/")]).code(125);
            let got = env.path().join(format!("got-{link}"));
            env.rctr(&["cp", &format!("{c}:/{link}/secret"), got.to_str().unwrap()])
                .code(125);
            assert!(!got.exists());
        }
        // Through /etc -> /etc, a write lands in the container's /etc, not the host's.
        env.rctr(&["cp", f, &format!("{c}:/etclink/payload")]).ok();
    }
    let left: Vec<_> = std::fs::read_dir(&hostdir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, vec![std::ffi::OsString::from("secret")]);
    assert!(!Path::new("/etc/payload").exists());
    env.rctr(&["exec", &running, "cat", "/etc/payload"])
        .ok()
        .stdout_has("payload");
    env.rctr(&["rm", "-f", &running, &stopped]).ok();
}

#[test]
fn cp_unknown_container_fails() {
    let env = TestEnv::new();
    env.rctr(&["cp", "/etc/hostname", "nosuch:/tmp"])
        .code(125)
        .stderr_has("nosuch");
    env.rctr(&["container", "cp", "/etc/hostname", "/tmp/x"])
        .code(125)
        .stderr_has("CONTAINER:PATH");
}

#[test]
fn cp_between_two_containers() {
    let env = env();
    let running = safename("cpsrc");
    env.run_detached(
        &running,
        &[
            "busybox",
            "sh",
            "-c",
            "mkdir /data && echo one > /data/f && sleep 600",
        ],
    );
    env.exec_until(&running, &["grep", "-q", "one", "/data/f"]);
    let stopped = safename("cpdst");
    env.rctr(&[
        "create",
        "--name",
        &stopped,
        "busybox",
        "cat",
        "/copied/f",
        "/back",
    ])
    .ok();
    env.rctr(&[
        "cp",
        &format!("{running}:/data"),
        &format!("{stopped}:/copied"),
    ])
    .ok();
    env.rctr(&[
        "cp",
        &format!("{stopped}:/copied/f"),
        &format!("{running}:/back"),
    ])
    .ok();
    env.rctr(&[
        "cp",
        &format!("{running}:/back"),
        &format!("{stopped}:/back"),
    ])
    .ok();
    assert_eq!(env.rctr(&["start", "-a", &stopped]).ok().out(), "one\none");
    env.rctr(&[
        "cp",
        &format!("{running}:/missing"),
        &format!("{stopped}:/x"),
    ])
    .code(125)
    .stderr_has("/missing");
    env.rctr(&["rm", "-f", &running, &stopped]).ok();
}

/// Under `--userns keep-id` the container's primary user is the invoking user, and copies into
/// a stopped one (reached from rctr's namespace, where its ids are shifted) belong to them.
#[test]
fn cp_into_keep_id_containers_gives_files_to_the_user() {
    let env = env();
    let file = env.path().join("mine");
    std::fs::write(&file, "mine\n").unwrap();
    let f = file.to_str().unwrap();
    let me = format!("{}:{}", nix_uid(), nix::unistd::getgid().as_raw());
    let stopped = safename("keepid");
    env.rctr(&[
        "create", "--name", &stopped, "--userns", "keep-id", "busybox", "stat", "-c", "%u:%g",
        "/mine",
    ])
    .ok();
    env.rctr(&["cp", f, &format!("{stopped}:/mine")]).ok();
    assert_eq!(env.rctr(&["start", "-a", &stopped]).ok().out(), me);
    env.rctr(&["rm", &stopped]).ok();
    // With --user, the copy belongs to that user as the container numbers it.
    let other = safename("keepiduser");
    env.rctr(&[
        "create",
        "--name",
        &other,
        "--userns",
        "keep-id",
        "--user",
        "1000:1000",
        "busybox",
        "stat",
        "-c",
        "%u:%g",
        "/mine",
    ])
    .ok();
    env.rctr(&["cp", f, &format!("{other}:/mine")]).ok();
    assert_eq!(env.rctr(&["start", "-a", &other]).ok().out(), "1000:1000");
    env.rctr(&["rm", &other]).ok();
}
