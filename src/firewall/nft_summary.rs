//! One nft rule's statements rendered as a line close to `nft list ruleset` syntax, with its
//! final verdict and counters (`NftRule::expr_summary`, `verdict`, `counters`).

use serde_json::Value;

use super::nft_json::str_field;
use crate::model::firewall::Counters;

/// Accumulates the rendering of one rule's statements.
#[derive(Default)]
pub(super) struct Summary {
    pub(super) parts: Vec<String>,
    pub(super) verdict: Option<String>,
    pub(super) counters: Option<Counters>,
}

impl Summary {
    pub(super) fn statement(&mut self, stmt: &Value) {
        let Some(obj) = stmt.as_object() else {
            self.parts.push(expr(stmt));
            return;
        };
        for (key, body) in obj {
            let text = self.render_statement(key, body);
            self.parts.push(text);
        }
    }

    fn render_statement(&mut self, key: &str, body: &Value) -> String {
        match key {
            "match" => {
                let left = body.get("left").map(expr).unwrap_or_default();
                let right = body.get("right").map(expr).unwrap_or_default();
                // nft prints `==` only after a binary operation (`meta mark & 0x4000 == 0`).
                let binop = body
                    .get("left")
                    .and_then(Value::as_object)
                    .is_some_and(|o| {
                        ["&", "|", "^", "<<", ">>"]
                            .iter()
                            .any(|k| o.contains_key(*k))
                    });
                match str_field(body, "op").unwrap_or("==") {
                    "==" if binop => format!("{left} == {right}"),
                    // nft omits the implicit operators when listing.
                    "==" | "in" => format!("{left} {right}"),
                    op => format!("{left} {op} {right}"),
                }
            }
            "counter" => match (
                body.get("packets").and_then(Value::as_u64),
                body.get("bytes").and_then(Value::as_u64),
            ) {
                (Some(packets), Some(bytes)) => {
                    self.counters = Some(Counters { packets, bytes });
                    format!("counter packets {packets} bytes {bytes}")
                }
                // A named counter reference: `counter name "x"`.
                _ => match body.as_str() {
                    Some(name) => format!("counter name {name}"),
                    None => "counter".to_string(),
                },
            },
            "accept" | "drop" | "continue" | "return" => {
                self.verdict = Some(key.to_string());
                key.to_string()
            }
            "jump" | "goto" => {
                let target = str_field(body, "target").unwrap_or("?");
                let text = format!("{key} {target}");
                self.verdict = Some(text.clone());
                text
            }
            "queue" => {
                self.verdict = Some("queue".to_string());
                "queue".to_string()
            }
            "masquerade" | "snat" | "dnat" | "redirect" => {
                self.verdict = Some(key.to_string());
                nat_statement(key, body)
            }
            "reject" => {
                self.verdict = Some("reject".to_string());
                match (str_field(body, "type"), body.get("expr")) {
                    (Some(ty), Some(e)) => format!("reject with {ty} {}", expr(e)),
                    (Some(ty), None) => format!("reject with {ty}"),
                    _ => "reject".to_string(),
                }
            }
            "xt" => {
                // iptables-nft extensions: nft only knows the extension's name.
                let name = str_field(body, "name").unwrap_or("?");
                if str_field(body, "type") == Some("target") {
                    self.verdict = Some(format!("xt {name}"));
                }
                format!("xt {name}")
            }
            "vmap" => {
                let k = body.get("key").map(expr).unwrap_or_default();
                let d = body.get("data").map(expr).unwrap_or_default();
                format!("{k} vmap {d}")
            }
            "mangle" => {
                let k = body.get("key").map(expr).unwrap_or_default();
                let v = body.get("value").map(expr).unwrap_or_default();
                format!("{k} set {v}")
            }
            "log" => match str_field(body, "prefix") {
                Some(p) => format!("log prefix {p:?}"),
                None => "log".to_string(),
            },
            "limit" => {
                let rate = body.get("rate").map(expr).unwrap_or_default();
                let per = str_field(body, "per").unwrap_or("second");
                format!("limit rate {rate}/{per}")
            }
            "set" => {
                // Dynamic set update: `add @set { ip saddr }`.
                let op = str_field(body, "op").unwrap_or("update");
                let elem = body.get("elem").map(expr).unwrap_or_default();
                let set = str_field(body, "set").unwrap_or("?");
                format!("{op} {set} {{ {elem} }}")
            }
            "notrack" => "notrack".to_string(),
            other => {
                // Unknown statement: show its name so the rule stays recognisable.
                if body.is_null() {
                    other.to_string()
                } else {
                    format!("{other} {}", expr(body))
                }
            }
        }
    }
}

fn nat_statement(key: &str, body: &Value) -> String {
    let mut s = key.to_string();
    if let Some(family) = str_field(body, "family") {
        s.push(' ');
        s.push_str(family);
    }
    let addr = body.get("addr").map(expr);
    let port = body.get("port").map(expr);
    match (addr, port) {
        (Some(a), Some(p)) => s.push_str(&format!(" to {a}:{p}")),
        (Some(a), None) => s.push_str(&format!(" to {a}")),
        (None, Some(p)) => s.push_str(&format!(" to :{p}")),
        (None, None) => {}
    }
    match body.get("flags") {
        Some(Value::String(f)) => {
            s.push(' ');
            s.push_str(f);
        }
        Some(Value::Array(flags)) => {
            let names: Vec<&str> = flags.iter().filter_map(Value::as_str).collect();
            if !names.is_empty() {
                s.push(' ');
                s.push_str(&names.join(","));
            }
        }
        _ => {}
    }
    s
}

/// Renders an expression (the operand side of a match, a map key, a NAT address…).
fn expr(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => join(items, ", "),
        Value::Object(obj) => {
            let mut parts = obj.iter().map(|(k, b)| object_expr(k, b));
            let first = parts.next().unwrap_or_default();
            parts.fold(first, |acc, p| format!("{acc} {p}"))
        }
    }
}

fn join(items: &[Value], sep: &str) -> String {
    items.iter().map(expr).collect::<Vec<_>>().join(sep)
}

/// Renders one `{"kind": body}` expression object.
fn object_expr(kind: &str, body: &Value) -> String {
    match kind {
        "payload" => match (str_field(body, "protocol"), str_field(body, "field")) {
            (Some(p), Some(f)) => format!("{p} {f}"),
            _ => {
                let base = str_field(body, "base").unwrap_or("?");
                let offset = body.get("offset").map(expr).unwrap_or_default();
                let len = body.get("len").map(expr).unwrap_or_default();
                format!("@{base},{offset},{len}")
            }
        },
        "meta" => {
            let key = str_field(body, "key").unwrap_or("?");
            // nft prints these meta keys without the `meta` prefix.
            if matches!(
                key,
                "iif" | "oif" | "iifname" | "oifname" | "iifgroup" | "oifgroup"
            ) {
                key.to_string()
            } else {
                format!("meta {key}")
            }
        }
        "ct" => {
            let key = str_field(body, "key").unwrap_or("?");
            match str_field(body, "dir") {
                Some(dir) => format!("ct {dir} {key}"),
                None => format!("ct {key}"),
            }
        }
        "fib" => {
            let result = str_field(body, "result").unwrap_or("?");
            let flags = match body.get("flags") {
                Some(Value::Array(f)) => join(f, " . "),
                Some(other) => expr(other),
                None => String::new(),
            };
            format!("fib {flags} {result}")
        }
        "numgen" => {
            let mode = str_field(body, "mode").unwrap_or("?");
            let m = body.get("mod").map(expr).unwrap_or_default();
            format!("numgen {mode} mod {m}")
        }
        "prefix" => {
            let addr = body.get("addr").map(expr).unwrap_or_default();
            let len = body.get("len").map(expr).unwrap_or_default();
            format!("{addr}/{len}")
        }
        "range" => match body.as_array().map(Vec::as_slice) {
            Some([a, b]) => format!("{}-{}", expr(a), expr(b)),
            _ => expr(body),
        },
        "set" => match body {
            Value::Array(items) => {
                let elems: Vec<String> = items.iter().map(set_elem).collect();
                format!("{{ {} }}", elems.join(", "))
            }
            other => format!("{{ {} }}", expr(other)),
        },
        "concat" => match body {
            Value::Array(items) => join(items, " . "),
            other => expr(other),
        },
        "map" => {
            let k = body.get("key").map(expr).unwrap_or_default();
            let d = body.get("data").map(expr).unwrap_or_default();
            format!("{k} map {d}")
        }
        "elem" => body.get("val").map(expr).unwrap_or_else(|| expr(body)),
        "&" | "|" | "^" | "<<" | ">>" => match body {
            Value::Array(items) => join(items, &format!(" {kind} ")),
            other => expr(other),
        },
        "accept" | "drop" | "continue" | "return" => kind.to_string(),
        "jump" | "goto" => format!("{kind} {}", str_field(body, "target").unwrap_or("?")),
        "symhash" | "jhash" => {
            let m = body.get("mod").map(expr).unwrap_or_default();
            format!("{kind} mod {m}")
        }
        other => {
            if body.is_null() {
                other.to_string()
            } else {
                format!("{other} {}", expr(body))
            }
        }
    }
}

/// A set element: plain, or a `[key, value]` pair of a map.
fn set_elem(v: &Value) -> String {
    match v.as_array().map(Vec::as_slice) {
        Some([k, d]) => format!("{} : {}", expr(k), expr(d)),
        _ => expr(v),
    }
}
