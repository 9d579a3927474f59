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

/// podman-style EXAMPLES for the man pages, by page: (what it does, the command).
const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "rctr.1",
        &[
            (
                "Run an interactive shell in a throwaway container",
                "rctr run --rm -it alpine sh",
            ),
            (
                "Check that the machine is ready for rootless containers",
                "rctr doctor",
            ),
        ],
    ),
    (
        "rctr-run.1",
        &[
            (
                "Run a command and remove the container afterwards",
                "rctr run --rm alpine echo hello",
            ),
            (
                "An interactive shell with a terminal",
                "rctr run --rm -it alpine sh",
            ),
            (
                "A detached web server with a published port",
                "rctr run -d --name web -p 8080:80 alpine httpd -f -p 80",
            ),
            (
                "Mount a named volume and a read-only host directory",
                "rctr run --rm -v data:/data -v $PWD:/src:ro alpine ls /src /data",
            ),
            (
                "Appear as yourself inside the container",
                "rctr run --rm --userns=keep-id -v $PWD:/w -w /w alpine id",
            ),
            (
                "No network, a read-only root and fewer capabilities",
                "rctr run --rm --network none --read-only --cap-drop ALL alpine true",
            ),
            (
                "Restart a detached service whenever it fails, at most 5 times",
                "rctr run -d --name worker --restart on-failure:5 alpine sh -c 'work || exit 1'",
            ),
        ],
    ),
    (
        "rctr-create.1",
        &[(
            "Create a container, then start it attached",
            "rctr create --name c1 alpine echo hi\nrctr start -a c1",
        )],
    ),
    (
        "rctr-start.1",
        &[
            (
                "Start a created or stopped container in the background",
                "rctr start web",
            ),
            ("Start it attached to its output", "rctr start -a c1"),
        ],
    ),
    (
        "rctr-ps.1",
        &[
            ("All containers, including stopped ones", "rctr ps -a"),
            ("Only ids, for scripts", "rctr ps -aq"),
            (
                "Names and status of exited containers",
                "rctr ps -a --filter status=exited --format '{{.Names}} {{.Status}}'",
            ),
            ("With the disk space each container uses", "rctr ps -a --size"),
        ],
    ),
    (
        "rctr-cp.1",
        &[
            (
                "Copy a host file into a container's /etc",
                "rctr cp ./app.conf web:/etc/app.conf",
            ),
            (
                "Copy a directory out of a container",
                "rctr cp web:/var/log ./web-logs",
            ),
            (
                "Copy only a directory's contents (note the trailing /.)",
                "rctr cp ./site/. web:/srv/www",
            ),
            (
                "Unpack a tar stream into a container",
                "tar -cf - data | rctr cp - web:/srv",
            ),
        ],
    ),
    (
        "rctr-diff.1",
        &[
            ("What a container changed", "rctr diff web"),
            ("The same as JSON", "rctr diff --format json web"),
        ],
    ),
    (
        "rctr-commit.1",
        &[
            (
                "Save a container's changes as a new image",
                "rctr commit web mysite",
            ),
            (
                "With a new command, a label and a message",
                "rctr commit -c 'CMD [\"httpd\", \"-f\"]' -c 'LABEL team=web' -m 'add site' web mysite:v2",
            ),
        ],
    ),
    (
        "rctr-export.1",
        &[("A container's filesystem as a tarball", "rctr export -o web.tar web")],
    ),
    (
        "rctr-import.1",
        &[
            (
                "A tarball as an image, with a command",
                "rctr import -c 'CMD /bin/sh' web.tar myfs",
            ),
            (
                "From stdin, quietly",
                "gzip -dc fs.tar.gz | rctr import -q - myfs",
            ),
        ],
    ),
    (
        "rctr-logs.1",
        &[
            (
                "Follow a container's output with timestamps",
                "rctr logs -f -t web",
            ),
            (
                "The last 20 lines of the last ten minutes",
                "rctr logs --tail 20 --since 10m web",
            ),
        ],
    ),
    (
        "rctr-exec.1",
        &[
            ("Run a command in a running container", "rctr exec web ps"),
            (
                "As another user, in another directory",
                "rctr exec -u 1000 -w /tmp web id",
            ),
            (
                "An interactive shell with a terminal, as a user named in the container",
                "rctr exec -it -u nobody web sh",
            ),
        ],
    ),
    (
        "rctr-attach.1",
        &[
            (
                "Attach to a detached shell; ctrl-p ctrl-q detaches again",
                "rctr run -dit --name box alpine sh\nrctr attach box",
            ),
            (
                "Watch the output only, detaching with ctrl-a d",
                "rctr attach --no-stdin --detach-keys ctrl-a,d box",
            ),
        ],
    ),
    (
        "rctr-top.1",
        &[
            ("The default columns", "rctr top web"),
            (
                "Chosen descriptors (AIX codes work too: %p %U %a)",
                "rctr top web pid user huser args",
            ),
            ("Anything else is passed to ps(1)", "rctr top web -ef"),
        ],
    ),
    (
        "rctr-pause.1",
        &[(
            "Freeze and thaw a container (needs cgroup v2 with a delegated cgroup)",
            "rctr pause web\nrctr unpause web",
        )],
    ),
    (
        "rctr-stop.1",
        &[
            (
                "Stop a container, killing it after 2 seconds",
                "rctr stop -t 2 web",
            ),
            ("Stop every running container", "rctr stop --all"),
        ],
    ),
    (
        "rctr-rm.1",
        &[
            ("Remove a stopped container", "rctr rm c1"),
            (
                "Remove a running container and its anonymous volumes",
                "rctr rm -f -v web",
            ),
        ],
    ),
    (
        "rctr-inspect.1",
        &[
            ("A container's state as JSON", "rctr inspect web"),
            (
                "One field with a Go template",
                "rctr inspect --format '{{.State.Status}}' web",
            ),
        ],
    ),
    (
        "rctr-port.1",
        &[("The published ports of a container", "rctr port web")],
    ),
    (
        "rctr-pull.1",
        &[
            ("Pull an image by short name", "rctr pull alpine"),
            (
                "Another platform, quietly",
                "rctr pull -q --platform linux/arm64 alpine",
            ),
            (
                "By digest",
                "rctr pull docker.io/library/alpine@sha256:<digest>",
            ),
        ],
    ),
    (
        "rctr-images.1",
        &[
            ("All images with their digests", "rctr images --digests"),
            (
                "Repository and tag only",
                "rctr images --format '{{.Repository}}:{{.Tag}}'",
            ),
        ],
    ),
    (
        "rctr-rmi.1",
        &[
            ("Remove an image", "rctr rmi alpine"),
            ("Remove every image", "rctr rmi -a"),
        ],
    ),
    (
        "rctr-tag.1",
        &[(
            "Give an image another name",
            "rctr tag alpine localhost:5000/alpine:test",
        )],
    ),
    (
        "rctr-login.1",
        &[(
            "Log in, reading the password from stdin",
            "echo \"$TOKEN\" | rctr login -u me --password-stdin registry.example.com",
        )],
    ),
    (
        "rctr-save.1",
        &[
            (
                "Save an image to a docker-archive",
                "rctr save -o alpine.tar alpine",
            ),
            (
                "As an OCI archive",
                "rctr save --format oci-archive -o alpine.oci.tar alpine",
            ),
        ],
    ),
    (
        "rctr-load.1",
        &[(
            "Load an archive saved by rctr, podman or docker",
            "rctr load -i alpine.tar",
        )],
    ),
    (
        "rctr-volume-create.1",
        &[("Create a named volume", "rctr volume create data")],
    ),
    (
        "rctr-network-create.1",
        &[
            (
                "Create a network on a free 10.89.N.0/24 subnet",
                "rctr network create appnet",
            ),
            (
                "A network with a chosen subnet and no way out of it",
                "rctr network create --internal --subnet 10.90.0.0/24 backend",
            ),
            (
                "Two containers that reach each other by name and alias (peers are listed in each\ncontainer's /etc/hosts, updated as containers join and leave)",
                "rctr run -d --name db --network appnet --network-alias database alpine httpd -f\nrctr run --rm --network appnet alpine wget -qO- http://database/",
            ),
        ],
    ),
    (
        "rctr-network-ls.1",
        &[
            ("List networks", "rctr network ls"),
            (
                "Only the names of networks whose name contains `app`",
                "rctr network ls -q --filter name=app",
            ),
        ],
    ),
    (
        "rctr-network-inspect.1",
        &[(
            "The subnet of a network",
            "rctr network inspect appnet --format '{{range .Subnets}}{{.Subnet}}{{end}}'",
        )],
    ),
    (
        "rctr-network-connect.1",
        &[(
            "Attach a running container to a second network, with an alias there",
            "rctr network connect --alias api backend web",
        )],
    ),
    (
        "rctr-network-disconnect.1",
        &[("Detach a container from a network", "rctr network disconnect backend web")],
    ),
    (
        "rctr-network-rm.1",
        &[(
            "Remove a network and the containers that use it",
            "rctr network rm -f appnet",
        )],
    ),
    (
        "rctr-network-prune.1",
        &[("Remove every network no container uses", "rctr network prune -f")],
    ),
    (
        "rctr-info.1",
        &[(
            "The storage driver in use",
            "rctr info --format '{{.Store.GraphDriverName}}'",
        )],
    ),
    (
        "rctr-doctor.1",
        &[(
            "Check the rootless set-up; exits 1 when something essential is missing",
            "rctr doctor",
        )],
    ),
    (
        "rctr-system-df.1",
        &[(
            "Disk used by images, containers and volumes",
            "rctr system df",
        )],
    ),
    (
        "rctr-generate-systemd.1",
        &[
            (
                "A user unit that starts and stops an existing container, installed and enabled",
                "rctr generate systemd --name --files web && mv container-web.service ~/.config/systemd/user/ && systemctl --user enable --now container-web.service",
            ),
            (
                "A unit that creates the container afresh on each start, with a 30 s stop timeout",
                "rctr generate systemd --new --name -t 30 --restart-policy always web",
            ),
        ],
    ),
    (
        "rctr-system-prune.1",
        &[(
            "Remove stopped containers, unused images and unused volumes",
            "rctr system prune -a --volumes -f",
        )],
    ),
];

/// Inserts an EXAMPLES section (before VERSION, as podman's pages order it) into a rendered page.
fn add_examples(page: &str, roff: String) -> String {
    let Some((_, examples)) = EXAMPLES.iter().find(|(p, _)| *p == page) else {
        return roff;
    };
    let mut section = String::from(".SH EXAMPLES\n");
    for (what, cmd) in examples.iter() {
        section.push_str(&format!(
            ".PP\n{what}:\n.PP\n.RS 4\n.nf\n{}\n.fi\n.RE\n",
            cmd.replace('\\', "\\e")
        ));
    }
    match roff.find(".SH VERSION") {
        Some(i) => format!("{}{section}{}", &roff[..i], &roff[i..]),
        None => roff + &section,
    }
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
        let name = man.get_filename();
        let page = add_examples(&name, String::from_utf8_lossy(&buf).into_owned());
        out.push((name, page.into_bytes()));
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
    fn examples_name_real_pages() {
        let pages: Vec<String> = man_pages().into_iter().map(|(n, _)| n).collect();
        for (page, _) in EXAMPLES {
            assert!(
                pages.iter().any(|p| p == page),
                "examples for `{page}`, which is not generated"
            );
        }
        let run = man_pages()
            .into_iter()
            .find(|(n, _)| n == "rctr-run.1")
            .unwrap()
            .1;
        let run = String::from_utf8(run).unwrap();
        let examples = &run[run.find(".SH EXAMPLES").expect("rctr-run.1 has EXAMPLES")..];
        assert!(
            examples.contains("rctr run \\-\\-rm alpine echo hello")
                || examples.contains("rctr run --rm alpine echo hello"),
            "{examples}"
        );
        assert!(
            examples.find(".SH VERSION").is_some(),
            "EXAMPLES must come before VERSION"
        );
        assert!(
            run.contains(".SH EXAMPLES") && run.contains("rctr run \\-\\-rm")
                || run.contains("rctr run --rm"),
            "{run}"
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

    /// The subcommand enums use clap's `defer`, so a subcommand's arguments are built only when
    /// it is parsed. Built late, a doc comment on an argument struct (`#[derive(Args)]`) would
    /// become the description of every command that uses it, replacing its variant's own. So
    /// argument structs carry plain comments, and descriptions live on the enum variants.
    #[test]
    fn argument_structs_have_no_doc_comments() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
        let mut found = Vec::new();
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap();
            let mut doc = false;
            for (n, line) in text.lines().enumerate() {
                let line = line.trim_start();
                if line.starts_with("///") {
                    doc = true;
                } else if line.starts_with("#[") {
                    if doc && line.starts_with("#[derive(") && line.contains("Args") {
                        found.push(format!("{}:{}", e.path().display(), n + 1));
                    }
                } else {
                    doc = false;
                }
            }
        }
        assert!(
            found.is_empty(),
            "doc comments on argument structs (use // comments): {found:?}"
        );
    }
}
