//! Steps that are not netlink: sysctls and iptables rules (and the listings of ip6tables and
//! nft tables that `DeleteNs` checks before it runs). All follow the calling *thread's*
//! network namespace (`/proc/sys/net` resolves against it, and a child spawned from it starts
//! in it), so each runs on a throwaway thread that entered the namespace. iptables gets an
//! argument vector, never a shell.

use std::process::{Command, Output, Stdio};

use crate::netns::enter::run_in_netns_file;
use crate::netns::resolve::open_ns;

fn in_ns<T: Send>(ns: &str, f: impl FnOnce() -> Result<T, String> + Send) -> Result<T, String> {
    let file = open_ns(ns).map_err(|e| e.to_string())?;
    run_in_netns_file(&file, ns, f).map_err(|e| e.to_string())?
}

pub fn read_sysctl(ns: &str, key: &str) -> Result<String, String> {
    let path = format!("/proc/sys/{key}");
    in_ns(ns, || {
        std::fs::read_to_string(&path)
            .map(|v| v.trim_end_matches('\n').to_string())
            .map_err(|e| format!("cannot read {path} in {ns}: {e}"))
    })
}

pub fn write_sysctl(ns: &str, key: &str, value: &str) -> Result<(), String> {
    let path = format!("/proc/sys/{key}");
    in_ns(ns, || {
        std::fs::write(&path, value)
            .map_err(|e| format!("cannot write {value} to {path} in {ns}: {e}"))
    })
}

fn iptables(ns: &str, table: &str, args: &[String]) -> Result<Output, String> {
    xtables("iptables", ns, table, args)
}

/// `iptables` or `ip6tables` (`tool`) on `table` in `ns`.
fn xtables(tool: &str, ns: &str, table: &str, args: &[String]) -> Result<Output, String> {
    in_ns(ns, || {
        Command::new(tool)
            // -w: wait for the xtables lock instead of failing while another iptables runs.
            .args(["-w", "-t", table])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {tool} in {ns}: {e}"))
    })
}

fn argv(action: &str, chain: &str, position: Option<u32>, rule: &[String]) -> Vec<String> {
    let mut a = vec![action.to_string(), chain.to_string()];
    if let Some(p) = position {
        a.push(p.to_string());
    }
    a.extend(rule.iter().cloned());
    a
}

/// `iptables -C`: whether the rule is there.
pub fn rule_exists(ns: &str, table: &str, chain: &str, rule: &[String]) -> Result<bool, String> {
    let out = iptables(ns, table, &argv("-C", chain, None, rule))?;
    match out.status.code() {
        Some(0) => Ok(true),
        // 1: no such rule. Anything else (2: bad arguments, unknown chain) is an error.
        Some(1) => Ok(false),
        _ => Err(format!(
            "iptables -t {table} -C {chain} {} in {ns}: {}",
            rule.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// Runs `-A`, `-D` or `-I` (with `position`).
pub fn change_rule(
    ns: &str,
    table: &str,
    action: &str,
    chain: &str,
    position: Option<u32>,
    rule: &[String],
) -> Result<(), String> {
    let args = argv(action, chain, position, rule);
    let out = iptables(ns, table, &args)?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "iptables -t {table} {} failed in {ns}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The chain's rules as `iptables -S CHAIN` prints them (without the policy line).
pub fn list_rules(ns: &str, table: &str, chain: &str) -> Result<Vec<String>, String> {
    let out = iptables(ns, table, &["-S".to_string(), chain.to_string()])?;
    if !out.status.success() {
        return Err(format!(
            "iptables -t {table} -S {chain} failed in {ns}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("-A "))
        .map(str::to_string)
        .collect())
}

/// Every line of `iptables -S` for the whole of `table` (policies, user chains, rules, in
/// that order); `None` when the table cannot be listed (a legacy table whose module is not
/// loaded, which holds nothing).
pub fn list_table(ns: &str, table: &str) -> Result<Option<Vec<String>>, String> {
    list_table_of("iptables", ns, table)
}

/// [`list_table`] with `tool`: `iptables` or `ip6tables`.
pub fn list_table_of(tool: &str, ns: &str, table: &str) -> Result<Option<Vec<String>>, String> {
    let out = xtables(tool, ns, table, &["-S".to_string()])?;
    if !out.status.success() {
        return Ok(None);
    }
    Ok(Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    ))
}

/// `nft -j list tables` in `ns`: its JSON, or `None` when nft cannot list them (no
/// nf_tables in this kernel, which then holds no table).
pub fn nft_tables(ns: &str) -> Result<Option<String>, String> {
    in_ns(ns, || {
        let out = Command::new("nft")
            .args(["-j", "list", "tables"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run nft in {ns}: {e}"))?;
        Ok(out
            .status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned()))
    })
}

/// The policy of built-in chain `chain` (`ACCEPT`, `DROP`): the `-P CHAIN POLICY` line of
/// `iptables -S CHAIN`.
pub fn chain_policy(ns: &str, table: &str, chain: &str) -> Result<String, String> {
    let out = iptables(ns, table, &["-S".to_string(), chain.to_string()])?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("-P {chain} ")))
        .map(|p| p.trim().to_string())
        .ok_or_else(|| {
            format!(
                "iptables -t {table} -S {chain} in {ns} shows no policy: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
}

/// Whether user chain `chain` exists in `table` (`iptables -S CHAIN` exits 1 when it does not).
pub fn chain_exists(ns: &str, table: &str, chain: &str) -> Result<bool, String> {
    let out = iptables(ns, table, &["-S".to_string(), chain.to_string()])?;
    match out.status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(format!(
            "iptables -t {table} -S {chain} failed in {ns}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// How many rules jump to `chain`: the `(N references)` of `iptables -L CHAIN`'s header.
pub fn chain_references(ns: &str, table: &str, chain: &str) -> Result<u32, String> {
    let out = iptables(ns, table, &["-n".into(), "-L".into(), chain.to_string()])?;
    let text = String::from_utf8_lossy(&out.stdout);
    let header = text.lines().next().unwrap_or("");
    header
        .split_once('(')
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            format!(
                "iptables -t {table} -L {chain} in {ns}: no reference count in {header:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        })
}

/// Runs a chain command (`-N`, `-F`, `-X`) on `chain`.
pub fn change_chain(ns: &str, table: &str, action: &str, chain: &str) -> Result<(), String> {
    change_rule(ns, table, action, chain, None, &[])
}

/// A rule line of [`list_rules`] (`-A CHAIN ARGS…`) as the argument vector after the chain.
pub fn rule_argv(line: &str) -> Vec<String> {
    let words = crate::firewall::iptables_save::rule_words(line);
    words.into_iter().skip(2).collect()
}

/// 1-based position of the one rule that is in `before` but not in `after` (the first line
/// where they differ).
pub fn removed_position(before: &[String], after: &[String]) -> u32 {
    let i = before
        .iter()
        .zip(after)
        .position(|(b, a)| b != a)
        .unwrap_or(after.len());
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    #[test]
    fn removed_position() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            super::removed_position(&s(&["a", "b", "c"]), &s(&["a", "c"])),
            2
        );
        assert_eq!(super::removed_position(&s(&["a", "b"]), &s(&["a"])), 2);
        assert_eq!(super::removed_position(&s(&["a"]), &s(&[])), 1);
    }

    /// A CNI rule's comment with escaped quotes is one argument, as iptables got it.
    #[test]
    fn rule_argv_resolves_escapes() {
        let line = r#"-A CNI-1 -d 10.88.0.0/16 -m comment --comment "name: \"podman\" id: \"ab\"" -j ACCEPT"#;
        assert_eq!(
            super::rule_argv(line),
            [
                "-d",
                "10.88.0.0/16",
                "-m",
                "comment",
                "--comment",
                r#"name: "podman" id: "ab""#,
                "-j",
                "ACCEPT"
            ]
        );
    }
}
