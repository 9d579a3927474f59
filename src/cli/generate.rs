//! Man pages and shell completion scripts, generated from the same clap definitions that parse the
//! command line. The checked-in copies in `man/` and `completions/` are kept in sync by a test:
//! `RCTR_REGENERATE=1 cargo test --lib generated` rewrites them.

use super::Cli;
use clap::CommandFactory;
use clap_complete::env::{Bash, EnvCompleter, Fish, Zsh};

/// The shells `rctr completion` supports, with the file name each conventionally loads.
pub const SHELLS: &[(&str, &str)] = &[
    ("bash", "rctr.bash"),
    ("zsh", "_rctr"),
    ("fish", "rctr.fish"),
];

/// The completion script for `shell`. It registers a completer that calls back into `rctr` (with
/// `COMPLETE=<shell>` set) on every TAB, so flags, subcommands and the names of containers, images,
/// volumes and networks are always current.
pub fn completion_script(shell: &str) -> Option<Vec<u8>> {
    let completer: &dyn EnvCompleter = match shell {
        "bash" => &Bash,
        "zsh" => &Zsh,
        "fish" => &Fish,
        _ => return None,
    };
    let mut buf = Vec::new();
    completer
        .write_registration("COMPLETE", "rctr", "rctr", "rctr", &mut buf)
        .ok()?;
    Some(buf)
}

/// Every man page: `rctr.1` and one per subcommand (`rctr-run.1`, `rctr-image-ls.1`, ...).
pub fn man_pages() -> Vec<(String, Vec<u8>)> {
    fn walk(cmd: clap::Command, out: &mut Vec<(String, Vec<u8>)>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
            walk(sub, out);
        }
        let man = clap_mangen::Man::new(cmd)
            .manual("rctr Manual")
            .source(format!("rctr {}", env!("CARGO_PKG_VERSION")));
        let mut buf = Vec::new();
        man.render(&mut buf)
            .expect("rendering a man page into memory cannot fail");
        out.push((man.get_filename(), buf));
    }
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut out = Vec::new();
    walk(cmd, &mut out);
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sync(dir: &Path, files: Vec<(String, Vec<u8>)>) {
        let regenerate = std::env::var_os("RCTR_REGENERATE").is_some();
        if regenerate {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir).unwrap();
        }
        let mut stale = Vec::new();
        for (name, data) in &files {
            let p = dir.join(name);
            if regenerate {
                std::fs::write(&p, data).unwrap();
            } else if std::fs::read(&p).ok().as_ref() != Some(data) {
                stale.push(name.clone());
            }
        }
        let expected: std::collections::BTreeSet<_> =
            files.iter().map(|(n, _)| n.clone()).collect();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if !expected.contains(&n) {
                stale.push(format!("{n} (no longer generated)"));
            }
        }
        assert!(
            stale.is_empty(),
            "{} is out of date: {stale:?}\nhint: run `RCTR_REGENERATE=1 cargo test --lib generated`",
            dir.display()
        );
    }

    #[test]
    fn generated_man_pages_are_current() {
        sync(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("man"),
            man_pages(),
        );
    }

    #[test]
    fn generated_completions_are_current() {
        let files = SHELLS
            .iter()
            .map(|(s, f)| (f.to_string(), completion_script(s).unwrap()))
            .collect();
        sync(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("completions"),
            files,
        );
    }

    #[test]
    fn every_command_has_a_man_page() {
        let pages: Vec<String> = man_pages().into_iter().map(|(n, _)| n).collect();
        assert!(pages.contains(&"rctr.1".to_string()));
        assert!(pages.contains(&"rctr-version.1".to_string()));
        assert!(
            pages.contains(&"rctr-system-reset.1".to_string()),
            "{pages:?}"
        );
    }
}
