//! Conditions over a frame's bytes and their assembly into classic BPF: each condition jumps to
//! a "true" or a "false" label, `and`/`or`/`not` only rewire labels (no values on a stack), and
//! labels become relative offsets at the end. Only forward jumps are made, as the kernel's
//! verifier demands.

/// Where a value comes from: `Abs(size, offset)` from the frame's start, `Ind(size, offset)`
/// from the end of the IPv4 header (its length read from the frame), `Len` the frame's length.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    Abs(u8, u32),
    Ind(u8, u32),
    Len,
}

#[derive(Debug, Clone, Copy)]
pub enum Op {
    Eq,
    Gt,
    Ge,
}

#[derive(Debug, Clone)]
pub enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
    Const(bool),
    /// `load & mask <op> k`.
    Cmp {
        load: Load,
        mask: Option<u32>,
        op: Op,
        k: u32,
    },
}

impl Cond {
    pub fn eq(load: Load, k: u32) -> Cond {
        Cond::Cmp {
            load,
            mask: None,
            op: Op::Eq,
            k,
        }
    }
    pub fn masked(load: Load, mask: u32, k: u32) -> Cond {
        Cond::Cmp {
            load,
            mask: Some(mask),
            op: Op::Eq,
            k,
        }
    }
    pub fn gt(load: Load, k: u32) -> Cond {
        Cond::Cmp {
            load,
            mask: None,
            op: Op::Gt,
            k,
        }
    }
    pub fn ge(load: Load, k: u32) -> Cond {
        Cond::Cmp {
            load,
            mask: None,
            op: Op::Ge,
            k,
        }
    }
}

// linux/bpf_common.h and linux/filter.h.
const LD: u16 = 0x00;
const LDX: u16 = 0x01;
const ALU: u16 = 0x04;
const JMP: u16 = 0x05;
const RET: u16 = 0x06;
const W: u16 = 0x00;
const H: u16 = 0x08;
const B: u16 = 0x10;
const ABS: u16 = 0x20;
const IND: u16 = 0x40;
const LEN: u16 = 0x80;
const MSH: u16 = 0xa0;
const AND: u16 = 0x50;
const JA: u16 = 0x00;
const JEQ: u16 = 0x10;
const JGT: u16 = 0x20;
const JGE: u16 = 0x30;

type Label = usize;

enum Ins {
    Op(u16, u32),
    /// A conditional jump (or `ja` when both labels are the same).
    Jump(u16, u32, Label, Label),
    Mark(Label),
}

struct Asm {
    out: Vec<Ins>,
    labels: usize,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels += 1;
        self.labels - 1
    }

    fn ja(&mut self, to: Label) {
        self.out.push(Ins::Jump(JMP | JA, 0, to, to));
    }

    fn chain(&mut self, items: &[Cond], t: Label, f: Label, all: bool) {
        let Some((last, init)) = items.split_last() else {
            return self.ja(if all { t } else { f });
        };
        for c in init {
            let next = self.label();
            if all {
                self.gen(c, next, f);
            } else {
                self.gen(c, t, next);
            }
            self.out.push(Ins::Mark(next));
        }
        self.gen(last, t, f);
    }

    fn gen(&mut self, c: &Cond, t: Label, f: Label) {
        match c {
            Cond::Const(true) => self.ja(t),
            Cond::Const(false) => self.ja(f),
            Cond::Not(c) => self.gen(c, f, t),
            Cond::All(v) => self.chain(v, t, f, true),
            Cond::Any(v) => self.chain(v, t, f, false),
            Cond::Cmp { load, mask, op, k } => {
                let size = |s: &u8| match s {
                    1 => B,
                    2 => H,
                    _ => W,
                };
                match load {
                    Load::Abs(s, off) => self.out.push(Ins::Op(LD | size(s) | ABS, *off)),
                    Load::Ind(s, off) => {
                        // X = 4 * (IHL of the IPv4 header after the 14-byte Ethernet header).
                        self.out.push(Ins::Op(LDX | B | MSH, 14));
                        self.out.push(Ins::Op(LD | size(s) | IND, *off));
                    }
                    Load::Len => self.out.push(Ins::Op(LD | W | LEN, 0)),
                }
                if let Some(m) = mask {
                    self.out.push(Ins::Op(ALU | AND, *m));
                }
                let j = match op {
                    Op::Eq => JEQ,
                    Op::Gt => JGT,
                    Op::Ge => JGE,
                };
                self.out.push(Ins::Jump(JMP | j, *k, t, f));
            }
        }
    }
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// The program: `snaplen` bytes of a frame where `c` holds, none elsewhere. `None` when a
/// conditional jump would reach further than classic BPF's 255 instructions.
pub fn assemble(c: &Cond, snaplen: u32) -> Option<Vec<libc::sock_filter>> {
    let mut a = Asm {
        out: Vec::new(),
        labels: 2,
    };
    let (accept, reject) = (0, 1);
    a.gen(c, accept, reject);
    a.out.push(Ins::Mark(accept));
    a.out.push(Ins::Op(RET, snaplen));
    a.out.push(Ins::Mark(reject));
    a.out.push(Ins::Op(RET, 0));
    // Where each label lands: the index of the next real instruction.
    let mut at = vec![0usize; a.labels];
    let mut n = 0;
    for i in &a.out {
        match i {
            Ins::Mark(l) => at[*l] = n,
            _ => n += 1,
        }
    }
    let mut prog = Vec::with_capacity(n);
    for i in &a.out {
        let here = prog.len() + 1;
        match *i {
            Ins::Mark(_) => {}
            Ins::Op(code, k) => prog.push(insn(code, 0, 0, k)),
            Ins::Jump(code, _, t, _) if code == JMP | JA => {
                prog.push(insn(
                    code,
                    0,
                    0,
                    u32::try_from(at[t].checked_sub(here)?).ok()?,
                ));
            }
            Ins::Jump(code, k, t, f) => {
                let jt = u8::try_from(at[t].checked_sub(here)?).ok()?;
                let jf = u8::try_from(at[f].checked_sub(here)?).ok()?;
                prog.push(insn(code, jt, jf, k));
            }
        }
    }
    Some(prog)
}
