//! What deleting a link must record to be undone: the link exactly (same index, MAC, MTU; a
//! veth with its peer, wherever that is) and what went with it — bridge ports, master,
//! addresses, up state and routes, on both ends.

use std::collections::BTreeSet;

use netlink_packet_route::link::{InfoKind, LinkMessage};

use super::super::exec::Engine;
use super::super::live::link_restore_steps;
use super::super::step::{LinkEnd, Step};
use super::link::kind_is;
use super::{noop, run, Prepared, StepError};
use crate::model::LinkKind;
use crate::netlink::convert::hex_mac;
use crate::netlink::nsid_of;
use crate::netlink::query::{
    all_links, controller, get_link, is_up, link_mac, link_mtu, link_name, link_netnsid, peer_index,
};
use crate::netlink::NlSocket;
use crate::netns::discover::discover;
use crate::netns::enter::run_in_netns_file;
use crate::netns::resolve::open_ns;

fn end_of(ns: &str, link: &LinkMessage) -> Result<LinkEnd, String> {
    let name = link_name(link).unwrap_or_default().to_string();
    Ok(LinkEnd {
        ns: ns.to_string(),
        index: link.header.index,
        mac: link_mac(link)
            .map(|m| hex_mac(&m))
            .ok_or_else(|| format!("{name} in {ns} has no MAC address"))?,
        mtu: link_mtu(link).ok_or_else(|| format!("{name} in {ns} reports no mtu"))?,
        up: is_up(link),
        name,
    })
}

/// Deleting a link is undone by recreating it exactly and putting back what went with it.
/// Only veths and bridges can be recreated from what the kernel tells; anything else is
/// refused.
pub(super) fn inverse(eng: &mut Engine, ns: &str, name: &str) -> Result<Prepared, StepError> {
    let h = eng.handle(ns)?;
    let Some(link) = eng.block_on(get_link(&h, name))? else {
        // Like CNI DEL: already gone is success.
        return noop();
    };
    let kind = if kind_is(&link, &InfoKind::Veth) {
        LinkKind::Veth
    } else if kind_is(&link, &InfoKind::Bridge) {
        LinkKind::Bridge
    } else {
        return Err(StepError::Other(format!(
            "refusing to delete {name} in {ns}: only veth and bridge links can be recreated exactly on undo"
        )));
    };
    let mut ends = vec![(ns.to_string(), link.clone())];
    if kind == LinkKind::Veth {
        ends.push(veth_peer(eng, ns, name, &link)?);
    }
    if kind == LinkKind::Bridge && !creatable_mac(&end_of(ns, &link)?.mac) {
        // The kernel gives a bridge whose last port left the all-zero address.
        return Err(StepError::Busy(format!(
            "refusing to delete bridge {name} in {ns}: it has no ports and so the MAC address \
             00:00:00:00:00:00, which undo could not create it with"
        )));
    }
    let recreate = Step::RecreateLink {
        kind: kind.clone(),
        link: end_of(&ends[0].0, &ends[0].1)?,
        peer: ends.get(1).map(|(n, l)| end_of(n, l)).transpose()?,
    };
    let mut inverse = vec![recreate];
    let mut route_steps = Vec::new();
    if kind == LinkKind::Bridge {
        // Deleting a bridge releases its ports; they go back on.
        let ports: Vec<String> = eng
            .block_on(all_links(&h, ns))?
            .iter()
            .filter(|l| controller(l) == Some(link.header.index))
            .filter_map(|l| link_name(l).map(str::to_string))
            .collect();
        for port in ports {
            inverse.push(Step::SetMaster {
                ns: ns.to_string(),
                link: port,
                master: Some(name.to_string()),
            });
        }
    }
    for (end_ns, end) in &ends {
        let he = eng.handle(end_ns)?;
        eng.block_on(link_restore_steps(
            &he,
            end_ns,
            end,
            &mut inverse,
            &mut route_steps,
        ))?;
    }
    inverse.extend(route_steps);
    run(inverse)
}

/// Whether a link can be created with MAC address `mac` (the kernel refuses all zeros).
fn creatable_mac(mac: &str) -> bool {
    mac.split(':')
        .any(|octet| !octet.trim_start_matches('0').is_empty())
}

/// The other end of veth `name` in `ns`, and the namespace it is in.
fn veth_peer(
    eng: &mut Engine,
    ns: &str,
    name: &str,
    link: &LinkMessage,
) -> Result<(String, LinkMessage), StepError> {
    let Some(peer_idx) = peer_index(link) else {
        return Err(StepError::Other(format!(
            "veth {name} in {ns} reports no peer"
        )));
    };
    let peer_ns = match link_netnsid(link) {
        None => ns.to_string(),
        Some(nsid) => peer_namespace(eng, ns, nsid)?,
    };
    let hp = eng.handle(&peer_ns)?;
    let peer = eng
        .block_on(all_links(&hp, &peer_ns))?
        .into_iter()
        .find(|l| l.header.index == peer_idx)
        .ok_or_else(|| format!("cannot find the peer of {name} in {peer_ns}"))?;
    Ok((peer_ns, peer))
}

/// The name of the namespace that namespace `ns` knows as `nsid`. Nsids are local to `ns`,
/// so each candidate's fd is shown to `ns` (RTM_GETNSID) until one matches. Candidates: the
/// plan's namespaces first, then every namespace discovery finds.
fn peer_namespace(eng: &Engine, ns: &str, nsid: i32) -> Result<String, String> {
    let mut seen = BTreeSet::new();
    let mut candidates: Vec<String> = eng.plan_namespaces.clone();
    candidates.push("host".into());
    candidates.extend(discover().names());
    let own = open_ns(ns).map_err(|e| e.to_string())?;
    let mut sock = run_in_netns_file(&own, ns, NlSocket::open)
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open a netlink socket in {ns}: {e}"))?;
    for cand in candidates {
        if cand == ns || !seen.insert(cand.clone()) {
            continue;
        }
        let Ok(file) = open_ns(&cand) else { continue };
        if nsid_of(&mut sock, &file) == Some(nsid) {
            return Ok(cand);
        }
    }
    Err(format!(
        "cannot tell which namespace holds the peer of a veth in {ns} (nsid {nsid}): refusing to delete what undo could not recreate"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_all_zero_mac_cannot_be_created() {
        assert!(!super::creatable_mac("00:00:00:00:00:00"));
        assert!(super::creatable_mac("02:00:00:00:00:01"));
        assert!(super::creatable_mac("f0:00:00:00:00:00"));
    }
}
