//! Native nftables rules as typed statements the evaluator can walk: the matches, marks,
//! verdicts and NAT statements Debian's nftables.conf, firewalld, netavark's nft driver,
//! kube-proxy's nftables mode and people write. Anything else becomes
//! [`NftStmt::Unmodeled`], which the evaluator tries both ways ("cannot judge" when that
//! matters), never a guess.
//!
//! Parsed from `nft -j` statements. Bounded: a rule with more than [`MAX_STMTS`] statements
//! or a set with more than [`MAX_ATOMS`] elements is kept as unmodeled, so a hostile ruleset
//! cannot make a snapshot (or a walk) grow without limit.

use serde_json::Value;

// The types live in the model (the snapshot holds them); re-exported so parser and evaluator
// keep their paths.
pub use crate::model::firewall::nft_expr::*;

/// Statements per rule beyond which the rule is not modelled.
pub const MAX_STMTS: usize = 64;
/// Elements of one anonymous set beyond which the match is not modelled.
pub const MAX_ATOMS: usize = 1024;

/// Typed statements of one rule's `expr` array.
pub fn parse_rule(exprs: &[Value]) -> Vec<NftStmt> {
    if exprs.len() > MAX_STMTS {
        return vec![NftStmt::Unmodeled {
            what: format!("a rule of more than {MAX_STMTS} statements"),
        }];
    }
    exprs.iter().map(statement).collect()
}

fn unmodeled(what: impl Into<String>) -> NftStmt {
    NftStmt::Unmodeled { what: what.into() }
}

fn statement(v: &Value) -> NftStmt {
    let Some((kind, body)) = v.as_object().and_then(|o| o.iter().next()) else {
        return unmodeled("a statement that is not an object");
    };
    match kind.as_str() {
        "match" => match_stmt(body).unwrap_or_else(|| unmodeled(format!("match {body}"))),
        "accept" | "drop" | "continue" | "return" => NftStmt::Verdict {
            verdict: kind.clone(),
            target: None,
        },
        "jump" | "goto" => match body.get("target").and_then(Value::as_str) {
            Some(t) => NftStmt::Verdict {
                verdict: kind.clone(),
                target: Some(t.to_string()),
            },
            None => unmodeled(format!("{kind} without a target")),
        },
        "reject" => NftStmt::Reject,
        "masquerade" | "snat" | "dnat" | "redirect" => nat(kind, body),
        "vmap" => vmap(body).unwrap_or_else(|| unmodeled(format!("vmap {body}"))),
        "mangle" => set_mark(body).unwrap_or_else(|| unmodeled(format!("mangle {body}"))),
        // A probe stays within any rate limit's burst, as for iptables' `-m limit`.
        "counter" | "log" | "limit" | "set" | "comment" => NftStmt::Nop,
        other => unmodeled(format!("the `{other}` statement")),
    }
}

fn match_stmt(body: &Value) -> Option<NftStmt> {
    let op = match body.get("op").and_then(Value::as_str)? {
        "==" | "in" => NftOp::Eq,
        "!=" => NftOp::Ne,
        "<" | "lt" => NftOp::Lt,
        ">" | "gt" => NftOp::Gt,
        "<=" | "le" => NftOp::Le,
        ">=" | "ge" => NftOp::Ge,
        _ => return None,
    };
    let key = key(body.get("left")?)?;
    let right = atoms(body.get("right")?)?;
    Some(NftStmt::Match { key, op, right })
}

/// The left side: a payload field, a meta or ct key, optionally `& mask` for marks.
fn key(v: &Value) -> Option<NftKey> {
    if let Some([inner, mask]) = v.get("&").and_then(Value::as_array).map(Vec::as_slice) {
        let mask = u32::try_from(mask.as_u64()?).ok()?;
        return match key(inner)? {
            NftKey::Mark { .. } => Some(NftKey::Mark { mask }),
            NftKey::CtMark { .. } => Some(NftKey::CtMark { mask }),
            _ => None,
        };
    }
    let str_of = |o: &Value, k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    if let Some(p) = v.get("payload") {
        let proto = str_of(p, "protocol")?;
        let field = str_of(p, "field")?;
        return Some(match (proto.as_str(), field.as_str()) {
            ("ip", "saddr") => NftKey::Saddr { v6: false },
            ("ip", "daddr") => NftKey::Daddr { v6: false },
            ("ip6", "saddr") => NftKey::Saddr { v6: true },
            ("ip6", "daddr") => NftKey::Daddr { v6: true },
            ("ip", "protocol") | ("ip6", "nexthdr") => NftKey::L4proto,
            ("tcp" | "udp" | "sctp" | "th", "dport") => NftKey::Dport { proto },
            ("tcp" | "udp" | "sctp" | "th", "sport") => NftKey::Sport { proto },
            ("icmp" | "icmpv6", "type") => NftKey::IcmpType { proto },
            _ => return None,
        });
    }
    if let Some(m) = v.get("meta") {
        return Some(match str_of(m, "key")?.as_str() {
            "iifname" => NftKey::Iifname,
            "oifname" => NftKey::Oifname,
            "iif" => NftKey::Iif,
            "oif" => NftKey::Oif,
            "l4proto" => NftKey::L4proto,
            "nfproto" => NftKey::Nfproto,
            "mark" => NftKey::Mark { mask: u32::MAX },
            _ => return None,
        });
    }
    if let Some(c) = v.get("ct") {
        // `ct original saddr` and friends carry a direction: not modelled.
        if c.get("dir").is_some() {
            return None;
        }
        return Some(match str_of(c, "key")?.as_str() {
            "state" => NftKey::CtState,
            "mark" => NftKey::CtMark { mask: u32::MAX },
            _ => return None,
        });
    }
    None
}

/// The right side as atoms: one value, a list (flags), or an anonymous set. Named sets
/// (`@name`), maps and expressions are not modelled.
fn atoms(v: &Value) -> Option<Vec<NftAtom>> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(o) if o.contains_key("set") => match &o["set"] {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        },
        other => vec![other],
    };
    if items.len() > MAX_ATOMS {
        return None;
    }
    items.into_iter().map(atom).collect()
}

fn atom(v: &Value) -> Option<NftAtom> {
    match v {
        Value::String(s) if s.starts_with('@') => Some(NftAtom::SetRef(s[1..].to_string())),
        Value::String(s) => Some(NftAtom::Text(s.clone())),
        Value::Number(n) => n.as_u64().map(NftAtom::Num),
        Value::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let addr = p.get("addr")?.as_str()?.to_string();
                let len = u8::try_from(p.get("len")?.as_u64()?).ok()?;
                return Some(NftAtom::Prefix { addr, len });
            }
            if let Some([lo, hi]) = o.get("range").and_then(Value::as_array).map(Vec::as_slice) {
                return Some(NftAtom::Range {
                    lo: scalar(lo)?,
                    hi: scalar(hi)?,
                });
            }
            // A set element with options (`{"elem": {"val": …, "timeout": …}}`).
            o.get("elem").and_then(|e| e.get("val")).and_then(atom)
        }
        _ => None,
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A NAT statement with a plain address and/or port; maps (`dnat to ip daddr map …`) are
/// not modelled.
fn nat(kind: &str, body: &Value) -> NftStmt {
    let addr = match body.get("addr") {
        None => None,
        Some(a) => match scalar(a) {
            Some(a) => Some(a),
            None => return unmodeled(format!("{kind} to {a}")),
        },
    };
    let port = match body.get("port") {
        None => None,
        Some(p) => match (scalar(p), atom(p)) {
            (Some(p), _) => Some(p),
            (None, Some(NftAtom::Range { lo, hi })) => Some(format!("{lo}-{hi}")),
            _ => return unmodeled(format!("{kind} to port {p}")),
        },
    };
    let to = match (addr, port) {
        (Some(a), Some(p)) => Some(format!("{a}:{p}")),
        (Some(a), None) => Some(a),
        (None, Some(p)) => Some(format!(":{p}")),
        (None, None) => None,
    };
    NftStmt::Nat {
        nat: kind.to_string(),
        to,
    }
}

/// An anonymous verdict map on one key; named maps and concatenations are not modelled.
fn vmap(body: &Value) -> Option<NftStmt> {
    let key = key(body.get("key")?)?;
    let data = body.get("data")?;
    if let Some(name) = data.as_str().and_then(|d| d.strip_prefix('@')) {
        return Some(NftStmt::Vmap {
            key,
            entries: Vec::new(),
            named: Some(name.to_string()),
        });
    }
    let entries = vmap_entries(data.get("set")?)?;
    Some(NftStmt::Vmap {
        key,
        entries,
        named: None,
    })
}

/// `[[value, {verdict}], …]`, bounded.
fn vmap_entries(elems: &Value) -> Option<Vec<NftVmapEntry>> {
    let elems = elems.as_array()?;
    if elems.len() > MAX_ATOMS {
        return None;
    }
    elems
        .iter()
        .map(|e| {
            let [when, v] = e.as_array()?.as_slice() else {
                return None;
            };
            let (verdict, vbody) = v.as_object()?.iter().next()?;
            let target = match verdict.as_str() {
                "accept" | "drop" | "continue" | "return" => None,
                "jump" | "goto" => Some(vbody.get("target")?.as_str()?.to_string()),
                _ => return None,
            };
            Some(NftVmapEntry {
                when: atom(when)?,
                verdict: verdict.clone(),
                target,
            })
        })
        .collect::<Option<Vec<_>>>()
}

/// A `set` or `map` object of `nft -j`: its elements when the evaluator can trust them.
pub fn named_set(name: &str, body: &Value) -> NftNamedSet {
    let mut out = NftNamedSet {
        name: name.to_string(),
        elems: None,
        verdicts: None,
    };
    let flags: Vec<&str> = match body.get("flags") {
        Some(Value::Array(f)) => f.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(f)) => vec![f.as_str()],
        _ => Vec::new(),
    };
    if flags.iter().any(|f| matches!(*f, "dynamic" | "timeout")) || body.get("timeout").is_some() {
        return out;
    }
    let empty = Value::Array(Vec::new());
    let elem = body.get("elem").unwrap_or(&empty);
    match body.get("map").and_then(Value::as_str) {
        Some("verdict") => out.verdicts = vmap_entries(elem),
        Some(_) => {}
        None => {
            out.elems = atoms(elem).filter(|a| !a.iter().any(|x| matches!(x, NftAtom::SetRef(_))))
        }
    }
    out
}

/// `meta mark set V` / `ct mark set V` with a constant; anything else is not modelled.
fn set_mark(body: &Value) -> Option<NftStmt> {
    let value = u32::try_from(body.get("value")?.as_u64()?).ok()?;
    let k = body.get("key")?;
    let ct = if k.get("meta").and_then(|m| m.get("key")) == Some(&Value::from("mark")) {
        false
    } else if k.get("ct").and_then(|m| m.get("key")) == Some(&Value::from("mark")) {
        true
    } else {
        return None;
    };
    Some(NftStmt::SetMark { ct, value })
}

#[cfg(test)]
#[path = "nft_expr_tests.rs"]
mod tests;
