//! What a change form's answers become: plan steps in namespace `ns`, one function per
//! change. An answer that does not parse is an error naming the field, never a half-built
//! plan (these messages are the forms' wording, kept beside what they check).

use std::net::IpAddr;

use ipnet::IpNet;

use super::change::ActionKind;
use crate::diagnose::masquerade_step;
use crate::netns::create::validate_ifname;
use crate::plan::{RouteSpec, Step};

/// The answers of a form, trimmed, by position (missing ones are empty).
struct Answers<'a>(&'a [String]);

impl Answers<'_> {
    fn get(&self, i: usize) -> &str {
        self.0.get(i).map(|s| s.trim()).unwrap_or("")
    }
}

/// An interface name the kernel would take, or why not (named after the field).
pub(super) fn ifname(label: &str, name: &str) -> Result<String, String> {
    validate_ifname(name)
        .map(|_| name.to_string())
        .map_err(|e| format!("{label}: {e}"))
}

/// `address/prefix` (an address with its subnet, or a network).
pub(super) fn cidr(label: &str, text: &str) -> Result<IpNet, String> {
    text.parse().map_err(|_| {
        format!("{label}: {text:?} is not address/prefix (e.g. 10.20.0.1/24: the prefix is needed)")
    })
}

/// A route's destination: a CIDR, or `default` (or nothing) for the IPv4 default route.
pub(super) fn destination(text: &str) -> Result<IpNet, String> {
    match text {
        "default" | "" => Ok("0.0.0.0/0".parse().expect("literal")),
        d => d
            .parse()
            .map_err(|_| format!("destination: {d:?} is not a CIDR or default")),
    }
}

/// A route's gateway, if one is given.
pub(super) fn gateway(text: &str) -> Result<Option<IpAddr>, String> {
    match text {
        "" => Ok(None),
        g => g
            .parse()
            .map(Some)
            .map_err(|_| format!("via: {g:?} is not an address")),
    }
}

pub(super) fn yes_no(label: &str, text: &str) -> Result<bool, String> {
    match text {
        "yes" | "y" => Ok(true),
        "no" | "n" | "" => Ok(false),
        other => Err(format!("{label}: {other:?} is not yes or no")),
    }
}

impl ActionKind {
    /// The steps the answers ask for, in namespace `ns`; an answer that does not parse is an
    /// error naming the field.
    pub fn steps(self, ns: &str, values: &[String]) -> Result<Vec<Step>, String> {
        let v = Answers(values);
        let ns = ns.to_string();
        Ok(match self {
            ActionKind::LinkUp | ActionKind::LinkDown => vec![Step::SetLinkUp {
                ns,
                link: ifname("link", v.get(0))?,
                up: self == ActionKind::LinkUp,
            }],
            ActionKind::Detach => vec![Step::SetMaster {
                ns,
                link: ifname("link", v.get(0))?,
                master: None,
            }],
            ActionKind::DeleteLink => vec![Step::DeleteLink {
                ns,
                name: ifname("link", v.get(0))?,
            }],
            ActionKind::NewVeth => veth(ns, &v)?,
            ActionKind::NewBridge => bridge(ns, &v)?,
            ActionKind::Attach => vec![Step::SetMaster {
                ns,
                link: ifname("link", v.get(0))?,
                master: Some(ifname("bridge", v.get(1))?),
            }],
            ActionKind::AddAddress => {
                let link = ifname("link", v.get(0))?;
                let addr = cidr("address", v.get(1))?;
                vec![Step::AddAddress { ns, link, addr }]
            }
            ActionKind::AddRoute => vec![route(ns, &v)?],
            ActionKind::EnableForwarding => vec![forwarding(ns, &v)?],
            ActionKind::AddMasquerade => vec![masquerade(ns, &v)?],
        })
    }
}

/// A veth pair to another namespace, both ends up.
fn veth(ns: String, v: &Answers) -> Result<Vec<Step>, String> {
    let name = ifname("name here", v.get(0))?;
    let peer_ns = v.get(1).to_string();
    if peer_ns.is_empty() {
        return Err("peer namespace: which namespace gets the other end?".into());
    }
    let peer = ifname("peer name", v.get(2))?;
    if peer_ns == ns && peer == name {
        return Err("peer name: both ends cannot have one name in one namespace".into());
    }
    Ok(vec![
        Step::AddVeth {
            ns: ns.clone(),
            name: name.clone(),
            peer_ns: peer_ns.clone(),
            peer: peer.clone(),
        },
        Step::SetLinkUp {
            ns,
            link: name,
            up: true,
        },
        Step::SetLinkUp {
            ns: peer_ns,
            link: peer,
            up: true,
        },
    ])
}

/// A bridge, up.
fn bridge(ns: String, v: &Answers) -> Result<Vec<Step>, String> {
    let name = ifname("name", v.get(0))?;
    Ok(vec![
        Step::AddBridge {
            ns: ns.clone(),
            name: name.clone(),
        },
        Step::SetLinkUp {
            ns,
            link: name,
            up: true,
        },
    ])
}

/// A route (`default` or empty: the IPv4 default route) via a gateway, a device, or both.
fn route(ns: String, v: &Answers) -> Result<Step, String> {
    let dst = destination(v.get(0))?;
    let via = gateway(v.get(1))?;
    let dev = match v.get(2) {
        "" => None,
        d => Some(ifname("device", d)?),
    };
    if via.is_none() && dev.is_none() {
        return Err("via or device: a route needs a gateway or a device".into());
    }
    if via.is_some_and(|g| g.is_ipv4() != dst.addr().is_ipv4()) {
        return Err("via: the gateway's family differs from the destination's".into());
    }
    Ok(Step::AddRoute {
        ns,
        route: RouteSpec {
            dst: dst.trunc(),
            via,
            dev,
            table: None,
            metric: None,
        },
    })
}

/// IPv4 forwarding on, and with `persist` also in /etc/sysctl.d.
fn forwarding(ns: String, v: &Answers) -> Result<Step, String> {
    let persist = yes_no("persist", v.get(0))?;
    Ok(Step::SetSysctl {
        ns,
        key: "net/ipv4/ip_forward".into(),
        value: "1".into(),
        persist,
    })
}

/// MASQUERADE for a source subnet, out of an interface (`!name`: out of anything but it) or
/// out of any: the doctor's masquerade fix, with the user's answers.
fn masquerade(ns: String, v: &Answers) -> Result<Step, String> {
    let src = cidr("source", v.get(0))?;
    let out = match v.get(1) {
        "" => None,
        out => {
            let (negated, name) = match out.strip_prefix('!') {
                Some(n) => (true, n.trim()),
                None => (false, out),
            };
            Some((negated, ifname("out interface", name)?))
        }
    };
    let out = out
        .as_ref()
        .map(|(negated, name)| (*negated, name.as_str()));
    Ok(masquerade_step(&ns, &src.trunc().to_string(), out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn answers_become_steps() {
        let s = ActionKind::NewVeth
            .steps("web", &vals(&["veth-w", "db", "eth1"]))
            .expect("ok");
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].to_string(), "add veth pair veth-w (web) ⇄ eth1 (db)");
        let s = ActionKind::AddRoute
            .steps("web", &vals(&["default", "10.9.0.1", ""]))
            .expect("ok");
        assert_eq!(s[0].to_string(), "add route default via 10.9.0.1 in web");
        let s = ActionKind::AddMasquerade
            .steps("gw", &vals(&["10.9.0.7/24", "!br-x"]))
            .expect("ok");
        let Step::AddIptablesRule { rule, .. } = &s[0] else {
            panic!("{s:?}")
        };
        assert_eq!(
            rule.join(" "),
            "-s 10.9.0.0/24 ! -o br-x -m comment --comment netlens -j MASQUERADE"
        );
        let s = ActionKind::EnableForwarding
            .steps("gw", &vals(&["yes"]))
            .expect("ok");
        assert!(matches!(&s[0], Step::SetSysctl { persist: true, value, .. } if value == "1"));
    }

    #[test]
    fn bad_answers_name_the_field() {
        for (kind, v, says) in [
            (
                ActionKind::AddAddress,
                vec!["eth0", "10.0.0.300/24"],
                "address:",
            ),
            (
                ActionKind::AddAddress,
                vec!["a-name-far-too-long", "10.0.0.1/24"],
                "link:",
            ),
            (
                ActionKind::AddRoute,
                vec!["10.1.0.0/16", "", ""],
                "a gateway or a device",
            ),
            (
                ActionKind::AddRoute,
                vec!["default", "fe80::1", ""],
                "family",
            ),
            (
                ActionKind::NewVeth,
                vec!["v0", "", "eth0"],
                "peer namespace",
            ),
            (ActionKind::NewBridge, vec!["bad/name"], "name:"),
            (ActionKind::EnableForwarding, vec!["maybe"], "persist"),
            (ActionKind::AddMasquerade, vec!["10.0.0.0/33", ""], "source"),
        ] {
            let e = kind.steps("ns1", &vals(&v)).expect_err(says);
            assert!(e.contains(says), "{kind:?} {v:?}: {e}");
        }
    }
}
