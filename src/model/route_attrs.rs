//! The named attributes of a route or routing rule (family, scope, type), as `ip -j route`
//! names them; see [`text_enum`] for how unknown names survive.

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
    /// How far a route's destination is (`ip route`'s `scope`; the kernel's universe is
    /// `global`).
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
