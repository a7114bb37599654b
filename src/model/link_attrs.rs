//! The named attributes of a link (kind, operational state, flags, a bridge port's STP
//! state), as `ip -d link` names them; see [`text_enum`] for how unknown names survive.

use super::text_enum::text_enum;

text_enum! {
    /// What a link is: its rtnl kind (`IFLA_INFO_KIND`) as `ip -d link` prints it, or, for a
    /// link with none, `device` (a physical NIC) or `loopback` (lo).
    LinkKind {
        /// No rtnl kind: a physical NIC (or one a driver made without `rtnl_link_ops`).
        Device = "device",
        Loopback = "loopback",
        Veth = "veth",
        Bridge = "bridge",
        Vxlan = "vxlan",
        Geneve = "geneve",
        Dummy = "dummy",
        Macvlan = "macvlan",
        Macvtap = "macvtap",
        Ipvlan = "ipvlan",
        Tun = "tun",
        Wireguard = "wireguard",
        Bond = "bond",
        Team = "team",
        Vlan = "vlan",
        Vrf = "vrf",
        Ipip = "ipip",
        Gre = "gre",
        Sit = "sit",
    }
}

/// Tests and hand-built topologies name kinds as text (`Link::new(1, "eth0", "veth")`).
impl From<&str> for LinkKind {
    fn from(text: &str) -> Self {
        LinkKind::parse(text)
    }
}
