//! The shell command(s) equivalent to each step, shown before anything runs. Display only:
//! netlens never runs these strings; it speaks netlink and runs iptables with an argv.

use ipnet::IpNet;

use super::persist;
use super::step::{LinkEnd, RouteSpec, Step};
use crate::netns::resolve::NsName;

/// Quotes `arg` for a POSIX shell: bare when it only holds safe characters, otherwise in single
/// quotes (a quote inside becomes `'\''`). A word holding a control or bidi character (a
/// container's interface name with ESC, a file's newlines) is written with bash's ANSI-C
/// quoting instead, `$'e\x1b[2J'`: the preview stays one inert line on the terminal and is
/// still the command that gets the same bytes.
pub fn quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if safe {
        arg.to_string()
    } else if arg.chars().any(crate::text::escape::is_unsafe_char) {
        ansi_c_quote(arg)
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// `$'…'` with `\\`, `\'`, `\n`, `\t`, `\r`, `\xHH` and, beyond ASCII, `\uHHHH` escapes.
fn ansi_c_quote(arg: &str) -> String {
    use std::fmt::Write;
    let mut out = String::from("$'");
    for c in arg.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if crate::text::escape::is_unsafe_char(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if crate::text::escape::is_unsafe_char(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn join(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn parse_ns(ns: &str) -> NsName {
    // Rendering must not fail: a name validation will reject is still shown as typed.
    NsName::parse(ns).unwrap_or_else(|_| NsName::Named(ns.to_string()))
}

/// What runs a command inside `ns`: nothing for the host, `ip netns exec` for a named
/// namespace, `nsenter` for a process's or Docker's.
fn exec_prefix(ns: &str) -> Vec<String> {
    match parse_ns(ns) {
        NsName::Host => vec![],
        NsName::Named(n) => vec!["ip".into(), "netns".into(), "exec".into(), n],
        NsName::Pid(pid) => vec!["nsenter".into(), "-t".into(), pid.to_string(), "-n".into()],
        NsName::Docker(_) => vec!["nsenter".into(), format!("--net={}", ns_path_text(ns))],
    }
}

fn ns_path_text(ns: &str) -> String {
    parse_ns(ns)
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| ns.to_string())
}

/// `ip` in `ns`: `ip -n NAME` needs no subshell for named namespaces.
fn ip(ns: &str, args: &[&str]) -> Vec<String> {
    let mut argv = match parse_ns(ns) {
        NsName::Host => vec!["ip".to_string()],
        NsName::Named(n) => vec!["ip".into(), "-n".into(), n],
        _ => {
            let mut p = exec_prefix(ns);
            p.push("ip".into());
            p
        }
    };
    argv.extend(args.iter().map(|s| s.to_string()));
    argv
}

/// The argument `ip link set … netns X` takes for a target namespace: a name under
/// /run/netns, a pid, or a path.
fn netns_target(ns: &str) -> String {
    match parse_ns(ns) {
        NsName::Host => "1".into(),
        NsName::Named(n) => n,
        NsName::Pid(pid) => pid.to_string(),
        NsName::Docker(_) => ns_path_text(ns),
    }
}

fn family_flag(dst: &IpNet) -> Option<&'static str> {
    matches!(dst, IpNet::V6(_)).then_some("-6")
}

fn route_args(route: &RouteSpec) -> Vec<String> {
    // RouteSpec's Display is `ip route` syntax already.
    route.to_string().split(' ').map(str::to_string).collect()
}

/// Route types by their `ip route` names (`rtnetlink.h` RTN_*); numbers for the rest.
fn route_type_name(kind: u8) -> String {
    const NAMES: [&str; 11] = [
        "unspec",
        "unicast",
        "local",
        "broadcast",
        "anycast",
        "multicast",
        "blackhole",
        "unreachable",
        "prohibit",
        "throw",
        "nat",
    ];
    NAMES
        .get(usize::from(kind))
        .map_or_else(|| kind.to_string(), |n| n.to_string())
}

fn route_cmd(ns: &str, verb: &str, route: &RouteSpec, extra: &[String]) -> Vec<String> {
    let mut args: Vec<&str> = Vec::new();
    if let Some(f) = family_flag(&route.dst) {
        args.push(f);
    }
    args.extend(["route", verb]);
    let mut argv = ip(ns, &args);
    argv.extend(route_args(route));
    argv.extend(extra.iter().cloned());
    argv
}

/// `key` as sysctl(8) takes it: dotted, unless a component (an interface like `eth0.100`)
/// holds a dot, where only the slash form is unambiguous.
pub fn sysctl_name(key: &str) -> String {
    if key.split('/').any(|c| c.contains('.')) {
        key.to_string()
    } else {
        key.replace('/', ".")
    }
}

/// `bridge` in `ns`: `bridge -n NAME` for named namespaces (it takes `-netns` like `ip`).
fn bridge_in(ns: &str, cmd: &[&str]) -> Vec<String> {
    match (parse_ns(ns), cmd.split_first()) {
        (NsName::Named(n), Some((&"bridge", rest))) => {
            let mut argv = vec!["bridge".to_string(), "-n".into(), n];
            argv.extend(rest.iter().map(|s| s.to_string()));
            argv
        }
        _ => in_ns(ns, cmd),
    }
}

fn in_ns(ns: &str, cmd: &[&str]) -> Vec<String> {
    let mut argv = exec_prefix(ns);
    argv.extend(cmd.iter().map(|s| s.to_string()));
    argv
}

fn iptables(ns: &str, table: &str, action: &[String], rule: &[String]) -> Vec<String> {
    let mut argv = in_ns(ns, &["iptables", "-w", "-t", table]);
    argv.extend(action.iter().cloned());
    argv.extend(rule.iter().cloned());
    argv
}

fn end_args(end: &LinkEnd) -> Vec<String> {
    vec![
        "index".into(),
        end.index.to_string(),
        "address".into(),
        end.mac.clone(),
        "mtu".into(),
        end.mtu.to_string(),
    ]
}

fn write_file(path: &str, content: &str) -> String {
    format!("printf '%s' {} > {}", quote(content), quote(path))
}

/// The shell command(s) doing what `step` does, quoted for display.
pub fn commands(step: &Step) -> Vec<String> {
    let argvs: Vec<Vec<String>> = match step {
        Step::AddVeth {
            ns,
            name,
            peer_ns,
            peer,
        } => {
            let mut argv = ip(
                ns,
                &["link", "add", name, "type", "veth", "peer", "name", peer],
            );
            if peer_ns != ns {
                argv.extend(["netns".into(), netns_target(peer_ns)]);
            }
            vec![argv]
        }
        Step::AddBridge { ns, name } => vec![ip(ns, &["link", "add", name, "type", "bridge"])],
        Step::DeleteLink { ns, name } => vec![ip(ns, &["link", "del", name])],
        Step::MoveLink { ns, name, to_ns } => {
            vec![ip(
                ns,
                &["link", "set", name, "netns", &netns_target(to_ns)],
            )]
        }
        Step::SetMaster { ns, link, master } => vec![match master {
            Some(m) => ip(ns, &["link", "set", link, "master", m]),
            None => ip(ns, &["link", "set", link, "nomaster"]),
        }],
        Step::SetLinkUp { ns, link, up } => {
            vec![ip(
                ns,
                &["link", "set", link, if *up { "up" } else { "down" }],
            )]
        }
        Step::SetMtu { ns, link, mtu } => {
            vec![ip(ns, &["link", "set", link, "mtu", &mtu.to_string()])]
        }
        Step::AddAddress { ns, link, addr } => {
            vec![ip(ns, &["addr", "add", &addr.to_string(), "dev", link])]
        }
        Step::DelAddress { ns, link, addr } => {
            vec![ip(ns, &["addr", "del", &addr.to_string(), "dev", link])]
        }
        Step::AddRoute { ns, route } => vec![route_cmd(ns, "add", route, &[])],
        Step::DelRoute { ns, route } => vec![route_cmd(ns, "del", route, &[])],
        Step::RestoreRoute {
            ns,
            route,
            protocol,
            scope,
            kind,
            prefsrc,
        } => {
            let mut extra = vec![
                "proto".into(),
                protocol.to_string(),
                "scope".into(),
                scope.to_string(),
            ];
            if let Some(src) = prefsrc {
                extra.extend(["src".into(), src.to_string()]);
            }
            let mut argv = route_cmd(ns, "add", route, &extra);
            // RTN_UNICAST is the default; any other type goes before the destination.
            if *kind != 1 {
                let at = argv
                    .iter()
                    .position(|a| a == "add")
                    .map_or(argv.len(), |i| i + 1);
                argv.insert(at, route_type_name(*kind));
            }
            vec![argv]
        }
        Step::SetSysctl {
            ns,
            key,
            value,
            persist: keep,
        } => {
            let mut cmds = vec![in_ns(
                ns,
                &["sysctl", "-w", &format!("{}={value}", sysctl_name(key))],
            )];
            if *keep {
                let path = persist::conf_path(key);
                let content = persist::conf_content(key, value, "");
                return cmds
                    .drain(..)
                    .map(|a| join(&a))
                    .chain([write_file(&path.display().to_string(), &content)])
                    .collect();
            }
            cmds
        }
        Step::WriteFile { path, content, .. } => {
            return vec![match content {
                Some(c) => write_file(path, c),
                None => join(&["rm".into(), "-f".into(), path.clone()]),
            }];
        }
        Step::ReleaseIpamLease { dir, ip, .. } => {
            return vec![join(&[
                "rm".into(),
                "-f".into(),
                super::leases::path(dir, *ip).display().to_string(),
            ])];
        }
        Step::RestoreIpamLease { dir, ip, content } => {
            return vec![write_file(
                &super::leases::path(dir, *ip).display().to_string(),
                content,
            )];
        }
        Step::RestoreSysctlFile { key, content } => {
            let path = persist::conf_path(key).display().to_string();
            return vec![match content {
                Some(c) => write_file(&path, c),
                None => join(&["rm".into(), "-f".into(), path]),
            }];
        }
        Step::AddIptablesRule {
            ns,
            table,
            chain,
            rule,
        } => vec![iptables(ns, table, &["-A".into(), chain.clone()], rule)],
        Step::DelIptablesRule {
            ns,
            table,
            chain,
            rule,
        } => vec![iptables(ns, table, &["-D".into(), chain.clone()], rule)],
        Step::AddIptablesChain { ns, table, chain } => {
            vec![iptables(ns, table, &["-N".into(), chain.clone()], &[])]
        }
        Step::DelIptablesChain { ns, table, chain } => vec![
            iptables(ns, table, &["-F".into(), chain.clone()], &[]),
            iptables(ns, table, &["-X".into(), chain.clone()], &[]),
        ],
        Step::InsertIptablesRule {
            ns,
            table,
            chain,
            position,
            rule,
        } => vec![iptables(
            ns,
            table,
            &["-I".into(), chain.clone(), position.to_string()],
            rule,
        )],
        Step::SetBridgePort { .. }
        | Step::DelNeigh { .. }
        | Step::AddNeigh { .. }
        | Step::DelRule { .. }
        | Step::AddRule { .. } => super::net_steps::argvs(step, &ip, &bridge_in),
        Step::InsertNftRule {
            ns,
            family,
            table,
            chain,
            rule,
        } => {
            let mut argv = in_ns(ns, &["nft", "insert", "rule", family, table, chain]);
            argv.extend(rule.words());
            vec![argv]
        }
        Step::DelNftRule {
            ns,
            family,
            table,
            chain,
            handle,
            ..
        } => vec![in_ns(
            ns,
            &[
                "nft",
                "delete",
                "rule",
                family,
                table,
                chain,
                "handle",
                &handle.to_string(),
            ],
        )],
        Step::RecreateLink { kind, link, peer } => {
            let mut argv = ip(&link.ns, &["link", "add", &link.name]);
            argv.extend(end_args(link));
            argv.extend(["type".into(), kind.clone()]);
            if let Some(p) = peer {
                argv.extend(["peer".into(), "name".into(), p.name.clone()]);
                argv.extend(end_args(p));
                if p.ns != link.ns {
                    argv.extend(["netns".into(), netns_target(&p.ns)]);
                }
            }
            vec![argv]
        }
    };
    argvs.iter().map(|a| join(a)).collect()
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
