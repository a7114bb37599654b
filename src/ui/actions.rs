//! The changes the TUI offers on the selected namespace or link, as forms whose answers become
//! plan steps. Pure: the fields' defaults come from the snapshot, the steps from the answers,
//! and a bad answer (an invalid CIDR or interface name) is a message, never a half-built plan.
//! Applying is the plan engine's job, after the user saw the commands and said yes.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::{Link, Namespace};
use crate::netns::create::validate_ifname;
use crate::plan::{RouteSpec, Step, RULE_TAG};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    LinkUp,
    LinkDown,
    NewVeth,
    NewBridge,
    Attach,
    Detach,
    AddAddress,
    AddRoute,
    EnableForwarding,
    AddMasquerade,
    DeleteLink,
}

/// One question of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub label: &'static str,
    pub value: String,
    pub hint: &'static str,
}

fn field(label: &'static str, value: impl Into<String>, hint: &'static str) -> Field {
    Field {
        label,
        value: value.into(),
        hint,
    }
}

impl ActionKind {
    pub const ALL: [ActionKind; 11] = [
        ActionKind::LinkUp,
        ActionKind::LinkDown,
        ActionKind::NewVeth,
        ActionKind::NewBridge,
        ActionKind::Attach,
        ActionKind::Detach,
        ActionKind::AddAddress,
        ActionKind::AddRoute,
        ActionKind::EnableForwarding,
        ActionKind::AddMasquerade,
        ActionKind::DeleteLink,
    ];

    /// The menu's key for it.
    pub fn key(self) -> char {
        match self {
            ActionKind::LinkUp => 'u',
            ActionKind::LinkDown => 'd',
            ActionKind::NewVeth => 'v',
            ActionKind::NewBridge => 'b',
            ActionKind::Attach => 'm',
            ActionKind::Detach => 'x',
            ActionKind::AddAddress => 'a',
            ActionKind::AddRoute => 'r',
            ActionKind::EnableForwarding => 'f',
            ActionKind::AddMasquerade => 'n',
            ActionKind::DeleteLink => 'D',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActionKind::LinkUp => "set a link up",
            ActionKind::LinkDown => "set a link down",
            ActionKind::NewVeth => "new veth pair (to another namespace)",
            ActionKind::NewBridge => "new bridge",
            ActionKind::Attach => "attach a link to a bridge",
            ActionKind::Detach => "detach a link from its bridge",
            ActionKind::AddAddress => "add an address",
            ActionKind::AddRoute => "add a route (or the default route)",
            ActionKind::EnableForwarding => "enable IPv4 forwarding",
            ActionKind::AddMasquerade => "masquerade a subnet (NAT)",
            ActionKind::DeleteLink => "delete a link (a veth takes its peer along)",
        }
    }

    /// The form's questions, filled in from the namespace and the link selected in it.
    pub fn fields(self, ns: &Namespace, link: Option<&Link>) -> Vec<Field> {
        let link_name = link.map(|l| l.name.clone()).unwrap_or_default();
        let first_bridge = ns
            .links
            .iter()
            .find(|l| l.kind == "bridge")
            .map(|l| l.name.clone())
            .unwrap_or_default();
        match self {
            ActionKind::LinkUp | ActionKind::LinkDown | ActionKind::Detach => {
                vec![field("link", link_name, "interface name")]
            }
            ActionKind::DeleteLink => vec![field("link", link_name, "interface name")],
            ActionKind::NewVeth => vec![
                field("name here", "", "e.g. veth-web (15 bytes at most)"),
                field(
                    "peer namespace",
                    "",
                    "a namespace name as listed on the left",
                ),
                field("peer name", "eth0", "the interface name there"),
            ],
            ActionKind::NewBridge => vec![field("name", "", "e.g. br-lab")],
            ActionKind::Attach => vec![
                field("link", link_name, "interface name"),
                field("bridge", first_bridge, "a bridge in this namespace"),
            ],
            ActionKind::AddAddress => vec![
                field("link", link_name, "interface name"),
                field("address", "", "address/prefix, e.g. 10.20.0.1/24"),
            ],
            ActionKind::AddRoute => vec![
                field("destination", "default", "CIDR, or default"),
                field(
                    "via",
                    "",
                    "gateway address (or leave empty and give a device)",
                ),
                field(
                    "device",
                    link_name,
                    "interface name (optional with a gateway)",
                ),
            ],
            ActionKind::EnableForwarding => vec![field(
                "persist",
                "no",
                "yes also writes /etc/sysctl.d (host namespace)",
            )],
            ActionKind::AddMasquerade => vec![
                field("source", "", "the private subnet, e.g. 10.20.0.0/24"),
                field("out interface", "", "optional; !br0 means: not out of br0"),
            ],
        }
    }

    /// The steps the answers ask for, in namespace `ns`; an answer that does not parse is an
    /// error naming the field.
    pub fn steps(self, ns: &str, values: &[String]) -> Result<Vec<Step>, String> {
        let v = |i: usize| values.get(i).map(|s| s.trim()).unwrap_or("");
        let ns = ns.to_string();
        let ifname = |label: &str, name: &str| -> Result<String, String> {
            validate_ifname(name)
                .map(|_| name.to_string())
                .map_err(|e| format!("{label}: {e}"))
        };
        Ok(match self {
            ActionKind::LinkUp | ActionKind::LinkDown => vec![Step::SetLinkUp {
                ns,
                link: ifname("link", v(0))?,
                up: self == ActionKind::LinkUp,
            }],
            ActionKind::Detach => vec![Step::SetMaster {
                ns,
                link: ifname("link", v(0))?,
                master: None,
            }],
            ActionKind::DeleteLink => vec![Step::DeleteLink {
                ns,
                name: ifname("link", v(0))?,
            }],
            ActionKind::NewVeth => {
                let name = ifname("name here", v(0))?;
                let peer_ns = v(1).to_string();
                if peer_ns.is_empty() {
                    return Err("peer namespace: which namespace gets the other end?".into());
                }
                let peer = ifname("peer name", v(2))?;
                if peer_ns == ns && peer == name {
                    return Err("peer name: both ends cannot have one name in one namespace".into());
                }
                vec![
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
                ]
            }
            ActionKind::NewBridge => {
                let name = ifname("name", v(0))?;
                vec![
                    Step::AddBridge {
                        ns: ns.clone(),
                        name: name.clone(),
                    },
                    Step::SetLinkUp {
                        ns,
                        link: name,
                        up: true,
                    },
                ]
            }
            ActionKind::Attach => vec![Step::SetMaster {
                ns,
                link: ifname("link", v(0))?,
                master: Some(ifname("bridge", v(1))?),
            }],
            ActionKind::AddAddress => {
                let link = ifname("link", v(0))?;
                let addr: IpNet = v(1)
                    .parse()
                    .map_err(|_| format!("address: {:?} is not address/prefix", v(1)))?;
                vec![Step::AddAddress { ns, link, addr }]
            }
            ActionKind::AddRoute => {
                let dst: IpNet = match v(0) {
                    "default" | "" => "0.0.0.0/0".parse().expect("literal"),
                    d => d
                        .parse()
                        .map_err(|_| format!("destination: {d:?} is not a CIDR or default"))?,
                };
                let via: Option<IpAddr> = match v(1) {
                    "" => None,
                    g => Some(
                        g.parse()
                            .map_err(|_| format!("via: {g:?} is not an address"))?,
                    ),
                };
                let dev = match v(2) {
                    "" => None,
                    d => Some(ifname("device", d)?),
                };
                if via.is_none() && dev.is_none() {
                    return Err("via or device: a route needs a gateway or a device".into());
                }
                if via.is_some_and(|g| g.is_ipv4() != dst.addr().is_ipv4()) {
                    return Err("via: the gateway's family differs from the destination's".into());
                }
                vec![Step::AddRoute {
                    ns,
                    route: RouteSpec {
                        dst: dst.trunc(),
                        via,
                        dev,
                        table: None,
                        metric: None,
                    },
                }]
            }
            ActionKind::EnableForwarding => {
                let persist = match v(0) {
                    "yes" | "y" => true,
                    "no" | "n" | "" => false,
                    other => return Err(format!("persist: {other:?} is not yes or no")),
                };
                vec![Step::SetSysctl {
                    ns,
                    key: "net/ipv4/ip_forward".into(),
                    value: "1".into(),
                    persist,
                }]
            }
            ActionKind::AddMasquerade => {
                let src: IpNet = v(0)
                    .parse()
                    .map_err(|_| format!("source: {:?} is not a CIDR", v(0)))?;
                let mut rule = vec!["-s".to_string(), src.trunc().to_string()];
                match v(1) {
                    "" => {}
                    out => {
                        let (neg, name) = match out.strip_prefix('!') {
                            Some(n) => (true, n.trim()),
                            None => (false, out),
                        };
                        let name = ifname("out interface", name)?;
                        if neg {
                            rule.push("!".into());
                        }
                        rule.extend(["-o".to_string(), name]);
                    }
                }
                rule.extend(RULE_TAG.iter().map(|s| s.to_string()));
                rule.extend(["-j".to_string(), "MASQUERADE".to_string()]);
                vec![Step::AddIptablesRule {
                    ns,
                    table: "nat".into(),
                    chain: "POSTROUTING".into(),
                    rule,
                }]
            }
        })
    }
}

/// What a form is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKind {
    /// A change, ending in a plan to confirm.
    Change(ActionKind),
    /// `path` (and optionally `trace`) from the namespace.
    Path,
    /// The capture filter of the Capture tab.
    CaptureFilter,
    /// Resolve a name as glibc would in the namespace (the DNS tab).
    Resolve,
}

impl FormKind {
    pub fn label(self) -> &'static str {
        match self {
            FormKind::Change(k) => k.label(),
            FormKind::Path => "path of a packet from here (and a live probe)",
            FormKind::CaptureFilter => "capture filter",
            FormKind::Resolve => "resolve a name as glibc would here",
        }
    }
}

/// A form being filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub kind: FormKind,
    pub ns: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// Why the last submit was refused.
    pub error: Option<String>,
}

impl Form {
    pub fn new(kind: ActionKind, ns: &Namespace, link: Option<&Link>) -> Self {
        Form {
            kind: FormKind::Change(kind),
            ns: ns.name.clone(),
            fields: kind.fields(ns, link),
            focus: 0,
            error: None,
        }
    }

    /// Where does a packet from `ns` go?
    pub fn path(ns: &str) -> Self {
        Form {
            kind: FormKind::Path,
            ns: ns.into(),
            fields: vec![
                field("destination", "", "an IP address"),
                field("protocol", "icmp", "icmp, tcp or udp"),
                field("port", "", "for tcp and udp"),
                field(
                    "live probe",
                    "no",
                    "yes sends one real probe and watches it",
                ),
            ],
            focus: 0,
            error: None,
        }
    }

    /// A name to resolve in `ns`.
    pub fn resolve(ns: &str) -> Self {
        Form {
            kind: FormKind::Resolve,
            ns: ns.into(),
            fields: vec![
                field("name", "", "e.g. kubernetes.default or example.com"),
                field("type", "A+AAAA", "A, AAAA, A+AAAA, MX, TXT, SRV, …"),
            ],
            focus: 0,
            error: None,
        }
    }

    /// The Capture tab's filter, starting from the current one.
    pub fn capture_filter(ns: &str, current: &str) -> Self {
        Form {
            kind: FormKind::CaptureFilter,
            ns: ns.into(),
            fields: vec![field(
                "filter",
                current,
                "tcpdump words: host/net/port [src|dst], tcp udp icmp arp vxlan, and/or/not",
            )],
            focus: 0,
            error: None,
        }
    }

    pub fn values(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.value.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NamespaceKind;

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

    #[test]
    fn forms_start_from_the_selection() {
        let mut ns = Namespace::new("gw".into(), NamespaceKind::Named, 1);
        ns.links.push(Link::new(3, "brx", "bridge"));
        let eth = Link::new(4, "ethx", "veth");
        let f = Form::new(ActionKind::Attach, &ns, Some(&eth));
        assert_eq!(f.kind, FormKind::Change(ActionKind::Attach));
        assert_eq!(f.values(), vals(&["ethx", "brx"]));
        let keys: std::collections::HashSet<char> =
            ActionKind::ALL.iter().map(|k| k.key()).collect();
        assert_eq!(keys.len(), ActionKind::ALL.len(), "menu keys are unique");
    }
}
