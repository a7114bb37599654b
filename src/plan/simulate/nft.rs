//! The simulator's steps on native nftables chains (see [`super::simulate`]): an inserted
//! accept is read back with the snapshot's own `nft -j` parser, as `nft -j list ruleset`
//! would show it after the insert, and put first in its chain; a delete removes netlens' own
//! rule of that content. [`apply_ns`] also takes the firewall steps the doctor mixes with
//! them (an iptables insert), so a rule can build a fix on one namespace's copy.

use serde_json::json;

use super::fw;
use super::unmodelled;
use crate::firewall::nft_json;
use crate::firewall::NftRule;
use crate::model::Namespace;
use crate::plan::nft_rule::{NftAccept, NFT_TAG};
use crate::plan::step::Step;

/// Applies a firewall step to namespace `n` alone: the nft steps, and iptables inserts,
/// appends and deletes. Others are not a namespace's firewall alone: refused as unmodelled.
pub fn apply_ns(n: &mut Namespace, step: &Step) -> Result<(), String> {
    match step {
        Step::InsertNftRule {
            family,
            table,
            chain,
            rule,
            ..
        } => insert(n, family, table, chain, rule),
        Step::DelNftRule {
            family,
            table,
            chain,
            rule,
            ..
        } => {
            if let Some(c) = chain_mut(n, family, table, chain)? {
                let want = rule.stmts();
                let ours = |r: &NftRule| {
                    r.comment.as_deref() == Some(NFT_TAG) && r.stmts.as_ref() == Some(&want)
                };
                if let Some(i) = c.rules.iter().position(ours) {
                    c.rules.remove(i);
                }
            }
            Ok(())
        }
        Step::InsertIptablesRule {
            table,
            chain,
            position,
            rule,
            ..
        } => fw::add_rule(n, table, chain, Some(*position), rule),
        Step::AddIptablesRule {
            table, chain, rule, ..
        } => fw::add_rule(n, table, chain, None, rule),
        Step::DelIptablesRule {
            table, chain, rule, ..
        } => fw::del_rule(n, table, chain, rule),
        other => Err(unmodelled(&format!("`{other}` on one namespace"))),
    }
}

fn chain_mut<'a>(
    n: &'a mut Namespace,
    family: &str,
    table: &str,
    chain: &str,
) -> Result<Option<&'a mut crate::firewall::NftChain>, String> {
    let name = n.name.clone();
    let fw = n
        .firewall
        .as_mut()
        .ok_or_else(|| unmodelled(&format!("the firewall of {name}, not read,")))?;
    Ok(fw
        .nft
        .iter_mut()
        .filter(|t| t.family == family && t.name == table)
        .flat_map(|t| t.chains.iter_mut())
        .find(|c| c.name == chain))
}

/// `nft insert rule`: the kernel refuses a chain that is not there.
fn insert(
    n: &mut Namespace,
    family: &str,
    table: &str,
    chain: &str,
    rule: &NftAccept,
) -> Result<(), String> {
    let listed = json!({"nftables": [{"rule": {"family": family, "table": table,
        "chain": chain, "comment": NFT_TAG, "expr": rule.expr()}}]});
    let (tables, warnings) = nft_json::parse(&listed.to_string());
    let parsed = tables
        .into_iter()
        .flat_map(|t| t.chains)
        .flat_map(|c| c.rules)
        .next()
        .filter(|_| warnings.is_empty())
        .ok_or_else(|| unmodelled("an nft rule that does not read back"))?;
    let ns = n.name.clone();
    let c = chain_mut(n, family, table, chain)?
        .ok_or_else(|| format!("there is no chain {family} {table} {chain} in {ns}"))?;
    c.rules.insert(0, parsed);
    Ok(())
}
