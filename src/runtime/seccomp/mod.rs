//! Seccomp: podman's default profile, compiled to BPF at build time (see `build.rs`) for the
//! default capabilities, and profiles in docker's/OCI's JSON format compiled at run time for
//! `--security-opt seccomp=PROFILE.json`, for other capability sets and for specs that carry
//! `linux.seccomp`.
//!
//! Limitation: filters are built for the native architecture only (seccompiler has no
//! multi-architecture filters), so 32-bit x86 binaries in a confined container are killed.

pub mod profile;

use super::defaults::DEFAULT_CAPS;
use profile::Profile;
use seccompiler::{sock_filter, BpfProgram, TargetArch};
use std::path::Path;

mod table {
    include!(concat!(env!("OUT_DIR"), "/syscalls.rs"));
}

static DEFAULT_BPF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/default_seccomp.bpf"));
static DEFAULT_JSON: &str = include_str!("default.json");

/// Errors loading or compiling a seccomp profile, naming the profile.
#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error("cannot read the seccomp profile `{path}`: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot parse the seccomp profile `{path}`: {source}")]
    Parse {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("seccomp profile `{path}`: {message}")]
    Profile { path: String, message: String },
    #[error("seccomp filtering is not supported on this architecture")]
    Arch,
}

/// A compiled seccomp policy: BPF programs installed in order (see [`profile`] for why several).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeccompProgram {
    programs: Vec<BpfProgram>,
}

fn arch() -> Result<TargetArch, SeccompError> {
    match std::env::consts::ARCH {
        "x86_64" => Ok(TargetArch::x86_64),
        "aarch64" => Ok(TargetArch::aarch64),
        "riscv64" => Ok(TargetArch::riscv64),
        _ => Err(SeccompError::Arch),
    }
}

/// The syscall number of `name` on this architecture, when rctr knows it.
pub fn syscall_number(name: &str) -> Option<i64> {
    table::SYSCALLS
        .binary_search_by(|(n, _)| (*n).cmp(name))
        .ok()
        .map(|i| table::SYSCALLS[i].1)
}

/// podman's default profile for a container with capabilities `caps` (`CAP_*` names). For the
/// default capability set this is the program compiled at build time, decoded in microseconds.
pub fn default_seccomp(caps: &[String]) -> Result<SeccompProgram, SeccompError> {
    let mut sorted: Vec<&str> = caps.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut defaults: Vec<&str> = DEFAULT_CAPS.to_vec();
    defaults.sort_unstable();
    if sorted == defaults && !DEFAULT_BPF.is_empty() {
        if let Some(programs) = profile::decode(DEFAULT_BPF) {
            return Ok(SeccompProgram { programs });
        }
    }
    compile_json(DEFAULT_JSON, "default", caps)
}

/// A profile file in docker's (or OCI's) JSON format, for a container with capabilities `caps`.
pub fn load_profile(path: &Path, caps: &[String]) -> Result<SeccompProgram, SeccompError> {
    let text = std::fs::read_to_string(path).map_err(|source| SeccompError::Read {
        path: path.display().to_string(),
        source,
    })?;
    compile_json(&text, &path.display().to_string(), caps)
}

/// The policy a spec's `linux.seccomp` describes (already specific to its capabilities).
pub fn from_spec(s: &oci_spec::runtime::LinuxSeccomp) -> Result<SeccompProgram, SeccompError> {
    let text = serde_json::to_string(s).map_err(|source| SeccompError::Parse {
        path: "linux.seccomp".into(),
        source,
    })?;
    compile_json(&text, "linux.seccomp", &[])
}

fn compile_json(text: &str, name: &str, caps: &[String]) -> Result<SeccompProgram, SeccompError> {
    let prof: Profile = serde_json::from_str(text).map_err(|source| SeccompError::Parse {
        path: name.into(),
        source,
    })?;
    compile(&prof, name, caps)
}

/// Compiles a parsed profile.
pub fn compile(
    prof: &Profile,
    name: &str,
    caps: &[String],
) -> Result<SeccompProgram, SeccompError> {
    let err = |message: String| SeccompError::Profile {
        path: name.into(),
        message,
    };
    let filters = profile::filters(prof, arch()?, caps, &syscall_number).map_err(|e| err(e.0))?;
    let programs = filters
        .into_iter()
        .map(|f| BpfProgram::try_from(f).map_err(|e| err(e.to_string())))
        .collect::<Result<_, _>>()?;
    Ok(SeccompProgram { programs })
}

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const sock_filter,
}

impl SeccompProgram {
    /// Installs the programs in the calling process. Without no_new_privs this needs
    /// CAP_SYS_ADMIN (in the current user namespace), so the caller orders it accordingly.
    pub fn install(&self) -> std::io::Result<()> {
        for p in &self.programs {
            let prog = SockFprog {
                len: p.len() as u16,
                filter: p.as_ptr(),
            };
            // SAFETY: the kernel copies the program; `p` outlives the call.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0,
                    &prog as *const SockFprog,
                )
            };
            if rc != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    /// How many BPF programs the policy installs.
    pub fn len(&self) -> usize {
        self.programs.len()
    }

    /// Whether the policy installs nothing.
    pub fn is_empty(&self) -> bool {
        self.programs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Vec<String> {
        DEFAULT_CAPS.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn build_time_program_matches_run_time_compilation() {
        let built = default_seccomp(&defaults()).unwrap();
        let compiled = compile_json(DEFAULT_JSON, "default", &defaults()).unwrap();
        assert!(
            built.len() >= 2,
            "default, EPERM list and socket EINVAL filters"
        );
        assert_eq!(built, compiled);
    }

    #[test]
    fn caps_change_the_program() {
        let mut caps = defaults();
        caps.push("CAP_SYS_ADMIN".into());
        assert_ne!(
            default_seccomp(&caps).unwrap(),
            default_seccomp(&defaults()).unwrap()
        );
    }

    #[test]
    fn table_knows_common_syscalls() {
        assert_eq!(syscall_number("read"), Some(libc::SYS_read));
        assert_eq!(syscall_number("execve"), Some(libc::SYS_execve));
        assert_eq!(syscall_number("no_such_call"), None);
    }

    #[test]
    fn profile_parsing() {
        let p: Profile = serde_json::from_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
              {"names":["read","write","made_up"],"action":"SCMP_ACT_ALLOW"},
              {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13,
               "args":[{"index":1,"value":511,"op":"SCMP_CMP_EQ"}]},
              {"names":["chroot"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_CHROOT"]}}]}"#,
        )
        .unwrap();
        assert_eq!(compile(&p, "t", &[]).unwrap().len(), 2);
        let bad: Profile = serde_json::from_str(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#).unwrap();
        let e = compile(&bad, "x.json", &[]).unwrap_err().to_string();
        assert!(e.contains("x.json") && e.contains("SCMP_ACT_NOTIFY"), "{e}");
        assert!(serde_json::from_str::<Profile>("{}").is_err());
    }
}
