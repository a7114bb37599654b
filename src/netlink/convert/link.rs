//! A link message as `ip link` shows it: name, kind, flags, MTU, MAC, master, veth peer,
//! bridge-port state.

use netlink_packet_route::link::{
    BridgePortState, InfoBridge, InfoBridgePort, InfoData, InfoPortData, InfoVxlan, LinkAttribute,
    LinkFlags, LinkInfo, LinkLayerType, LinkMessage, State,
};

use crate::model::{self, BridgePort, Link, LinkFlag, LinkKind, OperState, StpPortState};

/// A link message as the model's [`Link`] (master and ports are filled by the caller, which
/// sees every link of the namespace).
pub fn link_from(m: &LinkMessage) -> Link {
    let kind = if m.header.link_layer_type == LinkLayerType::Loopback {
        LinkKind::Loopback
    } else {
        LinkKind::Device
    };
    let mut link = Link::new(m.header.index, String::new(), kind);
    link.flags = flag_names(m.header.flags);
    let mut vxlan_lower = None;
    for attr in &m.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Mtu(v) => link.mtu = *v,
            LinkAttribute::Address(b) if !b.is_empty() && b.len() <= 32 => {
                link.mac = Some(hex_mac(b))
            }
            LinkAttribute::Controller(i) => link.master_index = Some(*i),
            LinkAttribute::Link(i) => link.link_index = Some(*i),
            LinkAttribute::LinkNetNsId(id) => link.link_netnsid = Some(*id),
            LinkAttribute::OperState(s) => link.oper_state = oper_state(*s),
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        LinkInfo::Kind(k) => link.kind = LinkKind::parse(&k.to_string()),
                        LinkInfo::PortData(InfoPortData::BridgePort(p)) => {
                            link.bridge_port = Some(bridge_port(p));
                        }
                        LinkInfo::Data(InfoData::Bridge(b)) => {
                            link.stp_state = b.iter().find_map(|a| match a {
                                InfoBridge::StpState(s) => Some(u32::from(*s)),
                                _ => None,
                            });
                        }
                        LinkInfo::Data(InfoData::Vxlan(v)) => {
                            for attr in v {
                                if let InfoVxlan::Link(i) = attr {
                                    vxlan_lower = Some(*i);
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // A vxlan names its underlay in IFLA_VXLAN_LINK; its IFLA_LINK, sent only once it was
    // moved to another namespace, is its own index, no lower device. The MTU rules need the
    // underlay (link_index is read as a peer only for veths). IFLA_VXLAN_LINK is an index in
    // the namespace the vxlan was made in: kept only while that is its own (no
    // IFLA_LINK_NETNSID), so a moved vxlan is not paired with whatever has that index here.
    if link.kind == LinkKind::Vxlan {
        let own_ns = link.link_netnsid.is_none_or(|id| id < 0);
        link.link_index = vxlan_lower.filter(|_| own_ns);
    }
    link
}

/// A bridge port's flags from IFLA_INFO_SLAVE_DATA (the kernel sends it in every dump).
fn bridge_port(attrs: &[InfoBridgePort]) -> BridgePort {
    let mut p = BridgePort {
        state: StpPortState::Forwarding,
        isolated: false,
        learning: true,
        flood: true,
    };
    for a in attrs {
        match a {
            InfoBridgePort::State(s) => {
                p.state = match s {
                    BridgePortState::Disabled => StpPortState::Disabled,
                    BridgePortState::Listening => StpPortState::Listening,
                    BridgePortState::Learning => StpPortState::Learning,
                    BridgePortState::Forwarding => StpPortState::Forwarding,
                    BridgePortState::Blocking => StpPortState::Blocking,
                    other => StpPortState::Other(format!("{other:?}").to_lowercase()),
                }
            }
            InfoBridgePort::Isolated(v) => p.isolated = *v,
            InfoBridgePort::Learning(v) => p.learning = *v,
            InfoBridgePort::UnicastFlood(v) => p.flood = *v,
            _ => {}
        }
    }
    p
}

/// `IFLA_OPERSTATE` as `ip link` prints it; an unnamed one as the crate's debug name
/// (`OTHER(7)`), as netlens always wrote it.
fn oper_state(s: State) -> OperState {
    match s {
        State::Up => OperState::Up,
        State::Down => OperState::Down,
        State::Unknown => OperState::Unknown,
        State::LowerLayerDown => OperState::LowerLayerDown,
        State::Dormant => OperState::Dormant,
        State::NotPresent => OperState::NotPresent,
        State::Testing => OperState::Testing,
        other => OperState::Other(format!("{other:?}").to_uppercase()),
    }
}

/// `LowerUp` → `LOWER_UP`, as `ip link` prints interface flags.
fn flag_names(flags: LinkFlags) -> model::LinkFlags {
    flags
        .iter_names()
        .map(|(name, _)| {
            let mut out = String::new();
            for (i, c) in name.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    out.push('_');
                }
                out.push(c.to_ascii_uppercase());
            }
            // The crate's names for IFF_MASTER / IFF_SLAVE; `ip link` prints the old ones.
            match out.as_str() {
                "CONTROLLER" => LinkFlag::Master,
                "PORT" => LinkFlag::Slave,
                _ => LinkFlag::parse(&out),
            }
        })
        .collect()
}

/// `aa:bb:cc:dd:ee:ff`, as `ip link` prints a hardware address.
pub fn hex_mac(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}
