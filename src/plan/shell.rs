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
mod tests {
    use super::*;

    fn one(step: Step) -> String {
        let c = commands(&step);
        assert_eq!(c.len(), 1, "{c:?}");
        c[0].clone()
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("eth0"), "eth0");
        assert_eq!(quote("10.0.0.1/24"), "10.0.0.1/24");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote("$(reboot)"), "'$(reboot)'");
        assert_eq!(quote("a;b"), "'a;b'");
        assert_eq!(quote("e\u{1b}[2J"), r"$'e\x1b[2J'");
        assert_eq!(quote("it's\n\\"), r"$'it\'s\n\\'");
        assert_eq!(quote("b\u{202e}r\u{9b}"), r"$'b\u202er\u009b'");
    }

    /// What bash makes of a quoted word is the word itself, and the quoted form is inert.
    #[test]
    fn ansi_c_quoting_round_trips_through_bash() {
        if std::process::Command::new("bash")
            .arg("-c")
            .arg("true")
            .status()
            .is_err()
        {
            return;
        }
        let words = [
            "e\u{1b}[2J",
            "x\u{1b}[31mred\nline\u{202e}",
            "it's a \\ \"q\"\t\r\u{7f}\u{85}",
            "plain",
            "$(reboot)",
        ];
        for w in words {
            let q = quote(w);
            assert!(!q.chars().any(crate::text::escape::is_unsafe_char), "{q}");
            let out = std::process::Command::new("bash")
                .arg("-c")
                .arg(format!("printf '%s' {q}"))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), w, "{q}");
        }
    }

    #[test]
    fn namespaces_pick_the_right_wrapper() {
        let up = |ns: &str| {
            one(Step::SetLinkUp {
                ns: ns.into(),
                link: "eth0".into(),
                up: true,
            })
        };
        assert_eq!(up("host"), "ip link set eth0 up");
        assert_eq!(up("red"), "ip -n red link set eth0 up");
        assert_eq!(up("pid:42"), "nsenter -t 42 -n ip link set eth0 up");
        assert_eq!(
            up("docker:abc"),
            "nsenter --net=/var/run/docker/netns/abc ip link set eth0 up"
        );
    }

    #[test]
    fn links() {
        assert_eq!(
            one(Step::AddVeth {
                ns: "host".into(),
                name: "veth0".into(),
                peer_ns: "red".into(),
                peer: "eth0".into()
            }),
            "ip link add veth0 type veth peer name eth0 netns red"
        );
        assert_eq!(
            one(Step::AddVeth {
                ns: "red".into(),
                name: "a".into(),
                peer_ns: "red".into(),
                peer: "b".into()
            }),
            "ip -n red link add a type veth peer name b"
        );
        assert_eq!(
            one(Step::MoveLink {
                ns: "red".into(),
                name: "a".into(),
                to_ns: "host".into()
            }),
            "ip -n red link set a netns 1"
        );
        assert_eq!(
            one(Step::SetMaster {
                ns: "red".into(),
                link: "a".into(),
                master: None
            }),
            "ip -n red link set a nomaster"
        );
        let end = |ns: &str, name: &str, index| LinkEnd {
            ns: ns.into(),
            name: name.into(),
            index,
            mac: "02:00:00:00:00:01".into(),
            mtu: 1500,
            up: false,
        };
        assert_eq!(
            one(Step::RecreateLink {
                kind: "veth".into(),
                link: end("host", "v0", 7),
                peer: Some(end("blue", "eth0", 2)),
            }),
            "ip link add v0 index 7 address 02:00:00:00:00:01 mtu 1500 type veth peer name eth0 \
             index 2 address 02:00:00:00:00:01 mtu 1500 netns blue"
        );
    }

    #[test]
    fn addresses_and_routes() {
        assert_eq!(
            one(Step::AddAddress {
                ns: "red".into(),
                link: "eth0".into(),
                addr: "10.0.0.2/24".parse().unwrap()
            }),
            "ip -n red addr add 10.0.0.2/24 dev eth0"
        );
        let route = RouteSpec {
            dst: "0.0.0.0/0".parse().unwrap(),
            via: Some("10.0.0.1".parse().unwrap()),
            dev: Some("eth0".into()),
            table: None,
            metric: Some(10),
        };
        assert_eq!(
            one(Step::AddRoute {
                ns: "host".into(),
                route: route.clone()
            }),
            "ip route add default via 10.0.0.1 dev eth0 metric 10"
        );
        let v6 = RouteSpec {
            dst: "fd00::/64".parse().unwrap(),
            via: None,
            dev: Some("eth0".into()),
            table: Some(100),
            metric: None,
        };
        assert_eq!(
            one(Step::DelRoute {
                ns: "red".into(),
                route: v6.clone()
            }),
            "ip -n red -6 route del fd00::/64 dev eth0 table 100"
        );
        assert_eq!(
            one(Step::RestoreRoute {
                ns: "red".into(),
                route: v6,
                protocol: 4,
                scope: 253,
                kind: 6,
                prefsrc: None
            }),
            "ip -n red -6 route add blackhole fd00::/64 dev eth0 table 100 proto 4 scope 253"
        );
    }

    #[test]
    fn sysctls_and_rules() {
        assert_eq!(
            one(Step::SetSysctl {
                ns: "red".into(),
                key: "net/ipv4/ip_forward".into(),
                value: "1".into(),
                persist: false
            }),
            "ip netns exec red sysctl -w net.ipv4.ip_forward=1"
        );
        assert_eq!(
            one(Step::SetSysctl {
                ns: "host".into(),
                key: "net/ipv4/conf/eth0.100/rp_filter".into(),
                value: "2".into(),
                persist: false
            }),
            "sysctl -w net/ipv4/conf/eth0.100/rp_filter=2"
        );
        let persisted = commands(&Step::SetSysctl {
            ns: "host".into(),
            key: "net/ipv4/ip_forward".into(),
            value: "1".into(),
            persist: true,
        });
        assert_eq!(persisted.len(), 2);
        assert!(
            persisted[1].ends_with("> /etc/sysctl.d/90-netlens-net.ipv4.ip_forward.conf")
                || persisted[1].contains("90-netlens-net.ipv4.ip_forward.conf"),
            "{persisted:?}"
        );
        assert_eq!(
            one(Step::AddIptablesRule {
                ns: "pid:7".into(),
                table: "nat".into(),
                chain: "POSTROUTING".into(),
                rule: vec![
                    "-s".into(),
                    "10.0.0.0/24".into(),
                    "-m".into(),
                    "comment".into(),
                    "--comment".into(),
                    "netlens: masquerade pods".into(),
                    "-j".into(),
                    "MASQUERADE".into()
                ]
            }),
            "nsenter -t 7 -n iptables -w -t nat -A POSTROUTING -s 10.0.0.0/24 -m comment \
             --comment 'netlens: masquerade pods' -j MASQUERADE"
        );
        assert_eq!(
            one(Step::InsertIptablesRule {
                ns: "host".into(),
                table: "filter".into(),
                chain: "FORWARD".into(),
                position: 3,
                rule: vec!["-j".into(), "ACCEPT".into()]
            }),
            "iptables -w -t filter -I FORWARD 3 -j ACCEPT"
        );
    }

    #[test]
    fn files() {
        assert_eq!(
            one(Step::WriteFile {
                ns: "red".into(),
                path: "/etc/netns/red/nsswitch.conf".into(),
                content: Some("hosts: files dns\n".into()),
            }),
            "printf '%s' $'hosts: files dns\\n' > /etc/netns/red/nsswitch.conf"
        );
        assert_eq!(
            one(Step::WriteFile {
                ns: "red".into(),
                path: "/etc/netns/red/hosts".into(),
                content: None,
            }),
            "rm -f /etc/netns/red/hosts"
        );
    }

    #[test]
    fn ipam_leases() {
        assert_eq!(
            one(Step::ReleaseIpamLease {
                dir: "/var/lib/cni/networks/cbr0".into(),
                ip: "10.244.1.7".parse().unwrap(),
                container_id: Some("abc".into()),
            }),
            "rm -f /var/lib/cni/networks/cbr0/10.244.1.7"
        );
        assert_eq!(
            one(Step::RestoreIpamLease {
                dir: "/var/lib/cni/networks/cbr0".into(),
                ip: "10.244.1.7".parse().unwrap(),
                content: "abc\r\neth0".into(),
            }),
            "printf '%s' $'abc\\r\\neth0' > /var/lib/cni/networks/cbr0/10.244.1.7"
        );
    }
}
