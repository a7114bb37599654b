//! The accept rule netlens inserts into a native nftables chain, typed: the matches of one
//! dropped flow, nothing else. One value gives the JSON `nft -j -f -` reads (built field by
//! field, never from text), the `nft insert rule …` line the preview shows, and the typed
//! statements the snapshot's own parser makes of it, so the simulator, the live check before
//! an undo and the kernel all see the same rule.

use std::fmt;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::firewall::nft_expr::{parse_rule, NftStmt};

/// The comment on every nft rule netlens inserts (as [`super::RULE_TAG`] for iptables).
pub const NFT_TAG: &str = "netlens";

/// What an inserted rule accepts: every field set must hold; `established` adds
/// `ct state established,related` (a reply of a connection already accepted).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NftAccept {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saddr: Option<IpNet>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daddr: Option<IpNet>,
    /// `tcp` or `udp`, with `dport`; or `icmp`, without (a ping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<u16>,
    #[serde(default)]
    pub established: bool,
}

/// An address match's right side as nft lists it: a host as a plain address, else a prefix.
fn addr_value(net: &IpNet) -> Value {
    let net = net.trunc();
    if net.prefix_len() == net.max_prefix_len() {
        Value::from(net.addr().to_string())
    } else {
        json!({"prefix": {"addr": net.addr().to_string(), "len": net.prefix_len()}})
    }
}

fn addr_proto(net: &IpNet) -> &'static str {
    match net {
        IpNet::V4(_) => "ip",
        IpNet::V6(_) => "ip6",
    }
}

fn eq(left: Value, right: Value) -> Value {
    json!({"match": {"op": "==", "left": left, "right": right}})
}

impl NftAccept {
    /// The rule's `expr` array, in the order nft lists it back.
    pub fn expr(&self) -> Vec<Value> {
        let mut out = Vec::new();
        if let Some(i) = &self.iif {
            out.push(eq(
                json!({"meta": {"key": "iifname"}}),
                Value::from(i.as_str()),
            ));
        }
        if let Some(o) = &self.oif {
            out.push(eq(
                json!({"meta": {"key": "oifname"}}),
                Value::from(o.as_str()),
            ));
        }
        for (field, net) in [("saddr", &self.saddr), ("daddr", &self.daddr)] {
            if let Some(n) = net {
                let left = json!({"payload": {"protocol": addr_proto(n), "field": field}});
                out.push(eq(left, addr_value(n)));
            }
        }
        match (&self.proto, self.dport) {
            (Some(p), Some(port)) => {
                let left = json!({"payload": {"protocol": p, "field": "dport"}});
                out.push(eq(left, Value::from(port)));
            }
            (Some(p), None) => out.push(eq(
                json!({"meta": {"key": "l4proto"}}),
                Value::from(p.as_str()),
            )),
            _ => {}
        }
        if self.established {
            out.push(
                json!({"match": {"op": "in", "left": {"ct": {"key": "state"}},
                "right": ["established", "related"]}}),
            );
        }
        out.push(json!({"accept": null}));
        out
    }

    /// The statements the snapshot's parser makes of this rule.
    pub fn stmts(&self) -> Vec<NftStmt> {
        parse_rule(&self.expr())
    }

    /// True when a listed rule (its `expr` and comment) is exactly this one, netlens' own.
    pub fn is(&self, expr: &[Value], comment: Option<&str>) -> bool {
        comment == Some(NFT_TAG) && parse_rule(expr) == self.stmts()
    }

    /// The rule as `nft` command-line words (after `insert rule FAMILY TABLE CHAIN`).
    pub fn words(&self) -> Vec<String> {
        let mut w: Vec<String> = Vec::new();
        let mut push = |words: &[&str]| w.extend(words.iter().map(|x| x.to_string()));
        if let Some(i) = &self.iif {
            push(&["iifname", &format!("\"{i}\"")]);
        }
        if let Some(o) = &self.oif {
            push(&["oifname", &format!("\"{o}\"")]);
        }
        if let Some(n) = &self.saddr {
            push(&[addr_proto(n), "saddr", &host_or_net(n)]);
        }
        if let Some(n) = &self.daddr {
            push(&[addr_proto(n), "daddr", &host_or_net(n)]);
        }
        match (&self.proto, self.dport) {
            (Some(p), Some(port)) => push(&[p, "dport", &port.to_string()]),
            (Some(p), None) => push(&["meta", "l4proto", p]),
            _ => {}
        }
        if self.established {
            push(&["ct", "state", "established,related"]);
        }
        push(&["accept", "comment", &format!("\"{NFT_TAG}\"")]);
        w
    }

    /// Why this rule may not be inserted, if it may not: interface names as the kernel allows
    /// them, a protocol with a port, the address family of the table, and never an accept of
    /// everything (no match at all).
    pub fn check(&self, family: &str) -> Result<(), String> {
        for name in [&self.iif, &self.oif].into_iter().flatten() {
            crate::netns::create::validate_ifname(name).map_err(|e| e.to_string())?;
            // nft's own syntax cannot quote these: the preview would not be the rule.
            if name
                .chars()
                .any(|c| c == '"' || c == '\\' || c.is_control())
            {
                return Err(format!(
                    "interface name {:?} holds a quote, backslash or control character",
                    name.escape_debug().to_string()
                ));
            }
        }
        match (self.proto.as_deref(), self.dport) {
            (None, Some(_)) => return Err("a port needs a protocol (tcp or udp)".into()),
            (Some("tcp" | "udp") | None, _) | (Some("icmp"), None) => {}
            (Some(p), _) => {
                return Err(format!(
                    "protocol {p:?} is not tcp, udp or icmp (icmp without a port)"
                ))
            }
        }
        for n in [&self.saddr, &self.daddr].into_iter().flatten() {
            let ok = match family {
                "ip" => n.addr().is_ipv4(),
                "ip6" => n.addr().is_ipv6(),
                _ => true,
            };
            if !ok {
                return Err(format!(
                    "address {n} does not fit a table of family {family}"
                ));
            }
        }
        if *self == NftAccept::default() {
            return Err(
                "an accept of everything is refused: name interfaces, addresses, a port or replies"
                    .into(),
            );
        }
        Ok(())
    }
}

fn host_or_net(n: &IpNet) -> String {
    let n = n.trunc();
    if n.prefix_len() == n.max_prefix_len() {
        n.addr().to_string()
    } else {
        n.to_string()
    }
}

impl fmt::Display for NftAccept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.words().join(" "))
    }
}

/// Families, tables and chains netlens writes to: the families whose rules see IPv4/IPv6
/// packets, and names as `nft` itself accepts them unquoted (a letter or `_` first, then
/// letters, digits, `_`, `-`, `.`, `/`; at most 64). A snapshot is data from the machine and
/// may be hostile: a name that is not one is never put into a step.
pub fn check_names(family: &str, table: &str, chain: &str) -> Result<(), String> {
    if !matches!(family, "ip" | "ip6" | "inet") {
        return Err(format!(
            "nft family {:?} is not ip, ip6 or inet",
            family.escape_debug().to_string()
        ));
    }
    for (what, name) in [("table", table), ("chain", chain)] {
        if !crate::firewall::nft_name::is_plain(name) {
            return Err(format!(
                "nft {what} name {:?} is not a plain nft name",
                name.escape_debug().to_string()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd() -> NftAccept {
        NftAccept {
            iif: Some("la".into()),
            oif: Some("lb".into()),
            saddr: Some("10.5.0.7/24".parse().unwrap()),
            daddr: Some("10.6.0.2/32".parse().unwrap()),
            proto: Some("tcp".into()),
            dport: Some(8080),
            established: false,
        }
    }

    #[test]
    fn words_are_nft_syntax() {
        assert_eq!(
            fwd().to_string(),
            "iifname \"la\" oifname \"lb\" ip saddr 10.5.0.0/24 ip daddr 10.6.0.2 tcp dport 8080 accept comment \"netlens\""
        );
        let reply = NftAccept {
            saddr: Some("10.6.0.0/24".parse().unwrap()),
            established: true,
            ..NftAccept::default()
        };
        assert_eq!(
            reply.to_string(),
            "ip saddr 10.6.0.0/24 ct state established,related accept comment \"netlens\""
        );
    }

    /// The parsed statements are what the evaluator walks: none is left unmodelled.
    #[test]
    fn statements_are_all_modelled() {
        let s = fwd().stmts();
        assert_eq!(s.len(), 6, "{s:?}");
        assert!(
            !s.iter().any(|x| matches!(x, NftStmt::Unmodeled { .. })),
            "{s:?}"
        );
        assert!(fwd().is(&fwd().expr(), Some(NFT_TAG)));
        assert!(!fwd().is(&fwd().expr(), None));
        let other = NftAccept {
            dport: Some(22),
            ..fwd()
        };
        assert!(!other.is(&fwd().expr(), Some(NFT_TAG)));
    }

    #[test]
    fn hostile_names_and_rules_are_refused() {
        assert!(check_names("inet", "filter", "forward").is_ok());
        assert!(check_names("inet", "lab", "fwd_c").is_ok());
        for (f, t, c) in [
            ("bridge", "filter", "forward"),
            ("inet", "filter; flush ruleset", "forward"),
            ("inet", "filter", "a\"b"),
            ("inet", "", "forward"),
            ("inet", "filter", "x\u{1b}[2J"),
            ("inet", "1abc", "forward"),
        ] {
            assert!(check_names(f, t, c).is_err(), "{f} {t} {c}");
        }
        assert!(
            NftAccept::default().check("inet").is_err(),
            "accept everything"
        );
        assert!(fwd().check("ip6").is_err(), "v4 in ip6");
        let bad_if = NftAccept {
            iif: Some("a\"b c".into()),
            ..fwd()
        };
        assert!(bad_if.check("inet").is_err());
        assert!(fwd().check("inet").is_ok());
    }
}
