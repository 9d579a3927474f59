//! Checks of the test bed itself, so that a broken test bed fails here, loudly and by name,
//! instead of as confusing failures in the tests that use it.

use crate::harness::{fixture, hostile, tb, testbed, testbed_dir, TestEnv};
use sha2::{Digest, Sha256};
use std::process::Command;

const ACCEPT: &str = "Accept: application/vnd.oci.image.manifest.v1+json, \
                      application/vnd.oci.image.index.v1+json";

/// What curl got: HTTP status and body.
struct Http {
    status: u16,
    body: Vec<u8>,
}

/// A GET through curl (a real client, independent of the code under test).
fn get(url: &str, extra: &[&str]) -> Http {
    let out = Command::new("curl")
        .args(["-s", "-m", "10", "-w", "\n%{http_code}"])
        .args(extra)
        .arg(url)
        .output()
        .expect("run curl");
    let mut body = out.stdout;
    let nl = body.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let status = String::from_utf8_lossy(&body[nl..])
        .trim()
        .parse()
        .unwrap_or(0);
    body.truncate(nl);
    Http { status, body }
}

/// `NAME:TAG` split for a `/v2/NAME/manifests/TAG` URL.
fn manifest_url(registry: &str, image: &str) -> String {
    let (name, tag) = image.split_once(':').unwrap();
    format!("http://{registry}/v2/{name}/manifests/{tag}")
}

fn json(h: &Http) -> serde_json::Value {
    serde_json::from_slice(&h.body)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&h.body)))
}

fn manifest(registry: &str, image: &str) -> serde_json::Value {
    let h = get(&manifest_url(registry, image), &["-H", ACCEPT]);
    assert_eq!(
        h.status, 200,
        "{registry}/{image}: manifest answered {}",
        h.status
    );
    json(&h)
}

fn blob(registry: &str, name: &str, digest: &str) -> Vec<u8> {
    let h = get(&format!("http://{registry}/v2/{name}/blobs/{digest}"), &[]);
    assert_eq!(
        h.status, 200,
        "{registry}/{name}@{digest}: blob answered {}",
        h.status
    );
    h.body
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[test]
fn env_names_every_variable() {
    let missing: Vec<&str> = [
        "RCTR_TEST_REGISTRY",
        "RCTR_TEST_AUTH_REGISTRY",
        "RCTR_TEST_AUTH_USER",
        "RCTR_TEST_AUTH_PASS",
        "RCTR_TEST_TLS_REGISTRY",
        "RCTR_TEST_TLS_CA",
        "RCTR_TEST_HOSTILE_REGISTRY",
        "RCTR_TEST_ERR500_REGISTRY",
        "RCTR_TEST_ERR404_REGISTRY",
        "RCTR_TEST_BADJSON_IMAGE",
        "RCTR_TEST_IMG_BUSYBOX",
        "RCTR_TEST_IMG_ALPINE",
        "RCTR_TEST_IMG_DEBIAN",
        "RCTR_TEST_IMG_ZSTD",
        "RCTR_TEST_IMG_MULTIARCH",
        "RCTR_TEST_IMG_DOTDOT",
        "RCTR_TEST_IMG_ABSPATH",
        "RCTR_TEST_IMG_SYMLINK_ESCAPE",
        "RCTR_TEST_IMG_HARDLINK_ESCAPE",
        "RCTR_TEST_IMG_DEVNODE",
        "RCTR_TEST_HOSTILE_IMG_BADDIGEST",
        "RCTR_TEST_HOSTILE_IMG_TRUNCATED",
        "RCTR_TEST_HOSTILE_IMG_BADMANIFEST",
        "RCTR_TEST_HOSTILE_IMG_DIGESTPATH",
        "RCTR_TEST_HOSTILE_IMG_BADMEDIA",
        "RCTR_TEST_HOSTILE_IMG_GOOD",
        "RCTR_TEST_BUSYBOX_DIGEST",
        "RCTR_TEST_DEBIAN_DIGEST",
        "RCTR_TEST_MULTIARCH_DIGEST",
        "RCTR_TEST_OCI_DIR",
        "RCTR_TEST_ROOTFS_TAR",
    ]
    .into_iter()
    .filter(|k| testbed().get(*k).is_none_or(|v| v.is_empty()))
    .collect();
    assert!(
        missing.is_empty(),
        "{} lacks {missing:?}: run tests/fixtures/setup.sh (or tests/run) as root",
        testbed_dir().join("env").display()
    );
    for k in [
        "RCTR_TEST_TLS_CA",
        "RCTR_TEST_OCI_DIR",
        "RCTR_TEST_ROOTFS_TAR",
    ] {
        let p = tb(k);
        assert!(
            std::fs::metadata(&p).is_ok(),
            "{k}={p} is not readable by the test user"
        );
    }
}

#[test]
fn plain_registries_answer_v2() {
    for k in ["RCTR_TEST_REGISTRY", "RCTR_TEST_HOSTILE_REGISTRY"] {
        let h = get(&format!("http://{}/v2/", tb(k)), &[]);
        assert_eq!(h.status, 200, "{k}={} answered {} to /v2/", tb(k), h.status);
    }
}

#[test]
fn auth_registry_wants_the_password() {
    let reg = tb("RCTR_TEST_AUTH_REGISTRY");
    let url = format!("http://{reg}/v2/");
    assert_eq!(
        get(&url, &[]).status,
        401,
        "{reg} answered /v2/ without credentials"
    );
    let wrong = format!("{}:wrong", tb("RCTR_TEST_AUTH_USER"));
    assert_eq!(get(&url, &["-u", &wrong]).status, 401);
    let right = format!(
        "{}:{}",
        tb("RCTR_TEST_AUTH_USER"),
        tb("RCTR_TEST_AUTH_PASS")
    );
    assert_eq!(get(&url, &["-u", &right]).status, 200);
    let m = get(
        &manifest_url(&reg, "busybox:latest"),
        &["-u", &right, "-H", ACCEPT],
    );
    assert_eq!(m.status, 200, "busybox is not seeded on the auth registry");
}

#[test]
fn tls_registry_verifies_with_the_test_ca_only() {
    let reg = tb("RCTR_TEST_TLS_REGISTRY");
    assert!(reg.starts_with("localhost:"), "TLS registry is {reg}");
    let url = format!("https://{reg}/v2/busybox/manifests/latest");
    let ca = tb("RCTR_TEST_TLS_CA");
    let h = get(&url, &["--cacert", &ca, "-H", ACCEPT]);
    assert_eq!(h.status, 200, "{reg} with CA {ca}");
    // Without the CA the certificate must not verify (curl reports status 000).
    let h = get(&url, &["--cacert", "/etc/ssl/certs/ca-certificates.crt"]);
    assert_eq!(h.status, 0, "{reg} verified without the test CA");
}

#[test]
fn error_servers_fail_as_advertised() {
    let e500 = tb("RCTR_TEST_ERR500_REGISTRY");
    assert_eq!(get(&format!("http://{e500}/v2/"), &[]).status, 500);
    assert_eq!(
        get(&format!("http://{e500}/v2/busybox/manifests/latest"), &[]).status,
        500
    );
    let e404 = tb("RCTR_TEST_ERR404_REGISTRY");
    assert_eq!(get(&format!("http://{e404}/v2/"), &[]).status, 200);
    assert_eq!(
        get(&format!("http://{e404}/v2/busybox/manifests/latest"), &[]).status,
        404
    );
    let bad = tb("RCTR_TEST_BADJSON_IMAGE");
    let (reg, image) = bad.split_once('/').unwrap();
    let h = get(&manifest_url(reg, image), &[]);
    assert_eq!(h.status, 200);
    assert!(serde_json::from_slice::<serde_json::Value>(&h.body).is_err());
}

#[test]
fn busybox_has_whiteouts_and_its_config() {
    let reg = tb("RCTR_TEST_REGISTRY");
    let m = manifest(&reg, "busybox:latest");
    let layers = m["layers"].as_array().unwrap();
    assert!(layers.len() >= 2, "busybox has {} layers", layers.len());
    let cfg_digest = m["config"]["digest"].as_str().unwrap();
    let cfg: serde_json::Value =
        serde_json::from_slice(&blob(&reg, "busybox", cfg_digest)).unwrap();
    assert_eq!(cfg["config"]["Cmd"], serde_json::json!(["sh"]));
    assert_eq!(cfg["config"]["WorkingDir"], "/");
    assert!(cfg["config"]["Env"][0]
        .as_str()
        .unwrap()
        .starts_with("PATH="));
    // The upper layer holds the whiteout and the opaque marker.
    let upper = blob(&reg, "busybox", layers[1]["digest"].as_str().unwrap());
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(&upper[..]));
    for e in ar.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    assert!(
        names.contains(&"etc/.wh.deleted-me".to_string()),
        "{names:?}"
    );
    assert!(
        names.contains(&"opaque/.wh..wh..opq".to_string()),
        "{names:?}"
    );
    assert_eq!(
        get(
            &manifest_url(&reg, &tb("RCTR_TEST_IMG_ALPINE")),
            &["-H", ACCEPT]
        )
        .status,
        200,
        "alpine:latest is missing"
    );
}

#[test]
fn debian_zstd_and_multiarch_are_seeded() {
    let reg = tb("RCTR_TEST_REGISTRY");
    let deb = manifest(&reg, &tb("RCTR_TEST_IMG_DEBIAN"));
    assert_eq!(deb["layers"].as_array().unwrap().len(), 1);
    assert_eq!(
        deb["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert!(deb["layers"][0]["size"].as_u64().unwrap() > 20_000_000);

    let z = manifest(&reg, &tb("RCTR_TEST_IMG_ZSTD"));
    assert!(z["layers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd"));

    let idx = manifest(&reg, &tb("RCTR_TEST_IMG_MULTIARCH"));
    assert_eq!(idx["mediaType"], "application/vnd.oci.image.index.v1+json");
    let arches: Vec<&str> = idx["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "arm64"]);
}

#[test]
fn hostile_tar_images_are_seeded() {
    for name in [
        "DOTDOT",
        "ABSPATH",
        "SYMLINK_ESCAPE",
        "HARDLINK_ESCAPE",
        "DEVNODE",
    ] {
        let full = fixture(name);
        let (reg, image) = full.split_once('/').unwrap();
        let h = get(&manifest_url(reg, image), &["-H", ACCEPT]);
        assert_eq!(h.status, 200, "{full} answered {}", h.status);
    }
}

#[test]
fn hostile_registry_serves_tampered_blobs() {
    let reg = tb("RCTR_TEST_HOSTILE_REGISTRY");
    let name_of = |k: &str| {
        let full = hostile(k);
        full.split_once('/').unwrap().1.to_string()
    };
    let image = name_of("BADDIGEST");
    let m = manifest(&reg, &image);
    let layer = &m["layers"][0];
    let repo = image.split(':').next().unwrap();
    let bytes = blob(&reg, repo, layer["digest"].as_str().unwrap());
    assert_eq!(bytes.len() as u64, layer["size"].as_u64().unwrap());
    assert_ne!(sha256(&bytes), layer["digest"].as_str().unwrap());

    let image = name_of("TRUNCATED");
    let m = manifest(&reg, &image);
    let layer = &m["layers"][0];
    let repo = image.split(':').next().unwrap();
    let bytes = blob(&reg, repo, layer["digest"].as_str().unwrap());
    assert!((bytes.len() as u64) < layer["size"].as_u64().unwrap());

    let m = manifest(&reg, &name_of("BADMANIFEST"));
    assert!(m.get("layers").is_none() && m.get("config").is_none());
    let m = manifest(&reg, &name_of("DIGESTPATH"));
    assert!(m["layers"][0]["digest"].as_str().unwrap().contains("../"));
    let m = manifest(&reg, &name_of("BADMEDIA"));
    assert!(m["layers"][0]["mediaType"]
        .as_str()
        .unwrap()
        .contains("unsupported"));
    manifest(&reg, &name_of("GOOD"));
}

#[test]
fn podman_runs_the_fixture() {
    let env = TestEnv::new();
    let r = env
        .podman(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "cat /opaque/new; ls /opaque /etc/deleted-me",
        ])
        .code(1);
    assert!(
        r.stdout.contains("added by the upper layer"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("old"), "{}", r.stdout);
    assert!(r.stderr.contains("/etc/deleted-me"), "{}", r.stderr);
}
