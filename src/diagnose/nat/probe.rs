//! The packets `no-masquerade` and `forward-drop` run through a namespace's netfilter, hook
//! by hook. One packet is reused for every probe on a thread, its names rewritten in place:
//! a node's bridge sends a thousand pods' flows through the host, each probe asked its own
//! packet with three fresh strings (protocol, in and out interface), and allocating and
//! freeing those was a few percent of a doctor run.

use std::cell::RefCell;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use super::Nf;
use crate::firewall::eval::{self, Decision, Pkt, Verdict};

/// The reused packet, and its out interface's name while the packet is before routing.
struct Probe {
    pkt: Pkt,
    oif: String,
}

impl Probe {
    fn new() -> Self {
        Probe {
            pkt: Pkt {
                src: Ipv4Addr::UNSPECIFIED.into(),
                dst: Ipv4Addr::UNSPECIFIED.into(),
                proto: String::new(),
                dport: None,
                iif: None,
                oif: None,
                ct: "NEW",
                mark: 0,
            },
            oif: String::new(),
        }
    }

    /// The packet `src → dst` arriving on `iif`, before routing (no `oif` yet: it waits in
    /// `self.oif`), every field set afresh.
    fn fill(
        &mut self,
        (src, iif): (Ipv4Addr, &str),
        (dst, oif): (Ipv4Addr, &str),
        (proto, dport): (&str, u16),
        ct: &'static str,
    ) {
        let p = &mut self.pkt;
        p.src = src.into();
        p.dst = dst.into();
        set(&mut p.proto, proto);
        p.dport = Some(dport);
        let mut name = p.iif.take().unwrap_or_default();
        set(&mut name, iif);
        p.iif = Some(name);
        // The out interface's buffer goes back aside (a previous probe left it in the packet).
        if let Some(old) = p.oif.take() {
            self.oif = old;
        }
        set(&mut self.oif, oif);
        p.ct = ct;
        p.mark = 0;
    }
}

fn set(s: &mut String, to: &str) {
    s.clear();
    s.push_str(to);
}

thread_local! {
    static PROBE: RefCell<Probe> = RefCell::new(Probe::new());
}

/// `f` on the thread's probe filled with this packet (a fresh one if the probe is in use).
fn with_probe<T>(
    from: (Ipv4Addr, &str),
    to: (Ipv4Addr, &str),
    port: (&str, u16),
    ct: &'static str,
    f: impl FnOnce(&mut Probe) -> T,
) -> T {
    PROBE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut p) => {
            p.fill(from, to, port, ct);
            f(&mut p)
        }
        Err(_) => {
            let mut p = Probe::new();
            p.fill(from, to, port, ct);
            f(&mut p)
        }
    })
}

/// What `ns`'s netfilter does to a packet `src → dst` arriving on `iif` and routed out of
/// `oif` (a `proto` connection to `dport`), hook by hook as the kernel runs them: PREROUTING
/// (raw, mangle, nat), FORWARD (mangle, filter), POSTROUTING (mangle, nat), the mark carried
/// along: the POSTROUTING decision, `None` when the packet does not reach it (dropped or
/// DNATed in PREROUTING, not accepted in FORWARD, or a verdict not judged before it).
pub(in crate::diagnose) fn postrouted(
    fw: Nf,
    from: (Ipv4Addr, &str),
    to: (Ipv4Addr, &str),
    port: (&str, u16),
    ct: &'static str,
) -> Option<Arc<Decision>> {
    with_probe(from, to, port, ct, |p| {
        let d = through_forward(fw, p)?;
        let (Verdict::Accept, Some(mark)) = (&d.verdict, d.mark) else {
            return None;
        };
        p.pkt.mark = mark;
        let (fw, c, locals) = fw;
        let is_local = |ip: IpAddr| locals.contains(&ip);
        let tables: &[&str] = if ct == "NEW" {
            eval::POSTROUTING
        } else {
            &["mangle"]
        };
        Some(c.decide_remembered(fw, tables, "POSTROUTING", &p.pkt, &is_local))
    })
}

/// The FORWARD decision on the way of [`postrouted`]: what `forward-drop` asks, without the
/// POSTROUTING walk it would not read (a third of its look-ups).
pub(in crate::diagnose) fn forward_only(
    fw: Nf,
    from: (Ipv4Addr, &str),
    to: (Ipv4Addr, &str),
    port: (&str, u16),
    ct: &'static str,
) -> Option<Arc<Decision>> {
    with_probe(from, to, port, ct, |p| through_forward(fw, p))
}

/// PREROUTING, then FORWARD with the mark PREROUTING left and the out interface (the packet
/// leaves with both). `None` when the packet does not reach FORWARD.
fn through_forward((fw, c, locals): Nf, p: &mut Probe) -> Option<Arc<Decision>> {
    let is_local = |ip: IpAddr| locals.contains(&ip);
    let pkt = &mut p.pkt;
    // A reply is not DNATed again: conntrack undid the NAT before FORWARD.
    let pre_tables: &[&str] = if pkt.ct == "NEW" {
        eval::PREROUTING
    } else {
        &["raw", "mangle"]
    };
    let pre = c.decide_remembered(fw, pre_tables, "PREROUTING", pkt, &is_local);
    let (Verdict::Accept, Some(mark)) = (&pre.verdict, pre.mark) else {
        return None;
    };
    pkt.mark = mark;
    pkt.oif = Some(std::mem::take(&mut p.oif));
    Some(c.decide_remembered(fw, eval::FORWARD, "FORWARD", pkt, &is_local))
}
