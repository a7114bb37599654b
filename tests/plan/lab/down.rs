//! `lab down` as a plan, for real inside throwaway worlds: what it removes, what `netlens
//! undo` gives back (compared with the scenario before `down`, and pinged), that a scenario
//! that is not up changes nothing, and that a drill with nothing to break fails before
//! anything runs.

use crate::common;

use common::plan::{plan, private_state};
use common::world::{in_world, private_etc_netns, sh};
use netlens::lab::{self, LabError, LabState};
use netlens::netns::create::list_netns;
use netlens::plan::{self, UndoTarget};

fn ping(ns: &str, dst: &str) {
    sh(&["ip", "netns", "exec", ns, "ping", "-c1", "-W1", dst]);
}

/// A namespace as undo must give it back: each link's name (with its peer's index), admin
/// state, MTU and master; IPv4 addresses; IPv4 routes; ip_forward; iptables rules and policies.
fn ns_state(ns: &str) -> String {
    let mut out = String::new();
    for line in sh(&["ip", "-n", ns, "-o", "link", "show"]).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let after = |key: &str| {
            let at = words.iter().position(|w| *w == key)?;
            words.get(at + 1).copied()
        };
        let flags = words.get(2).copied().unwrap_or_default();
        let up = flags.trim_matches(['<', '>']).split(',').any(|f| f == "UP");
        out += &format!(
            "link {} up={up} mtu={:?} master={:?}\n",
            words.get(1).copied().unwrap_or_default(),
            after("mtu"),
            after("master"),
        );
    }
    for line in sh(&["ip", "-n", ns, "-4", "-o", "addr", "show"]).lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        out += &format!("addr {} {}\n", words[1], words[3]);
    }
    out += &sh(&["ip", "-n", ns, "-4", "route", "show"]);
    out += &sh(&[
        "ip",
        "netns",
        "exec",
        ns,
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
    ]);
    for line in sh(&["ip", "netns", "exec", ns, "iptables-save"]).lines() {
        // Comments carry a time; counters change with traffic.
        if !line.starts_with('#') {
            out += &format!("{}\n", line.split(" [").next().unwrap_or_default());
        }
    }
    out
}

fn lab_state(name: &str) -> Vec<(String, String)> {
    let scenario = lab::scenario(name).unwrap();
    scenario
        .namespaces()
        .iter()
        .map(|ns| (ns.to_string(), ns_state(ns)))
        .collect()
}

fn journals() -> usize {
    std::fs::read_dir(plan::journal::journal_dir()).map_or(0, |d| d.count())
}

#[test]
fn down_removes_namespaces_and_drill_files() {
    in_world("lab::down::down_removes_namespaces_and_drill_files", || {
        private_etc_netns(&[]);
        lab::up("router").unwrap();
        lab::break_fault("router", "bad-nsswitch").unwrap();
        let file = "/etc/netns/router-a/nsswitch.conf";
        assert!(std::path::Path::new(file).exists());

        let down = lab::down("router").unwrap();
        assert_eq!(down.deleted, ["router-a", "router-b", "router-c"]);
        assert!(down.plan_id.is_some(), "{down:?}");
        assert!(list_netns().unwrap().is_empty());
        assert!(
            !std::path::Path::new(file).exists(),
            "{file} left after down"
        );
        assert_eq!(lab::status("router").unwrap().state, LabState::Absent);
    });
}

#[test]
fn undo_after_down_brings_the_scenario_back() {
    in_world(
        "lab::down::undo_after_down_brings_the_scenario_back",
        || {
            private_etc_netns(&[]);
            lab::up("bridge").unwrap();
            // Drills are given back too: a file, and a rule the scenario does not make.
            lab::break_fault("bridge", "bad-nsswitch").unwrap();
            lab::break_fault("bridge", "stale-nat").unwrap();
            let file = "/etc/netns/bridge-red/nsswitch.conf";
            let content = std::fs::read_to_string(file).unwrap();
            let before = lab_state("bridge");

            let down = lab::down("bridge").unwrap();
            assert!(list_netns().unwrap().is_empty());
            let undone = plan::undo(&UndoTarget::Latest).unwrap_or_else(|e| panic!("undo: {e}"));
            assert_eq!(Some(undone.id), down.plan_id);

            let after = lab_state("bridge");
            for ((ns, was), (_, now)) in before.iter().zip(&after) {
                assert_eq!(now, was, "{ns} differs after down and undo");
            }
            assert_eq!(std::fs::read_to_string(file).unwrap(), content);
            assert!(lab::status("bridge").unwrap().complete);
            ping("bridge-red", "8.8.8.8");
            ping("bridge-red", "192.168.1.3");
            ping("bridge-blue", "8.8.8.8");
            lab::down("bridge").unwrap();
        },
    );
}

#[test]
fn down_when_not_up_changes_nothing() {
    in_world("lab::down::down_when_not_up_changes_nothing", || {
        let down = lab::down("cluster").unwrap();
        assert!(
            down.deleted.is_empty() && down.plan_id.is_none(),
            "{down:?}"
        );
        assert_eq!(
            journals(),
            0,
            "a down with nothing to delete journaled a plan"
        );
        assert!(plan::undo(&UndoTarget::Latest).is_err());

        // Down twice: the second finds nothing, and undo still reaches the first.
        lab::up("router").unwrap();
        let first = lab::down("router").unwrap();
        let count = journals();
        let second = lab::down("router").unwrap();
        assert!(second.deleted.is_empty() && second.plan_id.is_none());
        assert_eq!(journals(), count);
        let undone = plan::undo(&UndoTarget::Latest).unwrap();
        assert_eq!(Some(undone.id), first.plan_id);
        ping("router-a", "192.168.2.5");
        lab::down("router").unwrap();
    });
}

#[test]
fn a_drill_with_nothing_to_break_fails_before_anything_runs() {
    in_world(
        "lab::down::a_drill_with_nothing_to_break_fails_before_anything_runs",
        || {
            lab::up("router").unwrap();
            sh(&["ip", "-n", "router-a", "route", "del", "192.168.2.0/24"]);
            let count = journals();
            let err = lab::break_fault("router", "no-route").unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, LabError::BreakFailed { .. }), "{msg}");
            assert!(msg.contains("nothing to break"), "{msg}");
            assert!(msg.contains("192.168.2.0/24"), "{msg}");
            assert_eq!(journals(), count, "the drill's plan ran: {msg}");
            lab::down("router").unwrap();
        },
    );
}

/// What undo compares in a namespace `DeleteNs` may delete: policy rules, routes of every
/// table, ip6tables, nft tables (iptables-save's comments carry a time).
fn held_state(ns: &str) -> String {
    let run = |cmd: &str| sh(&cmd.replace("NS", ns).split(' ').collect::<Vec<_>>());
    let mut out = String::new();
    for cmd in [
        "ip -n NS -j rule",
        "ip -n NS -6 -j rule",
        "ip -n NS -j route show table all",
        "ip -n NS -6 -j route show table all",
        "ip netns exec NS nft -j list tables",
    ] {
        out += &format!("{cmd}:\n{}\n", run(cmd));
    }
    let save = run("ip netns exec NS ip6tables-save");
    out += &format!(
        "ip6tables-save:\n{}",
        save.lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    );
    out
}

/// A namespace holding only `lo` plus one thing a new namespace lacks: a policy rule (with a
/// default rule removed) or interface-less routes (an IPv4 blackhole; an IPv6 unreachable
/// route, which the kernel hangs on `lo`) is deleted and given back by undo; a rule matching
/// on what `AddRule` does not write, an ip6tables rule or a native nft table is refused, and
/// nothing changes.
#[test]
fn delete_ns_gives_back_rules_and_routes_and_refuses_the_rest() {
    in_world(
        "lab::down::delete_ns_gives_back_rules_and_routes_and_refuses_the_rest",
        || {
            let _state = private_state();
            let cases: [(&str, &[&str], Option<&str>); 5] = [
                (
                    "rule",
                    &[
                        "ip -n NS rule add pref 100 from 10.5.0.0/16 lookup 100",
                        "ip -n NS rule del pref 32767",
                    ],
                    None,
                ),
                (
                    "blackhole",
                    &[
                        "ip -n NS route add blackhole 10.9.0.0/16 table 100",
                        "ip -n NS -6 route add unreachable fd00:9::/64 table 100",
                    ],
                    None,
                ),
                (
                    "uidrange",
                    &["ip -n NS rule add pref 100 uidrange 1000-2000 lookup 100 proto static"],
                    Some(
                        "policy rule `pref 100 from all proto static lookup 100` (it matches \
                         on uidrange)",
                    ),
                ),
                (
                    "ip6tables",
                    &["ip netns exec NS ip6tables -w -A INPUT -s fd00::1 -j DROP"],
                    Some("`-A INPUT -s fd00::1/128 -j DROP` in the ip6tables filter table"),
                ),
                (
                    "nft",
                    &["ip netns exec NS nft add table inet mine"],
                    Some("nft table `inet mine`"),
                ),
            ];
            for (ns, setup, refusal) in cases {
                sh(&["ip", "netns", "add", ns]);
                sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
                for cmd in setup {
                    sh(&cmd.replace("NS", ns).split(' ').collect::<Vec<_>>());
                }
                let before = held_state(ns);
                let p = plan(ns, serde_json::json!([{"step": "delete_ns", "name": ns}]));
                let applied = plan::apply(&p, &plan::ApplyOptions::default());
                match refusal {
                    Some(what) => {
                        let e = applied.unwrap_err().to_string();
                        let want = format!(
                            "refusing to delete namespace {ns}: it holds {what} that undo \
                             could not give back; remove it first"
                        );
                        assert!(e.contains(&want), "{ns}: {e}");
                    }
                    None => {
                        applied.unwrap_or_else(|e| panic!("{ns}: apply: {e}"));
                        assert!(!list_netns().unwrap().iter().any(|n| n == ns), "{ns}");
                        plan::undo(&UndoTarget::Id(p.id.clone()))
                            .unwrap_or_else(|e| panic!("{ns}: undo: {e}"));
                    }
                }
                assert_eq!(held_state(ns), before, "{ns}: after delete_ns and undo");
            }
        },
    );
}
