//! Addresses on a link: [`Step::AddAddress`], [`Step::DelAddress`].

use std::fmt;

use super::super::exec::Engine;
use super::super::live::{addrs_of, routes};
use super::super::shell::ip;
use super::super::step::Step;
use super::{ifname, lines, need_link, noop, not_mine, run, Family, Prepared, Role, StepError};

pub struct Addresses;

impl Family for Addresses {
    fn describe(&self, step: &Step, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match step {
            Step::AddAddress { ns, link, addr } => {
                write!(f, "add address {addr} to {link} in {ns}")
            }
            Step::DelAddress { ns, link, addr } => {
                write!(f, "remove address {addr} from {link} in {ns}")
            }
            _ => not_mine(step),
        }
    }

    fn check(&self, step: &Step, _: Role) -> Result<(), String> {
        match step {
            Step::AddAddress { link, .. } | Step::DelAddress { link, .. } => ifname(link),
            _ => not_mine(step),
        }
    }

    fn commands(&self, step: &Step) -> Vec<String> {
        let (verb, ns, link, addr) = match step {
            Step::AddAddress { ns, link, addr } => ("add", ns, link, addr),
            Step::DelAddress { ns, link, addr } => ("del", ns, link, addr),
            _ => not_mine(step),
        };
        lines(&[ip(ns, &["addr", verb, &addr.to_string(), "dev", link])])
    }

    fn prepare(&self, eng: &mut Engine, step: &Step) -> Result<Prepared, StepError> {
        let (Step::AddAddress { ns, link, addr } | Step::DelAddress { ns, link, addr }) = step
        else {
            not_mine(step)
        };
        let h = eng.handle(ns)?;
        eng.block_on(async {
            let dev = need_link(&h, ns, link).await?;
            let have = addrs_of(&h, ns, dev.header.index).await?;
            if let Step::AddAddress { .. } = step {
                if let Some(a) = have.iter().find(|a| a.net.addr() == addr.addr()) {
                    return if a.net.prefix_len() == addr.prefix_len() {
                        noop()
                    } else {
                        // Like the CNI bridge plugin: a different address is an error, never
                        // silently replaced.
                        Err(StepError::Exists(format!(
                            "{link} in {ns} already has {} instead of {addr}",
                            a.net
                        )))
                    };
                }
                return run(vec![Step::DelAddress {
                    ns: ns.clone(),
                    link: link.clone(),
                    addr: *addr,
                }]);
            }
            if !have.iter().any(|a| a.net == *addr) {
                return noop();
            }
            let mut inverse = vec![Step::AddAddress {
                ns: ns.clone(),
                link: link.clone(),
                addr: *addr,
            }];
            // The kernel drops routes whose gateway was reachable only through this address's
            // subnet; they come back after the address.
            let subnet = addr.trunc();
            for r in routes(&h, ns).await? {
                let via_here = r.spec.via.is_some_and(|gw| subnet.contains(&gw));
                if r.oif == Some(dev.header.index) && via_here && !r.is_automatic() {
                    inverse.push(r.restore_step(ns));
                }
            }
            run(inverse)
        })
    }

    fn execute(&self, eng: &mut Engine, step: &Step) -> Result<Option<Vec<Step>>, StepError> {
        let h = match step {
            Step::AddAddress { ns, .. } | Step::DelAddress { ns, .. } => eng.handle(ns)?,
            _ => not_mine(step),
        };
        eng.block_on(async {
            match step {
                Step::AddAddress { ns, link, addr } => {
                    let dev = need_link(&h, ns, link).await?;
                    h.address()
                        .add(dev.header.index, addr.addr(), addr.prefix_len())
                        .execute()
                        .await
                        .map_err(|e| {
                            StepError::kernel(format!("cannot add {addr} to {link} in {ns}"), e)
                        })
                }
                Step::DelAddress { ns, link, addr } => {
                    let dev = need_link(&h, ns, link).await?;
                    let found = addrs_of(&h, ns, dev.header.index)
                        .await?
                        .into_iter()
                        .find(|a| a.net == *addr);
                    let Some(found) = found else { return Ok(()) };
                    h.address().del(found.msg).execute().await.map_err(|e| {
                        StepError::kernel(format!("cannot remove {addr} from {link} in {ns}"), e)
                    })
                }
                _ => not_mine(step),
            }
        })
        .map(|()| None)
    }
}
