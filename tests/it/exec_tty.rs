//! `exec -t` (a pty from the container's devpts, relayed with the terminal's size) and
//! `exec -u NAME[:GROUP]` resolved in the container's own /etc/passwd and /etc/group (issue 4).

use crate::attach::OnTty;
use crate::harness::safename;

#[test]
fn exec_u_resolves_names_in_the_container() {
    let env = crate::run::env();
    let name = safename("exu");
    env.run_detached(&name, &["busybox", "sleep", "60"]);
    let r = env
        .rctr(&[
            "exec",
            "-u",
            "nobody",
            &name,
            "sh",
            "-c",
            "id -un; echo $HOME; grep ^nobody: /etc/passwd | cut -d: -f6",
        ])
        .ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    assert_eq!(lines[0], "nobody");
    assert_eq!(lines[1], lines[2], "HOME is the user's passwd home");
    let r = env
        .rctr(&[
            "exec",
            "-u",
            "nobody:daemon",
            &name,
            "sh",
            "-c",
            "id -g; grep ^daemon: /etc/group | cut -d: -f3",
        ])
        .ok();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", r.stdout);
    assert_eq!(
        lines[0], lines[1],
        "the group comes from the container's /etc/group"
    );
    env.rctr(&["exec", "-u", "nosuch", &name, "true"])
        .code(125)
        .stderr_has("unable to find user nosuch");
    env.rctr(&["exec", "-u", "0:nosuch", &name, "true"])
        .code(125)
        .stderr_has("nosuch");
    // --env-file, then -e on top of it.
    let f = env.path().join("envfile");
    std::fs::write(&f, "# comment\nA=from-file\nB=file\n").unwrap();
    env.rctr(&[
        "exec",
        "--env-file",
        f.to_str().unwrap(),
        "-e",
        "B=flag",
        &name,
        "sh",
        "-c",
        "echo $A $B",
    ])
    .ok()
    .stdout_has("from-file flag");
}

#[test]
fn exec_t_gives_the_process_a_terminal() {
    let env = crate::run::env();
    let name = safename("ext");
    env.run_detached(&name, &["busybox", "sleep", "60"]);
    // Without a tty, `tty` says so; with -t the process has one of the container's ptys.
    env.rctr(&["exec", &name, "tty"]).code(1);
    env.rctr(&["exec", "-t", &name, "sh", "-c", "tty; echo TERM=$TERM"])
        .ok()
        .stdout_has("/dev/pts/")
        .stdout_has("TERM=xterm");
    // Interactive, on a terminal of a known size: input reaches it, the size is copied, and
    // the exit code comes back.
    let mut t = OnTty::start_after(
        &env,
        "stty rows 21 cols 61; ",
        &["exec", "-it", &name, "sh"],
    );
    t.send(b"echo size-$(stty size | tr ' ' x); exit 4\n");
    t.expect("size-21x61");
    assert_eq!(t.wait().0, 4);
    // The pty belongs to the user the process runs as.
    env.rctr(&[
        "exec",
        "-t",
        "-u",
        "nobody",
        &name,
        "sh",
        "-c",
        "ls -l $(tty)",
    ])
    .ok()
    .stdout_has("nobody");
}
