//! Neighbour entries on the live system. [`Step::DelNeigh`] removes an entry (the fix for a
//! permanent entry with the wrong MAC: ARP then resolves the real one); its inverse pins the
//! same permanent entry again. A learned entry needs no inverse: the kernel learns it again.
//! [`Step::AddNeigh`] writes a permanent entry; it never replaces another permanent one.

use std::net::IpAddr;

use futures::TryStreamExt;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourMessage, NeighbourState,
};
use rtnetlink::Handle;

use std::fmt;

use super::super::exec::Engine;
use super::super::shell::ip;
use super::super::step::Step;
use super::link::parse_mac;
use super::{ifname, lines, need_link, not_mine, Family, Prepared, Role, StepError};
use crate::netlink::convert::hex_mac;
use crate::netlink::query::nl_err;

pub struct Neighbours;

impl Family for Neighbours {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::DelNeigh { ns, link, addr } => {
                write!(f, "delete the neighbour entry {addr} on {link} in {ns}")
            }
            Step::AddNeigh {
                ns,
                link,
                addr,
                lladdr,
            } => write!(
                f,
                "add permanent neighbour {addr} lladdr {lladdr} on {link} in {ns}"
            ),
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        match step {
            Step::DelNeigh { link, .. } => ifname(link),
            Step::AddNeigh { link, lladdr, .. } => {
                ifname(link)?;
                let mac = parse_mac(lladdr)?;
                if mac.len() != 6 {
                    return Err(format!("invalid MAC address {lladdr:?}"));
                }
                Ok(())
            }
            _ => not_mine(step),
        }
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let argv = match step {
            Step::DelNeigh { ns, link, addr } => {
                ip(ns, &["neigh", "del", &addr.to_string(), "dev", link])
            }
            Step::AddNeigh {
                ns,
                link,
                addr,
                lladdr,
            } => ip(
                ns,
                &[
                    "neigh",
                    "replace",
                    &addr.to_string(),
                    "lladdr",
                    lladdr,
                    "nud",
                    "permanent",
                    "dev",
                    link,
                ],
            ),
            _ => not_mine(step),
        };
        lines(&[argv])
    }

    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        prepare(eng, step)
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        execute(eng, step).map(|()| None)
    }
}

struct Live {
    state: NeighbourState,
    lladdr: Option<String>,
    msg: NeighbourMessage,
}

fn destination(m: &NeighbourMessage) -> Option<IpAddr> {
    m.attributes.iter().find_map(|a| match a {
        NeighbourAttribute::Destination(NeighbourAddress::Inet(v4)) => Some(IpAddr::V4(*v4)),
        NeighbourAttribute::Destination(NeighbourAddress::Inet6(v6)) => Some(IpAddr::V6(*v6)),
        _ => None,
    })
}

/// The entry for `addr` on `link`, if there is one.
async fn find(h: &Handle, ns: &str, link: &str, addr: IpAddr) -> Result<Option<Live>, StepError> {
    let index = need_link(h, ns, link).await?.header.index;
    let msgs: Vec<NeighbourMessage> = h
        .neighbours()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| format!("cannot list the neighbours of {ns}: {}", nl_err(e)))?;
    Ok(msgs
        .into_iter()
        .find(|m| m.header.ifindex == index && destination(m) == Some(addr))
        .map(|msg| Live {
            state: msg.header.state,
            lladdr: msg.attributes.iter().find_map(|a| match a {
                NeighbourAttribute::LinkLayerAddress(b) if !b.is_empty() => Some(hex_mac(b)),
                _ => None,
            }),
            msg,
        }))
}

fn pinned(state: NeighbourState) -> bool {
    matches!(state, NeighbourState::Permanent | NeighbourState::Noarp)
}

/// The pinned entry as undo compares it: its MAC, `None` when there is none. A learned entry
/// comes and goes by itself (ARP re-learns it after the fix): it counts as none.
pub fn observe(
    eng: &mut Engine,
    ns: &str,
    link: &str,
    addr: IpAddr,
) -> Result<Option<String>, StepError> {
    let h = eng.handle(ns)?;
    let Some(l) = eng.block_on(find(&h, ns, link, addr))? else {
        return Ok(None);
    };
    Ok(pinned(l.state).then(|| format!("{} permanent", l.lladdr.unwrap_or_default())))
}

fn prepare(eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
    let (Step::DelNeigh { ns, link, addr } | Step::AddNeigh { ns, link, addr, .. }) = step else {
        not_mine(step)
    };
    let h = eng.handle(ns)?;
    let live = eng.block_on(find(&h, ns, link, *addr))?;
    let run = |inverse: Vec<Step>| {
        Ok(Prepared {
            noop: false,
            inverse,
        })
    };
    let noop = || {
        Ok(Prepared {
            noop: true,
            inverse: Vec::new(),
        })
    };
    match (step, live) {
        (Step::DelNeigh { .. }, None) => noop(),
        (Step::DelNeigh { .. }, Some(l)) if pinned(l.state) => match l.lladdr {
            Some(mac) => run(vec![Step::AddNeigh {
                ns: ns.clone(),
                link: link.clone(),
                addr: *addr,
                lladdr: mac,
            }]),
            None => Err(StepError::Other(format!(
                "the permanent entry for {addr} on {link} in {ns} has no MAC: undo could not \
                 put it back"
            ))),
        },
        // Learned: the kernel resolves it again by itself.
        (Step::DelNeigh { .. }, Some(_)) => run(Vec::new()),
        (Step::AddNeigh { lladdr, .. }, Some(l)) if pinned(l.state) => {
            let same = l
                .lladdr
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(lladdr));
            if same {
                noop()
            } else {
                Err(StepError::Exists(format!(
                    "{ns} already pins {addr} on {link} to {}",
                    l.lladdr.as_deref().unwrap_or("no MAC")
                )))
            }
        }
        (Step::AddNeigh { .. }, _) => run(vec![Step::DelNeigh {
            ns: ns.clone(),
            link: link.clone(),
            addr: *addr,
        }]),
        _ => not_mine(step),
    }
}

fn execute(eng: &mut Engine, step: &Step) -> Result<(), StepError> {
    match step {
        Step::DelNeigh { ns, link, addr } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let Some(l) = find(&h, ns, link, *addr).await? else {
                    return Ok(());
                };
                h.neighbours().del(l.msg).execute().await.map_err(|e| {
                    StepError::kernel(
                        format!("cannot delete the neighbour {addr} on {link} in {ns}"),
                        e,
                    )
                })
            })
        }
        Step::AddNeigh {
            ns,
            link,
            addr,
            lladdr,
        } => {
            let mac = parse_mac(lladdr)?;
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let index = need_link(&h, ns, link).await?.header.index;
                h.neighbours()
                    .add(index, *addr)
                    .link_layer_address(&mac)
                    .state(NeighbourState::Permanent)
                    .replace()
                    .execute()
                    .await
                    .map_err(|e| {
                        StepError::kernel(
                            format!(
                                "cannot add neighbour {addr} lladdr {lladdr} on {link} in {ns}"
                            ),
                            e,
                        )
                    })
            })
        }
        _ => not_mine(step),
    }
}
