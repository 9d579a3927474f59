//! systemd user units for containers (`generate systemd`), laid out as podman's are. A unit
//! is what brings a container back after a reboot or after its monitor was killed: rctr has
//! no daemon and no boot service of its own.
//!
//! Both kinds are `Type=forking`: `ExecStart` returns once the container runs, and the
//! monitor, which stays behind in its own session, is the service's main process through
//! `PIDFile=`. The monitor exits with the container's code, so `Restart=on-failure` works.

use std::fmt::Write as _;
use std::path::PathBuf;

/// One word of a command line in a unit.
#[derive(Debug, Clone, PartialEq)]
pub enum Word {
    /// Taken literally: quoted and escaped as systemd needs.
    Literal(String),
    /// Written as is, so that systemd expands its specifiers (`%t/%n.pid`, `web-%i`).
    Specifier(String),
}

/// What the unit runs.
#[derive(Debug, Clone)]
pub enum UnitKind {
    /// Starts and stops an existing container; its monitor writes `pidfile`.
    Existing {
        start: Vec<Word>,
        stop: Vec<Word>,
        pidfile: PathBuf,
    },
    /// Creates the container afresh on each start (`--new`) and removes it on stop; `run`
    /// writes the pid file named by [`NEW_PIDFILE`].
    New {
        run: Vec<Word>,
        stop: Vec<Word>,
        rm: Vec<Word>,
    },
}

/// The pid file of a `--new` unit: in the user's runtime directory, named after the unit.
pub const NEW_PIDFILE: &str = "%t/%n.pid";

/// Everything a unit says.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The unit's name without `.service`, e.g. `container-web`.
    pub name: String,
    /// Comment lines at the top (without `# `), e.g. who generated it and when.
    pub header: Vec<String>,
    /// systemd's `Restart=`.
    pub restart: String,
    /// The container's stop timeout in seconds (`-t`); systemd waits 60 s longer.
    pub stop_timeout: u64,
    /// A directory the unit needs mounted (rctr's runtime directory).
    pub requires_mounts_for: PathBuf,
    pub kind: UnitKind,
    /// The user's extra settings (`--wants`, `--env`, `--restart-sec`, ...).
    pub extra: Extra,
}

/// What `generate systemd`'s options add to a unit beyond what rctr needs to run the container.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    /// A template unit (`NAME@.service`): each instance `%i` is a container of its own.
    pub template: bool,
    /// `Wants=`, `After=` and `Requires=` dependencies, in podman's "User-defined" block.
    pub wants: Vec<String>,
    pub after: Vec<String>,
    pub requires: Vec<String>,
    /// `KEY=VALUE` pairs for the service's environment.
    pub env: Vec<String>,
    /// systemd's `RestartSec=`.
    pub restart_sec: Option<u64>,
    /// systemd's `TimeoutStartSec=`.
    pub start_timeout: Option<u64>,
}

/// The values systemd's `Restart=` accepts.
pub const RESTART_POLICIES: &[&str] = &[
    "no",
    "on-success",
    "on-failure",
    "on-abnormal",
    "on-watchdog",
    "on-abort",
    "always",
];

impl Unit {
    /// The unit file's text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for h in &self.header {
            let _ = writeln!(s, "# {h}");
        }
        if !self.header.is_empty() {
            s.push('\n');
        }
        let x = &self.extra;
        let _ = write!(
            s,
            "[Unit]\nDescription=rctr {name}.service{instance}\nDocumentation=man:rctr-generate-systemd(1)\n\
             Wants=network-online.target\nAfter=network-online.target\nRequiresMountsFor={mounts}\n",
            name = self.name,
            instance = if x.template { " for %I" } else { "" },
            mounts = escape_path(&self.requires_mounts_for),
        );
        if !(x.wants.is_empty() && x.after.is_empty() && x.requires.is_empty()) {
            s.push_str("\n# User-defined dependencies\n");
            for (key, units) in [
                ("Wants", &x.wants),
                ("After", &x.after),
                ("Requires", &x.requires),
            ] {
                if !units.is_empty() {
                    let _ = writeln!(s, "{key}={}", units.join(" "));
                }
            }
        }
        let _ = write!(
            s,
            "\n[Service]\nEnvironment=RCTR_SYSTEMD_UNIT=%n{instance}\n",
            instance = if x.template { "-%i" } else { "" },
        );
        for e in &x.env {
            let _ = writeln!(s, "Environment={}", quote(e));
        }
        let _ = writeln!(s, "Restart={}", self.restart);
        if let Some(n) = x.restart_sec {
            let _ = writeln!(s, "RestartSec={n}");
        }
        if let Some(n) = x.start_timeout {
            let _ = writeln!(s, "TimeoutStartSec={n}");
        }
        let _ = writeln!(s, "TimeoutStopSec={}", self.stop_timeout + 60);
        match &self.kind {
            UnitKind::Existing {
                start,
                stop,
                pidfile,
            } => {
                let _ = write!(
                    s,
                    "ExecStart={}\nExecStop={}\nExecStopPost={}\nPIDFile={}\n",
                    command_line(start),
                    command_line(stop),
                    command_line(stop),
                    escape_path(pidfile)
                );
            }
            UnitKind::New { run, stop, rm } => {
                let _ = write!(
                    s,
                    "ExecStartPre=/bin/rm -f {NEW_PIDFILE}\nExecStart={}\nExecStop={}\n\
                     ExecStopPost={}\nPIDFile={NEW_PIDFILE}\n",
                    command_line(run),
                    command_line(stop),
                    command_line(rm),
                );
            }
        }
        s.push_str("Type=forking\n\n[Install]\nWantedBy=default.target\n");
        s
    }
}

/// A command line as systemd parses `Exec*=` values.
pub fn command_line(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| match w {
            Word::Literal(l) => quote(l),
            Word::Specifier(s) => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One literal word for an `Exec*=` line: `%` and `$` are doubled (systemd expands
/// specifiers and variables there), and a word with blanks, quotes or backslashes, an empty
/// word, or a lone `;` (a command separator) goes in double quotes with C-style escapes.
pub fn quote(word: &str) -> String {
    let escaped = word.replace('%', "%%").replace('$', "$$");
    let plain = !escaped.is_empty()
        && escaped != ";"
        && !escaped
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\') || c.is_control());
    if plain {
        return escaped;
    }
    let mut q = String::from("\"");
    for c in escaped.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(q, "\\x{:02x}", c as u32);
            }
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// A path in a setting that expands specifiers (but not variables).
fn escape_path(p: &std::path::Path) -> String {
    p.display().to_string().replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_systemd_would_split_or_expand() {
        assert_eq!(quote("sleep"), "sleep");
        assert_eq!(quote("echo $HOME"), "\"echo $$HOME\"");
        assert_eq!(quote("100%"), "100%%");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(quote(";"), "\";\"");
        assert_eq!(quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn new_units_write_the_pid_file_systemd_reads() {
        let u = Unit {
            name: "container-web".into(),
            header: vec![],
            restart: "on-failure".into(),
            stop_timeout: 10,
            requires_mounts_for: "/run/user/1000/rctr".into(),
            extra: Extra::default(),
            kind: UnitKind::New {
                run: vec![
                    Word::Literal("/usr/bin/rctr".into()),
                    Word::Literal("run".into()),
                    Word::Literal("--conmon-pidfile".into()),
                    Word::Specifier(NEW_PIDFILE.into()),
                ],
                stop: vec![Word::Literal("stop".into())],
                rm: vec![Word::Literal("rm".into())],
            },
        };
        let t = u.render();
        assert!(t.contains("ExecStart=/usr/bin/rctr run --conmon-pidfile %t/%n.pid\n"));
        assert!(t.contains("ExecStartPre=/bin/rm -f %t/%n.pid\n"));
        assert!(t.contains("PIDFile=%t/%n.pid\nType=forking\n"));
        assert!(t.contains("TimeoutStopSec=70\n"));
        assert!(!t.contains("User-defined"));
    }

    #[test]
    fn extras_add_dependencies_environment_and_timeouts() {
        let u = Unit {
            name: "ctr_web".into(),
            header: vec![],
            restart: "always".into(),
            stop_timeout: 5,
            requires_mounts_for: "/run".into(),
            extra: Extra {
                template: true,
                wants: vec!["a.service".into(), "b.service".into()],
                after: vec!["c.service".into()],
                requires: vec![],
                env: vec!["FOO=a b".into()],
                restart_sec: Some(7),
                start_timeout: Some(33),
            },
            kind: UnitKind::New {
                run: vec![],
                stop: vec![],
                rm: vec![],
            },
        };
        let t = u.render();
        assert!(
            t.contains("Description=rctr ctr_web.service for %I\n"),
            "{t}"
        );
        assert!(t.contains("\n# User-defined dependencies\nWants=a.service b.service\nAfter=c.service\n\n[Service]\n"), "{t}");
        assert!(t.contains("Environment=RCTR_SYSTEMD_UNIT=%n-%i\nEnvironment=\"FOO=a b\"\nRestart=always\nRestartSec=7\nTimeoutStartSec=33\nTimeoutStopSec=65\n"), "{t}");
    }
}
