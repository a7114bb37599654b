use std::net::IpAddr;

use serde::{Deserialize, Serialize};

pub use super::route_attrs::{
    RouteFamily, RouteKind, RouteProtocol, RouteScope, RoutingRuleAction,
};
pub use super::route_dst::RouteDst;

/// The name `ip` gives a routing table id.
pub fn table_name(id: u32) -> String {
    match id {
        253 => "default".into(),
        254 => "main".into(),
        255 => "local".into(),
        other => other.to_string(),
    }
}

/// A route from any table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Table id (254 main, 255 local, …) and its usual name.
    pub table: u32,
    pub table_name: String,
    /// `inet` or `inet6`.
    pub family: RouteFamily,
    /// Destination: `default` for 0/0, else the prefix (JSON: the text `ip route` prints).
    pub dst: RouteDst,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefsrc: Option<IpAddr>,
    /// `kernel`, `boot`, `static`, `dhcp`, … (a number when iproute2 has no name for it).
    pub protocol: RouteProtocol,
    pub scope: RouteScope,
    /// `unicast`, `local`, `broadcast`, `blackhole`, `unreachable`, …
    pub kind: RouteKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// Extra next hops of a multipath route, as `via GW dev DEV`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<String>,
}

/// A policy routing rule (`ip rule`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutingRule {
    /// `inet` or `inet6`.
    pub family: RouteFamily,
    pub priority: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    /// The mask of `fwmark M/MASK`; absent when it is the full 0xffffffff (as `ip -j` omits it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fwmask: Option<u32>,
    pub table: u32,
    /// `lookup`, `blackhole`, `unreachable`, `prohibit`, `goto`, …
    pub action: RoutingRuleAction,
    /// `not`: the rule applies to packets that do NOT match its selectors.
    #[serde(default)]
    pub invert: bool,
    /// `suppress_prefixlength N`: ignore lookup results with a prefix this short or shorter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppress_prefixlen: Option<u32>,
    /// The target priority of a `goto` rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goto: Option<u32>,
    /// Who installed the rule (`proto` in `ip rule`): an iproute2 name or the decimal number;
    /// absent when the kernel did not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<RouteProtocol>,
}

impl RoutingRule {
    /// A rule matching every packet that looks up `table`, as `ip rule add pref PRIORITY
    /// table TABLE` makes it; callers fill in selectors and the protocol.
    pub fn lookup(family: RouteFamily, priority: u32, table: u32) -> Self {
        RoutingRule {
            family,
            priority,
            src: None,
            dst: None,
            iif: None,
            oif: None,
            fwmark: None,
            fwmask: None,
            table,
            action: RoutingRuleAction::Lookup,
            invert: false,
            suppress_prefixlen: None,
            goto: None,
            protocol: None,
        }
    }

    /// `0x10/0xf0` (or `0x10` with the full mask), as `ip rule` prints the fwmark selector.
    pub fn fwmark_text(&self) -> Option<String> {
        let mark = self.fwmark.or(self.fwmask.map(|_| 0))?;
        Some(match self.fwmask {
            Some(mask) => format!("{mark:#x}/{mask:#x}"),
            None => format!("{mark:#x}"),
        })
    }

    /// The action as `ip rule` prints it: `lookup main`, `goto 200`, `blackhole`, …
    pub fn action_text(&self) -> String {
        match (&self.action, self.goto) {
            (RoutingRuleAction::Lookup, _) => format!("lookup {}", table_name(self.table)),
            (RoutingRuleAction::Goto, Some(target)) => format!("goto {target}"),
            (other, _) => other.to_string(),
        }
    }

    /// One of the three rules the kernel installs in every namespace (`ip rule` on a fresh
    /// system): 0 lookup local, 32766 lookup main, 32767 lookup default, with no selectors.
    pub fn is_kernel_default(&self) -> bool {
        let plain = self.src.is_none()
            && self.dst.is_none()
            && self.iif.is_none()
            && self.oif.is_none()
            && self.fwmark.is_none()
            && self.fwmask.is_none()
            && !self.invert
            && self.suppress_prefixlen.is_none()
            && self.action == RoutingRuleAction::Lookup;
        plain
            && matches!(
                (self.priority, self.table),
                (0, 255) | (32766, 254) | (32767, 253)
            )
    }
}

/// An ARP (IPv4) or NDP (IPv6) neighbour entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbor {
    pub ifindex: u32,
    pub dev: String,
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lladdr: Option<String>,
    /// `REACHABLE`, `STALE`, `FAILED`, `PERMANENT`, …
    pub state: super::NeighborState,
    #[serde(default)]
    pub router: bool,
}
