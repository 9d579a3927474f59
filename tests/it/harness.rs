//! The per-test environment: each test gets its own HOME, XDG dirs, config, store and runtime dir
//! under /var/tmp/rctr-it, runs the real `rctr` binary, and removes everything it made through
//! `rctr system reset -f` (files owned by subordinate ids can only be removed inside the user
//! namespace).
//!
//! The test bed (`tests/fixtures/setup.sh`, run by `tests/run`) starts the registries and seeds the
//! fixture images; it writes their addresses to `$RCTR_TESTBED/env` (default /var/tmp/rctr-testbed).

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The rctr binary under test: `$RCTR_BIN` (set by tests/run, which copies the binary where the
/// unprivileged user can read it), else the one cargo built.
pub fn rctr_bin() -> PathBuf {
    std::env::var_os("RCTR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rctr")))
}

/// The test bed directory holding `env`, fixtures and the registries' CA.
pub fn testbed_dir() -> PathBuf {
    std::env::var_os("RCTR_TESTBED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/rctr-testbed"))
}

/// The variables the test bed wrote (`KEY=VALUE` lines). Empty when there is no test bed.
pub fn testbed() -> &'static HashMap<String, String> {
    static ENV: OnceLock<HashMap<String, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let text = std::fs::read_to_string(testbed_dir().join("env")).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
            .collect()
    })
}

/// A test bed variable; panics with a clear message when the test bed is missing, since CI always
/// provides it (run the suite through `tests/run`).
pub fn tb(key: &str) -> String {
    testbed().get(key).cloned().unwrap_or_else(|| {
        panic!(
            "test bed variable {key} missing from {}: run the suite through `tests/run`",
            testbed_dir().join("env").display()
        )
    })
}

/// The plain-HTTP registry on loopback (`127.0.0.1:PORT`).
pub fn registry() -> String {
    tb("RCTR_TEST_REGISTRY")
}

/// A fixture image on the plain registry, fully qualified: `fixture("BUSYBOX")` reads
/// `RCTR_TEST_IMG_BUSYBOX` (`busybox:latest`) and gives `127.0.0.1:PORT/busybox:latest`.
/// Names: BUSYBOX, ALPINE, DEBIAN, ZSTD, MULTIARCH and the hostile layers DOTDOT, ABSPATH,
/// SYMLINK_ESCAPE, HARDLINK_ESCAPE, DEVNODE (see tests/fixtures/README.md).
pub fn fixture(name: &str) -> String {
    format!("{}/{}", registry(), tb(&format!("RCTR_TEST_IMG_{name}")))
}

/// An image on the tampered registry, fully qualified: `hostile("BADDIGEST")` reads
/// `RCTR_TEST_HOSTILE_IMG_BADDIGEST`. Names: BADDIGEST, TRUNCATED, BADMANIFEST, DIGESTPATH,
/// BADMEDIA, and GOOD (an intact busybox on the same registry).
pub fn hostile(name: &str) -> String {
    format!(
        "{}/{}",
        tb("RCTR_TEST_HOSTILE_REGISTRY"),
        tb(&format!("RCTR_TEST_HOSTILE_IMG_{name}"))
    )
}

/// Every registry the test bed runs, for configs that must allow plain HTTP or unverified TLS
/// to all of them.
pub fn all_registries() -> Vec<String> {
    [
        "RCTR_TEST_REGISTRY",
        "RCTR_TEST_AUTH_REGISTRY",
        "RCTR_TEST_TLS_REGISTRY",
        "RCTR_TEST_HOSTILE_REGISTRY",
        "RCTR_TEST_ERR500_REGISTRY",
        "RCTR_TEST_ERR404_REGISTRY",
    ]
    .iter()
    .filter_map(|k| testbed().get(*k).cloned())
    .collect()
}

/// The result of one rctr invocation.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub what: String,
}

impl Run {
    fn from(what: String, out: Output) -> Run {
        use std::os::unix::process::ExitStatusExt;
        let code = out
            .status
            .code()
            .unwrap_or_else(|| 128 + out.status.signal().unwrap_or(0));
        Run {
            code,
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            what,
        }
    }

    /// Asserts exit code 0 and returns self.
    #[track_caller]
    pub fn ok(self) -> Run {
        self.code(0)
    }

    /// Asserts the exit code, printing the command and its output when it differs.
    #[track_caller]
    pub fn code(self, expected: i32) -> Run {
        assert_eq!(
            self.code, expected,
            "`{}` exited {} (expected {expected})\n--- stdout\n{}\n--- stderr\n{}",
            self.what, self.code, self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr contains `needle`.
    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(
            self.stderr.contains(needle),
            "`{}`: stderr lacks {needle:?}\n--- stderr\n{}",
            self.what,
            self.stderr
        );
        self
    }

    /// Asserts that stdout contains `needle`.
    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Run {
        assert!(
            self.stdout.contains(needle),
            "`{}`: stdout lacks {needle:?}\n--- stdout\n{}",
            self.what,
            self.stdout
        );
        self
    }

    /// stdout without its trailing newline.
    pub fn out(&self) -> &str {
        self.stdout.trim_end_matches('\n')
    }
}

/// An isolated rctr environment for one test.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub runtime_dir: PathBuf,
    pub extra_env: Vec<(String, String)>,
}

impl TestEnv {
    /// A fresh environment whose config searches the test bed's plain registry for short names
    /// and allows plain HTTP to the test registries.
    pub fn new() -> TestEnv {
        let base = Path::new("/var/tmp/rctr-it");
        let _ = std::fs::create_dir_all(base);
        let dir = tempfile::Builder::new()
            .prefix("t")
            .tempdir_in(base)
            .expect("create test dir");
        let home = dir.path().join("home");
        let runtime_dir = dir.path().join("run");
        for d in [&home, &runtime_dir] {
            std::fs::create_dir_all(d).unwrap();
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let env = TestEnv {
            dir,
            home,
            runtime_dir,
            extra_env: Vec::new(),
        };
        let tbv = testbed();
        let mut search = Vec::new();
        let mut insecure = Vec::new();
        if let Some(r) = tbv.get("RCTR_TEST_REGISTRY") {
            search.push(r.clone());
            insecure.push(r.clone());
        }
        for k in [
            "RCTR_TEST_AUTH_REGISTRY",
            "RCTR_TEST_HOSTILE_REGISTRY",
            "RCTR_TEST_ERR500_REGISTRY",
            "RCTR_TEST_ERR404_REGISTRY",
        ] {
            if let Some(r) = tbv.get(k) {
                insecure.push(r.clone());
            }
        }
        let q = |v: &[String]| {
            v.iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        env.write_config(&format!(
            "[registries]\nsearch = [{}]\ninsecure = [{}]\n",
            q(&search),
            q(&insecure)
        ));
        env
    }

    /// Replaces the user config file (`~/.config/rctr/config.toml`).
    pub fn write_config(&self, text: &str) {
        let p = self.home.join(".config/rctr/config.toml");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The store (`XDG_DATA_HOME/rctr`).
    pub fn store(&self) -> PathBuf {
        self.home.join(".local/share/rctr")
    }

    /// A `rctr` command with this environment's variables and nothing inherited that could leak
    /// the invoking user's own configuration.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(rctr_bin());
        c.args(args)
            .env_clear()
            .env(
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into()),
            )
            .env("HOME", &self.home)
            .env("USER", whoami())
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_DATA_HOME", self.home.join(".local/share"))
            .env("XDG_CACHE_HOME", self.home.join(".cache"))
            .env("XDG_RUNTIME_DIR", &self.runtime_dir)
            .env("LANG", "C.UTF-8");
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    /// Runs rctr with no stdin and captures its output.
    pub fn rctr(&self, args: &[&str]) -> Run {
        let out = self
            .cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn rctr");
        Run::from(format!("rctr {}", args.join(" ")), out)
    }

    /// `rctr run -d --name NAME ARGS…` (ARGS: any further options, the image and its command),
    /// asserted to succeed; returns the new container's ID.
    #[track_caller]
    pub fn run_detached(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["run", "-d", "--name", name];
        all.extend_from_slice(args);
        self.rctr(&all).ok().out().to_string()
    }

    /// Waits (up to 20 s) until `cmd` succeeds inside running container `name`: for a detached
    /// container's script to reach a point, which the test names by its last effect.
    pub fn exec_until(&self, name: &str, cmd: &[&str]) {
        let mut all = vec!["exec", name];
        all.extend_from_slice(cmd);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.rctr(&all).code != 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "`{}` never succeeded in container {name}",
                cmd.join(" ")
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Runs rctr with `input` on stdin.
    pub fn rctr_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        let mut child = self
            .cmd(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn rctr");
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait rctr");
        let _ = writer.join();
        Run::from(format!("rctr {} < input", args.join(" ")), out)
    }
}

impl TestEnv {
    /// Makes this environment trust the test bed's CA for the TLS registry, the way a user does:
    /// `~/.config/containers/certs.d/localhost:PORT/ca.crt`.
    pub fn trust_tls_ca(&self) {
        let dir = self
            .home
            .join(".config/containers/certs.d")
            .join(tb("RCTR_TEST_TLS_REGISTRY"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(tb("RCTR_TEST_TLS_CA"), dir.join("ca.crt")).expect("copy the test CA");
    }

    /// The HOME of this environment's podman, kept apart from rctr's so neither sees the other's
    /// configuration or storage.
    pub fn podman_home(&self) -> PathBuf {
        self.path().join("podman-home")
    }

    fn podman_runtime_dir(&self) -> PathBuf {
        self.path().join("podman-run")
    }

    /// Writes podman's configuration on first use: runc with cgroupfs and file events (crun
    /// refuses this machine's hybrid cgroups, and there is no systemd session), the overlay
    /// driver, and every test-bed registry insecure with the plain one searched for short names.
    fn podman_setup(&self) {
        let conf = self.podman_home().join(".config/containers");
        if conf.join("registries.conf").exists() {
            return;
        }
        std::fs::create_dir_all(&conf).unwrap();
        let rt = self.podman_runtime_dir();
        std::fs::create_dir_all(&rt).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rt, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::write(
            conf.join("containers.conf"),
            "[engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n",
        )
        .unwrap();
        std::fs::write(
            conf.join("storage.conf"),
            "[storage]\ndriver = \"overlay\"\n",
        )
        .unwrap();
        let mut reg = String::new();
        if let Some(r) = testbed().get("RCTR_TEST_REGISTRY") {
            reg.push_str(&format!("unqualified-search-registries = [{r:?}]\n"));
        }
        for r in all_registries() {
            reg.push_str(&format!(
                "\n[[registry]]\nlocation = {r:?}\ninsecure = true\n"
            ));
        }
        std::fs::write(conf.join("registries.conf"), reg).unwrap();
    }

    /// A `podman` command (Debian's podman 4.3.1, the reference rctr is measured against) run as
    /// the same user with this environment's own podman HOME, config and runtime dir.
    pub fn podman_cmd(&self, args: &[&str]) -> Command {
        self.podman_setup();
        let home = self.podman_home();
        let mut c = Command::new("podman");
        c.args(args)
            .env_clear()
            .env(
                "PATH",
                std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into()),
            )
            .env("HOME", &home)
            .env("USER", whoami())
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", self.podman_runtime_dir())
            .env("LANG", "C.UTF-8");
        c
    }

    /// Runs podman with no stdin and captures its output, like [`TestEnv::rctr`].
    pub fn podman(&self, args: &[&str]) -> Run {
        let out = self
            .podman_cmd(args)
            .stdin(Stdio::null())
            .output()
            .expect("spawn podman");
        Run::from(format!("podman {}", args.join(" ")), out)
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Remove what the test made through rctr itself: layer files belong to subordinate ids.
        let _ = self
            .cmd(&["system", "reset", "-f"])
            .stdin(Stdio::null())
            .output();
        // Likewise podman's storage, when the test used podman.
        if self.podman_home().exists() {
            let _ = self
                .podman_cmd(&["system", "reset", "-f"])
                .stdin(Stdio::null())
                .output();
        }
    }
}

fn whoami() -> String {
    std::env::var("USER").unwrap_or_else(|_| "root".into())
}

/// A name unique to this test process, for containers, volumes and tags (podman's `safename`).
pub fn safename(prefix: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
