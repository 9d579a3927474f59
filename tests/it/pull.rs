//! `rctr pull` against the test bed's registries: short names, digests, mirrors, aliases, auth,
//! TLS, zstd, multi-arch, whiteouts, concurrency and kill -9 at arbitrary moments.

use crate::harness::{registry, tb, TestEnv};
use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;
use std::time::Duration;

/// Every complete layer's `diff` dir in the env's store.
fn layer_diffs(env: &TestEnv) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(env.store().join("layers"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
                .map(|p| p.join("diff"))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// Names of `.tmp-` leftovers in the store's layer and blob dirs.
fn temps(env: &TestEnv) -> Vec<String> {
    ["layers", "blobs/sha256"]
        .iter()
        .flat_map(|d| std::fs::read_dir(env.store().join(d)).into_iter().flatten())
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

fn getxattr(p: &std::path::Path, name: &str) -> Option<Vec<u8>> {
    use std::os::unix::ffi::OsStrExt;
    let cp = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    let cn = std::ffi::CString::new(name).unwrap();
    let mut buf = [0u8; 64];
    // SAFETY: valid C strings and buffer.
    let n =
        unsafe { libc::lgetxattr(cp.as_ptr(), cn.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    (n >= 0).then(|| buf[..n as usize].to_vec())
}

#[test]
fn pull_short_name_prints_id_and_unpacks_whiteouts() {
    let env = TestEnv::new();
    let r = env.rctr(&["pull", "busybox"]).ok();
    let id = r.out().to_string();
    assert_eq!(id.len(), 64, "{}", r.stdout);
    assert!(
        r.stderr
            .contains(&format!("Trying to pull {}/busybox:latest", registry())),
        "{}",
        r.stderr
    );
    env.rctr(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok()
        .stdout_has(&format!("{}/busybox:latest", registry()));
    let diffs = layer_diffs(&env);
    assert_eq!(diffs.len(), 2, "{diffs:?}");
    // The upper layer deletes /etc/deleted-me (whiteout) and makes /opaque opaque.
    let wh: Vec<_> = diffs.iter().map(|d| d.join("etc/deleted-me")).collect();
    let dev = wh
        .iter()
        .find(|p| {
            p.symlink_metadata()
                .is_ok_and(|m| m.file_type().is_char_device())
        })
        .expect("a 0/0 char device whiteout for etc/deleted-me");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(dev.symlink_metadata().unwrap().rdev(), 0);
    assert!(
        diffs
            .iter()
            .any(|d| getxattr(&d.join("opaque"), "user.overlay.opaque").as_deref() == Some(b"y")),
        "no opaque xattr on /opaque"
    );
    // The lower layer keeps the busybox binary executable and its applet symlinks.
    assert!(diffs.iter().any(|d| d.join("bin/busybox").is_file()));
}

#[test]
fn pull_quiet_prints_only_the_id_and_repull_does_nothing_more() {
    let env = TestEnv::new();
    let first = env.rctr(&["pull", "-q", "busybox"]).ok();
    assert!(first.stderr.is_empty(), "{}", first.stderr);
    let id = first.out().to_string();
    assert!(
        id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let before = std::fs::metadata(layer_diffs(&env)[0].parent().unwrap())
        .unwrap()
        .modified()
        .unwrap();
    let again = env
        .rctr(&["pull", "busybox"])
        .ok()
        .stderr_has("already exists");
    assert_eq!(again.out(), id);
    let after = std::fs::metadata(layer_diffs(&env)[0].parent().unwrap())
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "the layer was rewritten");
    // `image pull` is the same command.
    env.rctr(&["image", "pull", "-q", "busybox"]).ok();
}

#[test]
fn pull_by_digest_and_full_name() {
    let env = TestEnv::new();
    let digest = tb("RCTR_TEST_BUSYBOX_DIGEST");
    let by_digest = format!("{}/busybox@{digest}", registry());
    env.rctr(&["pull", "-q", &by_digest]).ok();
    let r = env
        .rctr(&[
            "images",
            "--digests",
            "--format",
            "{{.Repository}} {{.Tag}} {{.Digest}}",
        ])
        .ok();
    assert_eq!(r.out(), format!("{}/busybox <none> {digest}", registry()));
    env.rctr(&["image", "exists", &by_digest]).ok();
    env.rctr(&["pull", "-q", &format!("{}/busybox:latest", registry())])
        .ok();
    env.rctr(&["images", "--format", "{{.Tag}}"])
        .ok()
        .stdout_has("latest");
    // A digest that does not match the registry's content is refused.
    let wrong = format!("{}/busybox@sha256:{}", registry(), "0".repeat(64));
    env.rctr(&["pull", &wrong]).code(125).stderr_has("busybox");
}

#[test]
fn invalid_reference_names_the_input() {
    let env = TestEnv::new();
    env.rctr(&["pull", "Not/Valid"])
        .code(125)
        .stderr_has("`Not/Valid`");
    env.rctr(&["pull", "busybox", "--platform", "linux"])
        .code(125)
        .stderr_has("`linux`");
}

#[test]
fn aliases_and_search_order() {
    let env = TestEnv::new();
    let reg = registry();
    env.write_config(&format!(
        "[registries]\nsearch = [\"127.0.0.1:1\", \"{reg}\"]\ninsecure = [\"127.0.0.1:1\", \"{reg}\"]\n\
         [registries.aliases]\nmybox = \"{reg}/busybox\"\n"
    ));
    env.rctr(&["pull", "-q", "mybox"]).ok();
    env.rctr(&["images", "--format", "{{.Repository}}"])
        .ok()
        .stdout_has(&format!("{reg}/busybox"));
    // Not an alias: the unreachable first search registry is skipped for the second.
    env.rctr(&["pull", "zstd"])
        .ok()
        .stderr_has("Trying to pull 127.0.0.1:1/zstd:latest")
        .stderr_has(&format!("Trying to pull {reg}/zstd:latest"));
}

#[test]
fn mirrors_are_tried_before_their_origin() {
    let env = TestEnv::new();
    let reg = registry();
    // The origin does not exist: only the mirror can serve it.
    env.write_config(&format!(
        "[registries]\nsearch = [\"{reg}\"]\ninsecure = [\"{reg}\", \"origin.invalid:5000\"]\n\
         [registries.mirrors]\n\"origin.invalid:5000\" = [\"{reg}\"]\n"
    ));
    env.rctr(&["pull", "-q", "origin.invalid:5000/busybox"])
        .ok();
    env.rctr(&["images", "--format", "{{.Repository}}"])
        .ok()
        .stdout_has("origin.invalid:5000/busybox");
    // A dead mirror falls back to the origin.
    let env2 = TestEnv::new();
    env2.write_config(&format!(
        "[registries]\nsearch = [\"{reg}\"]\ninsecure = [\"{reg}\", \"127.0.0.1:1\"]\n\
         [registries.mirrors]\n\"{reg}\" = [\"127.0.0.1:1\"]\n"
    ));
    env2.rctr(&["pull", "-q", "busybox"]).ok();
}

#[test]
fn auth_registry_needs_credentials() {
    let env = TestEnv::new();
    let areg = tb("RCTR_TEST_AUTH_REGISTRY");
    let name = format!("{areg}/busybox");
    env.rctr(&["pull", &name])
        .code(125)
        .stderr_has("401")
        .stderr_has(&areg);
    env.rctr(&["images", "-q"]).ok();
    assert!(layer_diffs(&env).is_empty());
    use base64::Engine as _;
    let token = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        tb("RCTR_TEST_AUTH_USER"),
        tb("RCTR_TEST_AUTH_PASS")
    ));
    let auth = env.runtime_dir.join("containers/auth.json");
    std::fs::create_dir_all(auth.parent().unwrap()).unwrap();
    std::fs::write(
        &auth,
        format!("{{\"auths\": {{\"{areg}\": {{\"auth\": \"{token}\"}}}}}}"),
    )
    .unwrap();
    env.rctr(&["pull", "-q", &name]).ok();
    // Wrong credentials fail clearly too.
    let env2 = TestEnv::new();
    let bad = base64::engine::general_purpose::STANDARD.encode("rctr-tester:wrong");
    let auth2 = env2.home.join(".docker/config.json");
    std::fs::create_dir_all(auth2.parent().unwrap()).unwrap();
    std::fs::write(
        &auth2,
        format!("{{\"auths\": {{\"{areg}\": {{\"auth\": \"{bad}\"}}}}}}"),
    )
    .unwrap();
    env2.rctr(&["pull", &name]).code(125).stderr_has(&areg);
}

#[test]
fn tls_registry_with_certs_d_ca() {
    let env = TestEnv::new();
    let treg = tb("RCTR_TEST_TLS_REGISTRY");
    let name = format!("{treg}/busybox");
    let r = env.rctr(&["pull", &name]).code(125).stderr_has(&treg);
    // One error in rctr's words, without the TLS verifier's own log lines about the certificate.
    let errors = r.stderr.lines().filter(|l| l.starts_with("Error:")).count();
    assert_eq!(errors, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("warning:"), "{}", r.stderr);
    let dir = env.home.join(".config/containers/certs.d").join(&treg);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(tb("RCTR_TEST_TLS_CA"), dir.join("ca.crt")).unwrap();
    env.rctr(&["pull", "-q", &name]).ok();
    // --tls-verify=false needs no CA.
    let env2 = TestEnv::new();
    env2.rctr(&["pull", "-q", "--tls-verify=false", &name]).ok();
}

#[test]
fn zstd_layers_unpack() {
    let env = TestEnv::new();
    env.rctr(&["pull", "-q", "zstd"]).ok();
    let r = env
        .rctr(&[
            "image",
            "inspect",
            "zstd",
            "--format",
            "{{len .RootFS.Layers}}",
        ])
        .ok();
    let n: usize = r.out().parse().unwrap();
    assert_eq!(layer_diffs(&env).len(), n);
    let blobs = std::fs::read_dir(env.store().join("blobs/sha256"))
        .unwrap()
        .count();
    assert!(
        blobs >= n + 2,
        "compressed layer blobs, config and manifest are kept"
    );
}

#[test]
fn multiarch_picks_this_platform_or_the_requested_one() {
    let env = TestEnv::new();
    env.rctr(&["pull", "-q", "multiarch"]).ok();
    let arch = env
        .rctr(&[
            "image",
            "inspect",
            "multiarch",
            "--format",
            "{{.Architecture}}",
        ])
        .ok();
    let host = if cfg!(target_arch = "aarch64") {
        "arm64"
    } else {
        "amd64"
    };
    assert_eq!(arch.out(), host);
    env.rctr(&["pull", "-q", "--platform", "linux/arm64", "multiarch"])
        .ok();
    let arch = env
        .rctr(&[
            "image",
            "inspect",
            "multiarch",
            "--format",
            "{{.Architecture}}",
        ])
        .ok();
    assert_eq!(arch.out(), "arm64");
    // The index digest is recorded as a repo digest.
    env.rctr(&[
        "image",
        "inspect",
        "multiarch",
        "--format",
        "{{.RepoDigests}}",
    ])
    .ok()
    .stdout_has(&tb("RCTR_TEST_MULTIARCH_DIGEST"));
    env.rctr(&["pull", "--platform", "linux/s390x", "multiarch"])
        .code(125)
        .stderr_has("linux/s390x");
}

#[test]
fn concurrent_pulls_of_the_same_image_both_succeed() {
    let env = TestEnv::new();
    let spawn = || {
        env.cmd(&["pull", "-q", "debian:bookworm"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(a.stdout, b.stdout);
    let r = env.rctr(&["images", "-q"]).ok();
    assert_eq!(r.out().lines().count(), 1);
    assert!(temps(&env).is_empty(), "{:?}", temps(&env));
}

#[test]
fn kill_9_at_any_moment_needs_no_repair() {
    let env = TestEnv::new();
    for ms in [50, 200, 1000] {
        let mut child = env
            .cmd(&["pull", "-q", "debian:bookworm"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        child.kill().unwrap();
        child.wait().unwrap();
        // The store is usable as is: whatever was interrupted does not count as present.
        let r = env.rctr(&["images", "--format", "{{.Repository}}"]).ok();
        if !r.stdout.contains("debian") {
            env.rctr(&["image", "exists", "debian:bookworm"]).code(1);
        }
    }
    let id = env
        .rctr(&["pull", "-q", "debian:bookworm"])
        .ok()
        .out()
        .to_string();
    env.rctr(&["images", "--no-trunc", "-q"])
        .ok()
        .stdout_has(&id);
    assert!(
        temps(&env).is_empty(),
        "dead pulls' temp files remain: {:?}",
        temps(&env)
    );
    assert!(layer_diffs(&env).iter().all(|d| d.join("usr/bin").is_dir()));
}
