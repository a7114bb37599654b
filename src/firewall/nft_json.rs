//! Parser for `nft -j list ruleset` output.
//!
//! The JSON schema (libnftables-json(5)) is a flat list of objects — `table`, `chain`, `rule`,
//! `set`, `map`, … — each naming its family and table. We walk it as a `serde_json::Value` rather
//! than with typed structs: the expression language is large and changes between nft versions,
//! and an unknown shape must degrade to a less detailed summary, never to a failed parse.

use serde_json::Value;

use super::nft_summary::Summary;
use crate::model::firewall::{NftChain, NftRule, NftTable};

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

pub(super) fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
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

#[cfg(test)]
#[path = "nft_json_tests.rs"]
mod tests;
