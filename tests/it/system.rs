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
