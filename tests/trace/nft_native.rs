//! Native nftables tables (not iptables-nft's) in the one evaluator, against the kernel in
//! throwaway worlds: masquerade and DNAT written in nft, a forward chain with policy drop, an
//! input chain dropping one port. `path`, the doctor and its fixes must agree with a real
//! ping or TCP connect. Tables get names iptables never uses (`inet lab`, `ip labnat`).

use crate::common;

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
    in_world("nft_native::nft_masquerade_is_judged_per_source", || {
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
    in_world("nft_native::nft_dnat_port_forward_is_followed", || {
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

/// A native nft forward chain with policy drop on r: a ping and a connect from a to b fail;
/// an iptables ACCEPT in FORWARD does not help (the kernel: the nft chain drops anyway).
/// The doctor's `forward-drop` fix inserts accepts in that nft chain: after `fix --yes` the
/// kernel forwards both ways, and `undo --yes` brings the drop back.
#[test]
fn nft_forward_policy_drop() {
    in_world("nft_native::nft_forward_policy_drop", || {
        let _dir = private_state();
        router(true);
        let _l = listen("b", 8080);
        assert!(ping_ok("a", "10.6.0.2"));
        nft("r", "add table inet lab");
        nft(
            "r",
            "add chain inet lab fwd_c { type filter hook forward priority 0; policy drop; }",
        );
        assert!(!ping_ok("a", "10.6.0.2"));
        assert!(!connect_ok("a", "10.6.0.2", 8080));
        let (code, v) = path(&["--from", "a", "10.6.0.2"]);
        assert_eq!(code, 1, "{v:#}");
        let cause = broken_cause(&v);
        assert!(cause.contains("inet lab fwd_c"), "{cause}");
        // The kernel: an iptables ACCEPT in FORWARD does not override the nft chain's drop.
        run("ip netns exec r iptables -I FORWARD -j ACCEPT");
        assert!(!ping_ok("a", "10.6.0.2"), "the nft chain still drops");
        run("ip netns exec r iptables -D FORWARD -j ACCEPT");
        let all = doctor();
        let f = findings(&all, "forward-drop", "r");
        assert!(!f.is_empty(), "{:?}", ids(&all));
        let text = f[0].to_string();
        assert!(text.contains("inet lab fwd_c"), "{text}");
        assert!(f[0].get("fix").is_some(), "{text}");
        // The preview is the nft command that does it.
        let out = netlens(&["fix", "forward-drop:r", "--dry-run"]);
        let shown = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{shown}");
        assert!(shown.contains("nft insert rule inet lab fwd_c"), "{shown}");
        netlens_ok(&["fix", "forward-drop:r", "--yes"]);
        assert!(ping_ok("a", "10.6.0.2"), "the fix opens a → b");
        assert!(connect_ok("a", "10.6.0.2", 8080));
        assert!(ping_ok("b", "10.5.0.2"), "and b → a");
        assert_eq!(path(&["--from", "a", "10.6.0.2"]).0, 0);
        let all = doctor();
        assert!(
            findings(&all, "forward-drop", "r").is_empty(),
            "{:?}",
            ids(&all)
        );
        netlens_ok(&["undo", "--yes"]);
        assert!(!ping_ok("a", "10.6.0.2"), "undo brings the drop back");
        assert!(!connect_ok("a", "10.6.0.2", 8080));
        let listed = sh(&[
            "ip", "netns", "exec", "r", "nft", "list", "chain", "inet", "lab", "fwd_c",
        ]);
        assert!(!listed.contains("netlens"), "{listed}");
    });
}

/// The same flow dropped twice on r: by iptables' FORWARD policy DROP and by a native nft
/// chain. The fix must open both (each base chain decides on its own), and undo close both.
#[test]
fn nft_and_iptables_forward_drop_on_one_flow() {
    in_world(
        "nft_native::nft_and_iptables_forward_drop_on_one_flow",
        || {
            let _dir = private_state();
            router(true);
            run("ip netns exec r iptables -P FORWARD DROP");
            nft("r", "add table inet lab");
            nft(
                "r",
                "add chain inet lab fwd_c { type filter hook forward priority 10; }",
            );
            nft("r", "add chain inet lab deny");
            nft("r", "add rule inet lab fwd_c jump deny");
            nft("r", "add rule inet lab deny ip saddr 10.5.0.0/24 drop");
            nft("r", "add rule inet lab deny ip saddr 10.6.0.0/24 reject");
            assert!(!ping_ok("a", "10.6.0.2"));
            let all = doctor();
            let f = findings(&all, "forward-drop", "r");
            assert!(!f.is_empty(), "{:?}", ids(&all));
            assert!(f[0].get("fix").is_some(), "{:#}", f[0]);
            netlens_ok(&["fix", "forward-drop:r", "--yes"]);
            assert!(ping_ok("a", "10.6.0.2"), "both drops are opened");
            assert!(ping_ok("b", "10.5.0.2"));
            netlens_ok(&["undo", "--yes"]);
            assert!(!ping_ok("a", "10.6.0.2"));
            assert!(!ping_ok("b", "10.5.0.2"));
        },
    );
}

/// The ruleset reloaded behind netlens' back after a fix: the handle netlens journaled now
/// holds someone else's rule. Undo refuses (one clear line, non-zero) and deletes nothing.
#[test]
fn nft_undo_refuses_after_a_ruleset_reload() {
    in_world(
        "nft_native::nft_undo_refuses_after_a_ruleset_reload",
        || {
            let _dir = private_state();
            router(true);
            nft("r", "add table inet lab");
            nft(
                "r",
                "add chain inet lab fwd_c { type filter hook forward priority 0; policy drop; }",
            );
            netlens_ok(&["fix", "forward-drop:r", "--yes"]);
            assert!(ping_ok("a", "10.6.0.2"));
            // Reload: the table again, with the admin's own accepts in the handles netlens had.
            nft("r", "delete table inet lab");
            nft("r", "add table inet lab");
            nft(
                "r",
                "add chain inet lab fwd_c { type filter hook forward priority 0; policy drop; }",
            );
            for _ in 0..6 {
                nft("r", "add rule inet lab fwd_c ip saddr 10.0.0.0/8 accept");
            }
            let before = sh(&[
                "ip", "netns", "exec", "r", "nft", "-a", "list", "chain", "inet", "lab", "fwd_c",
            ]);
            let out = netlens(&["undo", "--yes"]);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_ne!(out.status.code(), Some(0), "{err}");
            assert!(err.contains("handle") && err.contains("no longer"), "{err}");
            let after = sh(&[
                "ip", "netns", "exec", "r", "nft", "-a", "list", "chain", "inet", "lab", "fwd_c",
            ]);
            assert_eq!(before, after, "nothing of the admin's ruleset deleted");
            assert!(ping_ok("a", "10.6.0.2"));
        },
    );
}

/// An nft forward chain that drops traffic to one host beyond r's uplink (`ip daddr
/// 10.7.0.9 drop`): forward-drop judges the flow out of the uplink with a stand-in address,
/// so the host the rule names is judged as well, and path agrees with the kernel; the fix
/// opens it, undo closes it again. Then a chain that drops only pings.
#[test]
fn nft_drops_aimed_at_one_host_or_at_pings_are_found_and_fixed() {
    in_world(
        "nft_native::nft_drops_aimed_at_one_host_or_at_pings_are_found_and_fixed",
        || {
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
            fix_then_undo("forward-drop:r", || ping_ok("a", "10.7.0.9"));
            // Pings alone dropped: a warning, and its accept matches ICMP by protocol only.
            nft("r", "flush chain inet lab fwd_c");
            nft("r", "add rule inet lab fwd_c meta l4proto icmp drop");
            let _l = listen("b", 8080);
            assert!(!ping_ok("a", "10.6.0.2") && connect_ok("a", "10.6.0.2", 8080));
            let all = doctor();
            let f = findings(&all, "forward-drop", "r");
            assert_eq!(f.len(), 1, "{:?}", ids(&all));
            assert_eq!(f[0]["severity"], "warning", "{:#}", f[0]);
            fix_then_undo("forward-drop:r", || ping_ok("a", "10.6.0.2"));
        },
    );
}

/// `netlens ARGS`, which must exit 0.
fn netlens_ok(args: &[&str]) {
    let out = netlens(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `fix ID --yes`: `works` holds after it, and fails again after `undo --yes`.
fn fix_then_undo(id: &str, works: impl Fn() -> bool) {
    netlens_ok(&["fix", id, "--yes"]);
    assert!(works(), "after the fix");
    netlens_ok(&["undo", "--yes"]);
    assert!(!works(), "after undo");
}

/// An nft input chain dropping tcp/22 on b: 22 times out, 80 answers; `path` and the
/// doctor's `input-drop` say the same, naming the nft rule.
#[test]
fn nft_input_drop_of_a_port() {
    in_world("nft_native::nft_input_drop_of_a_port", || {
        let _dir = private_state();
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
        assert!(
            f.iter().all(|f| f["id"] != "input-drop:b:tcp/80"),
            "{:?}",
            ids(&all)
        );
        // The fix accepts tcp/22 in that nft chain, ahead of its drop.
        assert!(f22.get("fix").is_some(), "{f22:#}");
        netlens_ok(&["fix", "input-drop:b:tcp/22", "--yes"]);
        assert!(connect_ok("a", "10.6.0.2", 22), "the fix opens tcp/22");
        let all = doctor();
        assert!(
            findings(&all, "input-drop", "b").is_empty(),
            "{:?}",
            ids(&all)
        );
        netlens_ok(&["undo", "--yes"]);
        assert!(!connect_ok("a", "10.6.0.2", 22), "undo closes it again");
        assert!(connect_ok("a", "10.6.0.2", 80));
    });
}

/// Without an `nft` binary in PATH, a plan with an nft step is refused before anything runs:
/// one line, non-zero, the chain as it was and nothing journaled as applied.
#[test]
fn nft_step_without_the_nft_binary_changes_nothing() {
    in_world(
        "nft_native::nft_step_without_the_nft_binary_changes_nothing",
        || {
            let dir = private_state();
            router(true);
            nft("r", "add table inet lab");
            nft(
                "r",
                "add chain inet lab fwd_c { type filter hook forward priority 0; policy drop; }",
            );
            let plan = serde_json::json!({"id": "p-no-nft", "title": "t", "steps": [
            {"step": "insert_nft_rule", "ns": "r", "family": "inet", "table": "lab",
             "chain": "fwd_c", "rule": {"iif": "la", "saddr": "10.5.0.0/24"}}]});
            let file = dir.path().join("plan.json");
            std::fs::write(&file, plan.to_string()).unwrap();
            let empty = dir.path().join("no-tools");
            std::fs::create_dir(&empty).unwrap();
            let before = sh(&["ip", "netns", "exec", "r", "nft", "list", "ruleset"]);
            let out = std::process::Command::new(common::world::netlens_bin())
                .args(["apply", file.to_str().unwrap(), "--yes"])
                .env("PATH", &empty)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(err.contains("nft is not installed"), "{err}");
            let after = sh(&["ip", "netns", "exec", "r", "nft", "list", "ruleset"]);
            assert_eq!(before, after);
            assert!(!ping_ok("a", "10.6.0.2"));
        },
    );
}
