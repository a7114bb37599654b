//! The reads of a refresh's jobs (`partial.rs`), each on a collector thread inside its
//! namespace: kinds of objects whole, or per-link kinds for some links (`partial_links.rs`)
//! with the sysctls of those links alone when that is all that changed.

use std::collections::BTreeSet;

use super::ip_state::{self, RtnlParts};
use super::parallel;
use super::partial::{Found, Parts};
use super::partial_links::{self, LinkParts};
use super::snapshot::{collect_one, Options};
use super::sysctl::{self, HostProbe};
use super::touched::Kinds;
use crate::model::{Namespace, NsStatus, Sysctls};
use crate::netlink::RtSocket;
use crate::netns::discover::FoundNs;

/// Reads `kinds` of one namespace on a collector thread (see `parallel::each`); a namespace
/// that cannot be entered any more is read whole, which records why.
pub(super) fn read_kinds(
    i: usize,
    (found, ns): (&FoundNs, &Namespace),
    kinds: Kinds,
    current: &mut Option<u64>,
    (probe, opts): (HostProbe, &Options),
) -> Found {
    let (_file, status) = parallel::enter(found, current);
    if status != NsStatus::Ok {
        return Found::Whole(i, Box::new(collect_one(found, current, probe, opts)));
    }
    let mut sock = match RtSocket::open() {
        Ok(s) => s,
        Err(e) => {
            let mut parts = RtnlParts::default();
            parts.problems.push(format!("netlink socket: {e}"));
            return Found::Parts(
                i,
                Box::new(Parts {
                    rtnl: parts,
                    sysctls: None,
                    socket: None,
                }),
            );
        }
    };
    let mut parts = ip_state::read_some(&mut sock, kinds, &ns.links);
    parts.problems.extend(sock.take_warnings());
    let sysctls = kinds.contains(Kinds::SYSCTLS).then(|| {
        let links = parts.links.as_deref().unwrap_or(&ns.links);
        sysctl::read_sysctls(Some(&mut sock), links, probe)
    });
    let socket = Some(sock);
    Found::Parts(
        i,
        Box::new(Parts {
            rtnl: parts,
            sysctls,
            socket,
        }),
    )
}

/// Reads the per-link kinds of one namespace for the links named (`partial_links.rs`), the
/// other kinds whole, and the sysctls when netconf said so or a link came, went or was
/// renamed (rp_filter is kept by link name). Falls back to reading the kinds whole.
pub(super) fn read_scoped(
    i: usize,
    (found, ns): (&FoundNs, &Namespace),
    (per_link, rest, links): (Kinds, Kinds, &BTreeSet<u32>),
    current: &mut Option<u64>,
    (probe, opts): (HostProbe, &Options),
) -> Found {
    // Read whole, the sysctls of the scope are all of them.
    let all_kinds = match rest.contains(Kinds::SCOPE_SYSCTLS) {
        true => rest.without(Kinds::SCOPE_SYSCTLS) | Kinds::SYSCTLS,
        false => rest,
    };
    let whole = |current: &mut Option<u64>| {
        read_kinds(i, (found, ns), per_link | all_kinds, current, (probe, opts))
    };
    let (_file, status) = parallel::enter(found, current);
    if status != NsStatus::Ok {
        return Found::Whole(i, Box::new(collect_one(found, current, probe, opts)));
    }
    let Ok(mut sock) = RtSocket::open() else {
        return whole(current);
    };
    let Ok(link_parts) = partial_links::read(&mut sock, per_link, links, &ns.links) else {
        return whole(current);
    };
    let mut rtnl = ip_state::read_some(&mut sock, rest.and(Kinds::RULES), &ns.links);
    rtnl.problems.extend(sock.take_warnings());
    let mut all_sysctls = || {
        let mut now = ns.links.clone();
        if let Some(fresh) = &link_parts.links {
            partial_links::splice_links(&mut now, fresh);
        }
        sysctl::read_sysctls(Some(&mut sock), &now, probe)
    };
    let sysctls = if rest.contains(Kinds::SYSCTLS) {
        Some(all_sysctls())
    } else if rest.contains(Kinds::SCOPE_SYSCTLS) || link_parts.names_changed() {
        scoped_sysctls(ns, &link_parts, probe).or_else(|| Some(all_sysctls()))
    } else {
        None
    };
    Found::Scoped(
        i,
        Box::new((
            link_parts,
            Parts {
                rtnl,
                sysctls,
                socket: Some(sock),
            },
        )),
    )
}

/// The sysctls of a namespace some of whose links came, went or were renamed, or whose
/// netconf events named only links of the read's scope: the model's, with the per-link
/// rp_filter of the scope's links read again (by name, `/proc/sys/net/ipv4/conf/NAME/rp_filter` in the entered
/// namespace, what netconf reports) and the others as they were — a pod's veth on the host no
/// longer costs a netconf dump of the host's every link. The sysctls no event reports are
/// read again as a whole read does. `None` (read them whole) when a bridge is among the
/// links: ARP answering is kept per bridge by name.
fn scoped_sysctls(ns: &Namespace, parts: &LinkParts, probe: HostProbe) -> Option<Sysctls> {
    use crate::model::LinkKind;
    let fresh = parts.links.as_ref()?;
    let bridge = |l: &crate::model::Link| l.kind == LinkKind::Bridge;
    let was_bridge = ns
        .links
        .iter()
        .any(|l| parts.scope.contains(&l.index) && bridge(l));
    if was_bridge || fresh.iter().any(|(_, l)| l.as_ref().is_some_and(bridge)) {
        return None;
    }
    let mut s = ns.sysctls.clone();
    for name in parts.old_names.values().flatten() {
        s.rp_filter.remove(name);
    }
    for link in fresh.iter().filter_map(|(_, l)| l.as_ref()) {
        let path = format!("/proc/sys/net/ipv4/conf/{}/rp_filter", link.name);
        let value = std::fs::read_to_string(path).ok();
        if let Some(v) = value.and_then(|v| v.trim().parse::<u8>().ok()) {
            s.rp_filter.insert(link.name.clone(), v);
        }
    }
    // The bridges are those of the model's links: none of the scope is one.
    sysctl::refresh_eventless(&mut s, &ns.links, probe);
    Some(s)
}
