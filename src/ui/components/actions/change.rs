//! The changes the TUI offers on the selected namespace or link (the `a` menu): each one's
//! menu key, label and form questions, whose defaults come from the snapshot. What the answers
//! become is `steps.rs`. Pure; applying is the plan engine's job, after the user saw the
//! commands and said yes.

use super::form::{field, Field};
use crate::model::{Link, LinkKind, Namespace};

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
            .find(|l| l.kind == LinkKind::Bridge)
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
                // Not the selected link (often `lo`): filled in from the gateway's subnet.
                field(
                    "device",
                    "",
                    "from the gateway's subnet; needed without one",
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
}

#[cfg(test)]
mod tests {
    use super::super::form::{Form, FormKind};
    use super::*;
    use crate::model::NamespaceKind;

    fn vals(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
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
