//! `generate systemd`'s options that shape the unit: its name (`--container-prefix`,
//! `--separator`, `--template`), dependencies, environment, timeouts and JSON output.

use crate::harness::safename;

#[test]
fn unit_options_change_the_generated_unit() {
    let env = crate::run::env();
    let name = safename("gu");
    let cid = env.path().join("cid");
    env.rctr(&[
        "create",
        "--name",
        &name,
        "--cidfile",
        cid.to_str().unwrap(),
        "busybox",
        "sleep",
        "60",
    ])
    .ok();
    let unit = env
        .rctr(&[
            "generate",
            "systemd",
            "--no-header",
            "--new",
            "--template",
            "--name",
            "--restart-sec",
            "7",
            "--start-timeout",
            "33",
            "--stop-timeout",
            "12",
            "--wants",
            "a.service",
            "--wants",
            "b.service",
            "--after",
            "c.service",
            "--requires",
            "d.service",
            "-e",
            "FOO=bar baz",
            "--container-prefix",
            "ctr",
            "--separator",
            "_",
            &name,
        ])
        .ok()
        .stdout;
    let has = |s: &str| assert!(unit.contains(s), "unit lacks {s:?}:\n{unit}");
    has(&format!("Description=rctr ctr_{name}.service for %I\n"));
    has("\n# User-defined dependencies\nWants=a.service b.service\nAfter=c.service\nRequires=d.service\n\n[Service]\n");
    has("Environment=RCTR_SYSTEMD_UNIT=%n-%i\nEnvironment=\"FOO=bar baz\"\n");
    has("Restart=on-failure\nRestartSec=7\nTimeoutStartSec=33\nTimeoutStopSec=72\n");
    has(&format!("--rm -d --name {name}-%i busybox sleep 60\n"));
    has(&format!(" stop --ignore -t 12 {name}-%i\n"));
    has(&format!(" rm -f --ignore -t 12 {name}-%i\n"));
    // The recorded --cidfile would refuse every start after the first: the unit drops it.
    assert!(!unit.contains("--cidfile"), "{unit}");
    // --files names the file after the prefix, separator and template; --format json maps
    // the unit's name to its text, or to the file's path with --files.
    let files = env
        .cmd(&[
            "generate",
            "systemd",
            "--files",
            "--format",
            "json",
            "--template",
            "--name",
            "--container-prefix",
            "ctr",
            "--separator",
            "_",
            &name,
        ])
        .current_dir(env.path())
        .output()
        .unwrap();
    assert!(files.status.success(), "{files:?}");
    let v: serde_json::Value = serde_json::from_slice(&files.stdout).unwrap();
    let key = format!("ctr_{name}@");
    let path = v[&key].as_str().unwrap_or_else(|| panic!("{v}"));
    assert!(path.ends_with(&format!("/ctr_{name}@.service")), "{path}");
    assert!(std::path::Path::new(path).exists());
    let json = env
        .rctr(&["generate", "systemd", "--format", "json", "--name", &name])
        .ok()
        .stdout;
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let text = v[&format!("container-{name}")].as_str().unwrap();
    assert!(text.contains("[Service]\n") && text.ends_with("WantedBy=default.target\n"));
    // The old spelling of --stop-timeout still works.
    env.rctr(&["generate", "systemd", "--time", "3", &name])
        .ok()
        .stdout_has("TimeoutStopSec=63\n");
    env.rctr(&["generate", "systemd", "--format", "yaml", &name])
        .code(125)
        .stderr_has("only json");
}
