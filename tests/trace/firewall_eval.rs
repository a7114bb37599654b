//! The one iptables evaluator (`firewall::eval`) against the kernel, in throwaway worlds: the
//! doctor's masquerade and FORWARD rules, `path`'s verdicts and the `forward-drop` fix on
//! rules the lab never writes — netavark's mark-gated host-port masquerade, CNI's
//! per-container chains, a switch namespace whose bridge sends frames through iptables, a raw
//! table DROP, a DNAT hairpin. Every verdict is checked against a real ping or TCP connect.

use crate::common;

use std::process::{Command, Stdio};

use common::flows::{broken_cause, connect_ok, doctor, listen, path, ping_ok, Listener};
use common::plan::private_state;
use common::world::{in_world, netlens_bin, sh, try_sh};
use serde_json::Value;

/// Runs one command line of the test's own (split on spaces, no shell).
fn run(line: &str) {
    let argv: Vec<&str> = line.split_whitespace().collect();
    sh(&argv);
}

/// Namespaces, each with `lo` up.
fn netns(names: &[&str]) {
    for n in names {
        run(&format!("ip netns add {n}"));
        run(&format!("ip -n {n} link set lo up"));
    }
}

/// A veth `a` in `na` with `addr_a` ⇄ `b` in `nb` with `addr_b` (`-` for none), both up.
fn veth(na: &str, a: &str, addr_a: &str, nb: &str, b: &str, addr_b: &str) {
    run(&format!(
        "ip link add {a} netns {na} type veth peer name {b} netns {nb}"
    ));
    for (n, l, addr) in [(na, a, addr_a), (nb, b, addr_b)] {
        if addr != "-" {
            run(&format!("ip -n {n} addr add {addr} dev {l}"));
        }
        run(&format!("ip -n {n} link set {l} up"));
    }
}

fn ipt(ns: &str, rule: &str) {
    run(&format!("ip netns exec {ns} iptables {rule}"));
}

fn find<'a>(all: &'a [Value], id: &str) -> Option<&'a Value> {
    all.iter().find(|f| f["id"] == id)
}

fn ids(all: &[Value]) -> Vec<String> {
    all.iter()
        .map(|f| format!("{} ({})", f["id"].as_str().unwrap_or(""), f["severity"]))
        .collect()
}

fn cli(args: &[&str]) -> String {
    let out = Command::new(netlens_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("netlens");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "netlens {args:?}: {text}");
    text
}

/// A container host `gw`: containers `c1` 10.88.0.2 and `c2` 10.88.0.3 on bridge `podman0`
/// (10.88.0.1/16), an uplink to `inet` (198.18.0.9, no route back to 10.88/16: without
/// NAT a container's connection is never answered), a listener on inet's port 80.
fn container_host() -> Listener {
    netns(&["gw", "c1", "c2", "inet"]);
    run("ip -n gw link add podman0 type bridge");
    run("ip -n gw addr add 10.88.0.1/16 dev podman0");
    run("ip -n gw link set podman0 up");
    for (c, ip, port) in [
        ("c1", "10.88.0.2/16", "veth1"),
        ("c2", "10.88.0.3/16", "veth2"),
    ] {
        veth(c, "eth0", ip, "gw", port, "-");
        run(&format!("ip -n gw link set {port} master podman0"));
        run(&format!("ip -n {c} route add default via 10.88.0.1"));
    }
    veth(
        "gw",
        "up0",
        "198.18.0.1/24",
        "inet",
        "eth0",
        "198.18.0.9/24",
    );
    run("ip -n gw route add default via 198.18.0.9");
    run("ip netns exec gw sysctl -qw net.ipv4.ip_forward=1");
    // Bridged frames between the containers skip iptables, as on a host without br_netfilter.
    let _ = try_sh(&[
        "ip",
        "netns",
        "exec",
        "gw",
        "sysctl",
        "-qw",
        "net.bridge.bridge-nf-call-iptables=0",
    ]);
    listen("inet", 80)
}

/// netavark's rules for one network with a port-forward: the network's own chain
/// masquerades outbound traffic; NETAVARK-HOSTPORT-MASQ masquerades only packets marked
/// 0x2000 by a port-forward.
fn netavark_rules() {
    for c in [
        "NETAVARK-1D8721804F16F",
        "NETAVARK-HOSTPORT-DNAT",
        "NETAVARK-HOSTPORT-MASQ",
        "NETAVARK-HOSTPORT-SETMARK",
        "NETAVARK-DN-1D8721804F16F",
    ] {
        ipt("gw", &format!("-t nat -N {c}"));
    }
    for r in [
        "-A PREROUTING -m addrtype --dst-type LOCAL -j NETAVARK-HOSTPORT-DNAT",
        "-A POSTROUTING -j NETAVARK-HOSTPORT-MASQ",
        "-A POSTROUTING -s 10.88.0.0/16 -j NETAVARK-1D8721804F16F",
        "-A NETAVARK-1D8721804F16F -d 10.88.0.0/16 -j ACCEPT",
        "-A NETAVARK-1D8721804F16F ! -d 224.0.0.0/4 -j MASQUERADE",
        "-A NETAVARK-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
        "-A NETAVARK-HOSTPORT-SETMARK -j MARK --set-xmark 0x2000/0x2000",
        "-A NETAVARK-DN-1D8721804F16F -s 10.88.0.0/16 -p tcp --dport 8080 -j NETAVARK-HOSTPORT-SETMARK",
        "-A NETAVARK-DN-1D8721804F16F -p tcp --dport 8080 -j DNAT --to-destination 10.88.0.2:80",
        "-A NETAVARK-HOSTPORT-DNAT -p tcp --dport 8080 -j NETAVARK-DN-1D8721804F16F",
    ] {
        ipt("gw", &format!("-t nat {r}"));
    }
}

#[test]
fn netavark_mark_gated_masquerade_is_not_outbound_nat() {
    in_world(
        "firewall_eval::netavark_mark_gated_masquerade_is_not_outbound_nat",
        || {
            let _inet = container_host();
            netavark_rules();
            assert!(
                connect_ok("c1", "198.18.0.9", 80),
                "healthy: c1 reaches inet"
            );
            let all = doctor();
            assert!(
                !all.iter().any(|f| f["rule"] == "no-masquerade"),
                "healthy: {:?}",
                ids(&all)
            );
            let args = [
                "--from",
                "c1",
                "198.18.0.9",
                "--proto",
                "tcp",
                "--port",
                "80",
            ];
            assert_eq!(path(&args).0, 0, "{:#}", path(&args).1);
            // The network's MASQUERADE deleted: only the mark-gated host-port rule is left.
            ipt(
                "gw",
                "-t nat -D NETAVARK-1D8721804F16F ! -d 224.0.0.0/4 -j MASQUERADE",
            );
            assert!(
                !connect_ok("c1", "198.18.0.9", 80),
                "without NAT inet cannot answer"
            );
            let all = doctor();
            let f = find(&all, "no-masquerade:gw:10.88.0.0/16")
                .unwrap_or_else(|| panic!("no-masquerade missed: {:?}", ids(&all)));
            assert_eq!(f["severity"], "error", "{f:#}");
            let (code, v) = path(&args);
            assert_eq!(code, 1, "path must break as the connect did: {v:#}");
        },
    );
}

/// CNI gives each container its own masquerade chain, jumped to by its address; one
/// deleted leaves that container alone without NAT.
#[test]
fn cni_per_container_chain_deleted() {
    in_world("firewall_eval::cni_per_container_chain_deleted", || {
        let _dir = private_state();
        let _inet = container_host();
        for (id, ip) in [("CNI-aaa111", "10.88.0.2"), ("CNI-bbb222", "10.88.0.3")] {
            ipt("gw", &format!("-t nat -N {id}"));
            ipt(
                "gw",
                &format!("-t nat -A POSTROUTING -s {ip} -m comment --comment name:podman -j {id}"),
            );
            ipt("gw", &format!("-t nat -A {id} -d 10.88.0.0/16 -j ACCEPT"));
            ipt(
                "gw",
                &format!("-t nat -A {id} ! -d 224.0.0.0/4 -j MASQUERADE"),
            );
        }
        assert!(connect_ok("c2", "198.18.0.9", 80), "healthy c2");
        ipt(
            "gw",
            "-t nat -D POSTROUTING -s 10.88.0.3 -m comment --comment name:podman -j CNI-bbb222",
        );
        assert!(connect_ok("c1", "198.18.0.9", 80), "c1 keeps its NAT");
        assert!(!connect_ok("c2", "198.18.0.9", 80), "c2 lost its NAT");
        let all = doctor();
        let nm: Vec<&Value> = all
            .iter()
            .filter(|f| f["rule"] == "no-masquerade")
            .collect();
        assert_eq!(nm.len(), 1, "{:?}", ids(&all));
        assert_eq!(nm[0]["id"], "no-masquerade:gw:10.88.0.3", "{:#}", nm[0]);
        assert_eq!(nm[0]["severity"], "error");
        let args = [
            "--from",
            "c2",
            "198.18.0.9",
            "--proto",
            "tcp",
            "--port",
            "80",
        ];
        assert_eq!(path(&args).0, 1);
        assert_eq!(
            path(&[
                "--from",
                "c1",
                "198.18.0.9",
                "--proto",
                "tcp",
                "--port",
                "80"
            ])
            .0,
            0
        );
        cli(&["fix", "no-masquerade:gw:10.88.0.3", "--yes"]);
        assert!(
            connect_ok("c2", "198.18.0.9", 80),
            "the fix gives c2 its NAT back"
        );
        assert_eq!(path(&args).0, 0);
        cli(&["undo", "--yes"]);
        assert!(
            !connect_ok("c2", "198.18.0.9", 80),
            "undo takes it away again"
        );
    });
}

/// Router `r` port-forwards its 10.1.0.1:8080 (on `wan0`, towards `up`) to `c` 10.2.0.2:80;
/// then its FORWARD policy becomes DROP. The fix must open what `path` found dropped: a new
/// connection coming in from `up`, which uses `r` as no gateway, and its replies.
#[test]
fn forward_drop_fix_opens_the_dropped_flow() {
    in_world(
        "firewall_eval::forward_drop_fix_opens_the_dropped_flow",
        || {
            let _dir = private_state();
            netns(&["up", "r", "c"]);
            veth("up", "eth0", "10.1.0.2/24", "r", "wan0", "10.1.0.1/24");
            veth("r", "lan0", "10.2.0.1/24", "c", "eth0", "10.2.0.2/24");
            run("ip -n r route add default via 10.1.0.2");
            run("ip -n c route add default via 10.2.0.1");
            run("ip netns exec r sysctl -qw net.ipv4.ip_forward=1");
            ipt("r", "-t nat -A PREROUTING -i wan0 -d 10.1.0.1 -p tcp --dport 8080 -j DNAT --to-destination 10.2.0.2:80");
            let _l = listen("c", 80);
            let args = [
                "--from", "up", "10.1.0.1", "--proto", "tcp", "--port", "8080",
            ];
            assert!(connect_ok("up", "10.1.0.1", 8080));
            assert_eq!(path(&args).0, 0, "{:#}", path(&args).1);
            ipt("r", "-P FORWARD DROP");
            assert!(!connect_ok("up", "10.1.0.1", 8080));
            let (code, v) = path(&args);
            assert_eq!(code, 1, "{v:#}");
            assert!(broken_cause(&v).contains("FORWARD"), "{v:#}");
            let all = doctor();
            let f = find(&all, "forward-drop:r").unwrap_or_else(|| panic!("{:?}", ids(&all)));
            let text = f.to_string();
            assert!(!text.contains("subnet it serves"), "{text}");
            cli(&["fix", "forward-drop:r", "--yes"]);
            assert!(
                connect_ok("up", "10.1.0.1", 8080),
                "the fix opens the port-forward"
            );
            let (code, v) = path(&args);
            assert_eq!(code, 0, "after the fix: {v:#}");
            cli(&["undo", "--yes"]);
            assert!(
                !connect_ok("up", "10.1.0.1", 8080),
                "undo brings the drop back"
            );
            assert_eq!(path(&args).0, 1);
        },
    );
}

/// Router `r` reaches `h` behind router `r1` over `t1`, but `r1` answers over another link
/// (`a1`): routed replies come back in on another interface, and `h`'s own connections
/// arrive from `r1` with addresses beyond the link between them. The forward-drop fix must
/// open both directions (oracle seed 5).
#[test]
fn forward_drop_fix_opens_asymmetric_and_routed_flows() {
    in_world(
        "firewall_eval::forward_drop_fix_opens_asymmetric_and_routed_flows",
        || {
            let _dir = private_state();
            netns(&["a", "r", "r1", "h"]);
            veth("a", "eth0", "10.5.0.2/24", "r", "la", "10.5.0.1/24");
            veth("r", "t1", "10.7.255.1/30", "r1", "up0", "10.7.255.2/30");
            veth("r", "a1", "10.7.254.1/30", "r1", "up1", "10.7.254.2/30");
            veth("r1", "lh", "10.7.0.1/24", "h", "eth0", "10.7.0.2/24");
            run("ip -n a route add default via 10.5.0.1");
            run("ip -n h route add default via 10.7.0.1");
            run("ip -n r route add 10.7.0.0/24 via 10.7.255.2");
            run("ip -n r1 route add default via 10.7.254.1");
            run("ip netns exec r sysctl -qw net.ipv4.ip_forward=1");
            run("ip netns exec r1 sysctl -qw net.ipv4.ip_forward=1");
            assert!(ping_ok("a", "10.7.0.2") && ping_ok("h", "10.5.0.2"));
            ipt("r", "-P FORWARD DROP");
            assert!(!ping_ok("a", "10.7.0.2") && !ping_ok("h", "10.5.0.2"));
            let all = doctor();
            assert!(find(&all, "forward-drop:r").is_some(), "{:?}", ids(&all));
            cli(&["fix", "forward-drop:r", "--yes"]);
            assert!(ping_ok("a", "10.7.0.2"), "replies coming back in on a1");
            assert!(ping_ok("h", "10.5.0.2"), "h's own traffic, forwarded by r1");
            let all = doctor();
            assert!(find(&all, "forward-drop:r").is_none(), "{:?}", ids(&all));
        },
    );
}

/// A switch namespace: with br_netfilter and bridge-nf-call-iptables=1 there, frames bridged
/// between two ports pass its FORWARD chain, and a policy DROP cuts the hosts apart.
#[test]
fn bridge_nf_forward_drop_in_a_switch_namespace() {
    in_world(
        "firewall_eval::bridge_nf_forward_drop_in_a_switch_namespace",
        || {
            netns(&["sw", "h1", "h2"]);
            run("ip -n sw link add br0 type bridge");
            run("ip -n sw link set br0 up");
            veth("h1", "eth0", "10.3.0.1/24", "sw", "p1", "-");
            veth("h2", "eth0", "10.3.0.2/24", "sw", "p2", "-");
            run("ip -n sw link set p1 master br0");
            run("ip -n sw link set p2 master br0");
            let nf = "/proc/sys/net/bridge/bridge-nf-call-iptables";
            let have = try_sh(&["ip", "netns", "exec", "sw", "cat", nf]);
            assert!(
                have.status.success(),
                "br_netfilter is not loaded here (modprobe br_netfilter): {}",
                String::from_utf8_lossy(&have.stderr)
            );
            run("ip netns exec sw sysctl -qw net.bridge.bridge-nf-call-iptables=1");
            assert!(ping_ok("h1", "10.3.0.2"));
            assert_eq!(path(&["--from", "h1", "10.3.0.2"]).0, 0);
            ipt("sw", "-P FORWARD DROP");
            assert!(
                !ping_ok("h1", "10.3.0.2"),
                "the kernel drops bridged frames in FORWARD"
            );
            let (code, v) = path(&["--from", "h1", "10.3.0.2"]);
            assert_eq!(code, 1, "{v:#}");
            let cause = broken_cause(&v);
            assert!(cause.contains("sw") && cause.contains("FORWARD"), "{cause}");
            let all = doctor();
            assert!(find(&all, "forward-drop:sw").is_some(), "{:?}", ids(&all));
            // Bridged frames skip iptables again: path and ping agree.
            run("ip netns exec sw sysctl -qw net.bridge.bridge-nf-call-iptables=0");
            assert!(ping_ok("h1", "10.3.0.2"));
            assert_eq!(path(&["--from", "h1", "10.3.0.2"]).0, 0);
        },
    );
}

/// A DROP in the raw table stops the packet before conntrack and filter.
#[test]
fn raw_table_drop_is_evaluated() {
    in_world("firewall_eval::raw_table_drop_is_evaluated", || {
        netns(&["a", "r", "b"]);
        veth("a", "eth0", "10.5.0.2/24", "r", "la", "10.5.0.1/24");
        veth("r", "lb", "10.6.0.1/24", "b", "eth0", "10.6.0.2/24");
        run("ip -n a route add default via 10.5.0.1");
        run("ip -n b route add default via 10.6.0.1");
        run("ip netns exec r sysctl -qw net.ipv4.ip_forward=1");
        assert!(ping_ok("a", "10.6.0.2"));
        assert_eq!(path(&["--from", "a", "10.6.0.2"]).0, 0);
        ipt("r", "-t raw -A PREROUTING -s 10.5.0.2 -j DROP");
        assert!(!ping_ok("a", "10.6.0.2"));
        let (code, v) = path(&["--from", "a", "10.6.0.2"]);
        assert_eq!(code, 1, "{v:#}");
        assert!(broken_cause(&v).contains("raw PREROUTING"), "{v:#}");
        ipt("r", "-t mangle -A FORWARD -s 10.6.0.2 -j DROP");
        ipt("r", "-t raw -F");
        assert!(!ping_ok("a", "10.6.0.2"), "the reply is dropped in mangle");
        let (code, v) = path(&["--from", "a", "10.6.0.2"]);
        assert_eq!(code, 1, "{v:#}");
        assert!(broken_cause(&v).contains("mangle FORWARD"), "{v:#}");
    });
}

/// DNAT hairpin: client `k` and server `s` share the bridge of router `r`, which forwards
/// its 10.4.0.1:8080 to s:80. Without a hairpin SNAT the reply comes straight from s's own
/// address and k resets it; with one, it goes back through r and works.
#[test]
fn dnat_hairpin_without_snat_is_broken() {
    in_world("firewall_eval::dnat_hairpin_without_snat_is_broken", || {
        netns(&["r", "s", "k"]);
        run("ip -n r link add br0 type bridge");
        run("ip -n r addr add 10.4.0.1/24 dev br0");
        run("ip -n r link set br0 up");
        veth("s", "eth0", "10.4.0.2/24", "r", "ps", "-");
        veth("k", "eth0", "10.4.0.3/24", "r", "pk", "-");
        run("ip -n r link set ps master br0");
        run("ip -n r link set pk master br0");
        run("ip -n s route add default via 10.4.0.1");
        run("ip -n k route add default via 10.4.0.1");
        run("ip netns exec r sysctl -qw net.ipv4.ip_forward=1");
        // Bridged replies must not pass r's conntrack (that would un-DNAT them).
        let _ = try_sh(&[
            "ip",
            "netns",
            "exec",
            "r",
            "sysctl",
            "-qw",
            "net.bridge.bridge-nf-call-iptables=0",
        ]);
        ipt("r", "-t nat -A PREROUTING -d 10.4.0.1 -p tcp --dport 8080 -j DNAT --to-destination 10.4.0.2:80");
        let _l = listen("s", 80);
        // Not a hairpin: k's own OUTPUT DNAT (a service address) is undone by k's conntrack.
        ipt(
            "k",
            "-t nat -A OUTPUT -d 10.96.0.10 -p tcp --dport 80 -j DNAT --to-destination 10.4.0.2:80",
        );
        assert!(
            connect_ok("k", "10.96.0.10", 80),
            "the kernel: OUTPUT DNAT works"
        );
        let svc = [
            "--from",
            "k",
            "10.96.0.10",
            "--proto",
            "tcp",
            "--port",
            "80",
        ];
        let (code, v) = path(&svc);
        assert_eq!(code, 0, "{v:#}");
        let args = [
            "--from", "k", "10.4.0.1", "--proto", "tcp", "--port", "8080",
        ];
        assert!(
            !connect_ok("k", "10.4.0.1", 8080),
            "the kernel: hairpin without SNAT fails"
        );
        let (code, v) = path(&args);
        assert_eq!(code, 1, "{v:#}");
        assert!(broken_cause(&v).contains("straight from 10.4.0.2"), "{v:#}");
        // With bridge-nf-call-iptables=1 in r the bridged reply passes r's conntrack, which
        // un-DNATs it on the bridge: no hairpin (oracle seed 40).
        let bnf = |v: u8| {
            let set = format!("net.bridge.bridge-nf-call-iptables={v}");
            try_sh(&["ip", "netns", "exec", "r", "sysctl", "-qw", &set])
        };
        if bnf(1).status.success() {
            assert!(
                connect_ok("k", "10.4.0.1", 8080),
                "the kernel: a bridged reply through r's conntrack is un-DNATed"
            );
            let (code, v) = path(&args);
            assert_eq!(code, 0, "bridge-nf on: {v:#}");
            bnf(0);
            assert!(!connect_ok("k", "10.4.0.1", 8080));
        }
        ipt(
            "r",
            "-t nat -A POSTROUTING -s 10.4.0.0/24 -d 10.4.0.2 -p tcp --dport 80 -j MASQUERADE",
        );
        assert!(
            connect_ok("k", "10.4.0.1", 8080),
            "with the hairpin SNAT it works"
        );
        let (code, v) = path(&args);
        assert_eq!(code, 0, "{v:#}");
    });
}
