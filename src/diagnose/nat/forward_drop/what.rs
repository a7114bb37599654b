//! How a flow is told in a `forward-drop` finding ("10.244.0.0/16 (on cni0) out of its uplink
//! eth0 (ping)"), written only for a flow found dropped: a node's bridge has a thousand
//! senders, each with its copies, and formatting every flow's words up front was a few
//! percent of a doctor run that drops nothing.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::Flow;

/// What a flow stands for; the rest of its words are the flow's own fields (its links, its
/// destination network, a port-forward's target), which its copies keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Base {
    /// Routed for the senders on `net`, arriving on the flow's `iif`.
    Routed { net: Ipv4Net },
    /// A DNAT port-forward to the flow's destination and port.
    PortForward,
    /// Written out already (bridged flows: a few, naming their namespaces).
    Text(String),
}

/// A flow's description: its base, then what its copies add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct What {
    pub base: Base,
    /// A named host's copy: from it (`true`) or to it.
    pub host: Option<(bool, Ipv4Addr)>,
    /// A copy for a listened TCP port (`Some(port)`), or as a ping (`Some(None)`).
    pub probe: Option<Option<u16>>,
}

impl What {
    pub fn new(base: Base) -> Self {
        What {
            base,
            host: None,
            probe: None,
        }
    }

    /// This description on `fl` (the flow it belongs to).
    pub fn of<'f>(&'f self, fl: &'f Flow) -> impl fmt::Display + 'f {
        Told(self, fl)
    }
}

struct Told<'f>(&'f What, &'f Flow);

impl fmt::Display for Told<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Told(w, fl) = self;
        match &w.base {
            Base::Routed { net } => {
                write!(out, "{net} (on {}) ", fl.iif)?;
                match fl.dst_net {
                    None => write!(out, "out of its uplink {}", fl.oif)?,
                    Some(n) => write!(out, "to {n} (on {})", fl.oif)?,
                }
            }
            Base::PortForward => {
                let (proto, dport) = fl.port.as_ref().map_or(("", 0), |(p, n)| (p.as_str(), *n));
                write!(
                    out,
                    "the port-forward to {} {proto}/{dport} (in on {}, out of {})",
                    fl.dst, fl.iif, fl.oif
                )?;
            }
            Base::Text(t) => out.write_str(t)?,
        }
        match w.host {
            Some((true, ip)) => write!(out, " from {ip}")?,
            Some((false, ip)) => write!(out, " to {ip}")?,
            None => {}
        }
        match w.probe {
            Some(Some(p)) => write!(out, " tcp/{p}"),
            Some(None) => out.write_str(" (ping)"),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(dst_net: Option<Ipv4Net>, port: Option<(&str, u16)>, what: What) -> Flow {
        Flow {
            src: Ipv4Addr::new(10, 244, 0, 5),
            src_net: Some("10.244.0.0/16".parse().unwrap()),
            iif: "cni0".into(),
            dst: Ipv4Addr::new(10, 1, 0, 7),
            dst_net,
            oif: "eth0".into(),
            port: port.map(|(p, n)| (p.to_string(), n)),
            what,
        }
    }

    /// Each shape reads as the words the eager `format!`s wrote before the description was
    /// made lazy (their text, copied here), base by base and with every copy's addition.
    #[test]
    fn descriptions_read_as_the_eager_words() {
        let net: Ipv4Net = "10.244.0.0/16".parse().unwrap();
        let routed = What::new(Base::Routed { net });
        let host: Ipv4Addr = "10.244.0.9".parse().unwrap();
        let cases = [
            (
                flow(None, None, routed.clone()),
                "10.244.0.0/16 (on cni0) out of its uplink eth0",
            ),
            (
                flow(Some("10.1.0.0/24".parse().unwrap()), None, routed.clone()),
                "10.244.0.0/16 (on cni0) to 10.1.0.0/24 (on eth0)",
            ),
            (
                flow(
                    None,
                    None,
                    What {
                        host: Some((true, host)),
                        probe: Some(Some(8080)),
                        ..routed.clone()
                    },
                ),
                "10.244.0.0/16 (on cni0) out of its uplink eth0 from 10.244.0.9 tcp/8080",
            ),
            (
                flow(
                    None,
                    None,
                    What {
                        host: Some((false, host)),
                        probe: Some(None),
                        ..routed
                    },
                ),
                "10.244.0.0/16 (on cni0) out of its uplink eth0 to 10.244.0.9 (ping)",
            ),
            (
                flow(None, Some(("udp", 53)), What::new(Base::PortForward)),
                "the port-forward to 10.1.0.7 udp/53 (in on cni0, out of eth0)",
            ),
            (
                flow(None, None, What::new(Base::Text("a (x) to b (y)".into()))),
                "a (x) to b (y)",
            ),
        ];
        for (fl, want) in cases {
            assert_eq!(fl.what.of(&fl).to_string(), want);
        }
    }
}
