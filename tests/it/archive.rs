//! `save` and `load`: round trips through both archive formats, with rctr alone and with podman
//! in both directions, and malformed archives that must be refused with nothing loaded.

use crate::harness::{fixture, TestEnv};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file the busybox fixture's upper layer adds, to check that content survives.
const FIXTURE_FILE: &str = "etc/rctr-fixture";

fn rctr_id(env: &TestEnv, name: &str) -> String {
    env.rctr(&["image", "inspect", "--format", "{{.Id}}", name])
        .ok()
        .out()
        .trim_start_matches("sha256:")
        .to_string()
}

fn podman_id(env: &TestEnv, name: &str) -> String {
    env.podman(&["image", "inspect", "--format", "{{.Id}}", name])
        .ok()
        .out()
        .trim_start_matches("sha256:")
        .to_string()
}

/// Every image as `id names…`, sorted: what must not change when a load fails.
fn image_list(env: &TestEnv) -> String {
    let out = env
        .rctr(&["images", "--format", "{{.Id}} {{.Repository}}:{{.Tag}}"])
        .ok();
    let mut lines: Vec<&str> = out.stdout.lines().collect();
    lines.sort();
    lines.join("\n")
}

/// The content of `rel` as rctr's store unpacked it, searched in every layer.
fn file_in_store(env: &TestEnv, rel: &str) -> Option<Vec<u8>> {
    let layers = env.store().join("layers");
    std::fs::read_dir(layers)
        .ok()?
        .flatten()
        .find_map(|e| std::fs::read(e.path().join("diff").join(rel)).ok())
}

fn tar_names(path: &Path) -> Vec<String> {
    let f = std::fs::File::open(path).unwrap();
    let mut a = tar::Archive::new(f);
    a.entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
        .collect()
}

fn pulled(env: &TestEnv, image: &str) -> String {
    env.rctr(&["pull", "-q", image]).ok();
    rctr_id(env, image)
}

#[test]
fn save_and_load_round_trip_in_both_formats() {
    let src = TestEnv::new();
    let bb = fixture("BUSYBOX");
    let id = pulled(&src, &bb);
    let content = file_in_store(&src, FIXTURE_FILE).expect("fixture file unpacked by pull");
    for (format, marker) in [
        ("docker-archive", "manifest.json"),
        ("oci-archive", "index.json"),
    ] {
        let file = src.path().join(format!("bb-{format}.tar"));
        src.rctr(&[
            "save",
            "-q",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            &bb,
        ])
        .ok();
        let names = tar_names(&file);
        assert!(names.iter().any(|n| n == marker), "{format}: {names:?}");
        let dst = TestEnv::new();
        dst.rctr(&["load", "-i", file.to_str().unwrap()])
            .ok()
            .stdout_has(&format!("Loaded image: {bb}"));
        assert_eq!(rctr_id(&dst, &bb), id, "{format}: image id changed");
        assert_eq!(
            file_in_store(&dst, FIXTURE_FILE).as_deref(),
            Some(&content[..]),
            "{format}"
        );
        // Loading again is idempotent: same image, nothing duplicated.
        dst.rctr(&["load", "-q", "-i", file.to_str().unwrap()]).ok();
        assert_eq!(image_list(&dst).lines().count(), 1, "{}", image_list(&dst));
    }
}

#[test]
fn docker_archive_has_uncompressed_layers_matching_diff_ids() {
    let env = TestEnv::new();
    let bb = fixture("BUSYBOX");
    pulled(&env, &bb);
    let file = env.path().join("bb.tar");
    env.rctr(&["save", "-o", file.to_str().unwrap(), &bb])
        .ok()
        .stderr_has("Copying blob sha256:");
    let mut a = tar::Archive::new(std::fs::File::open(&file).unwrap());
    let mut layers = Vec::new();
    let mut manifest = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        if name == "manifest.json" {
            manifest = data;
        } else if let Some(hex) = name.strip_suffix(".tar") {
            use sha2::Digest;
            assert_eq!(hex::encode(sha2::Sha256::digest(&data)), hex, "{name}");
            layers.push(name);
        }
    }
    let m: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(m[0]["RepoTags"][0], bb.as_str());
    assert_eq!(m[0]["Layers"].as_array().unwrap().len(), layers.len());
}

#[test]
fn load_reads_stdin_gzip_compressed() {
    let src = TestEnv::new();
    let bb = fixture("BUSYBOX");
    let id = pulled(&src, &bb);
    let file = src.path().join("bb.tar");
    src.rctr(&["save", "-q", "-o", file.to_str().unwrap(), &bb])
        .ok();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&std::fs::read(&file).unwrap()).unwrap();
    let dst = TestEnv::new();
    let out = dst.rctr_stdin(&["load", "-q"], &gz.finish().unwrap()).ok();
    assert_eq!(out.out(), format!("Loaded image: {bb}"));
    assert_eq!(rctr_id(&dst, &bb), id);
}

#[test]
fn save_to_stdout_and_refuse_missing_images() {
    let env = TestEnv::new();
    let bb = fixture("BUSYBOX");
    pulled(&env, &bb);
    let out = env
        .cmd(&["save", "-q", "--format", "oci-archive", &bb])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dst = TestEnv::new();
    dst.rctr_stdin(&["load"], &out.stdout)
        .ok()
        .stdout_has(&format!("Loaded image: {bb}"));
    env.rctr(&["save", "-o", "/dev/null", "no-such-image:1"])
        .code(125)
        .stderr_has("no-such-image");
}

#[test]
fn several_images_and_tags_in_one_archive() {
    let src = TestEnv::new();
    let bb = fixture("BUSYBOX");
    let zstd = fixture("ZSTD");
    let bb_id = pulled(&src, &bb);
    let zstd_id = pulled(&src, &zstd);
    for format in ["docker-archive", "oci-archive"] {
        let file = src.path().join(format!("multi-{format}.tar"));
        src.rctr(&[
            "save",
            "-q",
            "-m",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            &bb,
            &zstd,
        ])
        .ok();
        let dst = TestEnv::new();
        let out = dst.rctr(&["load", "-i", file.to_str().unwrap()]).ok();
        out.stdout_has(&format!("Loaded image: {bb}"))
            .stdout_has(&format!("Loaded image: {zstd}"));
        assert_eq!(rctr_id(&dst, &bb), bb_id, "{format}");
        assert_eq!(rctr_id(&dst, &zstd), zstd_id, "{format}");
        assert!(file_in_store(&dst, "etc/zstd-marker").is_some(), "{format}");
    }
    // Without -m, the names after the first are extra tags of the first image.
    let extra = format!(
        "{}/extra/tag:{}",
        crate::harness::registry(),
        std::process::id()
    );
    let file = src.path().join("tags.tar");
    src.rctr(&["save", "-q", "-o", file.to_str().unwrap(), &bb, &extra])
        .ok();
    let dst = TestEnv::new();
    dst.rctr(&["load", "-i", file.to_str().unwrap()])
        .ok()
        .stdout_has(&format!("Loaded image: {bb}"))
        .stdout_has(&format!("Loaded image: {extra}"));
    assert_eq!(rctr_id(&dst, &extra), bb_id);
}

#[test]
fn podman_archives_load_into_rctr() {
    let env = TestEnv::new();
    let bb = fixture("BUSYBOX");
    env.podman(&["pull", "-q", &bb]).ok();
    let id = podman_id(&env, &bb);
    let content = env
        .podman(&["run", "--rm", &bb, "cat", &format!("/{FIXTURE_FILE}")])
        .ok()
        .stdout;
    for format in ["docker-archive", "oci-archive"] {
        let file = env.path().join(format!("podman-{format}.tar"));
        env.podman(&[
            "save",
            "-q",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            &bb,
        ])
        .ok();
        let dst = TestEnv::new();
        dst.rctr(&["load", "-i", file.to_str().unwrap()])
            .ok()
            .stdout_has(&format!("Loaded image: {bb}"));
        assert_eq!(rctr_id(&dst, &bb), id, "{format}");
        assert_eq!(
            file_in_store(&dst, FIXTURE_FILE).map(|c| String::from_utf8_lossy(&c).into_owned()),
            Some(content.clone()),
            "{format}"
        );
        // And the loaded image runs.
        let out = dst
            .rctr(&[
                "run",
                "--rm",
                "--network",
                "none",
                &bb,
                "cat",
                &format!("/{FIXTURE_FILE}"),
            ])
            .ok();
        assert_eq!(out.stdout, content, "{format}");
    }
}

#[test]
fn rctr_archives_load_into_podman() {
    let env = TestEnv::new();
    let bb = fixture("BUSYBOX");
    let id = pulled(&env, &bb);
    let content = String::from_utf8(file_in_store(&env, FIXTURE_FILE).unwrap()).unwrap();
    for format in ["docker-archive", "oci-archive"] {
        let file = env.path().join(format!("rctr-{format}.tar"));
        env.rctr(&[
            "save",
            "-q",
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            &bb,
        ])
        .ok();
        env.podman(&["load", "-i", file.to_str().unwrap()])
            .ok()
            .stdout_has(&format!("Loaded image: {bb}"));
        assert_eq!(podman_id(&env, &bb), id, "{format}");
        let out = env
            .podman(&["run", "--rm", &bb, "cat", &format!("/{FIXTURE_FILE}")])
            .ok();
        assert_eq!(out.stdout, content, "{format}");
        env.podman(&["rmi", "-f", &bb]).ok();
    }
}

/// Writes a tar of `entries` to `path`.
fn write_tar(path: &PathBuf, entries: &[(&str, &[u8])]) {
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.finish().unwrap();
}

/// Rewrites the tar at `path` with a symlink added at the end.
fn append_symlink(path: &PathBuf, name: &str, target: &str) {
    let data = std::fs::read(path).unwrap();
    let mut b = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut a = tar::Archive::new(&data[..]);
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let h = e.header().clone();
        b.append(&h, &mut e).unwrap();
    }
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    h.set_mode(0o777);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    b.append_link(&mut h, name, target).unwrap();
    b.finish().unwrap();
}

fn sha(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// A minimal valid layer: a tar with one file.
fn layer_tar() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    b.append_data(&mut h, "hello", &b"hi\n"[..]).unwrap();
    b.into_inner().unwrap()
}

fn config_for(diff_id: &str) -> Vec<u8> {
    format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":["sha256:{diff_id}"]}}}}"#
    )
    .into_bytes()
}

#[test]
fn malformed_archives_are_refused_and_load_nothing() {
    let env = TestEnv::new();
    let bb = fixture("BUSYBOX");
    pulled(&env, &bb);
    let before = image_list(&env);
    let layer = layer_tar();
    let lhex = sha(&layer);
    let config = config_for(&lhex);
    let chex = sha(&config);
    let lname = format!("{lhex}.tar");
    let cname = format!("{chex}.json");
    let manifest =
        format!(r#"[{{"Config":"{cname}","RepoTags":["bad/image:1"],"Layers":["{lname}"]}}]"#);

    // (archive name, entries, what stderr must name besides the archive)
    let bad_layer = b"not the layer".to_vec();
    let wrong_config = config_for(&"0".repeat(64));
    let oci_manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{chex}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:{lhex}","size":{}}}]}}"#,
        config.len(),
        layer.len()
    );
    let mhex = sha(oci_manifest.as_bytes());
    let index = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{mhex}","size":{}}}]}}"#,
        oci_manifest.len()
    );
    // (archive name, its entries as (path, bytes), what the error must name)
    type Case<'a> = (&'a str, Vec<(String, Vec<u8>)>, String);
    let cases: Vec<Case> = vec![
        (
            "badjson.tar",
            vec![("manifest.json".into(), b"[{\"Config\": ".to_vec())],
            "manifest.json".into(),
        ),
        (
            "missing-layer.tar",
            vec![
                ("manifest.json".into(), manifest.clone().into_bytes()),
                (cname.clone(), config.clone()),
            ],
            lname.clone(),
        ),
        (
            "layer-mismatch.tar",
            vec![
                ("manifest.json".into(), manifest.clone().into_bytes()),
                (cname.clone(), config.clone()),
                (lname.clone(), bad_layer),
            ],
            lname.clone(),
        ),
        (
            "config-mismatch.tar",
            vec![
                ("manifest.json".into(), manifest.clone().into_bytes()),
                (cname.clone(), wrong_config),
                (lname.clone(), layer.clone()),
            ],
            cname.clone(),
        ),
        (
            "oci-missing-blob.tar",
            vec![
                (
                    "oci-layout".into(),
                    br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
                ),
                ("index.json".into(), index.clone().into_bytes()),
                (
                    format!("blobs/sha256/{mhex}"),
                    oci_manifest.clone().into_bytes(),
                ),
                (format!("blobs/sha256/{chex}"), config.clone()),
            ],
            format!("blobs/sha256/{lhex}"),
        ),
        (
            "oci-blob-mismatch.tar",
            vec![
                (
                    "oci-layout".into(),
                    br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
                ),
                ("index.json".into(), index.clone().into_bytes()),
                (
                    format!("blobs/sha256/{mhex}"),
                    oci_manifest.clone().into_bytes(),
                ),
                (format!("blobs/sha256/{chex}"), config.clone()),
                (format!("blobs/sha256/{lhex}"), b"tampered".to_vec()),
            ],
            format!("blobs/sha256/{lhex}"),
        ),
        (
            "neither.tar",
            vec![("hello.txt".into(), b"hi".to_vec())],
            "neither a docker-archive".into(),
        ),
    ];
    for (name, entries, names) in cases {
        let path = env.path().join(name);
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_slice()))
            .collect();
        write_tar(&path, &refs);
        env.rctr(&["load", "-i", path.to_str().unwrap()])
            .code(125)
            .stderr_has(name)
            .stderr_has(&names);
        assert_eq!(image_list(&env), before, "{name} changed the images");
    }

    // The well-formed version of the same archive loads: the cases above fail for their fault.
    // It uses docker's older layout, `<v1-id>/layer.tar`, here a symlink as podman writes them.
    let legacy = format!(
        r#"[{{"Config":"{cname}","RepoTags":["bad/image:1"],"Layers":["v1id/layer.tar"]}}]"#
    );
    let good = env.path().join("good.tar");
    write_tar(
        &good,
        &[
            ("manifest.json", legacy.as_bytes()),
            (&cname, &config),
            (&lname, &layer),
        ],
    );
    append_symlink(&good, "v1id/layer.tar", &format!("../{lname}"));
    env.rctr(&["load", "-i", good.to_str().unwrap()])
        .ok()
        .stdout_has("Loaded image: docker.io/bad/image:1");
    assert_eq!(file_in_store(&env, "hello").as_deref(), Some(&b"hi\n"[..]));

    // A layer that is already present is not unpacked again, but an archive whose blob does not
    // decompress to the config's diff_id is still refused.
    let before = image_list(&env);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"some other content").unwrap();
    let other = gz.finish().unwrap();
    let ohex = sha(&other);
    let m2 = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{chex}","size":{}}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{ohex}","size":{}}}]}}"#,
        config.len(),
        other.len()
    );
    let m2hex = sha(m2.as_bytes());
    let index2 = format!(
        r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:{m2hex}","size":{},"annotations":{{"org.opencontainers.image.ref.name":"other:1"}}}}]}}"#,
        m2.len()
    );
    let path = env.path().join("present-layer-mismatch.tar");
    write_tar(
        &path,
        &[
            ("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
            ("index.json", index2.as_bytes()),
            (&format!("blobs/sha256/{m2hex}"), m2.as_bytes()),
            (&format!("blobs/sha256/{chex}"), &config),
            (&format!("blobs/sha256/{ohex}"), &other),
        ],
    );
    env.rctr(&["load", "-i", path.to_str().unwrap()])
        .code(125)
        .stderr_has("present-layer-mismatch.tar")
        .stderr_has(&format!("blobs/sha256/{ohex}"))
        .stderr_has(&format!("expected sha256:{lhex}"));
    assert_eq!(image_list(&env), before);
}

/// Runs rctr under `script`, which gives it a pseudo-terminal for stdin and stdout.
fn rctr_on_terminal(env: &TestEnv, args: &str) -> (bool, String) {
    let base = env.cmd(&[]);
    let mut c = std::process::Command::new("script");
    c.env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            c.env(k, v);
        }
    }
    let line = format!("{} {args}", crate::harness::rctr_bin().display());
    let out = c
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("spawn script");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn save_and_load_refuse_a_terminal() {
    let env = TestEnv::new();
    let bb = fixture("BUSYBOX");
    pulled(&env, &bb);
    let (ok, out) = rctr_on_terminal(&env, &format!("save {bb}"));
    assert!(!ok && out.contains("refusing to save to terminal"), "{out}");
    let (ok, out) = rctr_on_terminal(&env, "load");
    assert!(!ok && out.contains("cannot read from terminal"), "{out}");
}
