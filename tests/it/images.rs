//! `images`, `rmi`, `tag`, `untag`, `history`, `image inspect|exists|prune` and the
//! `rctr image …` aliases.

use crate::harness::{registry, safename, tb, TestEnv};

fn pulled(names: &[&str]) -> TestEnv {
    let env = TestEnv::new();
    for n in names {
        env.rctr(&["pull", "-q", n]).ok();
    }
    env
}

fn layer_count(env: &TestEnv) -> usize {
    std::fs::read_dir(env.store().join("layers"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn images_table_and_flags() {
    let env = pulled(&["busybox"]);
    let id = env
        .rctr(&["images", "-q", "--no-trunc"])
        .ok()
        .out()
        .to_string();
    assert_eq!(id.len(), 71, "sha256: and 64 hex: {id}");
    let short = &id[7..19];
    let r = env.rctr(&["images"]).ok();
    let mut lines = r.stdout.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap()
        .split("  ")
        .filter(|s| !s.is_empty())
        .map(str::trim)
        .collect();
    assert_eq!(header, ["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"]);
    let row = lines.next().unwrap();
    assert!(row.starts_with(&format!("{}/busybox", registry())), "{row}");
    assert!(
        row.contains("latest") && row.contains(short) && row.contains("ago") && row.contains("MB"),
        "{row}"
    );
    assert_eq!(env.rctr(&["images", "-q"]).ok().out(), short);
    env.rctr(&["images", "--digests"])
        .ok()
        .stdout_has("DIGEST")
        .stdout_has(&tb("RCTR_TEST_BUSYBOX_DIGEST"));
    env.rctr(&["images", "--no-trunc"]).ok().stdout_has(&id);
    env.rctr(&["images", "-a", "-q"]).ok().stdout_has(short);
    let f = env
        .rctr(&[
            "images",
            "--format",
            "{{.Repository}}|{{.Tag}}|{{.ID}}|{{.Digest}}|{{.Created}}|{{.CreatedSince}}|{{.Size}}",
        ])
        .ok();
    let parts: Vec<&str> = f.out().split('|').collect();
    assert_eq!(parts[0], format!("{}/busybox", registry()));
    assert_eq!(parts[1], "latest");
    assert_eq!(parts[2], short);
    assert_eq!(parts[3], tb("RCTR_TEST_BUSYBOX_DIGEST"));
    assert!(
        parts[4].ends_with("ago") && parts[5].ends_with("ago"),
        "{parts:?}"
    );
    assert!(parts[6].ends_with("MB"), "{parts:?}");
    let j = env.rctr(&["images", "--format", "{{json .}}"]).ok();
    let v: serde_json::Value = serde_json::from_str(j.out()).unwrap();
    assert_eq!(v["ID"], short);
    let all = env.rctr(&["images", "--format", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&all.stdout).unwrap();
    assert_eq!(v[0]["Id"], &id[7..]);
    env.rctr(&["images", "--format", "table {{.ID}} {{.Size}}"])
        .ok()
        .stdout_has("IMAGE ID");
    // Aliases under `image`.
    env.rctr(&["image", "ls", "-q"]).ok().stdout_has(short);
    env.rctr(&["image", "list", "-q"]).ok().stdout_has(short);
    // A reference filter.
    env.rctr(&["images", "-q", "busybox"])
        .ok()
        .stdout_has(short);
    assert_eq!(env.rctr(&["images", "-q", "nothere"]).ok().out(), "");
}

#[test]
fn tag_untag_and_rmi() {
    let env = pulled(&["busybox"]);
    env.rctr(&["tag", "busybox", "mybox:1", "quay.example/x/y:2"])
        .ok();
    let names = env
        .rctr(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    assert!(
        names.stdout.contains("localhost/mybox:1"),
        "{}",
        names.stdout
    );
    assert!(names.stdout.contains("quay.example/x/y:2"));
    env.rctr(&["image", "exists", "mybox:1"]).ok();
    env.rctr(&["image", "exists", "localhost/mybox:1"]).ok();
    env.rctr(&["image", "exists", "mybox:2"]).code(1);
    env.rctr(&["untag", "busybox", "quay.example/x/y:2"]).ok();
    env.rctr(&["image", "exists", "quay.example/x/y:2"]).code(1);
    env.rctr(&["image", "tag", "busybox", "again:3"]).ok();
    env.rctr(&["image", "untag", "busybox", "again:3"]).ok();
    env.rctr(&["tag", "nothere", "x"])
        .code(125)
        .stderr_has("nothere");
    env.rctr(&["tag", "busybox", "Bad:Name"])
        .code(125)
        .stderr_has("Bad:Name");
    // rmi by one of several names only untags.
    env.rctr(&["rmi", "mybox:1"])
        .ok()
        .stdout_has("Untagged: localhost/mybox:1");
    env.rctr(&["image", "exists", "busybox"]).ok();
    // By id with several names needs -f.
    env.rctr(&["tag", "busybox", "second"]).ok();
    let id = env.rctr(&["images", "-q"]).ok().out().to_string();
    env.rctr(&["rmi", &id]).code(2).stderr_has("several names");
    let r = env.rctr(&["rmi", "-f", &id]).ok();
    assert!(r.stdout.contains("Deleted: "), "{}", r.stdout);
    assert_eq!(env.rctr(&["images", "-q"]).ok().out(), "");
    assert_eq!(
        layer_count(&env),
        0,
        "unused layers are removed with the image"
    );
    env.rctr(&["rmi", "busybox"]).code(1).stderr_has("busybox");
}

#[test]
fn rmi_several_all_and_untag_everything() {
    let env = pulled(&["busybox", "zstd", "multiarch"]);
    env.rctr(&["rmi", "busybox", "zstd"])
        .ok()
        .stdout_has("Deleted:");
    assert_eq!(env.rctr(&["images", "-q"]).ok().out().lines().count(), 1);
    env.rctr(&["untag", "multiarch"]).ok();
    env.rctr(&["images", "--format", "{{.Tag}}"])
        .ok()
        .stdout_has("<none>");
    env.rctr(&["pull", "-q", "busybox"]).ok();
    env.rctr(&["image", "rm", "-a"]).ok();
    assert_eq!(env.rctr(&["images", "-q"]).ok().out(), "");
    assert_eq!(layer_count(&env), 0);
    env.rctr(&["rmi"]).code(125);
}

#[test]
fn rmi_refuses_an_image_a_container_uses() {
    let env = pulled(&["busybox"]);
    env.rctr(&[
        "create",
        "--name",
        "user-ctr",
        "--network",
        "none",
        "busybox",
    ])
    .ok();
    env.rctr(&["rmi", "busybox"]).code(2).stderr_has("user-ctr");
    env.rctr(&["image", "exists", "busybox"]).ok();
    env.rctr(&["rm", "user-ctr"]).ok();
    env.rctr(&["rmi", "busybox"]).ok();
}

#[test]
fn inspect_is_podman_shaped() {
    let env = pulled(&["busybox"]);
    let r = env.rctr(&["image", "inspect", "busybox"]).ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let img = &v[0];
    assert_eq!(img["Id"].as_str().unwrap().len(), 64);
    assert_eq!(img["Digest"], tb("RCTR_TEST_BUSYBOX_DIGEST"));
    assert_eq!(img["RepoTags"][0], format!("{}/busybox:latest", registry()));
    assert!(img["RepoDigests"][0].as_str().unwrap().contains("@sha256:"));
    assert_eq!(img["Os"], "linux");
    assert_eq!(img["RootFS"]["Type"], "layers");
    assert_eq!(img["RootFS"]["Layers"].as_array().unwrap().len(), 2);
    assert_eq!(img["Config"]["Cmd"][0], "sh");
    assert!(img["Config"]["WorkingDir"].is_string());
    assert!(img["Size"].as_u64().unwrap() > 1_000_000);
    assert!(img["History"].is_array());
    assert!(img["Created"].is_string());
    let f = env
        .rctr(&[
            "image",
            "inspect",
            "--format",
            "{{.Os}}/{{.Architecture}} {{.Config.Cmd}}",
            "busybox",
        ])
        .ok();
    assert!(f.out().starts_with("linux/"), "{}", f.stdout);
    env.rctr(&["image", "inspect", "nothere"])
        .code(125)
        .stderr_has("nothere");
}

#[test]
fn history_lists_layers_newest_first() {
    let env = pulled(&["busybox"]);
    let r = env.rctr(&["history", "busybox"]).ok();
    let mut lines = r.stdout.lines();
    let header = lines.next().unwrap();
    for col in ["ID", "CREATED", "CREATED BY", "SIZE", "COMMENT"] {
        assert!(header.contains(col), "{header}");
    }
    let id = env.rctr(&["images", "-q"]).ok().out().to_string();
    assert!(lines.next().unwrap().starts_with(&id));
    assert!(lines.next().unwrap().starts_with("<missing>"));
    let q = env.rctr(&["history", "-q", "busybox"]).ok();
    assert_eq!(q.out().lines().next().unwrap(), id);
    env.rctr(&["history", "--no-trunc", "-q", "busybox"])
        .ok()
        .stdout_has("sha256:");
    let f = env
        .rctr(&[
            "image",
            "history",
            "--format",
            "{{.ID}}|{{.Size}}",
            "busybox",
        ])
        .ok();
    assert!(f.out().lines().all(|l| l.contains('|')), "{}", f.stdout);
    let raw = env
        .rctr(&["history", "-H=false", "--format", "{{.Size}}", "busybox"])
        .ok();
    assert!(
        raw.out().lines().all(|l| l.parse::<u64>().is_ok()),
        "{}",
        raw.stdout
    );
}

#[test]
fn prune_removes_dangling_images_and_their_layers() {
    let env = pulled(&["multiarch"]);
    let before = layer_count(&env);
    // Pulling the other platform under the same tag leaves the first one dangling.
    env.rctr(&["pull", "-q", "--platform", "linux/arm64", "multiarch"])
        .ok();
    let dangling = env
        .rctr(&["images", "--no-trunc", "--format", "{{.Tag}} {{.ID}}"])
        .ok();
    let old = dangling
        .out()
        .lines()
        .find(|l| l.starts_with("<none>"))
        .expect("a dangling image")
        .split(' ')
        .nth(1)
        .unwrap()
        .trim_start_matches("sha256:")
        .to_string();
    assert!(layer_count(&env) > before);
    let r = env.rctr(&["image", "prune", "-f"]).ok();
    assert_eq!(r.out(), old);
    assert_eq!(env.rctr(&["images", "-q"]).ok().out().lines().count(), 1);
    assert_eq!(
        layer_count(&env),
        before,
        "the dangling image's own layer is gone"
    );
    // Without -f it asks, and a "no" changes nothing.
    env.rctr_stdin(&["image", "prune", "-a"], b"n\n").ok();
    assert_eq!(env.rctr(&["images", "-q"]).ok().out().lines().count(), 1);
    env.rctr_stdin(&["image", "prune", "-a"], b"y\n").ok();
    assert_eq!(env.rctr(&["images", "-q"]).ok().out(), "");
    assert_eq!(layer_count(&env), 0);
}

#[test]
fn rmi_force_removes_the_containers_using_the_image() {
    let env = pulled(&["busybox"]);
    let stopped = safename("rmi-stopped");
    let running = safename("rmi-running");
    env.rctr(&[
        "create",
        "--network",
        "none",
        "--name",
        &stopped,
        "busybox",
        "true",
    ])
    .ok();
    env.rctr(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        &running,
        "busybox",
        "sleep",
        "600",
    ])
    .ok();
    env.rctr(&["rmi", "busybox"]).code(2).stderr_has("in use");
    env.rctr(&["rmi", "-f", "busybox"])
        .ok()
        .stdout_has("Deleted:");
    assert_eq!(env.rctr(&["ps", "-a", "-q"]).ok().out(), "");
    env.rctr(&["image", "exists", "busybox"]).code(1);
}

#[test]
fn prune_keeps_an_image_pulled_by_digest() {
    let env = TestEnv::new();
    let by_digest = format!("{}/busybox@{}", registry(), tb("RCTR_TEST_BUSYBOX_DIGEST"));
    env.rctr(&["pull", "-q", &by_digest]).ok();
    env.rctr(&["image", "prune", "-f"]).ok();
    assert_ne!(
        env.rctr(&["images", "-q"]).ok().out(),
        "",
        "pruned as dangling"
    );
    env.rctr(&["run", "--rm", "--network", "none", &by_digest, "true"])
        .ok();
    // `run --rm` renames its container's directory and deletes it in the background; until
    // that is done, the renamed record must not keep the image in use. Leave one behind.
    let images = env.rctr(&["images", "-q", "--no-trunc"]).ok();
    let id = images.out().trim_start_matches("sha256:");
    let retired = env
        .store()
        .join("containers")
        .join(format!(".removing-{}", "e".repeat(64)));
    std::fs::create_dir_all(&retired).unwrap();
    std::fs::write(
        retired.join("config.json"),
        format!(r#"{{"name":"gone","image_id":"{id}"}}"#),
    )
    .unwrap();
    env.rctr(&["image", "prune", "-a", "-f"]).ok();
    assert_eq!(env.rctr(&["images", "-q"]).ok().out(), "");
}
