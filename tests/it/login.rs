//! `login` and `logout` against the test bed's htpasswd registry.

use crate::harness::{tb, TestEnv};
use std::os::unix::fs::PermissionsExt;

fn auth_registry() -> (String, String, String) {
    (
        tb("RCTR_TEST_AUTH_REGISTRY"),
        tb("RCTR_TEST_AUTH_USER"),
        tb("RCTR_TEST_AUTH_PASS"),
    )
}

fn auth_json(env: &TestEnv) -> std::path::PathBuf {
    env.runtime_dir.join("containers/auth.json")
}

#[test]
fn login_with_wrong_password_fails_and_writes_nothing() {
    let env = TestEnv::new();
    let (reg, user, _) = auth_registry();
    env.rctr(&["login", "-u", &user, "-p", "not-the-password", &reg])
        .code(125)
        .stderr_has(&reg)
        .stderr_has("invalid username/password");
    assert!(!auth_json(&env).exists());
    env.rctr(&["login", "--get-login", &reg])
        .code(125)
        .stderr_has(&format!("not logged into {reg}"));
}

#[test]
fn login_stores_credentials_privately_and_get_login_reads_them() {
    let env = TestEnv::new();
    let (reg, user, pass) = auth_registry();
    // Another registry's entry and unknown fields must survive the rewrite.
    let file = auth_json(&env);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::set_permissions(
        file.parent().unwrap(),
        std::fs::Permissions::from_mode(0o700),
    )
    .unwrap();
    std::fs::write(
        &file,
        r#"{"auths":{"other.example:1":{"auth":"eDp5"}},"HttpHeaders":{"X":"1"}}"#,
    )
    .unwrap();
    env.rctr(&["login", "-u", &user, "-p", &pass, &reg])
        .ok()
        .stdout_has("Login Succeeded!");
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(doc["auths"][&reg]["auth"].is_string(), "{text}");
    assert!(doc["auths"]["other.example:1"].is_object(), "{text}");
    assert_eq!(doc["HttpHeaders"]["X"], "1");
    let out = env.rctr(&["login", "--get-login", &reg]).ok();
    assert_eq!(out.out(), user);
    // No -u/-p: the stored credentials are checked and reused.
    env.rctr(&["login", &reg])
        .ok()
        .stdout_has(&format!("Already logged in to {reg}"));
}

#[test]
fn login_creates_the_auth_directory_0700() {
    let env = TestEnv::new();
    let (reg, user, pass) = auth_registry();
    env.rctr(&["login", "-u", &user, "-p", &pass, &reg]).ok();
    let dir = auth_json(&env).parent().unwrap().to_owned();
    assert_eq!(
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn login_password_stdin() {
    let env = TestEnv::new();
    let (reg, user, pass) = auth_registry();
    env.rctr_stdin(
        &["login", "-u", &user, "--password-stdin", &reg],
        format!("{pass}\n").as_bytes(),
    )
    .ok()
    .stdout_has("Login Succeeded!");
    env.rctr_stdin(
        &["login", "-u", &user, "--password-stdin", &reg],
        b"wrong\n",
    )
    .code(125)
    .stderr_has(&reg);
    env.rctr(&["login", "--password-stdin", &reg])
        .code(125)
        .stderr_has("--username");
}

#[test]
fn login_authfile_option_writes_there() {
    let env = TestEnv::new();
    let (reg, user, pass) = auth_registry();
    let file = env.path().join("elsewhere/my-auth.json");
    let f = file.to_str().unwrap();
    env.rctr(&["login", "--authfile", f, "-u", &user, "-p", &pass, &reg])
        .ok();
    assert!(file.exists());
    assert!(!auth_json(&env).exists());
    let out = env
        .rctr(&["login", "--authfile", f, "--get-login", &reg])
        .ok();
    assert_eq!(out.out(), user);
    env.rctr(&["logout", "--authfile", f, &reg])
        .ok()
        .stdout_has(&format!("Removed login credentials for {reg}"));
}

#[test]
fn logout_removes_one_registry_or_all() {
    let env = TestEnv::new();
    let (reg, user, pass) = auth_registry();
    env.rctr(&["logout", &reg])
        .code(125)
        .stderr_has(&format!("not logged into {reg}"));
    env.rctr(&["login", "-u", &user, "-p", &pass, &reg]).ok();
    env.rctr(&["logout", &reg])
        .ok()
        .stdout_has(&format!("Removed login credentials for {reg}"));
    env.rctr(&["login", "--get-login", &reg]).code(125);

    env.rctr(&["login", "-u", &user, "-p", &pass, &reg]).ok();
    let file = auth_json(&env);
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    doc["auths"]["other.example:1"] = serde_json::json!({"auth": "eDp5"});
    std::fs::write(&file, doc.to_string()).unwrap();
    env.rctr(&["logout", "--all"])
        .ok()
        .stdout_has("Removed login credentials for all registries");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(doc["auths"], serde_json::json!({}));
}

#[test]
fn docker_config_is_a_fallback() {
    let env = TestEnv::new();
    let (reg, user, pass) = auth_registry();
    use base64::Engine as _;
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let docker = env.home.join(".docker/config.json");
    std::fs::create_dir_all(docker.parent().unwrap()).unwrap();
    // docker writes URL keys; they must match the bare host:port.
    std::fs::write(
        &docker,
        format!(r#"{{"auths":{{"http://{reg}/v1/":{{"auth":"{enc}"}}}}}}"#),
    )
    .unwrap();
    let out = env.rctr(&["login", "--get-login", &reg]).ok();
    assert_eq!(out.out(), user);
    env.rctr(&["login", &reg])
        .ok()
        .stdout_has("Existing credentials are valid");
    // logout only edits rctr's file, and says where the credentials come from.
    env.rctr(&["logout", &reg])
        .code(125)
        .stderr_has("docker logout");
}

#[test]
fn docker_credential_helper_is_reported() {
    let env = TestEnv::new();
    let (reg, _, _) = auth_registry();
    let docker = env.home.join(".docker/config.json");
    std::fs::create_dir_all(docker.parent().unwrap()).unwrap();
    std::fs::write(&docker, r#"{"auths":{},"credsStore":"secretservice"}"#).unwrap();
    env.rctr(&["login", "--get-login", &reg])
        .code(125)
        .stderr_has("docker-credential-secretservice");
}

#[test]
fn pull_from_auth_registry_needs_login() {
    let env = TestEnv::new();
    let (reg, user, pass) = auth_registry();
    let image = format!("{reg}/busybox:latest");
    env.rctr(&["pull", "-q", &image])
        .code(125)
        .stderr_has(&reg)
        .stderr_has("authentication");
    env.rctr(&["login", "-u", &user, "-p", &pass, &reg]).ok();
    env.rctr(&["pull", "-q", &image]).ok();
    env.rctr(&["logout", &reg]).ok();
    // A wrong stored password is not silently replaced by anonymous access.
    use base64::Engine as _;
    let enc = base64::engine::general_purpose::STANDARD.encode(format!("{user}:wrong"));
    std::fs::write(
        auth_json(&env),
        format!(r#"{{"auths":{{"{reg}":{{"auth":"{enc}"}}}}}}"#),
    )
    .unwrap();
    env.rctr(&["pull", "-q", &image]).code(125).stderr_has(&reg);
}

#[test]
fn login_over_tls_checks_the_certificate() {
    let env = TestEnv::new();
    let reg = tb("RCTR_TEST_TLS_REGISTRY");
    // The test CA is not trusted yet: refused, and nothing written.
    env.rctr(&["login", "-u", "u", "-p", "p", &reg])
        .code(125)
        .stderr_has(&reg)
        .stderr_has("not trusted");
    assert!(!auth_json(&env).exists());
    // --tls-verify=false skips verification (this registry needs no credentials).
    env.rctr(&["login", "--tls-verify=false", "-u", "u", "-p", "p", &reg])
        .ok()
        .stdout_has("Login Succeeded!");
    // --cert-dir names a directory holding the CA.
    let certs = env.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(tb("RCTR_TEST_TLS_CA"), certs.join("ca.crt")).unwrap();
    env.rctr(&[
        "login",
        "--tls-verify=true",
        "--cert-dir",
        certs.to_str().unwrap(),
        "-u",
        "u",
        "-p",
        "p",
        &reg,
    ])
    .ok()
    .stdout_has("Login Succeeded!");
    // So does certs.d/<host:port>/ in the user's containers config, as podman reads it.
    env.trust_tls_ca();
    env.rctr(&["login", "-u", "u", "-p", "p", &reg])
        .ok()
        .stdout_has("Login Succeeded!");
}
