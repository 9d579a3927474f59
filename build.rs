//! Compiles podman's default seccomp profile (src/runtime/seccomp/default.json) into BPF at build
//! time for the default capabilities, so `rctr run` never pays for seccomp compilation, and
//! generates the syscall-number table used when a custom profile is compiled at run time
//! (seccompiler, a build dependency only, supplies the numbers).

#[path = "src/runtime/seccomp/bpf.rs"]
#[allow(dead_code)]
mod bpf;
#[path = "src/runtime/defaults.rs"]
#[allow(dead_code)]
mod defaults;
#[path = "src/runtime/seccomp/profile.rs"]
#[allow(dead_code)]
mod profile;

use seccompiler::TargetArch;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn main() {
    // rctr itself is linked as a position-dependent executable (its code is still compiled
    // position-independent, so this only changes the final link). A PIE of this size makes
    // ld.so apply ~25,000 relocations at every start and copy about 440 KiB of .data.rel.ro and
    // .got into every process, which costs each command a millisecond of start-up and is most
    // of what an idle detached container's monitor keeps resident; at a fixed address the
    // linker resolves them and the pages stay shared with the file. The price: no ASLR for
    // rctr's own code and data (libraries, heap and stack are still randomised).
    // A link argument for binaries only: as RUSTFLAGS it would also reach proc-macro crates,
    // which must be shared objects.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    let src = "src/runtime/seccomp/default.json";
    println!("cargo:rerun-if-changed={src}");
    println!("cargo:rerun-if-changed=src/runtime/seccomp/profile.rs");
    println!("cargo:rerun-if-changed=src/runtime/seccomp/bpf.rs");
    println!("cargo:rerun-if-changed=src/runtime/defaults.rs");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    let text = std::fs::read_to_string(src).expect("read the default seccomp profile");
    let target = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap();
    let arch = match target.as_str() {
        "x86_64" => Some(TargetArch::x86_64),
        "aarch64" => Some(TargetArch::aarch64),
        "riscv64" => Some(TargetArch::riscv64),
        _ => None,
    };
    let (Some(arch), Some(parch)) = (arch, profile::Arch::from_rust(&target)) else {
        // No seccomp support on this architecture: empty table, no default program.
        std::fs::write(
            out.join("syscalls.rs"),
            "pub static SYSCALLS: &[(&str, i64)] = &[];\n",
        )
        .unwrap();
        std::fs::write(out.join("default_seccomp.bpf"), []).unwrap();
        return;
    };
    let prof: profile::Profile =
        serde_json::from_str(&text).expect("parse the default seccomp profile");
    let mut table = BTreeMap::new();
    for rule in &prof.syscalls {
        for name in rule.names.iter().chain(rule.name.iter()) {
            if let Some(nr) = syscall_number(name, arch) {
                table.insert(name.clone(), nr);
            }
        }
    }
    let mut rs = String::from("/// Syscall numbers for the build target, sorted by name.\npub static SYSCALLS: &[(&str, i64)] = &[\n");
    for (name, nr) in &table {
        rs.push_str(&format!("    ({name:?}, {nr}),\n"));
    }
    rs.push_str("];\n");
    std::fs::write(out.join("syscalls.rs"), rs).unwrap();

    let caps: Vec<String> = defaults::DEFAULT_CAPS
        .iter()
        .map(|s| s.to_string())
        .collect();
    let program = profile::program(&prof, parch, &caps, &|n| table.get(n).copied())
        .unwrap_or_else(|e| panic!("default seccomp profile: {e}"));
    std::fs::write(out.join("default_seccomp.bpf"), profile::encode(&program)).unwrap();
}

/// seccompiler keeps its syscall tables private; its JSON front end resolves names, so compile a
/// one-rule filter and read the number back from the comparison instruction.
fn syscall_number(name: &str, arch: TargetArch) -> Option<i64> {
    let json = format!(
        r#"{{"f": {{"mismatch_action": "allow", "match_action": {{"errno": 1}}, "filter": [{{"syscall": {name:?}}}]}}}}"#
    );
    let map = seccompiler::compile_from_json(json.as_bytes(), arch).ok()?;
    let prog = map.get("f")?;
    // BPF_JMP | BPF_JEQ | BPF_K; the first compares the architecture, the last the syscall.
    prog.iter()
        .filter(|i| i.code == 0x15)
        .map(|i| i.k)
        .rfind(|k| *k < 0x4000_0000)
        .map(i64::from)
}
