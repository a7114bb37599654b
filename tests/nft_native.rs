//! Native nftables tables (not iptables-nft's) in the one evaluator, against the kernel in
//! throwaway worlds: masquerade and DNAT written in nft, a forward chain with policy drop, an
//! input chain dropping one port. `path`, the doctor and its fixes must agree with a real
//! ping or TCP connect. Tables get names iptables never uses (`inet lab`, `ip labnat`).

mod common;

use common::flows::{broken_cause, connect_ok, doctor, listen, path, ping_ok};
use common::plan::private_state;
use common::snap::netlens;
use common::world::{in_world, sh};
use serde_json::Value;

/// Runs one command line of the test's own (split on spaces, no shell).
fn run(line: &str) {
    let argv: Vec<&str> = line.split_whitespace().collect();
    sh(&argv);
}

/// One `nft` command in `ns`, passed as a single argument (nft parses it, no shell).
fn nft(ns: &str, cmd: &str) {
    sh(&["ip", "netns", "exec", ns, "nft", cmd]);
}

/// `a` 10.5.0.2 — (la 10.5.0.1) `r` (lb 10.6.0.1) — `b` 10.6.0.2; `r` forwards, `a` uses it
/// as its default gateway. `b` gets no route back unless `route_back`.
fn router(route_back: bool) {
    for n in ["a", "r", "b"] {
        run(&format!("ip netns add {n}"));
        run(&format!("ip -n {n} link set lo up"));
    }
    for (na, a, addr_a, nb, b, addr_b) in [
        ("a", "eth0", "10.5.0.2/24", "r", "la", "10.5.0.1/24"),
        ("r", "lb", "10.6.0.1/24", "b", "eth0", "10.6.0.2/24"),
    ] {
        run(&format!(
            "ip link add {a} netns {na} type veth peer name {b} netns {nb}"
        ));
        run(&format!("ip -n {na} addr add {addr_a} dev {a}"));
        run(&format!("ip -n {nb} addr add {addr_b} dev {b}"));
        run(&format!("ip -n {na} link set {a} up"));
        run(&format!("ip -n {nb} link set {b} up"));
    }
    run("ip -n a route add default via 10.5.0.1");
    run("ip -n r route add default via 10.6.0.2");
    if route_back {
        run("ip -n b route add 10.5.0.0/24 via 10.6.0.1");
    }
    run("ip netns exec r sysctl -qw net.ipv4.ip_forward=1");
}

/// Findings of `rule` in namespace `ns`.
fn findings<'a>(all: &'a [Value], rule: &str, ns: &str) -> Vec<&'a Value> {
    all.iter()
        .filter(|f| f["rule"] == rule && f["namespace"] == ns)
        .collect()
}

fn ids(all: &[Value]) -> Vec<String> {
    all.iter()
        .map(|f| format!("{} ({})", f["id"].as_str().unwrap_or(""), f["severity"]))
        .collect()
}

/// Masquerade written in nft: one that covers a's subnet makes a's connections work and the
/// doctor quiet; one for another subnet leaves them broken, and the doctor must say so
/// (before: any nft masquerade anywhere kept `no-masquerade` quiet).
#[test]
fn nft_masquerade_is_judged_per_source() {
    in_world("nft_masquerade_is_judged_per_source", || {
        router(false);
        let _l = listen("b", 80);
        let args = ["--from", "a", "10.6.0.2", "--proto", "tcp", "--port", "80"];
        nft("r", "add table ip labnat");
        nft(
            "r",
            "add chain ip labnat post { type nat hook postrouting priority srcnat; }",
        );
        nft(
            "r",
            "add rule ip labnat post oifname \"lb\" ip saddr 10.99.0.0/16 masquerade",
        );
        assert!(!connect_ok("a", "10.6.0.2", 80), "b cannot answer 10.5/24");
        let (code, v) = path(&args);
        assert_eq!(code, 1, "{v:#}");
        let all = doctor();
        assert!(
            !findings(&all, "no-masquerade", "r").is_empty(),
            "an nft masquerade of another subnet: {:?}",
            ids(&all)
        );
        nft(
            "r",
            "add rule ip labnat post oifname \"lb\" ip saddr 10.5.0.0/24 masquerade",
        );
        assert!(connect_ok("a", "10.6.0.2", 80));
        let (code, v) = path(&args);
        assert_eq!(code, 0, "{v:#}");
        let all = doctor();
        assert!(
            findings(&all, "no-masquerade", "r").is_empty(),
            "{:?}",
            ids(&all)
        );
    });
}

/// A port-forward written in nft: b's connection to r's 10.6.0.1:8080 reaches a's :80.
#[test]
fn nft_dnat_port_forward_is_followed() {
    in_world("nft_dnat_port_forward_is_followed", || {
        router(false);
        let _l = listen("a", 80);
        nft("r", "add table ip labnat");
        nft(
            "r",
            "add chain ip labnat pre { type nat hook prerouting priority dstnat; }",
        );
        nft(
            "r",
            "add rule ip labnat pre iifname \"lb\" tcp dport 8080 dnat to 10.5.0.2:80",
        );
        assert!(connect_ok("b", "10.6.0.1", 8080));
        let args = [
            "--from", "b", "10.6.0.1", "--proto", "tcp", "--port", "8080",
        ];
        let (code, v) = path(&args);
        assert_eq!(code, 0, "{v:#}");
        assert!(v.to_string().contains("10.5.0.2"), "DNAT shown: {v:#}");
        // Another port is not forwarded: nobody listens on r.
        assert!(!connect_ok("b", "10.6.0.1", 8081));
        assert_eq!(
            path(&["--from", "b", "10.6.0.1", "--proto", "tcp", "--port", "8081"]).0,
            1
        );
    });
}

/// A Debian-style `inet` forward chain with policy drop cuts a off b; an iptables ACCEPT in
/// FORWARD does not help (the nft chain drops anyway), so the fix must not be one.
#[test]
fn nft_forward_policy_drop() {
    in_world("nft_forward_policy_drop", || {
        let _dir = private_state();
        router(true);
        assert!(ping_ok("a", "10.6.0.2"));
        nft("r", "add table inet lab");
        nft(
            "r",
            "add chain inet lab fwd_c { type filter hook forward priority 0; policy drop; }",
        );
        assert!(!ping_ok("a", "10.6.0.2"));
        let (code, v) = path(&["--from", "a", "10.6.0.2"]);
        assert_eq!(code, 1, "{v:#}");
        let cause = broken_cause(&v);
        assert!(cause.contains("inet lab fwd_c"), "{cause}");
        // The kernel: an iptables ACCEPT in FORWARD does not override the nft chain's drop.
        run("ip netns exec r iptables -I FORWARD -j ACCEPT");
        assert!(!ping_ok("a", "10.6.0.2"), "the nft chain still drops");
        let (code, v) = path(&["--from", "a", "10.6.0.2"]);
        assert_eq!(code, 1, "{v:#}");
        let all = doctor();
        let f = findings(&all, "forward-drop", "r");
        assert!(!f.is_empty(), "{:?}", ids(&all));
        let text = f[0].to_string();
        assert!(text.contains("inet lab fwd_c"), "{text}");
        assert!(
            f[0].get("fix").is_none(),
            "an iptables fix does not open an nft drop: {text}"
        );
        assert!(
            f[0]["fix_rejected"]
                .as_str()
                .unwrap_or("")
                .contains("nftables"),
            "{text}"
        );
        // `fix` refuses, saying why, instead of an iptables rule nft would override.
        let out = netlens(&["fix", "forward-drop:r", "--dry-run"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("no automatic fix") && err.contains("nftables"),
            "{err}"
        );
        // Accepting in the nft chain itself opens the path, and the doctor agrees.
        nft("r", "add rule inet lab fwd_c iifname \"la\" accept");
        nft(
            "r",
            "add rule inet lab fwd_c ct state established,related accept",
        );
        assert!(ping_ok("a", "10.6.0.2"));
        let (code, v) = path(&["--from", "a", "10.6.0.2"]);
        assert_eq!(code, 0, "{v:#}");
        // b's own connections to a's subnet (b routes it via r) are still dropped.
        assert!(!ping_ok("b", "10.5.0.2"));
        assert_eq!(path(&["--from", "b", "10.5.0.2"]).0, 1);
        let all = doctor();
        assert!(
            !findings(&all, "forward-drop", "r").is_empty(),
            "{:?}",
            ids(&all)
        );
        nft("r", "add rule inet lab fwd_c iifname \"lb\" accept");
        assert!(ping_ok("b", "10.5.0.2"));
        assert_eq!(path(&["--from", "b", "10.5.0.2"]).0, 0);
        let all = doctor();
        assert!(
            findings(&all, "forward-drop", "r").is_empty(),
            "{:?}",
            ids(&all)
        );
    });
}

/// An nft forward chain that drops traffic to one host beyond r's uplink (`ip daddr
/// 10.7.0.9 drop`): forward-drop judges the flow out of the uplink with a stand-in address,
/// so the host the rule names is judged as well, and path agrees with the kernel.
#[test]
fn nft_drop_aimed_at_one_host_is_found() {
    in_world("nft_drop_aimed_at_one_host_is_found", || {
        let _dir = private_state();
        router(true);
        run("ip -n b addr add 10.7.0.9/32 dev lo");
        assert!(ping_ok("a", "10.7.0.9"));
        nft("r", "add table inet lab");
        nft(
            "r",
            "add chain inet lab fwd_c { type filter hook forward priority 0; }",
        );
        nft("r", "add rule inet lab fwd_c ip daddr 10.7.0.9 drop");
        assert!(!ping_ok("a", "10.7.0.9"), "the kernel drops it");
        assert!(ping_ok("a", "10.6.0.2"), "the rest passes");
        assert_eq!(path(&["--from", "a", "10.7.0.9"]).0, 1);
        let all = doctor();
        let f = findings(&all, "forward-drop", "r");
        assert_eq!(f.len(), 1, "{:?}", ids(&all));
        let text = f[0]["explanation"].as_str().unwrap_or("");
        assert!(
            text.contains("10.7.0.9") && text.contains("inet lab fwd_c"),
            "{text}"
        );
    });
}

/// An nft input chain dropping tcp/22 on b: 22 times out, 80 answers; `path` and the
/// doctor's `input-drop` say the same, naming the nft rule.
#[test]
fn nft_input_drop_of_a_port() {
    in_world("nft_input_drop_of_a_port", || {
        router(true);
        let _l80 = listen("b", 80);
        let _l22 = listen("b", 22);
        nft("b", "add table inet lab");
        nft(
            "b",
            "add chain inet lab in_c { type filter hook input priority 0; }",
        );
        nft("b", "add rule inet lab in_c tcp dport 22 drop");
        assert!(connect_ok("a", "10.6.0.2", 80));
        assert!(!connect_ok("a", "10.6.0.2", 22));
        let p80 = path(&["--from", "a", "10.6.0.2", "--proto", "tcp", "--port", "80"]);
        assert_eq!(p80.0, 0, "{:#}", p80.1);
        let (code, v) = path(&["--from", "a", "10.6.0.2", "--proto", "tcp", "--port", "22"]);
        assert_eq!(code, 1, "{v:#}");
        assert!(broken_cause(&v).contains("inet lab in_c"), "{v:#}");
        let all = doctor();
        let f = findings(&all, "input-drop", "b");
        let f22 = f
            .iter()
            .find(|f| f["id"] == "input-drop:b:tcp/22")
            .unwrap_or_else(|| panic!("{:?}", ids(&all)));
        // No iptables fix for an nft drop: it would not open the port.
        assert!(f22.get("fix").is_none(), "{f22:#}");
        assert!(
            f22["fix_rejected"]
                .as_str()
                .unwrap_or("")
                .contains("nftables"),
            "{f22:#}"
        );
        assert!(
            f.iter().all(|f| f["id"] != "input-drop:b:tcp/80"),
            "{:?}",
            ids(&all)
        );
    });
}
