//! Which base chains a packet passes at one hook, in the kernel's order: the iptables tables
//! a caller names, at their fixed priorities, and the native nft base chains on that hook,
//! sorted by priority with them.

use super::{family, Pkt};
use crate::firewall::{Firewall, IpFamily, NftTable, XtTable};

/// One base chain at a hook.
pub(super) enum Unit<'a> {
    /// An iptables table (nft or legacy backend): its built-in chain of the hook's name, and
    /// its index in `Firewall::iptables` (for its compiled form).
    Xt(&'a XtTable, usize),
    /// A native nft table's base chain (index), and whether it is of type nat.
    Nft(&'a NftTable, usize, bool),
}

impl Unit<'_> {
    pub(super) fn is_nat(&self) -> bool {
        match self {
            Unit::Xt(t, _) => t.name == "nat",
            Unit::Nft(_, _, nat) => *nat,
        }
    }
}

/// iptables' fixed priorities (NF_IP_PRI_*); nat is dst-nat before routing, src-nat after.
fn xt_prio(table: &str, hook: &str) -> i64 {
    match table {
        "raw" => -300,
        "mangle" => -150,
        "nat" if matches!(hook, "prerouting" | "output") => -100,
        "nat" => 100,
        "security" => 50,
        _ => 0,
    }
}

/// The units for `chain` (an iptables built-in chain name) restricted to `tables`.
///
/// Callers split a hook in parts (OUTPUT before and after the route is final; replies skip
/// nat), and name the iptables tables of each part. A native nft chain joins the part that
/// holds its priority: nat-type chains only where `nat` is named (and only for a connection's
/// first packet, as the kernel runs nat chains), others with priority below 0 where `raw` or
/// `mangle` is named, from 0 up where `filter` is named or the hook has no filter table.
pub(super) fn units<'a>(
    fw: &'a Firewall,
    tables: &[&str],
    chain: &str,
    pkt: &Pkt,
) -> Vec<Unit<'a>> {
    let hook = chain.to_ascii_lowercase();
    let fam = family(pkt.dst);
    let mut out: Vec<(i64, Unit)> = Vec::new();
    for name in tables {
        for (i, t) in fw
            .iptables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.name == *name && t.family == fam)
        {
            out.push((xt_prio(name, &hook), Unit::Xt(t, i)));
        }
    }
    if !matches!(
        hook.as_str(),
        "prerouting" | "input" | "forward" | "output" | "postrouting"
    ) {
        return out.into_iter().map(|(_, u)| u).collect();
    }
    let named = |n: &str| tables.contains(&n);
    let early = named("raw") || named("mangle");
    let late = named("filter") || matches!(hook.as_str(), "prerouting" | "postrouting");
    for t in fw.nft.iter().filter(|t| native_for(fw, t, fam)) {
        for (ci, c) in t.chains.iter().enumerate() {
            if c.hook.as_deref() != Some(hook.as_str()) {
                continue;
            }
            let prio = c.prio.unwrap_or(0);
            let nat = c.chain_type.as_deref() == Some("nat");
            let take = if nat {
                named("nat") && pkt.ct == "NEW"
            } else if prio < 0 {
                early
            } else {
                late
            };
            if take {
                out.push((prio, Unit::Nft(t, ci, nat)));
            }
        }
    }
    // Stable: at equal priority the iptables table stays first.
    out.sort_by_key(|(p, _)| *p);
    out.into_iter().map(|(_, u)| u).collect()
}

/// A table of a family that sees this packet and not iptables-nft's own (those are read in
/// full from iptables-save and walked as iptables tables).
fn native_for(fw: &Firewall, t: &NftTable, fam: IpFamily) -> bool {
    let family_ok = matches!(
        (t.family.as_str(), fam),
        ("inet", _) | ("ip", IpFamily::V4) | ("ip6", IpFamily::V6)
    );
    family_ok && !claimed_by_iptables_nft(fw, t)
}

/// iptables-nft-save listed a table of the same family and name: it is the compat table.
pub fn claimed_by_iptables_nft(fw: &Firewall, t: &NftTable) -> bool {
    fw.claimed_by_iptables_nft(t)
}
