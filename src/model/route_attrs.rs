//! The named attributes of a route or routing rule (family, scope, type, protocol), as
//! `ip -j route` names them; see [`text_enum`] for how unknown names survive.

use std::net::IpAddr;

use super::text_enum::text_enum;

text_enum! {
    /// The address family of a route or rule.
    RouteFamily {
        Inet = "inet",
        Inet6 = "inet6",
    }
}

impl RouteFamily {
    /// The family of an address: `Inet` for IPv4, `Inet6` for IPv6.
    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv4() {
            RouteFamily::Inet
        } else {
            RouteFamily::Inet6
        }
    }
}

text_enum! {
    /// How far a route's destination or an address reaches (`ip route`'s and `ip addr`'s
    /// `scope`: one `rt_scope_t` for both; the kernel's universe is `global`).
    RouteScope {
        Global = "global",
        Site = "site",
        Link = "link",
        Host = "host",
        Nowhere = "nowhere",
    }
}

text_enum! {
    /// A route's type (`ip route`'s leading word; `unicast` is the one it leaves out).
    RouteKind {
        Unicast = "unicast",
        Local = "local",
        Broadcast = "broadcast",
        Anycast = "anycast",
        Multicast = "multicast",
        Blackhole = "blackhole",
        Unreachable = "unreachable",
        Prohibit = "prohibit",
        Throw = "throw",
        Nat = "nat",
        Unspec = "unspec",
    }
}

impl RouteKind {
    /// A route that throws the packet away (`blackhole`, `unreachable`, `prohibit`).
    pub fn drops(&self) -> bool {
        matches!(
            self,
            RouteKind::Blackhole | RouteKind::Unreachable | RouteKind::Prohibit
        )
    }
}

text_enum! {
    /// Who installed a route (`ip route`'s `proto`): iproute2's default `rt_protos` names (6.x);
    /// a number without a name is kept as its decimal text, as `ip` prints it.
    RouteProtocol {
        Unspec = "unspec",
        Redirect = "redirect",
        Kernel = "kernel",
        Boot = "boot",
        Static = "static",
        Gated = "gated",
        Ra = "ra",
        Mrt = "mrt",
        Zebra = "zebra",
        Bird = "bird",
        Dnrouted = "dnrouted",
        Xorp = "xorp",
        Ntk = "ntk",
        Dhcp = "dhcp",
        Keepalived = "keepalived",
        Babel = "babel",
        Openr = "openr",
        Bgp = "bgp",
        Isis = "isis",
        Ospf = "ospf",
        Rip = "rip",
        Eigrp = "eigrp",
    }
}

/// The kernel's protocol numbers of the named [`RouteProtocol`]s (`rtnetlink.h`, `rt_protos`).
const PROTOCOL_NUMBERS: [(u8, &str); 22] = [
    (0, "unspec"),
    (1, "redirect"),
    (2, "kernel"),
    (3, "boot"),
    (4, "static"),
    (8, "gated"),
    (9, "ra"),
    (10, "mrt"),
    (11, "zebra"),
    (12, "bird"),
    (13, "dnrouted"),
    (14, "xorp"),
    (15, "ntk"),
    (16, "dhcp"),
    (18, "keepalived"),
    (42, "babel"),
    (99, "openr"),
    (186, "bgp"),
    (187, "isis"),
    (188, "ospf"),
    (189, "rip"),
    (192, "eigrp"),
];

impl RouteProtocol {
    /// The protocol of a kernel number: its iproute2 name, else the decimal number.
    pub fn from_number(number: u8) -> Self {
        match PROTOCOL_NUMBERS.iter().find(|(n, _)| *n == number) {
            Some((_, name)) => Self::parse(name),
            None => Self::Other(number.to_string()),
        }
    }

    /// The kernel number [`from_number`](Self::from_number) reads as this protocol: a named
    /// one's, or an unnamed number's as `ip` prints it; `None` for any other text (`frr`,
    /// `017`, or `4`, which `ip` prints as `static`).
    pub fn number(&self) -> Option<u8> {
        match self {
            Self::Other(text) => text.parse().ok().filter(|n| Self::from_number(*n) == *self),
            named => PROTOCOL_NUMBERS
                .iter()
                .find(|(_, name)| *name == named.as_str())
                .map(|(n, _)| *n),
        }
    }
}

text_enum! {
    /// What a routing rule does with the packets it selects (`ip rule`'s action; the kernel's
    /// FR_ACT_TO_TBL is `lookup`).
    RoutingRuleAction {
        Lookup = "lookup",
        Goto = "goto",
        Nop = "nop",
        Blackhole = "blackhole",
        Unreachable = "unreachable",
        Prohibit = "prohibit",
        Unspec = "unspec",
    }
}

impl RoutingRuleAction {
    /// A rule that refuses the packet (`blackhole`, `unreachable`, `prohibit`), as
    /// [`RouteKind::drops`] does for a route.
    pub fn drops(&self) -> bool {
        matches!(
            self,
            RoutingRuleAction::Blackhole
                | RoutingRuleAction::Unreachable
                | RoutingRuleAction::Prohibit
        )
    }
}
