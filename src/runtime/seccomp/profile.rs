//! The docker/OCI seccomp profile format and its translation into one BPF program.
//!
//! This file is shared with `build.rs` (which compiles the default profile at build time), so it
//! depends only on serde, serde_json and the std-only [`bpf`] compiler.
//!
//! Precedence, for one syscall (rules whose `includes`/`excludes` do not apply are dropped first,
//! and so are rules whose action is the default action, as runc and crun do):
//! - the matching rule with the most severe action decides, in the kernel's order (kill process,
//!   kill thread, trap, errno, trace, log, allow), so a specific errno (EPERM, EINVAL) beats an
//!   allow rule whose arguments also match;
//! - between two errnos (equal severity), the action that first appears later in the profile
//!   wins;
//! - no matching rule: the default action.
//!
//! This is what rctr gave when it installed one filter per action (the kernel keeps the most
//! severe answer, the most recently installed among equal ones), except that an action less
//! severe than a non-allow default (say `SCMP_ACT_LOG` under an errno default) now takes effect,
//! as with libseccomp. It differs from libseccomp in one corner: libseccomp lets an
//! unconditional rule replace the conditional rules of the same syscall whatever their actions,
//! while here a matching conditional errno still beats an unconditional allow (never laxer).
//!
//! Architecture: the program is for the native architecture only. Other architectures (32-bit
//! x86 under x86_64) are killed, as before; x32 syscall numbers on x86_64 get the default action
//! (what the per-action filters gave, x32 numbers never matching a rule).

// `super` is `runtime::seccomp` in the crate and the build script's root in build.rs; both
// declare `bpf`.
use super::bpf;
use bpf::{Cond, Insn, Op, Policy, Rule};
use std::collections::BTreeMap;

/// A seccomp profile in docker's format, which is a superset of the OCI `linux.seccomp` object.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub default_action: String,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub syscalls: Vec<SyscallRule>,
}

/// One entry of `syscalls`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyscallRule {
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub action: String,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Option<Vec<Arg>>,
    #[serde(default)]
    pub includes: Option<Filter>,
    #[serde(default)]
    pub excludes: Option<Filter>,
}

/// An argument condition.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: u8,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// The `includes`/`excludes` conditions of a rule.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    #[serde(default)]
    pub arches: Option<Vec<String>>,
    #[serde(default)]
    pub caps: Option<Vec<String>>,
}

/// A profile that cannot be translated.
#[derive(Debug)]
pub struct ProfileError(pub String);

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The architectures rctr compiles seccomp programs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
    Riscv64,
}

impl Arch {
    /// The architecture named like Rust's `target_arch` / `std::env::consts::ARCH`.
    pub fn from_rust(name: &str) -> Option<Arch> {
        match name {
            "x86_64" => Some(Arch::X86_64),
            "aarch64" => Some(Arch::Aarch64),
            "riscv64" => Some(Arch::Riscv64),
            _ => None,
        }
    }

    /// The AUDIT_ARCH_* value the kernel puts in `seccomp_data.arch`.
    pub fn audit(self) -> u32 {
        match self {
            Arch::X86_64 => 0xc000_003e,
            Arch::Aarch64 => 0xc000_00b7,
            Arch::Riscv64 => 0xc000_00f3,
        }
    }

    /// docker's architecture names (Go's GOARCH, and libseccomp's).
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &["amd64", "x86_64", "SCMP_ARCH_X86_64"],
            Arch::Aarch64 => &["arm64", "aarch64", "SCMP_ARCH_AARCH64"],
            Arch::Riscv64 => &["riscv64", "SCMP_ARCH_RISCV64"],
        }
    }
}

/// Translates an action name into a seccomp return value; `errno` is the rule's errnoRet,
/// `default_errno` the profile's.
pub fn action(
    name: &str,
    errno: Option<u32>,
    default_errno: Option<u32>,
) -> Result<u32, ProfileError> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => bpf::RET_ALLOW,
        "SCMP_ACT_ERRNO" => bpf::RET_ERRNO | (errno.or(default_errno).unwrap_or(1) & 0xffff),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => bpf::RET_KILL_THREAD,
        "SCMP_ACT_KILL_PROCESS" => bpf::RET_KILL_PROCESS,
        "SCMP_ACT_TRAP" => bpf::RET_TRAP,
        "SCMP_ACT_TRACE" => bpf::RET_TRACE | (errno.unwrap_or(0) & 0xffff),
        "SCMP_ACT_LOG" => bpf::RET_LOG,
        other => {
            return Err(ProfileError(format!(
                "unsupported seccomp action `{other}`"
            )))
        }
    })
}

fn condition(a: &Arg) -> Result<Cond, ProfileError> {
    let (op, value) = match a.op.as_str() {
        "SCMP_CMP_EQ" => (Op::Eq, a.value),
        "SCMP_CMP_NE" => (Op::Ne, a.value),
        "SCMP_CMP_LT" => (Op::Lt, a.value),
        "SCMP_CMP_LE" => (Op::Le, a.value),
        "SCMP_CMP_GT" => (Op::Gt, a.value),
        "SCMP_CMP_GE" => (Op::Ge, a.value),
        // libseccomp: (arg & value) == valueTwo.
        "SCMP_CMP_MASKED_EQ" => (Op::MaskedEq(a.value), a.value_two),
        other => {
            return Err(ProfileError(format!(
                "unsupported seccomp operator `{other}`"
            )))
        }
    };
    if a.index > 5 {
        return Err(ProfileError(format!(
            "invalid seccomp argument index {} (syscalls have 6 arguments)",
            a.index
        )));
    }
    Ok(Cond {
        index: a.index,
        op,
        value,
    })
}

/// Whether `rule` is in force on `arch` for a container with capabilities `caps`.
pub fn applies(rule: &SyscallRule, arch: Arch, caps: &[String]) -> bool {
    let native = arch.names();
    if let Some(inc) = &rule.includes {
        if let Some(arches) = &inc.arches {
            if !arches.iter().any(|a| native.contains(&a.as_str())) {
                return false;
            }
        }
        if let Some(need) = &inc.caps {
            if !need.iter().all(|c| caps.contains(c)) {
                return false;
            }
        }
    }
    if let Some(exc) = &rule.excludes {
        if let Some(arches) = &exc.arches {
            if arches.iter().any(|a| native.contains(&a.as_str())) {
                return false;
            }
        }
        if let Some(deny) = &exc.caps {
            if deny.iter().any(|c| caps.contains(c)) {
                return false;
            }
        }
    }
    true
}

/// The per-syscall rule table for `profile` on `arch` for a container with capabilities `caps`
/// (`CAP_*` names), each syscall's rules ordered by the precedence in the module docs.
/// `resolve` gives a syscall's number on `arch`, or None when the architecture lacks it (such
/// names are skipped, as libseccomp does).
pub fn policy(
    profile: &Profile,
    arch: Arch,
    caps: &[String],
    resolve: &dyn Fn(&str) -> Option<i64>,
) -> Result<Policy, ProfileError> {
    let default = action(&profile.default_action, None, profile.default_errno_ret)?;
    // Actions in order of first appearance: among equally severe actions the later one wins.
    let mut order: Vec<u32> = Vec::new();
    let mut table: BTreeMap<u32, Vec<(usize, Rule)>> = BTreeMap::new();
    for rule in profile.syscalls.iter().filter(|r| applies(r, arch, caps)) {
        let act = action(&rule.action, rule.errno_ret, profile.default_errno_ret)?;
        if act == default {
            continue;
        }
        let conds: Vec<Cond> = rule
            .args
            .iter()
            .flatten()
            .map(condition)
            .collect::<Result<_, _>>()?;
        let rank = match order.iter().position(|a| *a == act) {
            Some(p) => p,
            None => {
                order.push(act);
                order.len() - 1
            }
        };
        for name in rule.names.iter().chain(rule.name.iter()) {
            let Some(nr) = resolve(name) else { continue };
            let nr = u32::try_from(nr)
                .map_err(|_| ProfileError(format!("invalid syscall number {nr} for `{name}`")))?;
            table.entry(nr).or_default().push((
                rank,
                Rule {
                    conds: conds.clone(),
                    action: act,
                },
            ));
        }
    }
    let syscalls = table
        .into_iter()
        .map(|(nr, mut rules)| {
            // Most severe first, later-appearing action first among equals; the sort is stable,
            // so rules of one action keep the profile's order.
            rules.sort_by_key(|(rank, r)| (bpf::severity(r.action), std::cmp::Reverse(*rank)));
            let mut out: Vec<Rule> = Vec::with_capacity(rules.len());
            for (_, r) in rules {
                let last = r.conds.is_empty();
                out.push(r);
                if last {
                    // Unconditional: nothing after it is ever reached.
                    break;
                }
            }
            (nr, out)
        })
        .collect();
    Ok(Policy {
        audit_arch: arch.audit(),
        reject_x32: arch == Arch::X86_64,
        default,
        syscalls,
    })
}

/// Compiles `profile` into one program (see [`policy`] for the arguments).
pub fn program(
    profile: &Profile,
    arch: Arch,
    caps: &[String],
    resolve: &dyn Fn(&str) -> Option<i64>,
) -> Result<Vec<Insn>, ProfileError> {
    let prog = bpf::compile(&policy(profile, arch, caps, resolve)?);
    if prog.len() > bpf::MAX_INSNS {
        return Err(ProfileError(format!(
            "the seccomp program is {} instructions long, more than the kernel's {}",
            prog.len(),
            bpf::MAX_INSNS
        )));
    }
    Ok(prog)
}

/// Serialises a program: 8-byte little-endian instructions. Used to embed the build-time
/// compilation in the binary.
pub fn encode(program: &[Insn]) -> Vec<u8> {
    let mut out = Vec::with_capacity(program.len() * 8);
    for i in program {
        out.extend_from_slice(&i.code.to_le_bytes());
        out.push(i.jt);
        out.push(i.jf);
        out.extend_from_slice(&i.k.to_le_bytes());
    }
    out
}

/// The inverse of [`encode`]; None for a truncated encoding.
pub fn decode(b: &[u8]) -> Option<Vec<Insn>> {
    if !b.len().is_multiple_of(8) {
        return None;
    }
    Some(
        b.chunks_exact(8)
            .map(|h| Insn {
                code: u16::from_le_bytes([h[0], h[1]]),
                jt: h[2],
                jf: h[3],
                k: u32::from_le_bytes([h[4], h[5], h[6], h[7]]),
            })
            .collect(),
    )
}
