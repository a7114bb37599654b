//! Collecting the firewall of the namespace the calling thread is in.
//!
//! This runs once per namespace (hundreds of them), so it first asks the kernel cheaply —
//! one netlink dump for nftables, two small `/proc/thread-self` reads for legacy iptables —
//! and spawns the user-space tools only for the rule sets that exist. An empty namespace
//! therefore costs no fork/exec at all.
//!
//! Child processes inherit the network namespace of the *thread* that spawns them, so
//! `std::process::Command` run from the thread that called `setns` lists that namespace.
//! Commands get a fixed argv and never go through a shell.

use std::io::ErrorKind;
use std::process::Command;

use super::bounded_run::run_bounded;

use super::nfnetlink::{self, KernelTable};
use super::{iptables_save, nft_json, nft_name};
use crate::model::firewall::{
    Backend, Firewall, IpFamily, NftTable, XtSource, IPTABLES_TABLE_NAMES,
};

/// Where the cheap checks found tables (nft, iptables-nft, legacy; v4/v6), and therefore
/// which tools to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FirewallSources {
    /// Some nftables table exists: list the ones iptables-nft-save does not (see `read_nft`).
    pub nft: bool,
    /// The kernel's nftables tables, when the cheap check could list them; `None`: unknown,
    /// list the whole ruleset.
    pub tables: Option<Vec<KernelTable>>,
    /// An ip / ip6 table with an iptables name exists: run `iptables-nft-save` / v6.
    pub iptables_nft_v4: bool,
    pub iptables_nft_v6: bool,
    /// Legacy x_tables tables exist: run `iptables-legacy-save` / v6.
    pub legacy_v4: bool,
    pub legacy_v6: bool,
}

impl FirewallSources {
    /// Decides from the kernel's table list and the legacy table-name files.
    pub fn new(nft_tables: &[KernelTable], legacy_v4: &str, legacy_v6: &str) -> FirewallSources {
        let xt_named = |family: &str| {
            nft_tables
                .iter()
                .any(|t| t.family == family && IPTABLES_TABLE_NAMES.contains(&t.name.as_str()))
        };
        FirewallSources {
            nft: !nft_tables.is_empty(),
            iptables_nft_v4: xt_named("ip"),
            iptables_nft_v6: xt_named("ip6"),
            legacy_v4: legacy_v4.split_whitespace().next().is_some(),
            legacy_v6: legacy_v6.split_whitespace().next().is_some(),
            tables: Some(nft_tables.to_vec()),
        }
    }

    /// True when nothing needs to be spawned.
    pub fn is_empty(&self) -> bool {
        !(self.nft
            || self.iptables_nft_v4
            || self.iptables_nft_v6
            || self.legacy_v4
            || self.legacy_v6)
    }
}

/// Collects the firewall of the calling thread's network namespace. Never panics; every
/// problem (missing tool, failed command, unparsable output) becomes an entry in `errors`.
pub fn collect_in_current_netns() -> Firewall {
    let mut fw = Firewall::default();
    let mut known = true;
    let nft_tables = match nfnetlink::list_tables() {
        Ok(t) => t,
        Err(e) => {
            // Cannot tell cheaply: assume tables may exist and let the tools decide.
            fw.errors.push(format!(
                "nftables check failed ({e}); running the tools anyway"
            ));
            known = false;
            vec![
                KernelTable {
                    family: "ip".into(),
                    name: "filter".into(),
                },
                KernelTable {
                    family: "ip6".into(),
                    name: "filter".into(),
                },
            ]
        }
    };
    // /proc/self/net would show the *process's* namespace; thread-self follows setns.
    // The files are absent until the ip_tables / ip6_tables module is loaded: no tables.
    let legacy_v4 =
        std::fs::read_to_string("/proc/thread-self/net/ip_tables_names").unwrap_or_default();
    let legacy_v6 =
        std::fs::read_to_string("/proc/thread-self/net/ip6_tables_names").unwrap_or_default();
    let mut sources = FirewallSources::new(&nft_tables, &legacy_v4, &legacy_v6);
    if !known {
        sources.tables = None;
    }
    read_sources(&sources, &mut fw);
    fw
}

/// Runs the tools for the sources that hold tables and fills `fw`.
pub fn read_sources(sources: &FirewallSources, fw: &mut Firewall) {
    let saves = [
        (sources.iptables_nft_v4, IpFamily::V4, XtSource::Nft),
        (sources.iptables_nft_v6, IpFamily::V6, XtSource::Nft),
        (sources.legacy_v4, IpFamily::V4, XtSource::Legacy),
        (sources.legacy_v6, IpFamily::V6, XtSource::Legacy),
    ];
    for (wanted, family, source) in saves {
        if wanted {
            collect_save(family, source, fw);
        }
    }
    if sources.nft {
        read_nft(sources.tables.as_deref(), fw);
    }
    fw.backends = backends(fw);
}

/// Lists the nftables tables iptables-nft-save did not: its own tables are in `fw.iptables`
/// already, and `nft -j` renders their rules as opaque `xt` statements at great cost (on a
/// kube-proxy node ≈ 250 ms of CPU and a 2 MB JSON for 5,500 rules, every snapshot). A node
/// whose only tables are iptables-nft's spawns no `nft` at all; one with native tables too
/// lists just those; when the tables are unknown, or a name cannot be passed to nft safely, or
/// a table listing fails, the whole ruleset.
fn read_nft(tables: Option<&[KernelTable]>, fw: &mut Firewall) {
    let unclaimed: Option<Vec<&KernelTable>> = tables.map(|all| {
        all.iter()
            .filter(|t| !iptables_nft_lists(fw, &t.family, &t.name))
            .collect()
    });
    if let Some(list) = &unclaimed {
        if list.is_empty() {
            return;
        }
        let some_claimed = list.len() < tables.map_or(0, <[_]>::len);
        if some_claimed && list.iter().all(|t| nameable(t)) && list_tables(list, fw) {
            return;
        }
    }
    if let Some(listed) = nft_listing(&["-j", "list", "ruleset"], fw) {
        fw.nft = listed;
    }
}

/// Lists each table on its own; false (and nothing kept) if any listing failed.
fn list_tables(list: &[&KernelTable], fw: &mut Firewall) -> bool {
    let mut got = Vec::new();
    let mut scratch = Firewall::default();
    for t in list {
        let args = ["-j", "list", "table", t.family.as_str(), t.name.as_str()];
        match nft_listing(&args, &mut scratch) {
            Some(tables) if scratch.errors.is_empty() => got.extend(tables),
            _ => return false,
        }
    }
    fw.nft.extend(got);
    true
}

/// `nft ARGS` parsed; problems go to `fw.errors`.
fn nft_listing(args: &[&str], fw: &mut Firewall) -> Option<Vec<NftTable>> {
    match run("nft", args, "nftables") {
        Ok((out, cut)) => {
            fw.errors.extend(cut);
            let (tables, warnings) = nft_json::parse(&out);
            fw.errors
                .extend(warnings.into_iter().map(|w| format!("nft -j: {w}")));
            Some(tables)
        }
        Err(e) => {
            fw.errors.push(e.to_string());
            None
        }
    }
}

/// A table `nft list table` can be asked for: a family it knows and a plain name
/// ([`nft_name::is_plain`]); a table a container named `x; flush ruleset` is read with the
/// whole ruleset instead.
fn nameable(t: &KernelTable) -> bool {
    let family = matches!(
        t.family.as_str(),
        "ip" | "ip6" | "inet" | "arp" | "bridge" | "netdev"
    );
    family && nft_name::is_plain(&t.name)
}

/// iptables-nft-save listed a table of this nft family and name (its compat table).
fn iptables_nft_lists(fw: &Firewall, family: &str, name: &str) -> bool {
    fw.iptables.iter().any(|t| {
        t.source == XtSource::Nft
            && t.name == name
            && matches!(
                (t.family, family),
                (IpFamily::V4, "ip") | (IpFamily::V6, "ip6")
            )
    })
}

/// The save tools to try, in order. Debian's plain `iptables-save` may be either variant
/// (alternatives), so the explicit names come first and the plain name is accepted only if
/// its header says it is the wanted variant.
fn save_tools(family: IpFamily, source: XtSource) -> [&'static str; 2] {
    match (family, source) {
        (IpFamily::V4, XtSource::Nft) => ["iptables-nft-save", "iptables-save"],
        (IpFamily::V6, XtSource::Nft) => ["ip6tables-nft-save", "ip6tables-save"],
        (IpFamily::V4, XtSource::Legacy) => ["iptables-legacy-save", "iptables-save"],
        (IpFamily::V6, XtSource::Legacy) => ["ip6tables-legacy-save", "ip6tables-save"],
    }
}

fn collect_save(family: IpFamily, source: XtSource, fw: &mut Firewall) {
    let [explicit, plain] = save_tools(family, source);
    let output = match run(explicit, &["-c"], "iptables") {
        Ok(out) => Ok((explicit, out)),
        Err(not_found @ ToolError::NotFound { .. }) => match run(plain, &["-c"], "iptables") {
            // iptables >= 1.8 marks nft-based output with "(nf_tables)" in its header.
            Ok(out) if out.0.contains("(nf_tables)") == (source == XtSource::Nft) => {
                Ok((plain, out))
            }
            _ => Err(not_found),
        },
        Err(e) => Err(e),
    };
    match output {
        Ok((tool, (out, cut))) => {
            fw.errors.extend(cut);
            let (tables, warnings) = iptables_save::parse(&out, family, source);
            fw.errors
                .extend(warnings.into_iter().map(|w| format!("{tool}: {w}")));
            fw.iptables.extend(tables);
        }
        Err(e) => fw.errors.push(e.to_string()),
    }
}

/// Why a tool produced no output.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("{program} not found: install {package}")]
    NotFound {
        program: String,
        package: &'static str,
    },
    #[error("{program}: cannot run: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{program} failed ({status}): {stderr}")]
    Failed {
        program: String,
        status: String,
        stderr: String,
    },
}

/// Runs `program args` and returns its stdout (lossily decoded), and why it was cut if it was
/// (see [`super::bounded_run`]). `package` names the Debian package to suggest when the
/// program is missing.
fn run(
    program: &str,
    args: &[&str],
    package: &'static str,
) -> Result<(String, Option<String>), ToolError> {
    let output = run_bounded(Command::new(program).args(args)).map_err(|source| {
        if source.kind() == ErrorKind::NotFound {
            ToolError::NotFound {
                program: program.to_string(),
                package,
            }
        } else {
            ToolError::Spawn {
                program: program.to_string(),
                source,
            }
        }
    })?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let cut = output.cut.map(|c| format!("{program}: {c}"));
    let success = output.status.is_some_and(|s| s.success());
    // A failing tool that still printed something: keep the partial listing.
    if !success && stdout.trim().is_empty() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("").trim().to_string();
        return Err(ToolError::Failed {
            program: program.to_string(),
            status: match output.status {
                Some(s) => s.to_string(),
                None => "not waited for".into(),
            },
            stderr: cut.unwrap_or(first),
        });
    }
    Ok((stdout, cut))
}

/// Which backends hold rules. A nft table counts as native unless iptables-nft-save listed a
/// table of the same family and name (then it is iptables-nft's compat table).
fn backends(fw: &Firewall) -> Vec<Backend> {
    let mut out = Vec::new();
    let xt_holds = |source: XtSource| {
        fw.iptables
            .iter()
            .any(|t| t.source == source && t.holds_rules())
    };
    if fw
        .nft
        .iter()
        .any(|t| t.holds_rules() && !iptables_nft_lists(fw, &t.family, &t.name))
    {
        out.push(Backend::Nft);
    }
    if xt_holds(XtSource::Nft) {
        out.push(Backend::IptablesNft);
    }
    if xt_holds(XtSource::Legacy) {
        out.push(Backend::IptablesLegacy);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(family: &str, name: &str) -> KernelTable {
        KernelTable {
            family: family.into(),
            name: name.into(),
        }
    }

    #[test]
    fn empty_namespace_reads_nothing() {
        assert!(FirewallSources::new(&[], "", "\n").is_empty());
    }

    #[test]
    fn native_table_runs_only_nft() {
        let p = FirewallSources::new(&[t("inet", "filter"), t("ip", "mytable")], "", "");
        assert!(p.nft && !p.iptables_nft_v4 && !p.iptables_nft_v6 && !p.legacy_v4);
    }

    #[test]
    fn only_known_families_and_plain_names_are_passed_to_nft() {
        assert!(nameable(&t("inet", "filter")));
        assert!(nameable(&t("netdev", "kube-proxy")));
        assert!(!nameable(&t("inet", "x; flush ruleset")));
        assert!(!nameable(&t("7", "filter")));
    }

    #[test]
    fn iptables_names_and_legacy_files() {
        let p = FirewallSources::new(&[t("ip6", "nat")], "filter\nnat\n", "");
        assert!(p.nft && !p.iptables_nft_v4 && p.iptables_nft_v6 && p.legacy_v4 && !p.legacy_v6);
    }
}
