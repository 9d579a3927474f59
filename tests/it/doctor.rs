//! `doctor` and `completion`, as the unprivileged user.

use crate::harness::TestEnv;

#[test]
fn doctor_passes_on_the_test_bed() {
    let env = TestEnv::new();
    let r = env.rctr(&["doctor"]).ok();
    for name in ["subuid", "newuidmap", "userns", "tun", "overlay"] {
        assert!(
            r.stdout
                .lines()
                .any(|l| l.starts_with("[ OK ]") && l.contains(name)),
            "{name} not OK:\n{}",
            r.stdout
        );
    }
}

#[test]
fn doctor_fails_when_id_helpers_are_missing_from_path() {
    let env = TestEnv::new();
    let r = env
        .cmd(&["doctor"])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&r.stdout);
    assert_eq!(r.status.code(), Some(1), "{out}");
    assert!(out.contains("[FAIL] newuidmap"), "{out}");
    assert!(out.contains("fix: sudo apt-get install uidmap"), "{out}");
}

#[test]
fn doctor_warns_when_runtime_dir_is_unset() {
    let env = TestEnv::new();
    let r = env
        .cmd(&["doctor", "--format", "json"])
        .env_remove("XDG_RUNTIME_DIR")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    let c = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "XDG_RUNTIME_DIR")
        .unwrap();
    assert_eq!(c["status"], "Warn");
    assert!(c["fix"].as_str().unwrap().contains("enable-linger"));
}

#[test]
fn bash_completion_loads_and_completes_subcommands() {
    let env = TestEnv::new();
    let script = env.rctr(&["completion", "bash"]).ok().stdout;
    let bin_dir = crate::harness::rctr_bin().parent().unwrap().to_owned();
    let file = env.path().join("rctr.bash");
    std::fs::write(&file, script).unwrap();
    // The script calls `rctr` from PATH, as an installed package would.
    let probe = format!(
        "source {}; COMP_WORDS=(rctr doc); COMP_CWORD=1; _clap_complete_rctr rctr doc rctr; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display()
    );
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&probe)
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("HOME", &env.home)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l.trim() == "doctor"),
        "completions: {text:?} stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn completion_rejects_unknown_shell() {
    let env = TestEnv::new();
    env.rctr(&["completion", "tcsh"])
        .code(125)
        .stderr_has("tcsh");
}
