//! The docker/OCI seccomp profile format and its translation into seccompiler filters.
//!
//! This file is shared with `build.rs` (which compiles the default profile at build time), so it
//! depends only on serde, serde_json and seccompiler, never on the rest of the crate.
//!
//! seccompiler gives each filter one match action, while a profile mixes actions (allow most
//! calls, EPERM for some, EINVAL for one socket form...). So a profile becomes several filters:
//! first one with the default action that allows the allowed calls, then one per other action
//! that matches its calls and allows everything else. The kernel runs every installed filter and
//! keeps the most severe action, preferring the most recently installed among equal ones, so a
//! specific errno installed later overrides the default errno.

use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
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

/// docker's architecture names (Go's GOARCH, and libseccomp's) for a seccompiler target.
pub fn arch_names(arch: TargetArch) -> &'static [&'static str] {
    match arch {
        TargetArch::x86_64 => &["amd64", "x86_64", "SCMP_ARCH_X86_64"],
        TargetArch::aarch64 => &["arm64", "aarch64", "SCMP_ARCH_AARCH64"],
        TargetArch::riscv64 => &["riscv64", "SCMP_ARCH_RISCV64"],
    }
}

/// Translates an action name; `errno` is the rule's errnoRet, `default_errno` the profile's.
pub fn action(
    name: &str,
    errno: Option<u32>,
    default_errno: Option<u32>,
) -> Result<SeccompAction, ProfileError> {
    Ok(match name {
        "SCMP_ACT_ALLOW" => SeccompAction::Allow,
        "SCMP_ACT_ERRNO" => SeccompAction::Errno(errno.or(default_errno).unwrap_or(1)),
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => SeccompAction::KillThread,
        "SCMP_ACT_KILL_PROCESS" => SeccompAction::KillProcess,
        "SCMP_ACT_TRAP" => SeccompAction::Trap,
        "SCMP_ACT_TRACE" => SeccompAction::Trace(errno.unwrap_or(0)),
        "SCMP_ACT_LOG" => SeccompAction::Log,
        other => {
            return Err(ProfileError(format!(
                "unsupported seccomp action `{other}`"
            )))
        }
    })
}

fn condition(a: &Arg) -> Result<SeccompCondition, ProfileError> {
    let (op, value) = match a.op.as_str() {
        "SCMP_CMP_EQ" => (SeccompCmpOp::Eq, a.value),
        "SCMP_CMP_NE" => (SeccompCmpOp::Ne, a.value),
        "SCMP_CMP_LT" => (SeccompCmpOp::Lt, a.value),
        "SCMP_CMP_LE" => (SeccompCmpOp::Le, a.value),
        "SCMP_CMP_GT" => (SeccompCmpOp::Gt, a.value),
        "SCMP_CMP_GE" => (SeccompCmpOp::Ge, a.value),
        // libseccomp: (arg & value) == valueTwo.
        "SCMP_CMP_MASKED_EQ" => (SeccompCmpOp::MaskedEq(a.value), a.value_two),
        other => {
            return Err(ProfileError(format!(
                "unsupported seccomp operator `{other}`"
            )))
        }
    };
    SeccompCondition::new(a.index, SeccompCmpArgLen::Qword, op, value)
        .map_err(|e| ProfileError(format!("invalid seccomp argument condition {a:?}: {e}")))
}

fn applies(rule: &SyscallRule, arch: TargetArch, caps: &[String]) -> bool {
    let native = arch_names(arch);
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

/// The rules of one action: syscall → rules (empty = always), and the calls matched always.
type Group = (SeccompAction, BTreeMap<i64, Vec<SeccompRule>>, Vec<i64>);

/// Builds the filters for `profile` on `arch` for a container with capabilities `caps`
/// (`CAP_*` names). `resolve` gives a syscall's number on `arch`, or None when the architecture
/// lacks it (such names are skipped, as libseccomp does).
pub fn filters(
    profile: &Profile,
    arch: TargetArch,
    caps: &[String],
    resolve: &dyn Fn(&str) -> Option<i64>,
) -> Result<Vec<SeccompFilter>, ProfileError> {
    let default = action(&profile.default_action, None, profile.default_errno_ret)?;
    // Grouped by action, in order of first appearance; each maps syscall → rules (empty = always).
    let mut groups: Vec<Group> = Vec::new();
    for rule in profile.syscalls.iter().filter(|r| applies(r, arch, caps)) {
        let act = action(&rule.action, rule.errno_ret, profile.default_errno_ret)?;
        let conds: Vec<SeccompCondition> = rule
            .args
            .iter()
            .flatten()
            .map(condition)
            .collect::<Result<_, _>>()?;
        let pos = match groups.iter().position(|g| g.0 == act) {
            Some(p) => p,
            None => {
                groups.push((act, BTreeMap::new(), Vec::new()));
                groups.len() - 1
            }
        };
        let (_, map, unconditional) = &mut groups[pos];
        for name in rule.names.iter().chain(rule.name.iter()) {
            let Some(nr) = resolve(name) else { continue };
            if conds.is_empty() {
                unconditional.push(nr);
                map.insert(nr, Vec::new());
            } else if !unconditional.contains(&nr) {
                let r = SeccompRule::new(conds.clone())
                    .map_err(|e| ProfileError(format!("invalid seccomp rule for `{name}`: {e}")))?;
                map.entry(nr).or_default().push(r);
            }
        }
    }
    let mut out = Vec::new();
    let build = |rules, mismatch, matched| {
        SeccompFilter::new(rules, mismatch, matched, arch)
            .map_err(|e| ProfileError(format!("cannot build the seccomp filter: {e}")))
    };
    if default != SeccompAction::Allow {
        let allow = groups
            .iter()
            .find(|g| g.0 == SeccompAction::Allow)
            .map(|g| g.1.clone())
            .unwrap_or_default();
        out.push(build(allow, default.clone(), SeccompAction::Allow)?);
    }
    for (act, rules, _) in groups {
        if act == SeccompAction::Allow || act == default || rules.is_empty() {
            continue;
        }
        out.push(build(rules, SeccompAction::Allow, act)?);
    }
    Ok(out)
}

/// Serialises compiled programs: a u32 count, then per program a u32 length and 8-byte
/// instructions, all little-endian. Used to embed the build-time compilation in the binary.
pub fn encode(programs: &[Vec<seccompiler::sock_filter>]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&(programs.len() as u32).to_le_bytes());
    for p in programs {
        out.extend_from_slice(&(p.len() as u32).to_le_bytes());
        for i in p {
            out.extend_from_slice(&i.code.to_le_bytes());
            out.push(i.jt);
            out.push(i.jf);
            out.extend_from_slice(&i.k.to_le_bytes());
        }
    }
    out
}

/// The inverse of [`encode`].
pub fn decode(mut b: &[u8]) -> Option<Vec<Vec<seccompiler::sock_filter>>> {
    fn u32_of(b: &mut &[u8]) -> Option<u32> {
        let (h, t) = b.split_first_chunk::<4>()?;
        *b = t;
        Some(u32::from_le_bytes(*h))
    }
    let n = u32_of(&mut b)?;
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let len = u32_of(&mut b)?;
        let mut p = Vec::with_capacity(len as usize);
        for _ in 0..len {
            let (h, t) = b.split_first_chunk::<8>()?;
            b = t;
            p.push(seccompiler::sock_filter {
                code: u16::from_le_bytes([h[0], h[1]]),
                jt: h[2],
                jf: h[3],
                k: u32::from_le_bytes([h[4], h[5], h[6], h[7]]),
            });
        }
        out.push(p);
    }
    Some(out)
}
