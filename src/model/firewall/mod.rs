//! The firewall snapshot of one network namespace.
//!
//! A namespace can hold rules in three places at once: native nftables tables, iptables-nft
//! (xtables rules stored in nftables, shown in full only by `iptables-nft-save`) and legacy
//! iptables (the old x_tables kernel API). We keep the output of each tool separately instead
//! of merging, because `nft -j` shows iptables-nft extensions only as opaque `xt` expressions
//! while `iptables-save` cannot show native nft tables at all.

pub mod nft_expr;

use serde::{Deserialize, Serialize};

/// A place where a namespace can hold packet-filtering rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Backend {
    /// Native nftables tables (not created by iptables-nft).
    #[serde(rename = "nft")]
    Nft,
    /// iptables rules stored in nftables by `iptables-nft`.
    #[serde(rename = "iptables-nft")]
    IptablesNft,
    /// Rules in the legacy x_tables kernel API (`iptables-legacy`).
    #[serde(rename = "iptables-legacy")]
    IptablesLegacy,
}

/// Address family of an iptables table: `iptables-save` (v4) or `ip6tables-save` (v6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IpFamily {
    #[serde(rename = "v4")]
    V4,
    #[serde(rename = "v6")]
    V6,
}

/// Which kernel API an iptables table was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum XtSource {
    /// iptables-nft: the rules live in nftables.
    #[serde(rename = "nft")]
    Nft,
    /// iptables-legacy: the rules live in x_tables.
    #[serde(rename = "legacy")]
    Legacy,
}

/// Everything found in one namespace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Firewall {
    /// Backends that hold at least one rule (or a chain policy other than accept), sorted.
    pub backends: Vec<Backend>,
    /// Tables from `iptables-save` / `ip6tables-save`, nft and legacy variants.
    pub iptables: Vec<XtTable>,
    /// Tables from `nft -j`: the native ones. iptables-nft's own tables are in `iptables`
    /// (older snapshots list them here too; [`Firewall::claimed_by_iptables_nft`] tells them).
    pub nft: Vec<NftTable>,
    /// Problems met while collecting: missing tools, failed commands, unparsable lines.
    pub errors: Vec<String>,
}

/// One `*table` block of `iptables-save` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XtTable {
    pub family: IpFamily,
    pub source: XtSource,
    pub name: String,
    pub chains: Vec<XtChain>,
}

/// One chain, as declared by a `:CHAIN POLICY [packets:bytes]` line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct XtChain {
    pub name: String,
    /// `None` for user-defined chains (`-` in iptables-save output).
    pub policy: Option<String>,
    pub packets: u64,
    pub bytes: u64,
    pub rules: Vec<XtRule>,
}

/// A match condition that may be negated with `!`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cond {
    pub negated: bool,
    pub value: String,
}

/// One option of a rule, e.g. `! -s 10.0.0.0/8`, `-m comment`, `--dport 80`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    pub negated: bool,
    /// The option as written, e.g. `-s`, `--dport`, `-m`.
    pub option: String,
    /// Its value(s) joined by one space; empty for flags such as `--rsource`.
    pub value: String,
}

/// One `-A CHAIN ...` line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct XtRule {
    /// The original line, unchanged.
    pub raw: String,
    /// Every option before the target, in order (`-A CHAIN` and counters excluded).
    pub matches: Vec<Match>,
    pub source: Option<Cond>,
    pub destination: Option<Cond>,
    pub in_iface: Option<Cond>,
    pub out_iface: Option<Cond>,
    pub protocol: Option<Cond>,
    /// `--dport` / `--dports` (multiport) value, as text (may be a range or list).
    pub dport: Option<Cond>,
    pub sport: Option<Cond>,
    /// The first `--comment` value, unquoted.
    pub comment: Option<String>,
    /// The `-j` or `-g` target; `None` for rules that only count packets.
    pub target: Option<String>,
    /// Options after the target, e.g. `("--to-destination", "10.0.0.1:80")`.
    pub target_args: Vec<(String, String)>,
    /// True when the target was given with `-g` (goto) instead of `-j` (jump).
    pub goto: bool,
    /// Counters from `[packets:bytes]` or `-c packets bytes` (present with `iptables-save -c`).
    pub packets: Option<u64>,
    pub bytes: Option<u64>,
}

/// One nftables table from `nft -j list ruleset`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NftTable {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge` or `netdev`.
    pub family: String,
    pub name: String,
    pub handle: Option<u64>,
    pub chains: Vec<NftChain>,
    /// Names of the table's named sets and maps.
    pub sets: Vec<String>,
    /// Their contents, for the evaluator (absent in older snapshots).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub named: Vec<nft_expr::NftNamedSet>,
}

/// One nftables chain; base chains have a hook, regular chains don't.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NftChain {
    pub name: String,
    pub handle: Option<u64>,
    pub hook: Option<String>,
    pub prio: Option<i64>,
    pub policy: Option<String>,
    #[serde(rename = "type")]
    pub chain_type: Option<String>,
    pub rules: Vec<NftRule>,
}

/// Packet and byte counts of a `counter` statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub packets: u64,
    pub bytes: u64,
}

/// One nftables rule, rendered to a single line close to `nft list ruleset` syntax.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NftRule {
    pub handle: Option<u64>,
    pub comment: Option<String>,
    /// e.g. `ip saddr 192.168.15.0/24 counter packets 3 bytes 252 masquerade`. iptables-nft
    /// extensions appear as `xt <name>` because nft cannot decode them.
    pub expr_summary: String,
    /// The rule's final action: a verdict (`accept`, `drop`, `return`, `jump X`, `goto X`, …)
    /// or a terminal statement (`masquerade`, `snat`, `dnat`, `redirect`, `reject`,
    /// `xt <TARGET>`).
    pub verdict: Option<String>,
    pub counters: Option<Counters>,
    /// The rule's statements, typed for the evaluator. `None` in snapshots saved before
    /// netlens evaluated nft (the evaluator then cannot judge the rule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stmts: Option<Vec<nft_expr::NftStmt>>,
}

/// Table names that iptables creates; a nft table with one of these names in family ip/ip6 is
/// normally iptables-nft's.
pub const IPTABLES_TABLE_NAMES: [&str; 5] = ["filter", "nat", "mangle", "raw", "security"];

/// A rule together with where it lives, as yielded by [`Firewall::xt_rules`].
#[derive(Debug, Clone, Copy)]
pub struct XtRuleRef<'a> {
    pub table: &'a XtTable,
    pub chain: &'a XtChain,
    pub rule: &'a XtRule,
}

impl Firewall {
    /// Every iptables rule (nft and legacy, v4 and v6) with its table and chain.
    pub fn xt_rules(&self) -> impl Iterator<Item = XtRuleRef<'_>> {
        self.iptables.iter().flat_map(|table| {
            table.chains.iter().flat_map(move |chain| {
                chain
                    .rules
                    .iter()
                    .map(move |rule| XtRuleRef { table, chain, rule })
            })
        })
    }

    /// iptables rules of the `nat` tables (DNAT, SNAT, MASQUERADE, kube-proxy services, …).
    pub fn nat_rules(&self) -> impl Iterator<Item = XtRuleRef<'_>> {
        self.xt_rules().filter(|r| r.table.name == "nat")
    }

    /// Rules of native nft (ip/inet) base chains of type nat at `hook`, and the rules of the
    /// chains they jump to are not included: evidence of NAT, not its judgement (that is the
    /// evaluator's). Tables iptables-nft created are left out (they are in `nat_rules`).
    pub fn nft_nat_rules<'a>(&'a self, hook: &'a str) -> impl Iterator<Item = &'a NftRule> + 'a {
        self.nft
            .iter()
            .filter(|t| matches!(t.family.as_str(), "ip" | "inet"))
            .filter(|t| !self.claimed_by_iptables_nft(t))
            .flat_map(|t| &t.chains)
            .filter(move |c| {
                c.chain_type.as_deref() == Some("nat") && c.hook.as_deref() == Some(hook)
            })
            .flat_map(|c| &c.rules)
    }

    /// iptables-nft-save listed a table of the same family and name: it is the compat table.
    pub fn claimed_by_iptables_nft(&self, t: &NftTable) -> bool {
        self.iptables.iter().any(|x| {
            x.source == XtSource::Nft
                && x.name == t.name
                && matches!(
                    (x.family, t.family.as_str()),
                    (IpFamily::V4, "ip") | (IpFamily::V6, "ip6")
                )
        })
    }

    /// Total number of rules across all iptables and nft tables.
    pub fn rule_count(&self) -> usize {
        let xt: usize = self
            .iptables
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum();
        let nft: usize = self
            .nft
            .iter()
            .flat_map(|t| &t.chains)
            .map(|c| c.rules.len())
            .sum();
        xt + nft
    }
}

impl XtTable {
    /// The chain called `name`, if declared.
    pub fn chain(&self, name: &str) -> Option<&XtChain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// True if any chain has a rule or a policy that is not ACCEPT.
    pub fn holds_rules(&self) -> bool {
        self.chains
            .iter()
            .any(|c| !c.rules.is_empty() || c.policy.as_deref().is_some_and(|p| p != "ACCEPT"))
    }
}

impl NftTable {
    /// The chain called `name`, if present.
    pub fn chain(&self, name: &str) -> Option<&NftChain> {
        self.chains.iter().find(|c| c.name == name)
    }

    /// True if any chain has a rule or a policy other than accept.
    pub fn holds_rules(&self) -> bool {
        self.chains
            .iter()
            .any(|c| !c.rules.is_empty() || c.policy.as_deref().is_some_and(|p| p != "accept"))
    }

    /// True for the ip/ip6 tables that iptables-nft creates (`filter`, `nat`, …).
    pub fn looks_like_iptables_nft(&self) -> bool {
        matches!(self.family.as_str(), "ip" | "ip6")
            && IPTABLES_TABLE_NAMES.contains(&self.name.as_str())
    }
}
