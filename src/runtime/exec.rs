//! Finding the container's command in its $PATH and executing it, with podman's exit codes:
//! 127 when the command does not exist, 126 when it exists but cannot be run.

use super::error::ChildError;
use crate::exit;
use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The search path when the container's environment has no PATH (podman's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The last steps before exec, shared by a container's first process and by `exec`: changes to
/// the process's working directory and finds its command on the container's PATH. Returns the
/// executable and the argument and environment lists to pass to [`exec`].
pub fn prepare(
    p: &oci_spec::runtime::Process,
) -> Result<(PathBuf, &[String], &[String]), ChildError> {
    let cwd = p.cwd();
    nix::unistd::chdir(cwd).map_err(|e| {
        ChildError::os(
            "chdir",
            cwd,
            format!("cannot change to the working directory `{}`", cwd.display()),
            std::io::Error::from(e),
        )
    })?;
    let args = p.args().as_deref().unwrap_or(&[]);
    let env = p.env().as_deref().unwrap_or(&[]);
    let path = lookup(&args[0], path_of(env), probe)?;
    Ok((path, args, env))
}

/// What a candidate file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    Missing,
    NotExecutable,
    Executable,
}

/// Probes a path on the real file system: a regular file with an execute bit counts.
pub fn probe(p: &Path) -> Probe {
    match std::fs::metadata(p) {
        Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Probe::Executable,
        Ok(_) => Probe::NotExecutable,
        Err(_) => Probe::Missing,
    }
}

/// The value of PATH in an environment list (`KEY=VALUE` strings).
pub fn path_of(env: &[String]) -> &str {
    env.iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH)
}

/// Resolves `cmd` like execvp and Go's exec.LookPath: a name with a slash is used as is; otherwise
/// the first executable match in `path` wins. A match that exists but is not executable is
/// remembered so the error can say "permission denied" (126) rather than "not found" (127).
pub fn lookup(
    cmd: &str,
    path: &str,
    probe: impl Fn(&Path) -> Probe,
) -> Result<PathBuf, ChildError> {
    if cmd.is_empty() {
        return Err(not_found(cmd));
    }
    if cmd.contains('/') {
        return Ok(PathBuf::from(cmd));
    }
    let mut denied = None;
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(cmd);
        match probe(&cand) {
            Probe::Executable => return Ok(cand),
            Probe::NotExecutable if denied.is_none() => denied = Some(cand),
            _ => {}
        }
    }
    match denied {
        Some(p) => Err(exec_error(&p, libc::EACCES)),
        None => Err(not_found(cmd)),
    }
}

fn not_found(cmd: &str) -> ChildError {
    ChildError {
        step: "exec".into(),
        path: cmd.into(),
        what: format!("executable file `{cmd}` not found in $PATH"),
        cause: "No such file or directory".into(),
        code: exit::NOT_FOUND,
    }
}

/// The error for a failed execve of `path` with `errno`, with podman's exit code.
pub fn exec_error(path: &Path, errno: i32) -> ChildError {
    let code = match errno {
        libc::ENOENT => exit::NOT_FOUND,
        libc::EACCES | libc::ENOEXEC | libc::EISDIR | libc::EPERM | libc::ETXTBSY => {
            exit::CANNOT_INVOKE
        }
        _ => exit::FAILURE,
    };
    ChildError::os(
        "exec",
        path,
        format!("cannot run `{}`", path.display()),
        std::io::Error::from_raw_os_error(errno),
    )
    .with_code(code)
}

/// Executes `path` with `args` and exactly `env`; returns only on failure.
pub fn exec(path: &Path, args: &[String], env: &[String]) -> ChildError {
    let c = |s: &str| CString::new(s).unwrap_or_default();
    let cpath = CString::new(path.as_os_str().as_encoded_bytes()).unwrap_or_default();
    let cargs: Vec<CString> = args.iter().map(|a| c(a)).collect();
    let cenv: Vec<CString> = env.iter().map(|e| c(e)).collect();
    let err = nix::unistd::execve(&cpath, &cargs, &cenv).unwrap_err();
    exec_error(path, err as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(
        exec: &'static [&'static str],
        noexec: &'static [&'static str],
    ) -> impl Fn(&Path) -> Probe {
        move |p: &Path| {
            let s = p.to_str().unwrap();
            if exec.contains(&s) {
                Probe::Executable
            } else if noexec.contains(&s) {
                Probe::NotExecutable
            } else {
                Probe::Missing
            }
        }
    }

    #[test]
    fn first_executable_wins() {
        let p = lookup(
            "sh",
            "/usr/bin:/bin",
            fake(&["/bin/sh", "/usr/bin/sh"], &[]),
        )
        .unwrap();
        assert_eq!(p, Path::new("/usr/bin/sh"));
        let p = lookup("sh", "/a:/bin", fake(&["/bin/sh"], &["/a/sh"])).unwrap();
        assert_eq!(p, Path::new("/bin/sh"));
    }

    #[test]
    fn missing_is_127_with_the_name() {
        let e = lookup("foo", "/bin", fake(&[], &[])).unwrap_err();
        assert_eq!(e.code, 127);
        assert_eq!(
            e.to_string(),
            "executable file `foo` not found in $PATH: No such file or directory"
        );
    }

    #[test]
    fn not_executable_is_126() {
        let e = lookup("foo", "/bin", fake(&[], &["/bin/foo"])).unwrap_err();
        assert_eq!(e.code, 126);
        assert!(e.to_string().contains("/bin/foo"), "{e}");
    }

    #[test]
    fn slash_is_taken_as_is_and_errno_maps() {
        assert_eq!(
            lookup("./x", "/bin", fake(&[], &[])).unwrap(),
            Path::new("./x")
        );
        assert_eq!(exec_error(Path::new("/x"), libc::ENOENT).code, 127);
        assert_eq!(exec_error(Path::new("/x"), libc::ENOEXEC).code, 126);
        assert_eq!(exec_error(Path::new("/x"), libc::EISDIR).code, 126);
        assert_eq!(path_of(&["A=1".into(), "PATH=/x".into()]), "/x");
        assert_eq!(path_of(&[]), DEFAULT_PATH);
    }
}
