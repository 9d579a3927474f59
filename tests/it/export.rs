//! `export` and `import`: a container's filesystem as a tar, and back into a runnable image.

use crate::harness::safename;
use crate::run::env;
use std::io::Write;

fn names(tar_bytes: &[u8]) -> Vec<String> {
    let mut ar = tar::Archive::new(tar_bytes);
    ar.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect()
}

#[test]
fn export_import_round_trip() {
    let env = env();
    let c = safename("export");
    env.rctr(&[
        "run",
        "--name",
        &c,
        "busybox",
        "sh",
        "-c",
        "echo exported > /newfile; rm /etc/passwd; mkdir /newdir",
    ])
    .ok();
    let file = env.path().join("fs.tar");
    env.rctr(&["export", "-o", file.to_str().unwrap(), &c]).ok();
    let bytes = std::fs::read(&file).unwrap();
    let n = names(&bytes);
    for want in ["newfile", "newdir/", "bin/busybox", "etc/rctr-fixture"] {
        assert!(n.iter().any(|x| x == want), "{want} missing from {n:?}");
    }
    // The image's deletions and the container's own are applied.
    for gone in ["etc/passwd", "etc/deleted-me"] {
        assert!(!n.iter().any(|x| x == gone), "{gone} in {n:?}");
    }

    let img = safename("imported");
    let run = env
        .rctr(&[
            "import",
            "-c",
            "CMD cat /newfile",
            "-m",
            "from a tarball",
            "--arch",
            "amd64",
            file.to_str().unwrap(),
            &img,
        ])
        .ok()
        .stderr_has("Writing manifest to image destination");
    assert_eq!(run.out().len(), 64);
    assert_eq!(env.rctr(&["run", "--rm", &img]).ok().out(), "exported");
    env.rctr(&["run", "--rm", &img, "ls", "/etc/passwd"])
        .code(1);
    env.rctr(&["history", &img])
        .ok()
        .stdout_has("from a tarball");

    // From stdin, gzip-compressed, unnamed.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let gz = gz.finish().unwrap();
    let id = env.rctr_stdin(&["import", "-q", "-"], &gz).ok();
    assert_eq!(id.stderr, "");
    env.rctr(&["run", "--rm", id.out(), "cat", "/newfile"])
        .ok()
        .stdout_has("exported");
    env.rctr(&["import", "http://127.0.0.1:1/x.tar"])
        .code(125)
        .stderr_has("importing from a URL is not supported");
    env.rctr(&["import", "/nonexistent.tar"])
        .code(125)
        .stderr_has("/nonexistent.tar");
}

#[test]
fn export_of_a_running_container_goes_to_stdout() {
    let env = env();
    let c = safename("exportrun");
    env.run_detached(&c, &["busybox", "sh", "-c", "echo live > /live; sleep 600"]);
    env.exec_until(&c, &["grep", "-q", "live", "/live"]);
    let out = env.cmd(&["container", "export", &c]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = names(&out.stdout);
    assert!(n.iter().any(|x| x == "live"), "{n:?}");
    // Only the storage: nothing from the mounted /proc.
    assert!(!n.iter().any(|x| x.starts_with("proc/1")), "{n:?}");
    env.rctr(&["rm", "-f", &c]).ok();
}
