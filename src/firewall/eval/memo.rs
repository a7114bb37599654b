//! Decisions remembered per flow, with senders no rule tells apart sharing one: the doctor
//! asks the same question for every pod behind a bridge (1000 pods, each walking kube-proxy's
//! chains), and only the rules' source matches (`-s`, `--src-type`) see the sender.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::{Decision, Pkt};
use crate::firewall::Firewall;

/// What a walk's outcome can depend on: the packet with its source replaced by its class.
#[derive(PartialEq, Eq, Hash)]
struct Key {
    hook: String,
    /// Which source matches the source meets (or the source itself when a rule reads it in
    /// a way not classed here), and whether it is the namespace's own.
    src: Result<Vec<bool>, IpAddr>,
    /// `is_local`, loopback, multicast, broadcast: what `--src-type` reads.
    src_kind: [bool; 4],
    dst: IpAddr,
    proto: String,
    dport: Option<u16>,
    iif: Option<String>,
    oif: Option<String>,
    ct: &'static str,
    mark: u32,
}

/// The memo of one compiled firewall.
#[derive(Default)]
pub(super) struct Memo {
    /// Every distinct source match of the iptables rules; `None` when a native nft table is
    /// walked too (its matches are not classed: the exact source keys the memo).
    sources: Option<Vec<IpNet>>,
    seen: RefCell<HashMap<Key, Decision>>,
}

impl Memo {
    pub(super) fn new(fw: &Firewall) -> Self {
        let native = fw
            .nft
            .iter()
            .any(|t| !super::claimed_by_iptables_nft(fw, t));
        let mut nets: Vec<IpNet> = Vec::new();
        for r in fw.xt_rules() {
            if let Some(c) = &r.rule.source {
                nets.extend(super::compiled::nets(&c.value));
            }
        }
        nets.sort();
        nets.dedup();
        Memo {
            sources: (!native).then_some(nets),
            seen: RefCell::default(),
        }
    }

    /// The decision for `pkt` at `hook` (tables and chain), from memory or from `walk`.
    pub(super) fn get(
        &self,
        hook: (&[&str], &str),
        pkt: &Pkt,
        is_local: &dyn Fn(IpAddr) -> bool,
        walk: impl FnOnce() -> Decision,
    ) -> Decision {
        let src = match &self.sources {
            Some(nets) => Ok(nets.iter().map(|n| n.contains(&pkt.src)).collect()),
            None => Err(pkt.src),
        };
        let key = Key {
            hook: format!("{} {}", hook.0.join(","), hook.1),
            src,
            src_kind: [
                is_local(pkt.src),
                pkt.src.is_loopback(),
                pkt.src.is_multicast(),
                matches!(pkt.src, IpAddr::V4(a) if a.is_broadcast()),
            ],
            dst: pkt.dst,
            proto: pkt.proto.clone(),
            dport: pkt.dport,
            iif: pkt.iif.clone(),
            oif: pkt.oif.clone(),
            ct: pkt.ct,
            mark: pkt.mark,
        };
        if let Some(d) = self.seen.borrow().get(&key) {
            return d.clone();
        }
        let d = walk();
        self.seen.borrow_mut().insert(key, d.clone());
        d
    }
}
