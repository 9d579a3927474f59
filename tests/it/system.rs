//! `version`, `system reset`.

use crate::harness::TestEnv;

#[test]
fn version_prints_and_formats() {
    let env = TestEnv::new();
    env.rctr(&["version"])
        .ok()
        .stdout_has(env!("CARGO_PKG_VERSION"));
    let r = env
        .rctr(&["version", "--format", "{{.Client.Version}}"])
        .ok();
    assert_eq!(r.out(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn unknown_flag_exits_125() {
    let env = TestEnv::new();
    env.rctr(&["version", "--bogus"]).code(125);
}

#[test]
fn bad_config_names_the_file() {
    let env = TestEnv::new();
    env.write_config("[storage]\ndriver = 7\n");
    env.rctr(&["version"]).code(125).stderr_has("config.toml");
}

#[test]
fn reset_removes_the_store() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.store().join("layers")).unwrap();
    env.rctr(&["system", "reset"]).code(125).stderr_has("-f");
    env.rctr(&["system", "reset", "-f"]).ok();
    assert!(!env.store().exists());
}

#[test]
fn reset_stops_running_containers_and_their_monitors() {
    let env = TestEnv::new();
    // A duration no other test uses, to find this container's process.
    env.rctr(&["run", "-d", "--network", "none", "busybox", "sleep", "7391"])
        .ok();
    let running = || {
        std::process::Command::new("pgrep")
            .args(["-f", "sleep 7391"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    assert!(running(), "the container did not start");
    env.rctr(&["system", "reset", "-f"]).ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while running() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(!running(), "the container outlived system reset");
    assert!(!env.store().exists());
}

#[test]
fn info_reports_host_store_and_registries() {
    let env = TestEnv::new();
    let r = env.rctr(&["info", "--format", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["host"]["os"], "linux");
    let rootless = nix::unistd::getuid().as_raw() != 0;
    assert_eq!(v["host"]["rootless"], rootless);
    if rootless {
        assert_eq!(v["host"]["idMappings"]["uidmap"][0]["container_id"], 0);
        assert!(
            v["host"]["idMappings"]["uidmap"].as_array().unwrap().len() >= 2,
            "full mapping expected"
        );
    }
    assert_eq!(v["store"]["graphRoot"], env.store().to_str().unwrap());
    assert_eq!(v["store"]["imageStore"]["number"], 0);
    assert_eq!(v["registries"]["search"][0], crate::harness::registry());
    let t = env
        .rctr(&[
            "info",
            "--format",
            "{{.Store.GraphDriverName}}|{{.Host.Arch}}",
        ])
        .ok();
    let (driver, arch) = t.out().split_once('|').unwrap();
    assert!(
        ["overlay", "fuse-overlayfs", "vfs"].contains(&driver),
        "{driver}"
    );
    assert_eq!(arch, "amd64");
    env.rctr(&["info"]).ok().stdout_has("graphDriverName: ");
}

#[test]
fn df_and_prune_account_for_images_containers_and_volumes() {
    let env = TestEnv::new();
    env.rctr(&["pull", "-q", "busybox"]).ok();
    let vol = crate::harness::safename("v");
    let name = crate::harness::safename("c");
    env.rctr(&[
        "run",
        "--name",
        &name,
        "-v",
        &format!("{vol}:/data"),
        "busybox",
        "sh",
        "-c",
        "echo hi > /data/f",
    ])
    .ok();
    let df = env
        .rctr(&[
            "system",
            "df",
            "--format",
            "{{.Type}}={{.Total}}/{{.Active}}",
        ])
        .ok();
    assert_eq!(
        df.out(),
        "Images=1/1\nContainers=1/0\nLocal Volumes=1/1",
        "{}",
        df.stdout
    );
    env.rctr(&["system", "df"])
        .ok()
        .stdout_has("TYPE")
        .stdout_has("RECLAIMABLE");
    // Without -f and without a terminal, prune refuses rather than guessing.
    env.rctr(&["system", "prune"]).code(125).stderr_has("-f");
    let p = env.rctr(&["system", "prune", "-f", "--volumes"]).ok();
    assert!(p.stdout.contains("Deleted Containers"), "{}", p.stdout);
    assert!(p.stdout.contains(&vol), "{}", p.stdout);
    let df = env
        .rctr(&["system", "df", "--format", "{{.Type}}={{.Total}}"])
        .ok();
    // The tagged image is not dangling, so it stays without -a.
    assert_eq!(df.out(), "Images=1\nContainers=0\nLocal Volumes=0");
    env.rctr(&["system", "prune", "-f", "-a"])
        .ok()
        .stdout_has("Deleted Images");
    let df = env
        .rctr(&["system", "df", "--format", "{{.Type}}={{.Total}}"])
        .ok();
    assert_eq!(df.out(), "Images=0\nContainers=0\nLocal Volumes=0");
}
