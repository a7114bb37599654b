//! The address family of a route or routing rule, as `ip -j route` names it.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `inet` (IPv4) or `inet6` (IPv6) in JSON; any other name the kernel or a saved snapshot
/// gives is kept verbatim in `Other` so it encodes back the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteFamily {
    Inet,
    Inet6,
    Other(String),
}

impl RouteFamily {
    pub fn parse(text: &str) -> Self {
        match text {
            "inet" => RouteFamily::Inet,
            "inet6" => RouteFamily::Inet6,
            other => RouteFamily::Other(other.to_string()),
        }
    }

    /// The family of an address: `Inet` for IPv4, `Inet6` for IPv6.
    pub fn of(ip: IpAddr) -> Self {
        if ip.is_ipv4() {
            RouteFamily::Inet
        } else {
            RouteFamily::Inet6
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            RouteFamily::Inet => "inet",
            RouteFamily::Inet6 => "inet6",
            RouteFamily::Other(text) => text,
        }
    }
}

/// Ordered by name, as the strings it replaced were (snapshots sort rules by family).
impl Ord for RouteFamily {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for RouteFamily {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for RouteFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RouteFamily {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RouteFamily {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(RouteFamily::parse(&text))
    }
}
