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

text_enum! {
    /// A link's RFC 2863 operational state (`IFLA_OPERSTATE`), as `ip link` prints it.
    OperState {
        Up = "UP",
        Down = "DOWN",
        /// The driver does not track it (loopback, tun, many virtual links): no verdict.
        Unknown = "UNKNOWN",
        /// Up, but the link it sits on is down (a veth whose peer is down, a vlan over a
        /// down NIC).
        LowerLayerDown = "LOWERLAYERDOWN",
        Dormant = "DORMANT",
        NotPresent = "NOTPRESENT",
        Testing = "TESTING",
    }
}

text_enum! {
    /// A bridge port's STP state (`IFLA_BRPORT_STATE`), as `bridge -d link` prints it; only
    /// `forwarding` passes frames.
    StpPortState {
        Disabled = "disabled",
        Listening = "listening",
        Learning = "learning",
        Forwarding = "forwarding",
        Blocking = "blocking",
    }
}
