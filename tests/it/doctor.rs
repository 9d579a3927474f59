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

/// Completes the last of `words` with the bash script `rctr completion bash` prints. The script
/// calls `rctr` from PATH, as an installed package would, here in `env`'s own store.
fn bash_complete(env: &TestEnv, words: &[&str]) -> Vec<String> {
    let script = env.rctr(&["completion", "bash"]).ok().stdout;
    let file = env.path().join("rctr.bash");
    std::fs::write(&file, script).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let (cur, prev) = (words[words.len() - 1], words[words.len() - 2]);
    let probe = format!(
        "source {}; COMP_WORDS=({}); COMP_CWORD={}; _clap_complete_rctr rctr '{cur}' '{prev}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        file.display(),
        quoted.join(" "),
        words.len() - 1,
    );
    let bin_dir = crate::harness::rctr_bin().parent().unwrap().to_owned();
    let mut cmd = env.cmd(&[]);
    let envs: Vec<(std::ffi::OsString, std::ffi::OsString)> = cmd
        .get_envs()
        .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned())))
        .collect();
    cmd.env_clear();
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&probe)
        .env_clear()
        .envs(envs)
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completion_loads_and_completes_subcommands() {
    let env = TestEnv::new();
    let got = bash_complete(&env, &["rctr", "doc"]);
    assert!(got.iter().any(|l| l == "doctor"), "completions: {got:?}");
}

#[test]
fn bash_completion_offers_volume_names() {
    let env = TestEnv::new();
    let vol = crate::harness::safename("vol");
    env.rctr(&["volume", "create", &vol]).ok();
    let got = bash_complete(&env, &["rctr", "volume", "rm", ""]);
    assert!(got.contains(&vol), "volume rm completions: {got:?}");
    let got = bash_complete(&env, &["rctr", "volume", "create", ""]);
    assert!(
        !got.contains(&vol),
        "volume create must not offer existing names: {got:?}"
    );
}

#[test]
fn completion_rejects_unknown_shell() {
    let env = TestEnv::new();
    env.rctr(&["completion", "tcsh"])
        .code(125)
        .stderr_has("tcsh");
}
