//! One `Item` per object kind: the key it is matched by and the fields compared.

use super::*;
use crate::model::firewall::{NftChain, NftRule, NftTable, XtChain, XtRule, XtTable};
use crate::model::RouteKind;

pub(super) fn link_item(l: &Link) -> Item {
    let peer = l.peer.as_ref().map(|p| {
        let name = p.name.clone().unwrap_or_else(|| format!("if{}", p.ifindex));
        match &p.namespace {
            Some(ns) => format!("{name} ({ns})"),
            None => name,
        }
    });
    Item {
        key: l.name.clone(),
        desc: format!("{}, {}", l.kind, l.oper_state),
        fields: vec![
            ("kind", l.kind.to_string()),
            // A new index under the same name means the link was deleted and recreated (a
            // restarted pod's veth): a real event even when nothing else differs.
            ("index", l.index.to_string()),
            ("flags", l.flags.to_string()),
            ("oper_state", l.oper_state.to_string()),
            ("mtu", l.mtu.to_string()),
            ("mac", opt(&l.mac)),
            ("master", opt(&l.master)),
            ("peer", opt(&peer)),
            ("ports", l.ports.join(",")),
            ("bridge_port", opt(&l.bridge_port.as_ref().map(port_flags))),
            ("stp_state", opt(&l.stp_state)),
        ],
    }
}

/// A bridge port's flags as `bridge -d link` words: `forwarding isolated off learning on …`.
fn port_flags(p: &crate::model::BridgePort) -> String {
    let on = |v: bool| if v { "on" } else { "off" };
    format!(
        "{} isolated {} learning {} flood {}",
        p.state,
        on(p.isolated),
        on(p.learning),
        on(p.flood)
    )
}

pub(super) fn address_item(a: &Address) -> Item {
    Item {
        key: format!("{} dev {}", a.cidr(), a.ifname),
        desc: String::new(),
        fields: vec![("scope", a.scope.to_string()), ("peer", opt(&a.peer))],
    }
}

/// See [`route_identity`].
pub type RouteIdentity<'a> = (
    &'a str,
    bool,
    &'a crate::model::RouteDst,
    Option<&'a str>,
    Option<u32>,
);

/// What tells one route from another in a namespace, as [`route_key`] spells it: table,
/// family, destination, the device for IPv6 only, metric. An IPv6 route is the kernel's own
/// per device: every veth has its `fe80::/64`, same table, destination and metric; without
/// the device those are told apart only by their order (` #2`, ` #3`), and a veth deleted at
/// the front renumbers — "changes" — every one after it. An IPv4 route is one per table,
/// destination and metric whatever its device (a `replace` moving it is a change of its
/// `dev`). The live view's flash trimming keys routes by this too, so the two cannot drift.
pub fn route_identity(r: &Route) -> RouteIdentity<'_> {
    let v6 = r.family == crate::model::RouteFamily::Inet6;
    let dev = if v6 { r.dev.as_deref() } else { None };
    (r.table_name.as_str(), v6, &r.dst, dev, r.metric)
}

pub(super) fn route_item(r: &Route) -> Item {
    let (table, v6, dst, dev, metric) = route_identity(r);
    // The family is spelled out only for IPv6: `default` is ambiguous without it, and IPv4
    // is what people read first.
    let mut key = table.to_string();
    if v6 {
        key.push_str(" inet6");
    }
    key.push(' ');
    key.push_str(&dst.to_string());
    if let Some(d) = dev {
        key.push_str(" dev ");
        key.push_str(d);
    }
    if let Some(m) = metric {
        key.push_str(&format!(" metric {m}"));
    }
    let mut desc = Vec::new();
    if r.kind != RouteKind::Unicast {
        desc.push(r.kind.to_string());
    }
    if let Some(g) = r.gateway {
        desc.push(format!("via {g}"));
    }
    if let Some(d) = &r.dev {
        desc.push(format!("dev {d}"));
    }
    for hop in &r.nexthops {
        desc.push(format!("nexthop {hop}"));
    }
    desc.push(format!("proto {}", r.protocol));
    Item {
        key,
        desc: desc.join(" "),
        fields: vec![
            ("gateway", opt(&r.gateway)),
            ("dev", opt(&r.dev)),
            ("prefsrc", opt(&r.prefsrc)),
            ("protocol", r.protocol.to_string()),
            ("scope", r.scope.to_string()),
            ("kind", r.kind.to_string()),
            ("nexthops", r.nexthops.join(", ")),
        ],
    }
}

pub(super) fn neighbor_item(n: &Neighbor) -> Item {
    // The states a healthy neighbour cycles through on its own (RFC 4861 NUD) are one:
    // moving between them is noise; moving to or from FAILED, INCOMPLETE, PERMANENT, … is not.
    let state = if n.state.learned() {
        "REACHABLE|STALE|DELAY|PROBE".to_string()
    } else {
        n.state.to_string()
    };
    let mut desc = Vec::new();
    if let Some(ll) = &n.lladdr {
        desc.push(format!("lladdr {ll}"));
    }
    desc.push(n.state.to_string());
    Item {
        key: format!("{} dev {}", n.address, n.dev),
        desc: desc.join(" "),
        fields: vec![
            ("state", state),
            ("lladdr", opt(&n.lladdr)),
            ("router", n.router.to_string()),
        ],
    }
}

/// `ip rule` syntax: `1000: from 10.0.0.0/8 lookup 100`.
pub(super) fn rule_item(r: &RoutingRule) -> Item {
    let mut s = format!("{}: ", r.priority);
    if r.family == crate::model::RouteFamily::Inet6 {
        s = format!("inet6 {s}");
    }
    if r.invert {
        s.push_str("not ");
    }
    s.push_str(&format!("from {}", r.src.as_deref().unwrap_or("all")));
    if let Some(d) = &r.dst {
        s.push_str(&format!(" to {d}"));
    }
    if let Some(m) = r.fwmark_text() {
        s.push_str(&format!(" fwmark {m}"));
    }
    if let Some(i) = &r.iif {
        s.push_str(&format!(" iif {i}"));
    }
    if let Some(o) = &r.oif {
        s.push_str(&format!(" oif {o}"));
    }
    s.push_str(&format!(" {}", r.action_text()));
    if let Some(p) = r.suppress_prefixlen {
        s.push_str(&format!(" suppress_prefixlength {p}"));
    }
    // The whole rule is its identity: any difference is a removed rule plus an added one.
    Item {
        key: s,
        desc: String::new(),
        fields: Vec::new(),
    }
}

/// An iptables-save rule line without its counters: a leading `[packets:bytes]` and any
/// `-c packets bytes` option, which change with every packet.
pub fn strip_xt_counters(raw: &str) -> String {
    let mut s = raw.trim();
    if s.starts_with('[') {
        if let Some(end) = s.find(']') {
            s = s[end + 1..].trim_start();
        }
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let mut kept = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let is_counter = |w: Option<&&str>| w.is_some_and(|w| w.parse::<u64>().is_ok());
        if words[i] == "-c" && is_counter(words.get(i + 1)) && is_counter(words.get(i + 2)) {
            i += 3;
            continue;
        }
        kept.push(words[i]);
        i += 1;
    }
    kept.join(" ")
}

/// An nft rule summary without the numbers of its `counter` statements.
pub fn strip_nft_counters(summary: &str) -> String {
    let words: Vec<&str> = summary.split_whitespace().collect();
    let mut kept = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        kept.push(words[i]);
        if words[i] == "counter" && words.get(i + 1) == Some(&"packets") {
            // `counter packets N bytes M`: keep the statement, drop the numbers.
            i += if words.get(i + 3) == Some(&"bytes") {
                5
            } else {
                3
            };
            continue;
        }
        i += 1;
    }
    kept.join(" ")
}

pub(super) fn firewall_items(fw: &Firewall) -> Vec<Item> {
    let mut items = Vec::new();
    for t in &fw.iptables {
        for c in &t.chains {
            // Only a policy that drops is listed: a table appearing with its default ACCEPT
            // chains (the first `iptables -t nat` call) changes nothing for packets.
            if let Some(p) = c.policy.as_deref().filter(|p| *p != "ACCEPT") {
                items.push(policy_item(xt_policy_key(t, c), p));
            }
            for r in &c.rules {
                items.push(Item {
                    key: xt_rule_key(t, c, r),
                    desc: String::new(),
                    fields: Vec::new(),
                });
            }
        }
    }
    for t in &fw.nft {
        // iptables-nft tables are shown in full by iptables-save above; nft sees only opaque
        // `xt` expressions there, and listing both would report every rule twice.
        let family = match t.family.as_str() {
            "ip" => Some(IpFamily::V4),
            "ip6" => Some(IpFamily::V6),
            _ => None,
        };
        let covered = t.looks_like_iptables_nft()
            && fw
                .iptables
                .iter()
                .any(|x| x.source == XtSource::Nft && x.name == t.name && Some(x.family) == family);
        if covered {
            continue;
        }
        for c in &t.chains {
            let prefix = format!("nft {} {} {}", t.family, t.name, c.name);
            if let Some(p) = c.policy.as_deref().filter(|p| *p != "accept") {
                items.push(policy_item(format!("{prefix} policy"), p));
            }
            for r in &c.rules {
                items.push(Item {
                    key: nft_rule_key(t, c, r),
                    desc: String::new(),
                    fields: Vec::new(),
                });
            }
        }
    }
    items
}

/// `ip6 legacy ` / `legacy ` / `` before a table's name in firewall keys.
fn xt_prefix(t: &XtTable) -> String {
    let mut prefix = String::new();
    if t.family == IpFamily::V6 {
        prefix.push_str("ip6 ");
    }
    if t.source == XtSource::Legacy {
        prefix.push_str("legacy ");
    }
    prefix
}

/// A rule's text without its counters and without the `-A CHAIN` its position already says.
pub fn xt_rule_body(r: &XtRule, chain: &str) -> String {
    let line = strip_xt_counters(&r.raw);
    match line.strip_prefix(&format!("-A {chain} ")) {
        Some(body) => body.to_string(),
        None => line,
    }
}

/// The diff key of an iptables rule (counters left out, so traffic is not a change).
pub fn xt_rule_key(t: &XtTable, c: &XtChain, r: &XtRule) -> String {
    format!(
        "{}{} {} {}",
        xt_prefix(t),
        t.name,
        c.name,
        xt_rule_body(r, &c.name)
    )
}

/// The diff key of a native nft rule.
pub fn nft_rule_key(t: &NftTable, c: &NftChain, r: &NftRule) -> String {
    format!(
        "nft {} {} {} {}",
        t.family,
        t.name,
        c.name,
        strip_nft_counters(&r.expr_summary)
    )
}

/// The diff key of a chain's policy.
pub fn xt_policy_key(t: &XtTable, c: &XtChain) -> String {
    format!("{}{} {} policy", xt_prefix(t), t.name, c.name)
}

pub(super) fn policy_item(key: String, policy: &str) -> Item {
    Item {
        key,
        desc: policy.to_string(),
        fields: vec![("policy", policy.to_string())],
    }
}

pub(super) fn socket_item(s: &ListeningSocket) -> Item {
    let addr = match s.address {
        std::net::IpAddr::V6(a) => format!("[{a}]"),
        std::net::IpAddr::V4(a) => a.to_string(),
    };
    // Program names, not pids: a restarted daemon on the same port is not a change, another
    // program taking the port is.
    let comms: BTreeSet<&str> = s.processes.iter().map(|p| p.comm.as_str()).collect();
    let comms = comms.into_iter().collect::<Vec<_>>().join(",");
    Item {
        key: format!("{} {addr}:{}", s.proto, s.port),
        desc: if comms.is_empty() {
            String::new()
        } else {
            comms.clone()
        },
        fields: vec![("processes", comms)],
    }
}
