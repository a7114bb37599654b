//! Reading the state of an object a plan changed ([`Object`]), the same way after each step
//! and again before undo, so the two can be compared (see `marks`).

use super::exec::Engine;
use super::live::{addrs_of, is_auto_addr, routes};
use super::marks::Object;
use super::steps::{observe_bridge_port, observe_neigh, observe_rule, read_file};
use super::{persist, proc_ops};
use crate::netlink::query::{all_links, controller, get_link, is_up, link_mtu, link_name};

/// The object's state now. `Ok(None)`: it (or the link it is on) does not exist.
pub fn observe(eng: &mut Engine, object: &Object) -> Result<Option<String>, String> {
    match object {
        Object::Mtu { ns, link } | Object::Master { ns, link } | Object::Admin { ns, link } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let Some(dev) = get_link(&h, link).await? else {
                    return Ok(None);
                };
                Ok(Some(match object {
                    Object::Mtu { .. } => link_mtu(&dev).map_or("?".into(), |m| m.to_string()),
                    Object::Admin { .. } => (if is_up(&dev) { "up" } else { "down" }).into(),
                    _ => match controller(&dev) {
                        None => "none".into(),
                        Some(i) => all_links(&h, ns)
                            .await?
                            .iter()
                            .find(|l| l.header.index == i)
                            .and_then(link_name)
                            .map_or(format!("index {i}"), str::to_string),
                    },
                }))
            })
        }
        Object::Link { ns, name } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let Some(dev) = get_link(&h, name).await? else {
                    return Ok(None);
                };
                let index = dev.header.index;
                let mut ports: Vec<String> = all_links(&h, ns)
                    .await?
                    .iter()
                    .filter(|l| controller(l) == Some(index))
                    .filter_map(|l| link_name(l).map(str::to_string))
                    .collect();
                ports.sort();
                let mut addrs: Vec<String> = addrs_of(&h, ns, index)
                    .await?
                    .iter()
                    .filter(|a| !is_auto_addr(&a.net))
                    .map(|a| a.net.to_string())
                    .collect();
                addrs.sort();
                Ok(Some(format!(
                    "ports [{}], addresses [{}]",
                    ports.join(" "),
                    addrs.join(" ")
                )))
            })
        }
        Object::Address { ns, link, addr } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let Some(dev) = get_link(&h, link).await? else {
                    return Ok(None);
                };
                let have = addrs_of(&h, ns, dev.header.index).await?;
                Ok(Some(present(have.iter().any(|a| a.net == *addr))))
            })
        }
        Object::Route { ns, route } => {
            let h = eng.handle(ns)?;
            eng.block_on(async {
                let live = routes(&h, ns).await?;
                Ok(Some(present(live.iter().any(|r| r.matches(route)))))
            })
        }
        Object::Sysctl { ns, key } => proc_ops::read_sysctl(ns, key).map(Some),
        Object::SysctlFile { key } => persist::read(key),
        Object::File { path } => read_file(path, None),
        Object::Rule {
            ns,
            table,
            chain,
            line,
        } => {
            let rules = proc_ops::list_rules(ns, table, chain)?;
            Ok(Some(
                rules.iter().filter(|l| *l == line).count().to_string(),
            ))
        }
        Object::Chain { ns, table, chain } => {
            if !proc_ops::chain_exists(ns, table, chain)? {
                return Ok(None);
            }
            Ok(Some(proc_ops::list_rules(ns, table, chain)?.join("\n")))
        }
        Object::BridgePort { ns, link } => observe_bridge_port(eng, ns, link),
        Object::Neigh { ns, link, addr } => {
            observe_neigh(eng, ns, link, *addr).map_err(|e| e.to_string())
        }
        Object::PolicyRule { ns, rule } => observe_rule(eng, ns, rule).map(Some),
    }
}

fn present(yes: bool) -> String {
    (if yes { "present" } else { "absent" }).into()
}
