//! The plan engine on a real kernel, in throwaway worlds: every step kind applies and its
//! inverse (computed from the live state before it ran) restores the snapshot exactly; a plan
//! whose step fails with a real kernel error leaves the network as it was.

use crate::common;

use common::plan::{assert_same, changes, plan, private_state, snap, sysctl_dir};
use common::world::{in_world, sh};
use netlens::plan::{self, ApplyOptions, PlanError, UndoTarget};
use serde_json::json;

/// IPv6 addresses skip duplicate address detection, so one restored by undo is complete (with
/// its local route) at once instead of a second later.
fn no_dad(ns: &[&str]) {
    for n in ns {
        for conf in ["all", "default"] {
            let key = format!("net.ipv6.conf.{conf}.accept_dad=0");
            if *n == "host" {
                sh(&["sysctl", "-qw", &key]);
            } else {
                sh(&["ip", "netns", "exec", n, "sysctl", "-qw", &key]);
            }
        }
    }
}

/// Two named namespaces with a veth between them (addressed, up, a static route through it),
/// a bridge in red with a port, and an iptables chain with three rules.
fn base_world() {
    for cmd in [
        "ip netns add red",
        "ip netns add blue",
        "ip link add v-red type veth peer name v-blue",
        "ip netns exec red sysctl -qw net.ipv6.conf.all.accept_dad=0",
        "ip netns exec red sysctl -qw net.ipv6.conf.default.accept_dad=0",
        "ip netns exec blue sysctl -qw net.ipv6.conf.all.accept_dad=0",
        "ip netns exec blue sysctl -qw net.ipv6.conf.default.accept_dad=0",
        "ip link set v-red netns red",
        "ip link set v-blue netns blue",
        "ip -n red addr add 10.1.0.1/24 dev v-red",
        "ip -n red addr add fd00:1::1/64 dev v-red nodad",
        "ip -n blue addr add 10.1.0.2/24 dev v-blue",
        "ip -n red link set v-red up",
        "ip -n blue link set v-blue up",
        "ip -n red link set lo up",
        "ip -n blue route add 10.9.0.0/16 via 10.1.0.1 proto static",
        "ip -n red route add 10.8.0.0/16 dev v-red metric 50",
        "ip -n red link add br0 type bridge",
        "ip -n red link add p0 type veth peer name p1",
        "ip -n red link set p0 master br0",
        "ip -n red link set br0 up",
        "ip -n red link set p0 up",
        "ip -n red addr add 192.168.7.1/24 dev br0",
        "ip -n blue link add x0 type veth peer name x1",
        "ip netns exec red iptables -w -t filter -A INPUT -s 10.1.0.5 -j ACCEPT",
        "ip netns exec red iptables -w -t filter -A INPUT -s 10.1.0.6 -j DROP",
        "ip netns exec red iptables -w -t filter -A INPUT -s 10.1.0.7 -j ACCEPT",
    ] {
        sh(&cmd.split(' ').collect::<Vec<_>>());
    }
}

/// Applies `steps` as one plan, checks it changed the network, undoes it and checks the
/// network is as before.
fn apply_then_undo(name: &str, steps: serde_json::Value) {
    let before = snap();
    let p = plan(name, steps);
    let applied = plan::apply(&p, &ApplyOptions::default())
        .unwrap_or_else(|e| panic!("{name}: apply failed: {e}"));
    assert!(applied.changed > 0, "{name}: nothing changed");
    let during = snap();
    if !name.contains("sysctl.d") {
        assert!(
            !changes(&before, &during).is_empty(),
            "{name}: the snapshot shows no change"
        );
    }
    plan::undo(&UndoTarget::Id(p.id.clone())).unwrap_or_else(|e| panic!("{name}: undo: {e}"));
    assert_same(&format!("{name}: after undo"), &before, &snap());
}

/// A rule with every selector the snapshot holds, ahead of another of the same priority:
/// deleting it takes only it, and undo writes it back with all its attributes, in its place
/// (among equal priorities the first listed decides).
fn del_rule_sharing_a_priority() {
    for rule in [
        "ip -n red rule add pref 300 not from 10.5.0.0/16 to 10.6.0.0/24 iif v-red fwmark 0x10/0xf0 lookup 100 suppress_prefixlength 0 proto static",
        "ip -n red rule add pref 300 from 10.7.0.0/24 oif v-red goto 400",
        "ip -6 -n red rule add pref 300 from fd00:5::/64 prohibit",
    ] {
        sh(&rule.split(' ').collect::<Vec<_>>());
    }
    let before = snap();
    let listed = sh(&["ip", "-d", "-n", "red", "rule", "show"]);
    let rule = before
        .namespace("red")
        .unwrap()
        .rules
        .iter()
        .find(|r| r.priority == 300 && r.invert)
        .expect("the rule in the snapshot")
        .clone();
    let p = plan(
        "delete one of three rules at 300",
        json!([{"step": "del_rule", "ns": "red", "rule": rule}]),
    );
    plan::apply(&p, &ApplyOptions::default()).expect("apply");
    let left = sh(&["ip", "-n", "red", "rule", "show", "pref", "300"]);
    assert!(
        left.contains("goto 400") && !left.contains("10.5.0.0/16"),
        "only that rule goes: {left}"
    );
    let v6 = sh(&["ip", "-6", "-n", "red", "rule", "show", "pref", "300"]);
    assert!(v6.contains("fd00:5::/64"), "{v6}");
    plan::undo(&UndoTarget::Id(p.id.clone())).expect("undo");
    assert_same("rule deleted and undone", &before, &snap());
    assert_eq!(
        sh(&["ip", "-d", "-n", "red", "rule", "show"]),
        listed,
        "`ip rule` after undo: every attribute, the same order"
    );
}

#[test]
fn every_step_kind_applies_and_undoes() {
    in_world("plan_steps::every_step_kind_applies_and_undoes", || {
        let _state = private_state();
        no_dad(&["host"]);
        base_world();
        link_steps_apply_and_undo();
        addr_route_sysctl_iptables_steps_apply_and_undo();
        apply_then_undo(
            "bridge port flags",
            json!([{"step": "set_bridge_port", "ns": "red", "link": "p0", "isolated": true,
                    "learning": false, "flood": false}]),
        );
        apply_then_undo(
            "pin a neighbour",
            json!([{"step": "add_neigh", "ns": "red", "link": "v-red", "addr": "10.1.0.77",
                    "lladdr": "02:00:00:00:00:77"}]),
        );
        sh(&[
            "ip",
            "-n",
            "blue",
            "neigh",
            "add",
            "10.1.0.99",
            "lladdr",
            "02:00:00:00:00:99",
            "nud",
            "permanent",
            "dev",
            "v-blue",
        ]);
        apply_then_undo(
            "delete a pinned neighbour",
            json!([{"step": "del_neigh", "ns": "blue", "link": "v-blue", "addr": "10.1.0.99"}]),
        );
        apply_then_undo(
            "add a policy rule",
            json!([{"step": "add_rule", "ns": "red", "rule": {"family": "inet", "priority": 200,
                    "dst": "10.44.0.0/16", "table": 0, "action": "unreachable"}}]),
        );
        del_rule_sharing_a_priority();
        let order = sh(&["ip", "netns", "exec", "red", "iptables", "-S", "INPUT"]);
        let lines: Vec<&str> = order.lines().filter(|l| l.starts_with("-A")).collect();
        assert!(
            lines[1].contains("10.1.0.6"),
            "the deleted rule went back to its place: {order}"
        );
    });
}

/// Link steps: veth, bridge, delete, move, master, up/down, MTU.
fn link_steps_apply_and_undo() {
    apply_then_undo(
        "add veth across namespaces",
        json!([{"step": "add_veth", "ns": "host", "name": "h0", "peer_ns": "red", "peer": "r0"}]),
    );
    apply_then_undo(
        "add bridge",
        json!([{"step": "add_bridge", "ns": "blue", "name": "br9"}]),
    );
    apply_then_undo(
        "delete veth with addresses, routes and a peer in another namespace",
        json!([{"step": "delete_link", "ns": "red", "name": "v-red"}]),
    );
    apply_then_undo(
        "delete bridge with a port and an address",
        json!([{"step": "delete_link", "ns": "red", "name": "br0"}]),
    );
    apply_then_undo(
        "move link",
        json!([{"step": "move_link", "ns": "red", "name": "v-red", "to_ns": "host"}]),
    );
    apply_then_undo(
        "detach from bridge",
        json!([{"step": "set_master", "ns": "red", "link": "p0", "master": null}]),
    );
    apply_then_undo(
        "attach to bridge",
        json!([{"step": "set_master", "ns": "red", "link": "p1", "master": "br0"}]),
    );
    apply_then_undo(
        "set link down (flushes routes and IPv6 addresses)",
        json!([{"step": "set_link_up", "ns": "red", "link": "v-red", "up": false}]),
    );
    // x0's peer stays down, so it gains no carrier: bringing p1 up instead would wake
    // p0 and br0, whose new IPv6 link-local addresses are the kernel's doing, not undone.
    apply_then_undo(
        "set link up",
        json!([{"step": "set_link_up", "ns": "blue", "link": "x0", "up": true}]),
    );
    apply_then_undo(
        "set mtu",
        json!([{"step": "set_mtu", "ns": "blue", "link": "v-blue", "mtu": 1400}]),
    );
}

/// Address, route, sysctl and iptables steps.
fn addr_route_sysctl_iptables_steps_apply_and_undo() {
    apply_then_undo(
        "add addresses",
        json!([
            {"step": "add_address", "ns": "blue", "link": "v-blue", "addr": "10.1.0.3/24"},
            {"step": "add_address", "ns": "blue", "link": "v-blue", "addr": "fd00:9::3/64"}
        ]),
    );
    apply_then_undo(
        "remove the address a gateway route depends on",
        json!([{"step": "del_address", "ns": "blue", "link": "v-blue", "addr": "10.1.0.2/24"}]),
    );
    apply_then_undo(
        "add routes",
        json!([
            {"step": "add_route", "ns": "red", "route": {"dst": "10.20.0.0/16", "via": "10.1.0.2"}},
            {"step": "add_route", "ns": "red", "route": {"dst": "0.0.0.0/0", "via": "10.1.0.2", "metric": 100}},
            {"step": "add_route", "ns": "red", "route": {"dst": "10.30.0.0/16", "dev": "v-red", "table": 100}}
        ]),
    );
    apply_then_undo(
        "remove a static route",
        json!([{"step": "del_route", "ns": "blue", "route": {"dst": "10.9.0.0/16"}}]),
    );
    apply_then_undo(
        "remove a device route with a metric",
        json!([{"step": "del_route", "ns": "red", "route": {"dst": "10.8.0.0/16", "dev": "v-red"}}]),
    );
    apply_then_undo(
        "sysctls in a namespace",
        json!([
            {"step": "set_sysctl", "ns": "red", "key": "net/ipv4/ip_forward", "value": "1"},
            {"step": "set_sysctl", "ns": "red", "key": "net/ipv4/conf/v-red/rp_filter", "value": "2"}
        ]),
    );
    apply_then_undo(
        "iptables: add a NAT rule, delete the middle filter rule",
        json!([
            {"step": "add_iptables_rule", "ns": "red", "table": "nat", "chain": "POSTROUTING",
             "rule": ["-s", "10.1.0.0/24", "-m", "comment", "--comment", "netlens test", "-j", "MASQUERADE"]},
            {"step": "del_iptables_rule", "ns": "red", "table": "filter", "chain": "INPUT",
             "rule": ["-s", "10.1.0.6", "-j", "DROP"]}
        ]),
    );
}

#[test]
fn persisted_sysctl_writes_and_undo_removes_its_file() {
    in_world(
        "plan_steps::persisted_sysctl_writes_and_undo_removes_its_file",
        || {
            let _state = private_state();
            let file = sysctl_dir().join("90-netlens-net.ipv4.ip_forward.conf");
            let before = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
            let p = plan(
                "forwarding for pods",
                json!([{"step": "set_sysctl", "ns": "host", "key": "net/ipv4/ip_forward", "value": "1", "persist": true}]),
            );
            plan::apply(&p, &ApplyOptions::default()).unwrap();
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.starts_with("# Written by netlens"), "{text}");
            assert!(text.contains("forwarding for pods"), "{text}");
            assert!(text.ends_with("net.ipv4.ip_forward = 1\n"), "{text}");
            assert_eq!(
                std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward")
                    .unwrap()
                    .trim(),
                "1"
            );
            plan::undo(&UndoTarget::Latest).unwrap();
            assert!(!file.exists(), "undo removes the file it wrote");
            assert_eq!(
                std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
                before
            );

            // A file that was there before is restored, not removed.
            std::fs::write(&file, "net.ipv4.ip_forward = 0\n").unwrap();
            apply_then_undo(
                "persist over an existing sysctl.d file",
                json!([{"step": "set_sysctl", "ns": "host", "key": "net/ipv4/ip_forward", "value": "1", "persist": true}]),
            );
            assert_eq!(
                std::fs::read_to_string(&file).unwrap(),
                "net.ipv4.ip_forward = 0\n"
            );
        },
    );
}

#[test]
fn failing_step_three_rolls_back_one_and_two() {
    in_world(
        "plan_steps::failing_step_three_rolls_back_one_and_two",
        || {
            let _state = private_state();
            sh(&["ip", "netns", "add", "red"]);
            let before = snap();
            let p = plan(
                "route through a gateway nobody can reach",
                json!([
                    {"step": "add_veth", "ns": "host", "name": "h0", "peer_ns": "red", "peer": "eth0"},
                    {"step": "add_address", "ns": "red", "link": "eth0", "addr": "10.50.0.2/24"},
                    {"step": "add_route", "ns": "red", "route": {"dst": "10.60.0.0/16", "via": "10.99.0.1"}}
                ]),
            );
            let err = plan::apply(&p, &ApplyOptions::default()).unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, PlanError::StepFailed { number: 3, rolled_back: 2, ref rollback_errors, .. } if rollback_errors.is_empty()),
                "{msg}"
            );
            assert!(
                msg.contains("in red") && msg.contains("unreachable"),
                "{msg}"
            );
            assert!(!msg.contains('\n'), "{msg}");
            assert_same("after the failed plan", &before, &snap());
            // Journaled as rolled back, and nothing left to undo.
            let entry = netlens::plan::journal::read(&p.id).unwrap();
            assert_eq!(entry.state, netlens::plan::PlanState::RolledBack);
            assert!(matches!(
                plan::undo(&UndoTarget::Latest),
                Err(PlanError::NothingToUndo)
            ));
        },
    );
}

#[test]
fn failure_after_every_kind_of_step_leaves_nothing() {
    in_world(
        "plan_steps::failure_after_every_kind_of_step_leaves_nothing",
        || {
            let _state = private_state();
            for cmd in [
                "ip netns add red",
                "ip netns add blue",
                "ip -n blue link add d0 type veth peer name d1",
            ] {
                sh(&cmd.split(' ').collect::<Vec<_>>());
            }
            sh(&[
                "ip", "netns", "exec", "red", "iptables", "-w", "-A", "INPUT", "-s", "10.3.0.1",
                "-j", "DROP",
            ]);
            let before = snap();
            let p = plan(
                "everything, then a link that is not there",
                json!([
                    {"step": "add_veth", "ns": "red", "name": "r0", "peer_ns": "blue", "peer": "b0"},
                    {"step": "add_bridge", "ns": "red", "name": "br0"},
                    {"step": "set_master", "ns": "red", "link": "r0", "master": "br0"},
                    {"step": "set_link_up", "ns": "red", "link": "br0", "up": true},
                    {"step": "set_link_up", "ns": "red", "link": "r0", "up": true},
                    {"step": "set_mtu", "ns": "blue", "link": "b0", "mtu": 1450},
                    {"step": "add_address", "ns": "red", "link": "br0", "addr": "10.2.0.1/24"},
                    {"step": "add_route", "ns": "red", "route": {"dst": "10.4.0.0/16", "via": "10.2.0.9"}},
                    {"step": "set_sysctl", "ns": "red", "key": "net/ipv4/ip_forward", "value": "1"},
                    {"step": "add_iptables_rule", "ns": "red", "table": "nat", "chain": "POSTROUTING", "rule": ["-s", "10.2.0.0/24", "-j", "MASQUERADE"]},
                    {"step": "del_iptables_rule", "ns": "red", "table": "filter", "chain": "INPUT", "rule": ["-s", "10.3.0.1", "-j", "DROP"]},
                    {"step": "delete_link", "ns": "blue", "name": "d0"},
                    {"step": "move_link", "ns": "blue", "name": "b0", "to_ns": "host"},
                    {"step": "add_address", "ns": "red", "link": "nosuch0", "addr": "10.2.0.2/24"}
                ]),
            );
            let err = plan::apply(&p, &ApplyOptions::default()).unwrap_err();
            assert!(
                // ip_forward may already be 1 in a new namespace (it follows the host on some
                // kernels): that step then changes nothing and has nothing to roll back.
                matches!(err, PlanError::StepFailed { number: 14, rolled_back: 12..=13, ref rollback_errors, .. } if rollback_errors.is_empty()),
                "{err}"
            );
            assert!(err.to_string().contains("nosuch0"), "{err}");
            assert_same("after the failed plan", &before, &snap());
        },
    );
}

#[test]
fn process_held_namespace_and_refused_deletes() {
    in_world(
        "plan_steps::process_held_namespace_and_refused_deletes",
        || {
            let _state = private_state();
            // A namespace held only by a process, as a container's is: named pid:N.
            let mut holder = std::process::Command::new("unshare")
                .args(["--net", "sleep", "60"])
                .spawn()
                .unwrap();
            let ns = format!("pid:{}", holder.id());
            std::thread::sleep(std::time::Duration::from_millis(200));
            apply_then_undo(
                "veth into a process-held namespace",
                json!([
                    {"step": "add_veth", "ns": "host", "name": "to-ctr", "peer_ns": ns, "peer": "eth0"},
                    {"step": "add_address", "ns": ns, "link": "eth0", "addr": "10.5.0.2/24"},
                    {"step": "set_link_up", "ns": ns, "link": "eth0", "up": true}
                ]),
            );
            // Deleting the host end must find the peer's namespace (by nsid) to undo it.
            sh(&[
                "ip",
                "link",
                "add",
                "to-ctr",
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                &holder.id().to_string(),
            ]);
            apply_then_undo(
                "delete a veth whose peer is in a process-held namespace",
                json!([{"step": "delete_link", "ns": "host", "name": "to-ctr"}]),
            );
            // A link netlens could not recreate exactly is refused, and nothing changes. (Loopback:
            // the one link that is neither veth nor bridge every namespace has; dummy needs a
            // module the test machine may not load.)
            let before = snap();
            let p = plan(
                "delete loopback",
                json!([{"step": "delete_link", "ns": ns, "name": "lo"}]),
            );
            let err = plan::apply(&p, &ApplyOptions::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("refusing to delete lo"), "{err}");
            assert_same("after a refused delete", &before, &snap());
            holder.kill().unwrap();
            holder.wait().unwrap();
        },
    );
}
