//! The path's netfilter steps: one hook's tables judged by the one evaluator
//! ([`crate::firewall::eval`]), with what it could not judge noted on the hop, and the DNAT
//! hairpin a reply leg reveals.

use std::net::IpAddr;

use super::{Binding, Hop, Leg};
use crate::firewall::eval::{decide_at, Pkt, Verdict};

/// Runs `chain` of `tables` (in the kernel's order at that hook) for `pkt`, noting on `hop`
/// the rules it could not judge. When one of them decides the outcome, the hop says so and
/// the walk goes on with what the rules say if it does not match. Returns the mark too.
pub(super) fn judge(
    fw: &crate::firewall::Firewall,
    tables: &[&str],
    chain: &str,
    pkt: &Pkt,
    is_local: &dyn Fn(IpAddr) -> bool,
    hop: &mut Hop,
) -> (Verdict, Option<u32>) {
    let d = decide_at(fw, tables, chain, pkt, is_local);
    if let Verdict::CannotJudge { by, why } = &d.verdict {
        hop.notes.push(format!(
            "cannot judge {chain}: {by} ({why}); assumed it does not match"
        ));
    }
    hop.notes
        .extend(d.unsure.into_iter().map(|u| format!("not judged: {u}")));
    (d.assumed, d.mark)
}

/// DNAT hairpin: a reply that never passed the namespace that DNATed the request (the client
/// sits on the server's own segment and nothing SNATed it) arrives from the server's real
/// address, which the client never connected to: its kernel answers with a reset.
pub(super) fn hairpin(bindings: &[Binding], reply: &Leg) -> Option<String> {
    let b = bindings.iter().find(|b| !b.snat && !b.undone)?;
    let at = reply.hops.last()?;
    Some(format!(
        "the reply comes straight from {} instead of {}: {} DNATed the request, but the \
         reply does not pass back through it (the client is on the server's segment and \
         nothing SNATs the request), so the client's kernel resets it",
        b.new, b.orig, b.ns
    ))
    .filter(|_| at.src == b.new)
}
