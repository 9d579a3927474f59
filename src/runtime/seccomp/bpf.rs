//! A compiler from a per-syscall rule table to ONE classic-BPF seccomp program.
//!
//! Why not a linear chain (what seccompiler emits): when a filter is installed the kernel runs
//! it once per syscall number to build its "always allowed" cache
//! (`seccomp_cache_prepare_bitmap`), so installation costs O(syscalls × filter length), and the
//! JIT and `bpf_convert_filter` are linear in the length too. Here the syscall number is found
//! by a balanced binary search over ranges of numbers that share a decision, so any call runs
//! O(log n) instructions and the whole program stays a few hundred instructions long.
//!
//! Layout: architecture check (foreign → kill the process), optional x32 rejection, the search
//! tree, then one block per syscall whose decision depends on its arguments, then the shared
//! `RET` instructions. Argument conditions compare 64-bit values as two 32-bit halves, as
//! libseccomp does. Classic BPF conditional jumps have 8-bit offsets, so a conditional jump whose
//! target is further than 255 instructions goes through a `JA` (32-bit offset) trampoline placed
//! right after it.
//!
//! This file is shared with `build.rs` (through `profile.rs`), so it depends only on std.

use std::collections::BTreeMap;

/// One classic-BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

pub const BPF_LD_W_ABS: u16 = 0x20;
pub const BPF_ALU_AND_K: u16 = 0x54;
pub const BPF_JA: u16 = 0x05;
pub const BPF_JEQ_K: u16 = 0x15;
pub const BPF_JGT_K: u16 = 0x25;
pub const BPF_JGE_K: u16 = 0x35;
pub const BPF_JSET_K: u16 = 0x45;
pub const BPF_RET_K: u16 = 0x06;

/// The kernel's limit on a program's length (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;

/// `seccomp_data` offsets: nr, arch, then (after the instruction pointer) six u64 arguments.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const DATA_ARGS: u32 = 16;

/// Syscall numbers with this bit set are x32 calls on x86_64.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

/// How severe a return value is, as the kernel ranks them when several filters answer:
/// lower is more severe (the kernel compares `action & 0xffff0000` as a signed integer).
pub fn severity(ret: u32) -> i32 {
    (ret & 0xffff_0000) as i32
}

/// An argument comparison, on the full 64-bit value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `(arg & mask) == value`.
    MaskedEq(u64),
}

/// `args[index] <op> value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cond {
    pub index: u8,
    pub op: Op,
    pub value: u64,
}

/// When every condition holds (none: always), return `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub conds: Vec<Cond>,
    pub action: u32,
}

/// What to compile: per syscall number, rules tried in order (the first that matches decides);
/// numbers absent from `syscalls`, and calls whose rules all fail, get `default`.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The native AUDIT_ARCH_* value; any other architecture kills the process.
    pub audit_arch: u32,
    /// Give x32 syscall numbers (x86_64 only) the default action before any rule is looked at.
    pub reject_x32: bool,
    pub default: u32,
    pub syscalls: BTreeMap<u32, Vec<Rule>>,
}

type Label = usize;

#[derive(Debug, Clone, Copy)]
enum Dest {
    Next,
    To(Label),
}

#[derive(Debug, Clone, Copy)]
enum Item {
    Label(Label),
    Stmt(Insn),
    Jump {
        code: u16,
        k: u32,
        jt: Dest,
        jf: Dest,
    },
    Goto(Label),
}

#[derive(Default)]
struct Asm {
    items: Vec<Item>,
    labels: usize,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels += 1;
        self.labels - 1
    }
    fn place(&mut self, l: Label) {
        self.items.push(Item::Label(l));
    }
    fn stmt(&mut self, code: u16, k: u32) {
        self.items.push(Item::Stmt(Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }));
    }
    fn jump(&mut self, code: u16, k: u32, jt: Dest, jf: Dest) {
        self.items.push(Item::Jump { code, k, jt, jf });
    }

    /// Lays the items out, giving far conditional targets a `JA` trampoline. Inserting a
    /// trampoline only lengthens distances, so marking jumps far until nothing changes
    /// terminates (each jump can only become far once per target).
    fn assemble(&self) -> Vec<Insn> {
        let n = self.items.len();
        let mut far = vec![(false, false); n];
        loop {
            let (pos, labels, end) = self.layout(&far);
            let mut changed = false;
            for (i, item) in self.items.iter().enumerate() {
                if let Item::Jump { jt, jf, .. } = item {
                    let next = pos[i] + self.size(item, far[i]);
                    let dist = |d: &Dest| match d {
                        Dest::Next => next - pos[i] - 1,
                        Dest::To(l) => labels[*l] - pos[i] - 1,
                    };
                    if !far[i].0 && dist(jt) > 255 {
                        far[i].0 = true;
                        changed = true;
                    }
                    if !far[i].1 && dist(jf) > 255 {
                        far[i].1 = true;
                        changed = true;
                    }
                }
            }
            if changed {
                continue;
            }
            let mut out = Vec::with_capacity(end);
            for (i, item) in self.items.iter().enumerate() {
                let here = pos[i];
                let target = |d: &Dest| match d {
                    Dest::Next => here + self.size(item, far[i]),
                    Dest::To(l) => labels[*l],
                };
                match item {
                    Item::Label(_) => {}
                    Item::Stmt(s) => out.push(*s),
                    Item::Goto(l) => out.push(Insn {
                        code: BPF_JA,
                        jt: 0,
                        jf: 0,
                        k: (labels[*l] - here - 1) as u32,
                    }),
                    Item::Jump { code, k, jt, jf } => {
                        let (t, f) = (target(jt), target(jf));
                        let (ft, ff) = far[i];
                        // Trampolines follow the jump: first the one for jt, then for jf.
                        let t_off = if ft { 0 } else { t - here - 1 };
                        let f_off = if ff { usize::from(ft) } else { f - here - 1 };
                        out.push(Insn {
                            code: *code,
                            jt: t_off as u8,
                            jf: f_off as u8,
                            k: *k,
                        });
                        let mut at = here + 1;
                        for (is_far, dest) in [(ft, t), (ff, f)] {
                            if is_far {
                                out.push(Insn {
                                    code: BPF_JA,
                                    jt: 0,
                                    jf: 0,
                                    k: (dest - at - 1) as u32,
                                });
                                at += 1;
                            }
                        }
                    }
                }
            }
            debug_assert_eq!(out.len(), end);
            return out;
        }
    }

    fn size(&self, item: &Item, far: (bool, bool)) -> usize {
        match item {
            Item::Label(_) => 0,
            Item::Stmt(_) | Item::Goto(_) => 1,
            Item::Jump { .. } => 1 + usize::from(far.0) + usize::from(far.1),
        }
    }

    fn layout(&self, far: &[(bool, bool)]) -> (Vec<usize>, Vec<usize>, usize) {
        let mut pos = Vec::with_capacity(self.items.len());
        let mut labels = vec![usize::MAX; self.labels];
        let mut at = 0;
        for (i, item) in self.items.iter().enumerate() {
            pos.push(at);
            if let Item::Label(l) = item {
                labels[*l] = at;
            }
            at += self.size(item, far[i]);
        }
        (pos, labels, at)
    }
}

/// The leaf a range of syscall numbers leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaf {
    Ret(u32),
    Block(u32),
}

/// Label bookkeeping while compiling: one shared `RET` per action, one block per syscall.
struct Compiler {
    a: Asm,
    rets: BTreeMap<u32, Label>,
    blocks: BTreeMap<u32, Label>,
}

impl Compiler {
    fn ret(&mut self, action: u32) -> Label {
        let a = &mut self.a;
        *self.rets.entry(action).or_insert_with(|| a.label())
    }
    fn leaf(&mut self, leaf: Leaf) -> Label {
        match leaf {
            Leaf::Ret(action) => self.ret(action),
            Leaf::Block(nr) => {
                let a = &mut self.a;
                *self.blocks.entry(nr).or_insert_with(|| a.label())
            }
        }
    }
}

/// Ranges `[start, next start)` of syscall numbers that lead to one leaf, covering all of u32,
/// adjacent ranges with equal leaves merged.
fn ranges(policy: &Policy) -> Vec<(u32, Leaf)> {
    let dflt = Leaf::Ret(policy.default);
    let mut raw = Vec::new();
    let mut cursor = 0u64;
    for (&nr, rules) in &policy.syscalls {
        if u64::from(nr) > cursor {
            raw.push((cursor as u32, dflt));
        }
        let leaf = match rules.first() {
            None => dflt,
            Some(r) if r.conds.is_empty() => Leaf::Ret(r.action),
            Some(_) => Leaf::Block(nr),
        };
        raw.push((nr, leaf));
        cursor = u64::from(nr) + 1;
    }
    if cursor <= u64::from(u32::MAX) {
        raw.push((cursor as u32, dflt));
    }
    let mut out: Vec<(u32, Leaf)> = Vec::with_capacity(raw.len());
    for r in raw {
        if out.last().map(|l| l.1) != Some(r.1) {
            out.push(r);
        }
    }
    out
}

/// Compiles `policy` into one program. Only forward jumps are emitted (classic BPF has no
/// others), every path ends in a `RET`, and the program is never empty.
pub fn compile(policy: &Policy) -> Vec<Insn> {
    let mut c = Compiler {
        a: Asm::default(),
        rets: BTreeMap::new(),
        blocks: BTreeMap::new(),
    };
    let kill = c.a.label();
    let default = c.ret(policy.default);

    c.a.stmt(BPF_LD_W_ABS, DATA_ARCH);
    c.a.jump(BPF_JEQ_K, policy.audit_arch, Dest::Next, Dest::To(kill));
    c.a.stmt(BPF_LD_W_ABS, DATA_NR);
    if policy.reject_x32 {
        c.a.jump(BPF_JGE_K, X32_SYSCALL_BIT, Dest::To(default), Dest::Next);
    }

    // The search tree, in preorder: a node's "below the pivot" side directly follows its jump.
    let ranges = ranges(policy);
    let mut stack: Vec<(usize, usize, Option<Label>)> = vec![(0, ranges.len(), None)];
    while let Some((lo, hi, label)) = stack.pop() {
        if let Some(l) = label {
            c.a.place(l);
        }
        if hi - lo == 1 {
            // Only the root can be a single range (a profile without rules).
            let l = c.leaf(ranges[lo].1);
            c.a.items.push(Item::Goto(l));
            continue;
        }
        let mid = (lo + hi) / 2;
        let jt = if hi - mid == 1 {
            Dest::To(c.leaf(ranges[mid].1))
        } else {
            let l = c.a.label();
            stack.push((mid, hi, Some(l)));
            Dest::To(l)
        };
        let jf = if mid - lo == 1 {
            Dest::To(c.leaf(ranges[lo].1))
        } else {
            // Popped next, so emitted right after this jump.
            stack.push((lo, mid, None));
            Dest::Next
        };
        c.a.jump(BPF_JGE_K, ranges[mid].0, jt, jf);
    }

    // Argument-checking blocks: rules in order, each falling through to the next on mismatch.
    let blocks = std::mem::take(&mut c.blocks);
    for (nr, l) in blocks {
        c.a.place(l);
        let rules = &policy.syscalls[&nr];
        for rule in rules {
            let fail = c.a.label();
            for cd in &rule.conds {
                cond(&mut c.a, cd, fail);
            }
            c.a.stmt(BPF_RET_K, rule.action);
            c.a.place(fail);
            if rule.conds.is_empty() {
                break;
            }
        }
        if rules.iter().all(|r| !r.conds.is_empty()) {
            c.a.items.push(Item::Goto(default));
        }
    }

    for (action, l) in std::mem::take(&mut c.rets) {
        c.a.place(l);
        c.a.stmt(BPF_RET_K, action);
    }
    c.a.place(kill);
    c.a.stmt(BPF_RET_K, RET_KILL_PROCESS);
    c.a.assemble()
}

/// Code that falls through when `c` holds and jumps to `fail` when it does not. 64-bit
/// comparisons: the high halves decide unless they are equal, then the low halves do.
fn cond(a: &mut Asm, c: &Cond, fail: Label) {
    let lo_off = DATA_ARGS + 8 * u32::from(c.index);
    let hi_off = lo_off + 4;
    let (vh, vl) = ((c.value >> 32) as u32, c.value as u32);
    let pass = a.label();
    let (f, p, n) = (Dest::To(fail), Dest::To(pass), Dest::Next);
    a.stmt(BPF_LD_W_ABS, hi_off);
    match c.op {
        Op::Eq => {
            a.jump(BPF_JEQ_K, vh, n, f);
            a.stmt(BPF_LD_W_ABS, lo_off);
            a.jump(BPF_JEQ_K, vl, p, f);
        }
        Op::Ne => {
            a.jump(BPF_JEQ_K, vh, n, p);
            a.stmt(BPF_LD_W_ABS, lo_off);
            a.jump(BPF_JEQ_K, vl, f, p);
        }
        Op::Gt | Op::Ge => {
            a.jump(BPF_JGT_K, vh, p, n);
            a.jump(BPF_JEQ_K, vh, n, f);
            a.stmt(BPF_LD_W_ABS, lo_off);
            let code = if c.op == Op::Gt { BPF_JGT_K } else { BPF_JGE_K };
            a.jump(code, vl, p, f);
        }
        Op::Lt | Op::Le => {
            a.jump(BPF_JGT_K, vh, f, n);
            a.jump(BPF_JEQ_K, vh, n, p);
            a.stmt(BPF_LD_W_ABS, lo_off);
            // lo < vl ⇔ !(lo >= vl); lo <= vl ⇔ !(lo > vl).
            let code = if c.op == Op::Lt { BPF_JGE_K } else { BPF_JGT_K };
            a.jump(code, vl, f, p);
        }
        Op::MaskedEq(mask) => {
            let (mh, ml) = ((mask >> 32) as u32, mask as u32);
            a.stmt(BPF_ALU_AND_K, mh);
            a.jump(BPF_JEQ_K, vh, n, f);
            a.stmt(BPF_LD_W_ABS, lo_off);
            a.stmt(BPF_ALU_AND_K, ml);
            a.jump(BPF_JEQ_K, vl, p, f);
        }
    }
    a.place(pass);
}
