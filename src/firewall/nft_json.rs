//! Parser for `nft -j list ruleset` output.
//!
//! The JSON schema (libnftables-json(5)) is a flat list of objects — `table`, `chain`, `rule`,
//! `set`, `map`, … — each naming its family and table. We walk it as a `serde_json::Value` rather
//! than with typed structs: the expression language is large and changes between nft versions,
//! and an unknown shape must degrade to a less detailed summary, never to a failed parse.

use serde_json::Value;

use crate::model::firewall::{Counters, NftChain, NftRule, NftTable};

/// Parses the text; returns the tables found and warnings for objects that could not be used.
pub fn parse(text: &str) -> (Vec<NftTable>, Vec<String>) {
    let mut warnings = Vec::new();
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            warnings.push(format!("not valid JSON: {e}"));
            return (Vec::new(), warnings);
        }
    };
    let Some(items) = value.get("nftables").and_then(Value::as_array) else {
        warnings.push("no \"nftables\" array in JSON".to_string());
        return (Vec::new(), warnings);
    };
    let mut tables: Vec<NftTable> = Vec::new();
    for (idx, item) in items.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            warnings.push(format!("item {idx}: not an object"));
            continue;
        };
        for (kind, body) in obj {
            match kind.as_str() {
                "table" => add_table(&mut tables, body),
                "chain" => add_chain(&mut tables, body),
                "rule" => add_rule(&mut tables, body),
                "set" | "map" => {
                    if let Some(name) = str_field(body, "name") {
                        let named = super::nft_expr::named_set(name, body);
                        let t = table_for(&mut tables, body);
                        t.sets.push(name.to_string());
                        t.named.push(named);
                    }
                }
                // metainfo, counter, quota, flowtable, ct helper, …: not modelled.
                _ => {}
            }
        }
    }
    (tables, warnings)
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn table_for<'a>(tables: &'a mut Vec<NftTable>, body: &Value) -> &'a mut NftTable {
    let family = str_field(body, "family").unwrap_or("?");
    let name = str_field(body, "table").unwrap_or("?");
    find_or_add_table(tables, family, name)
}

/// Partial listings (`nft -j list chain …`) have chains without their table object; the table
/// is created on first mention so their rules are not lost.
fn find_or_add_table<'a>(
    tables: &'a mut Vec<NftTable>,
    family: &str,
    name: &str,
) -> &'a mut NftTable {
    let idx = match tables
        .iter()
        .position(|t| t.family == family && t.name == name)
    {
        Some(i) => i,
        None => {
            tables.push(NftTable {
                family: family.to_string(),
                name: name.to_string(),
                handle: None,
                chains: Vec::new(),
                sets: Vec::new(),
                named: Vec::new(),
            });
            tables.len() - 1
        }
    };
    &mut tables[idx]
}

fn add_table(tables: &mut Vec<NftTable>, body: &Value) {
    let family = str_field(body, "family").unwrap_or("?");
    let name = str_field(body, "name").unwrap_or("?");
    let table = find_or_add_table(tables, family, name);
    table.handle = body.get("handle").and_then(Value::as_u64);
}

fn find_or_add_chain<'a>(table: &'a mut NftTable, name: &str) -> &'a mut NftChain {
    let idx = match table.chains.iter().position(|c| c.name == name) {
        Some(i) => i,
        None => {
            table.chains.push(NftChain {
                name: name.to_string(),
                handle: None,
                hook: None,
                prio: None,
                policy: None,
                chain_type: None,
                rules: Vec::new(),
            });
            table.chains.len() - 1
        }
    };
    &mut table.chains[idx]
}

fn add_chain(tables: &mut Vec<NftTable>, body: &Value) {
    let name = str_field(body, "name").unwrap_or("?");
    let chain = find_or_add_chain(table_for(tables, body), name);
    chain.handle = body.get("handle").and_then(Value::as_u64);
    chain.hook = str_field(body, "hook").map(str::to_string);
    chain.prio = body.get("prio").and_then(Value::as_i64);
    chain.policy = str_field(body, "policy").map(str::to_string);
    chain.chain_type = str_field(body, "type").map(str::to_string);
}

fn add_rule(tables: &mut Vec<NftTable>, body: &Value) {
    let chain_name = str_field(body, "chain").unwrap_or("?");
    let mut summary = Summary::default();
    let mut stmts = None;
    if let Some(exprs) = body.get("expr").and_then(Value::as_array) {
        for stmt in exprs {
            summary.statement(stmt);
        }
        stmts = Some(super::nft_expr::parse_rule(exprs));
    }
    let rule = NftRule {
        handle: body.get("handle").and_then(Value::as_u64),
        comment: str_field(body, "comment").map(str::to_string),
        expr_summary: summary.parts.join(" "),
        verdict: summary.verdict,
        counters: summary.counters,
        stmts,
    };
    find_or_add_chain(table_for(tables, body), chain_name)
        .rules
        .push(rule);
}

/// Accumulates the rendering of one rule's statements.
#[derive(Default)]
struct Summary {
    parts: Vec<String>,
    verdict: Option<String>,
    counters: Option<Counters>,
}

impl Summary {
    fn statement(&mut self, stmt: &Value) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn summary_of(expr_json: &str) -> NftRule {
        let text = format!(
            r#"{{"nftables":[{{"rule":{{"family":"ip","table":"t","chain":"c","handle":5,"expr":{expr_json}}}}}]}}"#
        );
        let (tables, warnings) = parse(&text);
        assert!(warnings.is_empty(), "{warnings:?}");
        tables[0].chains[0].rules[0].clone()
    }

    #[test]
    fn iptables_nft_masquerade_renders_xt() {
        let r = summary_of(
            r#"[{"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":{"prefix":{"addr":"192.168.15.0","len":24}}}},{"xt":{"type":"match","name":"comment"}},{"counter":{"packets":3,"bytes":252}},{"xt":{"type":"target","name":"MASQUERADE"}}]"#,
        );
        assert_eq!(
            r.expr_summary,
            "ip saddr 192.168.15.0/24 xt comment counter packets 3 bytes 252 xt MASQUERADE"
        );
        assert_eq!(r.verdict.as_deref(), Some("xt MASQUERADE"));
        assert_eq!(
            r.counters,
            Some(Counters {
                packets: 3,
                bytes: 252
            })
        );
    }

    #[test]
    fn not_equal_and_masquerade_flags() {
        let r = summary_of(
            r#"[{"match":{"op":"!=","left":{"meta":{"key":"oifname"}},"right":"eth0"}},{"masquerade":{"flags":"fully-random"}}]"#,
        );
        assert_eq!(r.expr_summary, "oifname != eth0 masquerade fully-random");
        assert_eq!(r.verdict.as_deref(), Some("masquerade"));
    }

    #[test]
    fn unexpected_shapes_do_not_fail() {
        for text in [
            "",
            "[]",
            r#"{"nftables":{}}"#,
            r#"{"nftables":[1,"x",{"rule":5},{"rule":{"expr":7}},{"chain":[]}]}"#,
            r#"{"nftables":[{"rule":{"expr":[{"match":{"left":[],"right":{"range":3}}},{"dnat":{}},{"counter":"c"}]}}]}"#,
        ] {
            let _ = parse(text);
        }
    }
}
