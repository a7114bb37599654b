//! A route's destination: `default` or a prefix, as `ip route` and `snapshot --json` write it.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where a route leads. In JSON it is the text `ip route` prints: `default` for 0/0 of either
/// family, else the prefix as the kernel gave it (`10.0.0.0/24`, `10.0.0.1/32`, `fe80::/64`;
/// host bits are kept, not truncated).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RouteDst {
    /// 0.0.0.0/0 or ::/0.
    Default,
    Net(IpNet),
    /// Text that is neither (a saved snapshot written by another tool, or a bare address):
    /// kept as it was so the snapshot encodes back to the same bytes.
    Other(String),
}

impl RouteDst {
    /// Reads the JSON text; anything that would not print back the same becomes `Other`.
    pub fn parse(text: &str) -> Self {
        if text == "default" {
            return RouteDst::Default;
        }
        match text.parse::<IpNet>() {
            Ok(net) if net.to_string() == text => RouteDst::Net(net),
            _ => RouteDst::Other(text.to_string()),
        }
    }

    /// The destination of a route to `net` as the kernel reports it: a /0 is `default`, any
    /// other prefix has its host bits cleared.
    pub fn of_net(net: &IpNet) -> Self {
        if net.prefix_len() == 0 {
            RouteDst::Default
        } else {
            RouteDst::Net(net.trunc())
        }
    }

    /// A host route to `ip` (/32 or /128).
    pub fn host(ip: IpAddr) -> Self {
        RouteDst::Net(IpNet::from(ip))
    }

    pub fn is_default(&self) -> bool {
        matches!(self, RouteDst::Default)
    }

    /// The prefix of a non-default destination; a bare address (`Other`) counts as a host
    /// route, as readers of older snapshots always took it.
    pub fn net(&self) -> Option<IpNet> {
        match self {
            RouteDst::Default => None,
            RouteDst::Net(net) => Some(*net),
            RouteDst::Other(text) => text.parse::<IpAddr>().ok().map(IpNet::from),
        }
    }
}

impl fmt::Display for RouteDst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteDst::Default => f.write_str("default"),
            RouteDst::Net(net) => write!(f, "{net}"),
            RouteDst::Other(text) => f.write_str(text),
        }
    }
}

impl Serialize for RouteDst {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RouteDst {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(RouteDst::parse(&text))
    }
}
