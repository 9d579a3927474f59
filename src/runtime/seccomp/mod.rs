//! Seccomp: podman's default profile, compiled to BPF at build time (see `build.rs`) for the
//! default capabilities, and profiles in docker's/OCI's JSON format compiled at run time for
//! `--security-opt seccomp=PROFILE.json`, for other capability sets and for specs that carry
//! `linux.seccomp`.
//!
//! A profile becomes ONE classic-BPF program with a binary search on the syscall number
//! ([`bpf`]), so installing it (the kernel emulates the filter for every syscall number to build
//! its allow cache) and running it stay cheap. Precedence between rules: see [`profile`].
//!
//! Limitation: programs are built for the native architecture only, so 32-bit x86 binaries in a
//! confined container are killed.

pub mod bpf;
pub mod profile;
#[cfg(test)]
mod tests;

use super::defaults::DEFAULT_CAPS;
use bpf::Insn;
use profile::{Arch, Profile};
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

/// A compiled seccomp policy: one BPF program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeccompProgram {
    program: Vec<Insn>,
}

fn arch() -> Result<Arch, SeccompError> {
    Arch::from_rust(std::env::consts::ARCH).ok_or(SeccompError::Arch)
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
        if let Some(program) = profile::decode(DEFAULT_BPF) {
            return Ok(SeccompProgram { program });
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
    let program = profile::program(prof, arch()?, caps, &syscall_number).map_err(|e| err(e.0))?;
    Ok(SeccompProgram { program })
}

#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const Insn,
}

impl SeccompProgram {
    /// Installs the program in the calling process. Without no_new_privs this needs
    /// CAP_SYS_ADMIN (in the current user namespace), so the caller orders it accordingly.
    pub fn install(&self) -> std::io::Result<()> {
        let prog = SockFprog {
            len: self.program.len() as u16,
            filter: self.program.as_ptr(),
        };
        // SAFETY: `Insn` has `struct sock_filter`'s layout; the kernel copies the program,
        // which outlives the call.
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
        Ok(())
    }

    /// The program's instructions.
    pub fn instructions(&self) -> &[Insn] {
        &self.program
    }

    /// How many instructions the program has.
    pub fn len(&self) -> usize {
        self.program.len()
    }

    /// Whether the program is empty (never for a compiled profile).
    pub fn is_empty(&self) -> bool {
        self.program.is_empty()
    }
}
