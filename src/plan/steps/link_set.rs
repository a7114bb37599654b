//! Changing an existing link: [`Step::MoveLink`], [`Step::SetMaster`], [`Step::SetLinkUp`],
//! [`Step::SetMtu`]. Moving a link or setting it down loses state the kernel does not keep
//! (addresses, routes); the inverse records it to put back.

use std::fmt;
use std::os::fd::AsRawFd;

use rtnetlink::{Handle, LinkUnspec};

use super::super::exec::Engine;
use super::super::live::{addrs_of, is_auto_addr, link_restore_steps, routes};
use super::super::shell::{ip, netns_target};
use super::super::step::Step;
use super::{ifname, lines, need_link, noop, not_mine, run, Family, Prepared, Role, StepError};
use crate::netlink::query::{all_links, controller, get_link, is_up, link_mtu, link_name};
use crate::netlink::session::Session;

pub struct LinkSettings;

impl Family for LinkSettings {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::MoveLink { ns, name, to_ns } => write!(f, "move {name} from {ns} to {to_ns}"),
            Step::SetMaster {
                ns,
                link,
                master: Some(m),
            } => write!(f, "attach {link} to bridge {m} in {ns}"),
            Step::SetMaster {
                ns,
                link,
                master: None,
            } => write!(f, "detach {link} from its bridge in {ns}"),
            Step::SetLinkUp { ns, link, up } => {
                write!(f, "set {link} {} in {ns}", if *up { "up" } else { "down" })
            }
            Step::SetMtu { ns, link, mtu } => write!(f, "set mtu {mtu} on {link} in {ns}"),
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        match step {
            Step::MoveLink { name, ns, to_ns } => {
                ifname(name)?;
                if ns == to_ns {
                    return Err(format!("{name} is already in {ns}"));
                }
                Ok(())
            }
            Step::SetMaster { link, master, .. } => {
                ifname(link)?;
                master.as_deref().map_or(Ok(()), ifname)
            }
            Step::SetLinkUp { link, .. } => ifname(link),
            Step::SetMtu { link, mtu, .. } => {
                ifname(link)?;
                if !(68..=65_535).contains(mtu) {
                    return Err(format!("mtu {mtu} is out of range (68..=65535)"));
                }
                Ok(())
            }
            _ => not_mine(step),
        }
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let argv = match step {
            Step::MoveLink { ns, name, to_ns } => {
                ip(ns, &["link", "set", name, "netns", &netns_target(to_ns)])
            }
            Step::SetMaster { ns, link, master } => match master {
                Some(m) => ip(ns, &["link", "set", link, "master", m]),
                None => ip(ns, &["link", "set", link, "nomaster"]),
            },
            Step::SetLinkUp { ns, link, up } => {
                ip(ns, &["link", "set", link, if *up { "up" } else { "down" }])
            }
            Step::SetMtu { ns, link, mtu } => {
                ip(ns, &["link", "set", link, "mtu", &mtu.to_string()])
            }
            _ => not_mine(step),
        };
        lines(&[argv])
    }

    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        match step {
            Step::MoveLink { ns, name, to_ns } => move_inverse(eng, ns, name, to_ns),
            Step::SetMaster { ns, link, master } => {
                let h = eng.handle(ns)?;
                eng.block_on(async {
                    let port = need_link(&h, ns, link).await?;
                    let current = match controller(&port) {
                        Some(i) => Some(link_name_by_index(&h, ns, i).await?),
                        None => None,
                    };
                    if &current == master {
                        return noop();
                    }
                    if let Some(m) = master {
                        need_link(&h, ns, m).await?;
                    }
                    run(vec![Step::SetMaster {
                        ns: ns.clone(),
                        link: link.clone(),
                        master: current,
                    }])
                })
            }
            Step::SetLinkUp { ns, link, up } => set_up_inverse(eng, ns, link, *up),
            Step::SetMtu { ns, link, mtu } => {
                let h = eng.handle(ns)?;
                let dev = eng.block_on(need_link(&h, ns, link))?;
                match link_mtu(&dev) {
                    Some(old) if old == *mtu => noop(),
                    Some(old) => run(vec![Step::SetMtu {
                        ns: ns.clone(),
                        link: link.clone(),
                        mtu: old,
                    }]),
                    None => Err(StepError::Other(format!("{link} in {ns} reports no mtu"))),
                }
            }
            _ => not_mine(step),
        }
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        let (ns, link) = match step {
            Step::MoveLink { ns, name, .. } => (ns, name),
            Step::SetMaster { ns, link, .. }
            | Step::SetLinkUp { ns, link, .. }
            | Step::SetMtu { ns, link, .. } => (ns, link),
            _ => not_mine(step),
        };
        // Opened before the link is looked up, as a missing target namespace is the first
        // thing to report.
        let target = match step {
            Step::MoveLink { to_ns, .. } => Some(Session::open_ns(to_ns)?),
            _ => None,
        };
        let h = eng.handle(ns)?;
        eng.block_on(async {
            let dev = need_link(&h, ns, link).await?;
            let b = LinkUnspec::new_with_index(dev.header.index);
            let (msg, what) = match step {
                Step::MoveLink { to_ns, .. } => {
                    let fd = target.as_ref().map_or(-1, |t| t.as_raw_fd());
                    (
                        b.setns_by_fd(fd).build(),
                        format!("cannot move {link} from {ns} to {to_ns}"),
                    )
                }
                Step::SetMaster { master, .. } => (
                    match master {
                        Some(m) => b.controller(need_link(&h, ns, m).await?.header.index),
                        None => b.nocontroller(),
                    }
                    .build(),
                    format!("cannot set the master of {link} in {ns}"),
                ),
                Step::SetLinkUp { up, .. } => (
                    if *up { b.up() } else { b.down() }.build(),
                    format!(
                        "cannot set {link} {} in {ns}",
                        if *up { "up" } else { "down" }
                    ),
                ),
                Step::SetMtu { mtu, .. } => (
                    b.mtu(*mtu).build(),
                    format!("cannot set mtu {mtu} on {link} in {ns}"),
                ),
                _ => not_mine(step),
            };
            h.link()
                .set(msg)
                .execute()
                .await
                .map_err(|e| StepError::kernel(what, e))
        })
        .map(|()| None)
    }
}

fn move_inverse(
    eng: &mut Engine,
    ns: &str,
    name: &str,
    to_ns: &str,
) -> Result<Prepared, StepError> {
    let (h, ht) = (eng.handle(ns)?, eng.handle(to_ns)?);
    eng.block_on(async {
        let link = need_link(&h, ns, name).await?;
        if get_link(&ht, name).await?.is_some() {
            return Err(StepError::Exists(format!(
                "{to_ns} already has a link called {name}"
            )));
        }
        // Moving a link drops its addresses, bridge, up state and routes: put them back after
        // moving it home.
        let mut inverse = vec![Step::MoveLink {
            ns: to_ns.to_string(),
            name: name.to_string(),
            to_ns: ns.to_string(),
        }];
        let mut route_steps = Vec::new();
        link_restore_steps(&h, ns, &link, &mut inverse, &mut route_steps).await?;
        inverse.extend(route_steps);
        run(inverse)
    })
}

fn set_up_inverse(eng: &mut Engine, ns: &str, link: &str, up: bool) -> Result<Prepared, StepError> {
    let h = eng.handle(ns)?;
    eng.block_on(async {
        let dev = need_link(&h, ns, link).await?;
        if is_up(&dev) == up {
            return noop();
        }
        let mut inverse = vec![Step::SetLinkUp {
            ns: ns.to_string(),
            link: link.to_string(),
            up: !up,
        }];
        if !up {
            // Setting a link down flushes its IPv6 addresses (keep_addr_on_down=0) and every
            // route through it; record them to put back once it is up.
            for a in addrs_of(&h, ns, dev.header.index).await? {
                if a.net.addr().is_ipv6() && !is_auto_addr(&a.net) {
                    inverse.push(Step::AddAddress {
                        ns: ns.to_string(),
                        link: link.to_string(),
                        addr: a.net,
                    });
                }
            }
            for r in routes(&h, ns).await? {
                if r.oif == Some(dev.header.index) && !r.is_automatic() {
                    inverse.push(r.restore_step(ns));
                }
            }
        }
        run(inverse)
    })
}

async fn link_name_by_index(h: &Handle, ns: &str, index: u32) -> Result<String, String> {
    all_links(h, ns)
        .await?
        .iter()
        .find(|l| l.header.index == index)
        .and_then(link_name)
        .map(str::to_string)
        .ok_or_else(|| format!("no link with index {index} in {ns}"))
}
