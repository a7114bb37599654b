//! The named attributes of a link (kind, operational state, flags, a bridge port's STP
//! state), as `ip -d link` names them; see [`text_enum`] for how unknown names survive.

use serde::{Deserialize, Serialize};

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

text_enum! {
    /// One interface flag (`IFF_*`), as `ip link` prints it between `<…>`.
    LinkFlag {
        Up = "UP",
        Broadcast = "BROADCAST",
        Debug = "DEBUG",
        Loopback = "LOOPBACK",
        PointToPoint = "POINTOPOINT",
        NoTrailers = "NOTRAILERS",
        /// The driver has carrier (`IFF_RUNNING`, the old name of `LOWER_UP` + not dormant).
        Running = "RUNNING",
        NoArp = "NOARP",
        Promisc = "PROMISC",
        AllMulti = "ALLMULTI",
        /// `IFF_MASTER` (a bond's master; the netlink crate says `Controller`).
        Master = "MASTER",
        /// `IFF_SLAVE` (a bond's port; the netlink crate says `Port`).
        Slave = "SLAVE",
        Multicast = "MULTICAST",
        PortSel = "PORTSEL",
        AutoMedia = "AUTOMEDIA",
        Dynamic = "DYNAMIC",
        /// The link below has carrier (`IFF_LOWER_UP`).
        LowerUp = "LOWER_UP",
        Dormant = "DORMANT",
        Echo = "ECHO",
    }
}

/// A link's flags, in the order they were read (the kernel's bit order, then whatever a
/// simulated step added), encoded as that list of names so a snapshot re-encodes to the same
/// JSON. Inserting a flag already there does nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LinkFlags(Vec<LinkFlag>);

impl LinkFlags {
    pub fn contains(&self, flag: LinkFlag) -> bool {
        self.0.contains(&flag)
    }

    /// Adds `flag` at the end, unless it is already set.
    pub fn insert(&mut self, flag: LinkFlag) {
        if !self.0.contains(&flag) {
            self.0.push(flag);
        }
    }

    pub fn remove(&mut self, flag: LinkFlag) {
        self.0.retain(|f| *f != flag);
    }

    pub fn retain(&mut self, keep: impl FnMut(&LinkFlag) -> bool) {
        self.0.retain(keep);
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &LinkFlag> {
        self.0.iter()
    }
}

impl<const N: usize> From<[LinkFlag; N]> for LinkFlags {
    fn from(flags: [LinkFlag; N]) -> Self {
        flags.into_iter().collect()
    }
}

impl FromIterator<LinkFlag> for LinkFlags {
    fn from_iter<I: IntoIterator<Item = LinkFlag>>(flags: I) -> Self {
        let mut set = LinkFlags::default();
        for flag in flags {
            set.insert(flag);
        }
        set
    }
}

/// `UP,BROADCAST,LOWER_UP`: the names joined by commas, as in `ip link`'s `<…>`.
impl std::fmt::Display for LinkFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, flag) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(flag.as_str())?;
        }
        Ok(())
    }
}
