//! `netlens capture` as text: one line per packet, and the closing counters.

use crate::trace::capture::{Packet, Stats};

/// One packet: the time of day (UTC, microseconds), its decoded summary and its length.
pub fn line(p: &Packet) -> String {
    let secs = p.time as i64;
    let micros = ((p.time - secs as f64) * 1e6) as i64;
    let day = secs.rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}.{micros:06} {} ({})",
        day / 3600,
        day / 60 % 60,
        day % 60,
        p.summary(),
        super::plural(p.length, "byte")
    )
}

/// The counters printed when the capture ends.
pub fn summary(s: &Stats, write: Option<&std::path::Path>) -> String {
    let mut t = format!(
        "{} matched ({} received), {} dropped by the kernel",
        super::plural(s.matched as usize, "packet"),
        s.received,
        s.kernel_drops
    );
    if s.display_evicted > 0 {
        t.push_str(&format!(
            ", {} not printed (output too slow; the pcap has them)",
            s.display_evicted
        ));
    }
    if let Some(w) = write {
        t.push_str(&format!(", {} written to {}", s.written, w.display()));
    }
    t
}

/// A packet's summary, size and every decoded layer's fields, as the TUI's detail popup
/// lists them: numbers a reader would have to look up are named (`ethertype IPv4 (0x0800)`,
/// `protocol TCP (6)`, `ICMP version IPv6`).
pub fn packet_fields(p: &Packet) -> Vec<(String, String)> {
    let mut fields = vec![("summary".to_string(), p.summary())];
    fields.push(("bytes".into(), p.length.to_string()));
    for l in &p.decoded.layers {
        let v = serde_json::to_value(l).unwrap_or_default();
        let name = v["layer"].as_str().unwrap_or("layer").to_string();
        let rest: Vec<String> = v
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| *k != "layer")
                    .map(|(k, v)| field(k, v))
                    .collect()
            })
            .unwrap_or_default();
        fields.push((name, rest.join(" · ")));
    }
    fields
}

/// One `key value` of a layer, with the value in words where it is a code.
fn field(key: &str, v: &serde_json::Value) -> String {
    let n = v.as_u64();
    match (key, n, v.as_bool()) {
        ("ethertype", Some(t), _) => match ethertype_name(t) {
            Some(name) => format!("ethertype {name} (0x{t:04x})"),
            None => format!("ethertype 0x{t:04x}"),
        },
        ("protocol", Some(p), _) => match ip_protocol_name(p) {
            Some(name) => format!("protocol {name} ({p})"),
            None => format!("protocol {p}"),
        },
        ("v6", _, Some(v6)) => format!("version {}", if v6 { "IPv6" } else { "IPv4" }),
        ("version", Some(4), _) => "version IPv4".into(),
        ("version", Some(6), _) => "version IPv6".into(),
        _ => format!(
            "{key} {}",
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        ),
    }
}

fn ethertype_name(t: u64) -> Option<&'static str> {
    Some(match t {
        0x0800 => "IPv4",
        0x0806 => "ARP",
        0x86dd => "IPv6",
        0x8100 => "VLAN",
        0x88a8 => "QinQ",
        0x88cc => "LLDP",
        0x8847 => "MPLS",
        _ => return None,
    })
}

fn ip_protocol_name(p: u64) -> Option<&'static str> {
    Some(match p {
        1 => "ICMP",
        2 => "IGMP",
        6 => "TCP",
        17 => "UDP",
        47 => "GRE",
        50 => "ESP",
        58 => "ICMPv6",
        132 => "SCTP",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_are_named() {
        assert_eq!(field("ethertype", &json!(2048)), "ethertype IPv4 (0x0800)");
        assert_eq!(
            field("ethertype", &json!(0x86dd)),
            "ethertype IPv6 (0x86dd)"
        );
        assert_eq!(field("ethertype", &json!(0x1234)), "ethertype 0x1234");
        assert_eq!(field("v6", &json!(false)), "version IPv4");
        assert_eq!(field("v6", &json!(true)), "version IPv6");
        assert_eq!(field("protocol", &json!(6)), "protocol TCP (6)");
        assert_eq!(field("version", &json!(4)), "version IPv4");
        assert_eq!(field("src", &json!("10.0.0.1")), "src 10.0.0.1");
        assert_eq!(field("ttl", &json!(64)), "ttl 64");
    }
}
