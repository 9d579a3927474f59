//! Checks the one-program compiler against the per-action seccompiler filters it replaced, by
//! running both in a small classic-BPF interpreter on synthetic `seccomp_data`.

use super::bpf::{self, Insn};
use super::profile::{self, Arch, Profile};
use super::*;
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use std::collections::{BTreeMap, BTreeSet};

/// A synthetic `struct seccomp_data`.
#[derive(Debug, Clone, Copy)]
struct Data {
    nr: u32,
    arch: u32,
    args: [u64; 6],
}

impl Data {
    fn word(&self, off: u32) -> u32 {
        match off {
            0 => self.nr,
            4 => self.arch,
            8 | 12 => 0,
            16..=60 if off.is_multiple_of(4) => {
                let a = self.args[((off - 16) / 8) as usize];
                // Little-endian: the low half first.
                if off.is_multiple_of(8) {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            _ => panic!("load from seccomp_data offset {off}"),
        }
    }
}

/// Runs `prog` on `d`: (return value, instructions executed). Supports what the compilers
/// emit: LD W ABS, JEQ/JGT/JGE/JSET K, JA, AND K, RET K; panics on anything else, on a jump
/// out of the program and on falling off its end.
fn run(prog: &[Insn], d: &Data) -> (u32, usize) {
    let (mut pc, mut acc, mut steps) = (0usize, 0u32, 0usize);
    loop {
        let i = prog
            .get(pc)
            .unwrap_or_else(|| panic!("pc {pc} out of a {}-insn program", prog.len()));
        steps += 1;
        pc += 1;
        let cond = |c: bool| if c { i.jt } else { i.jf } as usize;
        match i.code {
            bpf::BPF_LD_W_ABS => acc = d.word(i.k),
            bpf::BPF_ALU_AND_K => acc &= i.k,
            bpf::BPF_JA => pc += i.k as usize,
            bpf::BPF_JEQ_K => pc += cond(acc == i.k),
            bpf::BPF_JGT_K => pc += cond(acc > i.k),
            bpf::BPF_JGE_K => pc += cond(acc >= i.k),
            bpf::BPF_JSET_K => pc += cond(acc & i.k != 0),
            bpf::BPF_RET_K => return (i.k, steps),
            c => panic!("unsupported opcode {c:#x} at {}", pc - 1),
        }
    }
}

/// What the kernel returns for a stack of filters: the most severe answer, the most recently
/// installed (run first) among equally severe ones.
fn run_stack(progs: &[Vec<Insn>], d: &Data) -> u32 {
    let mut ret = bpf::RET_ALLOW;
    for p in progs.iter().rev() {
        let r = run(p, d).0;
        if bpf::severity(r) < bpf::severity(ret) {
            ret = r;
        }
    }
    ret
}

/// The translation rctr used before: one seccompiler filter per action (verbatim logic of the
/// old `profile::filters`), kept here as the reference.
fn legacy(prof: &Profile, caps: &[String]) -> Vec<Vec<Insn>> {
    let to_action = |ret: u32| match ret & 0xffff_0000 {
        bpf::RET_ALLOW => SeccompAction::Allow,
        bpf::RET_ERRNO => SeccompAction::Errno(ret & 0xffff),
        bpf::RET_KILL_THREAD => SeccompAction::KillThread,
        bpf::RET_KILL_PROCESS => SeccompAction::KillProcess,
        bpf::RET_TRAP => SeccompAction::Trap,
        bpf::RET_TRACE => SeccompAction::Trace(ret & 0xffff),
        bpf::RET_LOG => SeccompAction::Log,
        _ => unreachable!(),
    };
    let arch = TargetArch::x86_64;
    let default =
        to_action(profile::action(&prof.default_action, None, prof.default_errno_ret).unwrap());
    type Group = (SeccompAction, BTreeMap<i64, Vec<SeccompRule>>, Vec<i64>);
    let mut groups: Vec<Group> = Vec::new();
    let applicable = prof
        .syscalls
        .iter()
        .filter(|r| profile::applies(r, Arch::X86_64, caps));
    for rule in applicable {
        let act = to_action(
            profile::action(&rule.action, rule.errno_ret, prof.default_errno_ret).unwrap(),
        );
        let conds: Vec<SeccompCondition> = rule
            .args
            .iter()
            .flatten()
            .map(|a| {
                let (op, value) = match a.op.as_str() {
                    "SCMP_CMP_EQ" => (SeccompCmpOp::Eq, a.value),
                    "SCMP_CMP_NE" => (SeccompCmpOp::Ne, a.value),
                    "SCMP_CMP_LT" => (SeccompCmpOp::Lt, a.value),
                    "SCMP_CMP_LE" => (SeccompCmpOp::Le, a.value),
                    "SCMP_CMP_GT" => (SeccompCmpOp::Gt, a.value),
                    "SCMP_CMP_GE" => (SeccompCmpOp::Ge, a.value),
                    "SCMP_CMP_MASKED_EQ" => (SeccompCmpOp::MaskedEq(a.value), a.value_two),
                    o => panic!("{o}"),
                };
                SeccompCondition::new(a.index, SeccompCmpArgLen::Qword, op, value).unwrap()
            })
            .collect();
        let pos = match groups.iter().position(|g| g.0 == act) {
            Some(p) => p,
            None => {
                groups.push((act, BTreeMap::new(), Vec::new()));
                groups.len() - 1
            }
        };
        let (_, map, unconditional) = &mut groups[pos];
        for name in rule.names.iter().chain(rule.name.iter()) {
            let Some(nr) = syscall_number(name) else {
                continue;
            };
            if conds.is_empty() {
                unconditional.push(nr);
                map.insert(nr, Vec::new());
            } else if !unconditional.contains(&nr) {
                map.entry(nr)
                    .or_default()
                    .push(SeccompRule::new(conds.clone()).unwrap());
            }
        }
    }
    let mut filters = Vec::new();
    if default != SeccompAction::Allow {
        let allow = groups
            .iter()
            .find(|g| g.0 == SeccompAction::Allow)
            .map(|g| g.1.clone())
            .unwrap_or_default();
        filters
            .push(SeccompFilter::new(allow, default.clone(), SeccompAction::Allow, arch).unwrap());
    }
    for (act, rules, _) in groups {
        if act == SeccompAction::Allow || act == default || rules.is_empty() {
            continue;
        }
        filters.push(SeccompFilter::new(rules, SeccompAction::Allow, act, arch).unwrap());
    }
    filters
        .into_iter()
        .map(|f| {
            let p: seccompiler::BpfProgram = f.try_into().unwrap();
            p.iter()
                .map(|i| Insn {
                    code: i.code,
                    jt: i.jt,
                    jf: i.jf,
                    k: i.k,
                })
                .collect()
        })
        .collect()
}

const X86_64: u32 = 0xc000_003e;

fn caps(extra: &[&str]) -> Vec<String> {
    DEFAULT_CAPS
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect()
}

fn parse(json: &str) -> Profile {
    serde_json::from_str(json).unwrap()
}

fn new_program(prof: &Profile, caps: &[String]) -> Vec<Insn> {
    compile(prof, "test", caps).unwrap().instructions().to_vec()
}

/// Interesting argument values: every value, valueTwo and mask in the profile, their
/// neighbours, and values whose halves differ.
fn interesting(prof: &Profile) -> Vec<u64> {
    let mut v: BTreeSet<u64> = [
        0,
        1,
        u64::MAX,
        0xffff_ffff,
        1 << 32,
        (1 << 32) | 16,
        0x1_0000_0009,
    ]
    .into();
    for a in prof.syscalls.iter().flat_map(|r| r.args.iter().flatten()) {
        for x in [a.value, a.value_two, a.value & a.value_two] {
            v.extend([x, x.wrapping_add(1), x.wrapping_sub(1), x | (1 << 40)]);
        }
    }
    v.into_iter().collect()
}

/// Compares the new program with the legacy filters on every syscall rctr knows, numbers
/// around them, x32 numbers and a foreign architecture; returns the longest path.
fn same_decisions(prof: &Profile, caps: &[String]) -> usize {
    let new = new_program(prof, caps);
    let old = legacy(prof, caps);
    let values = interesting(prof);
    let conditional: BTreeSet<i64> = prof
        .syscalls
        .iter()
        .filter(|r| r.args.as_ref().is_some_and(|a| !a.is_empty()))
        .flat_map(|r| r.names.iter().filter_map(|n| syscall_number(n)))
        .collect();
    let mut nrs: BTreeSet<u32> = (0..600).collect();
    nrs.extend(table::SYSCALLS.iter().map(|(_, n)| *n as u32));
    nrs.extend([0x4000_0000, 0x4000_0001, 0x4000_0000 + 59, u32::MAX]);
    let mut longest = 0;
    let mut check = |d: Data| {
        let (got, steps) = run(&new, &d);
        longest = longest.max(steps);
        let want = run_stack(&old, &d);
        assert_eq!(got, want, "{d:x?}: new {got:#x}, old {want:#x}");
    };
    for &nr in &nrs {
        for &v in &values {
            check(Data {
                nr,
                arch: X86_64,
                args: [v; 6],
            });
        }
        if conditional.contains(&i64::from(nr)) {
            for &a in &values {
                for &b in &values {
                    check(Data {
                        nr,
                        arch: X86_64,
                        args: [a, 1, b, 0, 0, 0],
                    });
                    check(Data {
                        nr,
                        arch: X86_64,
                        args: [b, a, a, b, 0, 0],
                    });
                }
            }
        }
    }
    // 32-bit x86 (AUDIT_ARCH_I386): both kill the process.
    for nr in [0, 1, 11, 59] {
        check(Data {
            nr,
            arch: 0x4000_0003,
            args: [0; 6],
        });
    }
    longest
}

fn default_profile() -> Profile {
    parse(DEFAULT_JSON)
}

#[test]
fn default_profile_decides_as_the_per_action_filters_did() {
    let prof = default_profile();
    for extra in [
        &[][..],
        &["CAP_SYS_ADMIN"],
        &["CAP_AUDIT_WRITE"],
        &["CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYS_MODULE"],
    ] {
        let longest = same_decisions(&prof, &caps(extra));
        eprintln!("{extra:?}: longest path {longest} instructions");
        assert!(longest <= 40, "{extra:?}: a path of {longest} instructions");
    }
    // No capabilities at all.
    same_decisions(&prof, &[]);
}

#[test]
fn default_profile_is_one_short_program() {
    let built = default_seccomp(&caps(&[])).unwrap();
    let old: usize = legacy(&default_profile(), &caps(&[]))
        .iter()
        .map(Vec::len)
        .sum();
    eprintln!(
        "default profile: {} instructions, was {old} in several filters",
        built.len()
    );
    assert!(built.len() <= 160, "{} instructions", built.len());
    assert!(old > 4 * built.len(), "old {old}, new {}", built.len());
    // The embedded build-time program is what run-time compilation gives.
    assert_eq!(
        built,
        compile_json(DEFAULT_JSON, "default", &caps(&[])).unwrap()
    );
    assert_eq!(
        profile::decode(&profile::encode(built.instructions())).unwrap(),
        built.instructions()
    );
    assert!(profile::decode(&[0; 7]).is_none());
}

/// Spot checks of what the default profile means, independent of the legacy filters.
#[test]
fn default_profile_semantics() {
    let p = default_seccomp(&caps(&[])).unwrap();
    let d = |name: &str, args: [u64; 6]| {
        let nr = syscall_number(name).unwrap() as u32;
        run(
            p.instructions(),
            &Data {
                nr,
                arch: X86_64,
                args,
            },
        )
        .0
    };
    let eperm = bpf::RET_ERRNO | 1;
    let enosys = bpf::RET_ERRNO | 38;
    assert_eq!(d("read", [0; 6]), bpf::RET_ALLOW);
    assert_eq!(d("mount", [0; 6]), bpf::RET_ALLOW);
    assert_eq!(d("kexec_load", [0; 6]), eperm);
    assert_eq!(d("bpf", [0; 6]), eperm, "needs CAP_SYS_ADMIN");
    assert_eq!(
        d("chroot", [0; 6]),
        bpf::RET_ALLOW,
        "CAP_SYS_CHROOT is a default"
    );
    assert_eq!(d("personality", [8, 0, 0, 0, 0, 0]), bpf::RET_ALLOW);
    assert_eq!(
        d("personality", [0xffff_ffff, 0, 0, 0, 0, 0]),
        bpf::RET_ALLOW
    );
    assert_eq!(d("personality", [1, 0, 0, 0, 0, 0]), enosys);
    assert_eq!(d("personality", [(1 << 32) | 8, 0, 0, 0, 0, 0]), enosys);
    // socket(AF_NETLINK, _, NETLINK_AUDIT) without CAP_AUDIT_WRITE.
    assert_eq!(d("socket", [16, 3, 9, 0, 0, 0]), bpf::RET_ERRNO | 22);
    assert_eq!(d("socket", [16, 3, 0, 0, 0, 0]), bpf::RET_ALLOW);
    assert_eq!(d("socket", [40, 1, 0, 0, 0, 0]), bpf::RET_ALLOW, "AF_VSOCK");
    // x32 numbers and unknown calls: the default errno; another architecture: killed.
    assert_eq!(
        run(
            p.instructions(),
            &Data {
                nr: 0x4000_0000,
                arch: X86_64,
                args: [0; 6]
            }
        )
        .0,
        enosys
    );
    assert_eq!(
        run(
            p.instructions(),
            &Data {
                nr: 1000,
                arch: X86_64,
                args: [0; 6]
            }
        )
        .0,
        enosys
    );
    assert_eq!(
        run(
            p.instructions(),
            &Data {
                nr: 0,
                arch: 0x4000_0003,
                args: [0; 6]
            }
        )
        .0,
        bpf::RET_KILL_PROCESS
    );
}

/// Every comparison operator, with values whose 32-bit halves matter, against seccompiler.
#[test]
fn operators_match_seccompiler() {
    let mut rules = Vec::new();
    let ops = ["EQ", "NE", "LT", "LE", "GT", "GE"];
    let names = ["mkdir", "rmdir", "chdir", "fchdir", "rename", "link"];
    for (op, name) in ops.iter().zip(names) {
        for (i, v) in [5u64, 0x1_0000_0005, 0xffff_ffff].iter().enumerate() {
            rules.push(format!(
                r#"{{"names":["{name}"],"action":"SCMP_ACT_ERRNO","errnoRet":{},"args":[{{"index":{i},"value":{v},"op":"SCMP_CMP_{op}"}}]}}"#,
                10 + i
            ));
        }
    }
    rules.push(
        r#"{"names":["unlink"],"action":"SCMP_ACT_ERRNO","errnoRet":7,"args":[{"index":1,"value":4294967312,"valueTwo":4294967296,"op":"SCMP_CMP_MASKED_EQ"}]}"#
            .into(),
    );
    rules.push(r#"{"names":["getpid","unlink"],"action":"SCMP_ACT_LOG"}"#.into());
    let prof = parse(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{}]}}"#,
        rules.join(",")
    ));
    same_decisions(&prof, &[]);
}

/// Mixed actions: a later errno beats an earlier one for the same call, errnos beat allow, an
/// unconditional rule after conditional ones, kill beats everything.
#[test]
fn mixed_actions_match_the_per_action_filters() {
    let prof = parse(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":38,"syscalls":[
          {"names":["read","write","mkdir","socket","kill"],"action":"SCMP_ACT_ALLOW"},
          {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13,"args":[{"index":1,"value":511,"op":"SCMP_CMP_EQ"}]},
          {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":17,"args":[{"index":1,"value":448,"op":"SCMP_CMP_GE"}]},
          {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":97,"args":[{"index":0,"value":40,"op":"SCMP_CMP_EQ"}]},
          {"names":["socket"],"action":"SCMP_ACT_ERRNO","errnoRet":38,"args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
          {"names":["kill"],"action":"SCMP_ACT_KILL_PROCESS","args":[{"index":1,"value":9,"op":"SCMP_CMP_EQ"}]},
          {"names":["getppid"],"action":"SCMP_ACT_ALLOW","args":[{"index":0,"value":1,"op":"SCMP_CMP_EQ"}]},
          {"names":["getppid"],"action":"SCMP_ACT_ALLOW"},
          {"names":["chroot"],"action":"SCMP_ACT_ALLOW","includes":{"caps":["CAP_SYS_CHROOT"]}},
          {"names":["bpf"],"action":"SCMP_ACT_ALLOW","includes":{"arches":["arm64"]}},
          {"names":["arch_prctl"],"action":"SCMP_ACT_ALLOW","excludes":{"arches":["amd64"]}}
        ]}"#,
    );
    same_decisions(&prof, &caps(&[]));
    same_decisions(&prof, &[]);
    let p = new_program(&prof, &[]);
    let nr = |n: &str| syscall_number(n).unwrap() as u32;
    let d = |n: &str, args: [u64; 6]| {
        run(
            &p,
            &Data {
                nr: nr(n),
                arch: X86_64,
                args,
            },
        )
        .0
    };
    assert_eq!(
        d("mkdir", [0, 511, 0, 0, 0, 0]),
        bpf::RET_ERRNO | 17,
        "the later errno"
    );
    assert_eq!(d("mkdir", [0, 0o755, 0, 0, 0, 0]), bpf::RET_ERRNO | 17);
    assert_eq!(d("mkdir", [0, 0o500, 0, 0, 0, 0]), bpf::RET_ALLOW);
    assert_eq!(d("kill", [1, 9, 0, 0, 0, 0]), bpf::RET_KILL_PROCESS);
    assert_eq!(
        d("chroot", [0; 6]),
        bpf::RET_ERRNO | 38,
        "no CAP_SYS_CHROOT"
    );
    assert_eq!(d("bpf", [0; 6]), bpf::RET_ERRNO | 38, "arm64 only");
    assert_eq!(d("arch_prctl", [0; 6]), bpf::RET_ERRNO | 38, "not on amd64");
}

/// A rule less severe than a non-allow default takes effect (the per-action filters lost it).
#[test]
fn log_under_an_errno_default_takes_effect() {
    let prof = parse(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
          {"names":["getpid"],"action":"SCMP_ACT_LOG"},
          {"names":["read"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let p = new_program(&prof, &[]);
    let nr = syscall_number("getpid").unwrap() as u32;
    assert_eq!(
        run(
            &p,
            &Data {
                nr,
                arch: X86_64,
                args: [0; 6]
            }
        )
        .0,
        bpf::RET_LOG
    );
}

/// Hundreds of conditional rules push blocks beyond the reach of 8-bit jump offsets; the
/// trampolines must still lead every call to its own block.
#[test]
fn far_jumps_go_through_trampolines() {
    let names: Vec<&str> = table::SYSCALLS.iter().map(|(n, _)| *n).take(200).collect();
    let rules: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                r#"{{"names":["{n}"],"action":"SCMP_ACT_ALLOW","args":[{{"index":0,"value":{i},"op":"SCMP_CMP_EQ"}},{{"index":1,"value":{i},"op":"SCMP_CMP_NE"}},{{"index":2,"value":{},"op":"SCMP_CMP_LE"}}]}}"#,
                i * 3
            )
        })
        .collect();
    let prof = parse(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"syscalls":[{}]}}"#,
        rules.join(",")
    ));
    let p = new_program(&prof, &[]);
    assert!(p.len() > 2000, "{} instructions: not far enough", p.len());
    assert!(
        p.iter().any(|i| i.code == bpf::BPF_JA && i.k > 255),
        "no far trampoline"
    );
    for (i, n) in names.iter().enumerate() {
        let nr = syscall_number(n).unwrap() as u32;
        let i = i as u64;
        let go = |args: [u64; 6]| {
            run(
                &p,
                &Data {
                    nr,
                    arch: X86_64,
                    args,
                },
            )
        };
        let (ok, steps) = go([i, i + 1, i * 3, 0, 0, 0]);
        assert_eq!(ok, bpf::RET_ALLOW, "{n}");
        assert!(steps <= 40, "{n}: {steps} steps");
        assert_eq!(go([i, i, 0, 0, 0, 0]).0, bpf::RET_ERRNO | 1, "{n}");
        assert_eq!(go([i + 1, 0, 0, 0, 0, 0]).0, bpf::RET_ERRNO | 1, "{n}");
        assert_eq!(go([i, 0, i * 3 + 1, 0, 0, 0]).0, bpf::RET_ERRNO | 1, "{n}");
    }
}

#[test]
fn caps_change_the_program() {
    assert_ne!(
        default_seccomp(&caps(&["CAP_SYS_ADMIN"])).unwrap(),
        default_seccomp(&caps(&[])).unwrap()
    );
}

#[test]
fn table_knows_common_syscalls() {
    assert_eq!(syscall_number("read"), Some(libc::SYS_read));
    assert_eq!(syscall_number("execve"), Some(libc::SYS_execve));
    assert_eq!(syscall_number("no_such_call"), None);
}

#[test]
fn profile_errors_name_the_profile() {
    let bad = parse(r#"{"defaultAction":"SCMP_ACT_NOTIFY"}"#);
    let e = compile(&bad, "x.json", &[]).unwrap_err().to_string();
    assert!(e.contains("x.json") && e.contains("SCMP_ACT_NOTIFY"), "{e}");
    let bad = parse(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO","args":[{"index":6,"value":0,"op":"SCMP_CMP_EQ"}]}]}"#,
    );
    let e = compile(&bad, "y.json", &[]).unwrap_err().to_string();
    assert!(e.contains("y.json") && e.contains("index 6"), "{e}");
    assert!(serde_json::from_str::<Profile>("{}").is_err());
}

/// A profile without rules is a valid program that answers the default for everything.
#[test]
fn empty_profile() {
    let p = new_program(&parse(r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#), &[]);
    assert_eq!(
        run(
            &p,
            &Data {
                nr: 0,
                arch: X86_64,
                args: [0; 6]
            }
        )
        .0,
        bpf::RET_ALLOW
    );
    assert_eq!(
        run(
            &p,
            &Data {
                nr: 0x4000_0001,
                arch: X86_64,
                args: [0; 6]
            }
        )
        .0,
        bpf::RET_ALLOW
    );
}

/// CPU time of a forked child that installs `progs` (in order) and exits.
fn child_cpu(progs: &[Vec<Insn>]) -> std::time::Duration {
    // SAFETY: the child only makes raw syscalls before `_exit`, so forking from the
    // multi-threaded test harness is sound; the parent reaps it with wait4.
    unsafe {
        let pid = libc::fork();
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
            for p in progs {
                let prog = SeccompProgram { program: p.clone() };
                if prog.install().is_err() {
                    libc::_exit(1);
                }
            }
            libc::_exit(0);
        }
        let mut status = 0;
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::wait4(pid, &mut status, 0, &mut ru);
        assert_eq!(status, 0, "the child could not install the filters");
        let t = |v: libc::timeval| {
            std::time::Duration::from_secs(v.tv_sec as u64)
                + std::time::Duration::from_micros(v.tv_usec as u64)
        };
        t(ru.ru_utime) + t(ru.ru_stime)
    }
}

/// What installing the default profile costs the kernel (allow-cache emulation, JIT), the
/// per-action filters against the one program, net of a child that installs nothing. A
/// measurement, not a check: `cargo test --lib install_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn install_cost() {
    let defaults = caps(&[]);
    let old = legacy(&default_profile(), &defaults);
    let new = vec![default_seccomp(&defaults).unwrap().instructions().to_vec()];
    let n = 400;
    let per = |progs: &[Vec<Insn>]| {
        (0..n)
            .map(|_| child_cpu(progs))
            .sum::<std::time::Duration>()
            / n
    };
    for round in 0..2 {
        let none = per(&[]);
        let o = per(&old);
        let w = per(&new);
        eprintln!(
            "round {round}: fork+exit alone {none:?}; per-action filters ({} insns in {}) {:?} more; one program ({} insns) {:?} more",
            old.iter().map(Vec::len).sum::<usize>(),
            old.len(),
            o.saturating_sub(none),
            new[0].len(),
            w.saturating_sub(none)
        );
    }
}
