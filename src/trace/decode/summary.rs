//! A decoded frame as one tcpdump-like line, for the capture view and `netlens trace`.

use std::fmt;

use super::layer::{Decoded, Layer};

/// tcpdump-like one line: `IP 10.0.0.1.40000 > 10.0.0.2.80: TCP [S] seq 1 len 0`, with each
/// encapsulation as a prefix (`VXLAN 1: IP … `).
impl fmt::Display for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        let mut i = 0;
        let ls = &self.layers;
        while i < ls.len() {
            match &ls[i] {
                Layer::Ethernet { .. } => {}
                Layer::Vlan { id } => parts.push(format!("vlan {id}")),
                Layer::Arp {
                    op,
                    sender_ip,
                    target_ip,
                    sender_mac,
                } => parts.push(match *op {
                    "request" => format!("ARP who-has {target_ip} tell {sender_ip}"),
                    "reply" => format!("ARP {sender_ip} is-at {sender_mac}"),
                    _ => format!("ARP {op} {sender_ip} > {target_ip}"),
                }),
                Layer::Ip {
                    version, src, dst, ..
                } => {
                    let tag = if *version == 4 { "IP" } else { "IP6" };
                    let (sp, dp) = match ls.get(i + 1) {
                        Some(Layer::Tcp { sport, dport, .. })
                        | Some(Layer::Udp { sport, dport, .. }) => {
                            (format!(".{sport}"), format!(".{dport}"))
                        }
                        _ => (String::new(), String::new()),
                    };
                    parts.push(format!("{tag} {src}{sp} > {dst}{dp}:"));
                }
                Layer::Tcp {
                    flags,
                    seq,
                    ack,
                    payload,
                    ..
                } => parts.push(format!(
                    "TCP [{flags}] seq {seq}{} len {payload}",
                    if flags.contains('.') {
                        format!(" ack {ack}")
                    } else {
                        String::new()
                    }
                )),
                Layer::Udp { payload, .. } => parts.push(format!("UDP len {payload}")),
                Layer::Icmp { v6, kind } => {
                    parts.push(format!("{} {kind}", if *v6 { "ICMP6" } else { "ICMP" }))
                }
                Layer::Vxlan { vni } => parts.push(format!("VXLAN vni {vni}:")),
                Layer::Other { what } => parts.push(what.clone()),
            }
            i += 1;
        }
        write!(f, "{}", parts.join(" "))
    }
}
