//! Creating and deleting links: [`Step::AddVeth`], [`Step::AddBridge`], [`Step::DeleteLink`]
//! and [`Step::RecreateLink`], the exact inverse of a delete. What a delete must record to be
//! undone is in `link_delete`.

use std::fmt;
use std::os::fd::AsRawFd;

use netlink_packet_route::link::{InfoData, InfoKind, InfoVeth, LinkMessage};
use rtnetlink::{LinkBridge, LinkMessageBuilder, LinkUnspec, LinkVeth};

use super::super::exec::Engine;
use super::super::shell::{ip, netns_target};
use super::super::step::{LinkEnd, Step};
use super::{ifname, lines, noop, not_mine, run, Family, Prepared, Role, StepError};
use crate::model::LinkKind;
use crate::netlink::query::{get_link, link_kind, peer_index};
use crate::netlink::session::Session;

pub struct Links;

impl Family for Links {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::AddVeth {
                ns,
                name,
                peer_ns,
                peer,
            } => write!(f, "add veth pair {name} ({ns}) ⇄ {peer} ({peer_ns})"),
            Step::AddBridge { ns, name } => write!(f, "add bridge {name} in {ns}"),
            Step::DeleteLink { ns, name } => write!(f, "delete link {name} in {ns}"),
            Step::RecreateLink { kind, link, peer } => {
                write!(f, "recreate {kind} {} in {}", link.name, link.ns)?;
                if let Some(p) = peer {
                    write!(f, " ⇄ {} ({})", p.name, p.ns)?;
                }
                Ok(())
            }
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        match step {
            Step::AddVeth { name, peer, .. } => {
                ifname(name)?;
                ifname(peer)
            }
            Step::AddBridge { name, .. } | Step::DeleteLink { name, .. } => ifname(name),
            Step::RecreateLink { kind, link, peer } => {
                ifname(&link.name)?;
                match (kind, peer) {
                    (LinkKind::Veth, Some(p)) => ifname(&p.name),
                    (LinkKind::Bridge, None) => Ok(()),
                    _ => Err(format!("cannot recreate a {kind} link")),
                }
            }
            _ => not_mine(step),
        }
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let argv = match step {
            Step::AddVeth {
                ns,
                name,
                peer_ns,
                peer,
            } => {
                let mut argv = ip(
                    ns,
                    &["link", "add", name, "type", "veth", "peer", "name", peer],
                );
                if peer_ns != ns {
                    argv.extend(["netns".into(), netns_target(peer_ns)]);
                }
                argv
            }
            Step::AddBridge { ns, name } => ip(ns, &["link", "add", name, "type", "bridge"]),
            Step::DeleteLink { ns, name } => ip(ns, &["link", "del", name]),
            Step::RecreateLink { kind, link, peer } => {
                let mut argv = ip(&link.ns, &["link", "add", &link.name]);
                argv.extend(end_args(link));
                argv.extend(["type".into(), kind.to_string()]);
                if let Some(p) = peer {
                    argv.extend(["peer".into(), "name".into(), p.name.clone()]);
                    argv.extend(end_args(p));
                    if p.ns != link.ns {
                        argv.extend(["netns".into(), netns_target(&p.ns)]);
                    }
                }
                argv
            }
            _ => not_mine(step),
        };
        lines(&[argv])
    }

    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        match step {
            Step::AddVeth {
                ns,
                name,
                peer_ns,
                peer,
            } => add_veth_inverse(eng, ns, name, peer_ns, peer),
            Step::AddBridge { ns, name } => {
                let h = eng.handle(ns)?;
                match eng.block_on(get_link(&h, name))? {
                    None => run(vec![Step::DeleteLink {
                        ns: ns.clone(),
                        name: name.clone(),
                    }]),
                    Some(l) if kind_is(&l, &InfoKind::Bridge) => noop(),
                    Some(_) => Err(StepError::Exists(format!(
                        "{name} already exists in {ns} and is not a bridge"
                    ))),
                }
            }
            Step::RecreateLink { kind, link, peer } => {
                recreate_inverse(eng, kind, link, peer.as_ref())
            }
            Step::DeleteLink { ns, name } => super::link_delete::inverse(eng, ns, name),
            _ => not_mine(step),
        }
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        match step {
            Step::AddVeth {
                ns,
                name,
                peer_ns,
                peer,
            } => create_veth(
                eng,
                ns,
                &NewLink::named(name),
                peer_ns,
                &NewLink::named(peer),
            ),
            Step::AddBridge { ns, name } => create_bridge(eng, ns, &NewLink::named(name)),
            Step::RecreateLink { kind, link, peer } => recreate(eng, kind, link, peer.as_ref()),
            Step::DeleteLink { ns, name } => {
                let h = eng.handle(ns)?;
                eng.block_on(async {
                    let Some(link) = get_link(&h, name).await? else {
                        return Ok(());
                    };
                    h.link()
                        .del(link.header.index)
                        .execute()
                        .await
                        .map_err(|e| StepError::kernel(format!("cannot delete {name} in {ns}"), e))
                })
            }
            _ => not_mine(step),
        }
        .map(|()| None)
    }
}

pub(super) fn kind_is(link: &LinkMessage, kind: &InfoKind) -> bool {
    link_kind(link) == Some(kind)
}

fn end_args(end: &LinkEnd) -> Vec<String> {
    vec![
        "index".into(),
        end.index.to_string(),
        "address".into(),
        end.mac.clone(),
        "mtu".into(),
        end.mtu.to_string(),
    ]
}

fn add_veth_inverse(
    eng: &mut Engine,
    ns: &str,
    name: &str,
    peer_ns: &str,
    peer: &str,
) -> Result<Prepared, StepError> {
    let (ha, hb) = (eng.handle(ns)?, eng.handle(peer_ns)?);
    let a = eng.block_on(get_link(&ha, name))?;
    let b = eng.block_on(get_link(&hb, peer))?;
    match (a, b) {
        (None, None) => run(vec![Step::DeleteLink {
            ns: ns.to_string(),
            name: name.to_string(),
        }]),
        (Some(a), Some(b))
            if kind_is(&a, &InfoKind::Veth)
                && peer_index(&a) == Some(b.header.index)
                && peer_index(&b) == Some(a.header.index) =>
        {
            noop()
        }
        (Some(_), _) => Err(StepError::Exists(format!("{name} already exists in {ns}"))),
        (None, Some(_)) => Err(StepError::Exists(format!(
            "{peer} already exists in {peer_ns}"
        ))),
    }
}

fn recreate_inverse(
    eng: &mut Engine,
    kind: &LinkKind,
    link: &LinkEnd,
    peer: Option<&LinkEnd>,
) -> Result<Prepared, StepError> {
    let h = eng.handle(&link.ns)?;
    let hp = match peer {
        Some(p) => Some(eng.handle(&p.ns)?),
        None => None,
    };
    let Some(now) = eng.block_on(get_link(&h, &link.name))? else {
        return run(vec![Step::DeleteLink {
            ns: link.ns.clone(),
            name: link.name.clone(),
        }]);
    };
    // Already recreated (an undo killed after this step and run again): the same kind, and
    // for a veth the same peer, is the before-state; anything else is someone else's link and
    // is never taken over.
    let same = match (kind, peer, &hp) {
        (LinkKind::Bridge, None, _) => kind_is(&now, &InfoKind::Bridge),
        (LinkKind::Veth, Some(p), Some(hp)) => {
            kind_is(&now, &InfoKind::Veth)
                && eng
                    .block_on(get_link(hp, &p.name))?
                    .is_some_and(|b| peer_index(&now) == Some(b.header.index))
        }
        _ => false,
    };
    if same {
        noop()
    } else {
        Err(StepError::Exists(format!(
            "cannot recreate {kind} {}: another link of that name exists in {}",
            link.name, link.ns
        )))
    }
}

/// Recreates a deleted link with its old index, MAC and MTU. The old index may be taken by
/// now: then the same link with a new one.
fn recreate(
    eng: &mut Engine,
    kind: &LinkKind,
    link: &LinkEnd,
    peer: Option<&LinkEnd>,
) -> Result<(), StepError> {
    let a = NewLink::exact(link)?;
    match (kind, peer) {
        (LinkKind::Veth, Some(p)) => {
            let b = NewLink::exact(p)?;
            match create_veth(eng, &link.ns, &a, &p.ns, &b) {
                Err(StepError::Exists(_)) => {
                    create_veth(eng, &link.ns, &a.without_index(), &p.ns, &b.without_index())
                }
                other => other,
            }
        }
        (LinkKind::Bridge, None) => match create_bridge(eng, &link.ns, &a) {
            Err(StepError::Exists(_)) => create_bridge(eng, &link.ns, &a.without_index()),
            other => other,
        },
        _ => Err(StepError::Other(format!("cannot recreate a {kind} link"))),
    }
}

/// Attributes of a link to create; `None` lets the kernel choose.
#[derive(Default)]
struct NewLink<'a> {
    name: &'a str,
    index: Option<u32>,
    mac: Option<Vec<u8>>,
    mtu: Option<u32>,
}

impl<'a> NewLink<'a> {
    fn named(name: &'a str) -> Self {
        NewLink {
            name,
            ..NewLink::default()
        }
    }

    fn exact(end: &'a LinkEnd) -> Result<Self, String> {
        Ok(NewLink {
            name: &end.name,
            index: Some(end.index),
            mac: Some(parse_mac(&end.mac)?),
            mtu: Some(end.mtu),
        })
    }

    fn without_index(&self) -> NewLink<'a> {
        NewLink {
            name: self.name,
            index: None,
            mac: self.mac.clone(),
            mtu: self.mtu,
        }
    }

    fn apply<T>(&self, mut b: LinkMessageBuilder<T>) -> LinkMessageBuilder<T> {
        if let Some(i) = self.index {
            b = b.index(i);
        }
        if let Some(mac) = &self.mac {
            b = b.address(mac.clone());
        }
        if let Some(mtu) = self.mtu {
            b = b.mtu(mtu);
        }
        b
    }
}

pub fn parse_mac(text: &str) -> Result<Vec<u8>, String> {
    text.split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<Result<Vec<u8>, _>>()
        .ok()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| format!("invalid MAC address {text:?}"))
}

fn create_veth(
    eng: &mut Engine,
    ns: &str,
    a: &NewLink,
    peer_ns: &str,
    b: &NewLink,
) -> Result<(), StepError> {
    let h = eng.handle(ns)?;
    let peer_file = Session::open_ns(peer_ns)?;
    // Both ends are created in place, as `ip link add A type veth peer name B netns NS` does:
    // the peer message carries the target namespace's fd, so no end ever shows up in another
    // namespace under a clashing name.
    let mut peer = b.apply(LinkMessageBuilder::<LinkUnspec>::new().name(b.name.to_string()));
    if peer_ns != ns {
        peer = peer.setns_by_fd(peer_file.as_raw_fd());
    }
    let msg = a
        .apply(LinkVeth::new(a.name, b.name))
        .set_info_data(InfoData::Veth(InfoVeth::Peer(peer.build())))
        .build();
    eng.block_on(h.link().add(msg).execute()).map_err(|e| {
        StepError::kernel(
            format!(
                "cannot create veth {} in {ns} (peer {} in {peer_ns})",
                a.name, b.name
            ),
            e,
        )
    })
}

fn create_bridge(eng: &mut Engine, ns: &str, a: &NewLink) -> Result<(), StepError> {
    let h = eng.handle(ns)?;
    // Down, as `ip link add NAME type bridge` (the preview) creates it: rtnetlink's
    // `LinkBridge::new` would set it up. A recreated bridge that was up is brought up by its
    // inverse's own `set_link_up` step.
    let msg = a
        .apply(LinkMessageBuilder::<LinkBridge>::new(a.name))
        .build();
    eng.block_on(h.link().add(msg).execute())
        .map_err(|e| StepError::kernel(format!("cannot create bridge {} in {ns}", a.name), e))
}
