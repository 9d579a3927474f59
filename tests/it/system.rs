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
