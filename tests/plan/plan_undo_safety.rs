//! Undo on a real kernel, adversarially (issue 10, items 7, 8 and 11): undo refuses to destroy
//! what someone changed after the plan (and `--force` overrides), an undo killed at any point
//! converges when run again, and bridges come back with the admin state the preview promises.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::out::assert_code;
use common::plan::{assert_same, changes, plan, private_state, snap, sysctl_dir};
use common::snap::ip_json;
use common::snap::netlens;
use common::world::{in_world, netlens_bin, private_etc_netns, sh};
use netlens::plan::{self, ApplyOptions, UndoTarget};
use serde_json::{json, Value};

fn text(out: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn state_of(id: &str) -> String {
    let out = netlens(&["journal", "--json"]);
    assert_code(&out, 0, "journal --json");
    let all: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    all.iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("plan {id} not in the journal"))["state"]
        .as_str()
        .unwrap()
        .to_string()
}

fn write_plan(dir: &Path, id: &str, steps: Value) -> String {
    let path = dir.join(format!("{id}.json"));
    let plan = json!({"id": id, "title": id, "steps": steps});
    std::fs::write(&path, serde_json::to_string_pretty(&plan).unwrap()).unwrap();
    path.display().to_string()
}

fn apply_cli(file: &str, what: &str) {
    assert_code(&netlens(&["apply", file, "--yes"]), 0, what);
}

/// `red` with a veth end `eth0` to the host's `to-red`, IPv6 DAD off everywhere (so a restored
/// address is complete at once).
fn red_world() {
    for cmd in [
        "ip netns add red",
        "sysctl -qw net.ipv6.conf.all.accept_dad=0",
        "sysctl -qw net.ipv6.conf.default.accept_dad=0",
        "ip netns exec red sysctl -qw net.ipv6.conf.all.accept_dad=0",
        "ip netns exec red sysctl -qw net.ipv6.conf.default.accept_dad=0",
        "ip link add to-red type veth peer name eth0 netns red",
        "ip -n red link set lo up",
    ] {
        sh(&cmd.split(' ').collect::<Vec<_>>());
    }
}

fn is_up(ns: Option<&str>, link: &str) -> bool {
    let v = ip_json(ns, &["link", "show", link]);
    v[0]["flags"]
        .as_array()
        .unwrap_or_else(|| panic!("no flags for {link}: {v}"))
        .iter()
        .any(|f| f == "UP")
}

const HOSTS_PATH: &str = "/etc/netns/red/hosts";
const HOSTS_BEFORE: &str = "127.0.0.1 localhost\n";

/// Every kind of step an undo has to take back, ending with the deletion of a DOWN bridge.
fn big_plan_steps() -> Value {
    json!([
        {"step": "add_veth", "ns": "host", "name": "h0", "peer_ns": "red", "peer": "r0"},
        {"step": "add_bridge", "ns": "host", "name": "br7"},
        {"step": "set_master", "ns": "host", "link": "h0", "master": "br7"},
        {"step": "add_address", "ns": "host", "link": "br7", "addr": "10.70.0.1/24"},
        {"step": "set_link_up", "ns": "host", "link": "br7", "up": true},
        {"step": "add_route", "ns": "host", "route": {"dst": "10.71.0.0/16", "dev": "br7"}},
        {"step": "set_mtu", "ns": "red", "link": "r0", "mtu": 1400},
        {"step": "set_sysctl", "ns": "host", "key": "net/ipv4/ip_forward", "value": "1",
         "persist": true},
        {"step": "add_iptables_rule", "ns": "red", "table": "filter", "chain": "FORWARD",
         "rule": ["-s", "10.70.0.0/24", "-j", "ACCEPT"]},
        {"step": "write_file", "ns": "red", "path": HOSTS_PATH,
         "content": "127.0.0.1 localhost\n10.70.0.1 gw\n"},
        {"step": "delete_link", "ns": "host", "name": "oldbr"}
    ])
}

/// Runs `netlens undo ID --yes` with the test pause hook at inverse step `n` and SIGKILLs it
/// there. Returns false when the undo finished before reaching step `n`.
fn undo_killed_at(id: &str, n: usize) -> bool {
    let mut child = Command::new(netlens_bin())
        .args(["undo", id, "--yes"])
        .env("NETLENS_TEST_PAUSE_AFTER_UNDO_STEP", n.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut paused = false;
    let mut seen = String::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines() {
        let line = line.unwrap_or_default();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("pausing (test hook)") {
            paused = true;
            break;
        }
    }
    // Our own child, by its handle: SIGKILL mid-undo, as a crash would.
    let _ = child.kill();
    let status = child.wait().unwrap();
    if !paused {
        assert!(status.success(), "undo killed at {n} failed early:\n{seen}");
    }
    paused
}

/// A snapshot once links just set up report their final operational state (a veth's carrier
/// follows its peer after the kernel's link watch, which runs at most once a second).
fn settled() -> netlens::model::Snapshot {
    std::thread::sleep(std::time::Duration::from_millis(1500));
    snap()
}

/// Applies `steps` as a fresh plan again and again, SIGKILLs its undo after inverse step 1, 2,
/// 3, … and checks each time that `netlens undo` run again exits 0, the journal says `undone`
/// and the network is as before. Returns how many kill points there were.
fn kill_every_point(dir: &Path, name: &str, steps: &Value, extra: &dyn Fn(&str)) -> usize {
    let before = settled();
    let mut points = 0;
    for n in 1..=40 {
        let id = format!("{name}-{n}");
        let file = write_plan(dir, &id, steps.clone());
        apply_cli(&file, &format!("apply {id}"));
        assert!(
            !changes(&before, &snap()).is_empty(),
            "{id} changed nothing"
        );
        if !undo_killed_at(&id, n) {
            assert_same(
                &format!("{id}: undo that was not killed"),
                &before,
                &settled(),
            );
            assert_eq!(state_of(&id), "undone");
            break;
        }
        points += 1;
        let again = netlens(&["undo", &id, "--yes"]);
        assert_code(&again, 0, &format!("undo of {id} after a kill at step {n}"));
        assert_eq!(state_of(&id), "undone", "{id}");
        assert_same(
            &format!("{id}: undo after a kill at {n}"),
            &before,
            &settled(),
        );
        extra(&id);
    }
    points
}

#[test]
fn undo_killed_at_every_point_converges_to_undone() {
    common::world::require_test_hooks();
    in_world(
        "plan_undo_safety::undo_killed_at_every_point_converges_to_undone",
        || {
            let state = private_state();
            private_etc_netns(&["red"]);
            red_world();
            std::fs::write(HOSTS_PATH, HOSTS_BEFORE).unwrap();
            sh(&["ip", "link", "add", "oldbr", "type", "bridge"]);
            sh(&["ip", "addr", "add", "10.72.0.1/24", "dev", "oldbr"]);
            let points = kill_every_point(state.path(), "p-kill", &big_plan_steps(), &|id| {
                assert_eq!(std::fs::read_to_string(HOSTS_PATH).unwrap(), HOSTS_BEFORE);
                assert!(
                    std::fs::read_dir(sysctl_dir()).map_or(true, |mut d| d.next().is_none()),
                    "{id}: a sysctl.d file is left"
                );
                assert!(!is_up(None, "oldbr"), "{id}: oldbr came back up");
            });
            assert!(points >= 10, "only {points} kill points");
        },
    );
}

/// The inverses that recreate and move: a deleted veth with addresses, a route and a peer in
/// another namespace, a moved link, a link set down (its routes come back after it is up).
#[test]
fn undo_of_moves_and_deleted_veths_killed_at_every_point_converges() {
    common::world::require_test_hooks();
    in_world(
        "plan_undo_safety::undo_of_moves_and_deleted_veths_killed_at_every_point_converges",
        || {
            let state = private_state();
            // No IPv6: the kernel's own per-link routes (fe80::/64, ff00::/8) are listed in
            // the order links came up, which a recreated link changes without anything being
            // different.
            for cmd in [
                "sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
                "sysctl -qw net.ipv6.conf.default.disable_ipv6=1",
            ] {
                sh(&cmd.split(' ').collect::<Vec<_>>());
            }
            red_world();
            for cmd in [
                "ip netns exec red sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
                "ip netns exec red sysctl -qw net.ipv6.conf.default.disable_ipv6=1",
                "ip link add vx type veth peer name vy netns red",
                "ip addr add 10.80.0.1/24 dev vx",
                "ip -n red addr add 10.80.0.2/24 dev vy",
                "ip link set vx up",
                "ip -n red link set vy up",
                "ip route add 10.81.0.0/16 via 10.80.0.2 proto static",
                "ip link add mv0 type veth peer name mv1",
                "ip addr add 10.82.0.1/24 dev mv0",
                "ip addr add 10.83.0.1/24 dev to-red",
                "ip link set to-red up",
                "ip -n red link set eth0 up",
                "ip route add 10.84.0.0/16 dev to-red proto static",
            ] {
                sh(&cmd.split(' ').collect::<Vec<_>>());
            }
            let steps = json!([
                {"step": "move_link", "ns": "host", "name": "mv0", "to_ns": "red"},
                {"step": "set_mtu", "ns": "red", "link": "mv0", "mtu": 1300},
                {"step": "delete_link", "ns": "host", "name": "vx"},
                {"step": "set_link_up", "ns": "host", "link": "to-red", "up": false}
            ]);
            let points = kill_every_point(state.path(), "p-mv", &steps, &|_| {});
            assert!(points >= 8, "only {points} kill points");
        },
    );
}

/// Applies a one-step plan, lets `edit` change the same object, and checks that undo refuses
/// (non-zero, naming `needle`, nothing changed) and that `--force` undoes.
fn refuses_after(dir: &Path, id: &str, steps: Value, edit: &dyn Fn(), needle: &str) {
    let file = write_plan(dir, id, steps);
    apply_cli(&file, &format!("apply {id}"));
    edit();
    let edited = snap();
    let hosts = std::fs::read_to_string(HOSTS_PATH).ok();
    let sysctl_file =
        std::fs::read_to_string(sysctl_dir().join("90-netlens-net.ipv4.ip_forward.conf")).ok();
    let out = netlens(&["undo", id, "--yes"]);
    assert_ne!(
        out.status.code(),
        Some(0),
        "{id}: undo over a later edit: {}",
        text(&out)
    );
    assert!(!text(&out).contains("panicked"), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(needle),
        "{id}: the refusal names {needle:?}: {err}"
    );
    assert!(
        err.contains("--force"),
        "{id}: the refusal offers --force: {err}"
    );
    assert_same(&format!("{id}: refused undo"), &edited, &snap());
    assert_eq!(std::fs::read_to_string(HOSTS_PATH).ok(), hosts, "{id}");
    assert_eq!(
        std::fs::read_to_string(sysctl_dir().join("90-netlens-net.ipv4.ip_forward.conf")).ok(),
        sysctl_file,
        "{id}"
    );
    assert_ne!(state_of(id), "undone", "{id}");
    let forced = netlens(&["undo", id, "--yes", "--force"]);
    assert_code(&forced, 0, &format!("{id}: undo --force"));
    assert_eq!(state_of(id), "undone", "{id}");
}

/// The same for the bridge-port and neighbour steps: a flag or a pinned MAC someone changed
/// after the plan is not silently overwritten by its undo.
#[test]
fn undo_refuses_over_later_edits_of_port_flags_and_pinned_neighbours() {
    in_world(
        "plan_undo_safety::undo_refuses_over_later_edits_of_port_flags_and_pinned_neighbours",
        || {
            let state = private_state();
            for cmd in [
                "ip netns add sw",
                "ip -n sw link add br0 type bridge",
                "ip -n sw link add p1 type veth peer name q1",
                "ip -n sw link set p1 master br0",
                "ip -n sw link set br0 up",
                "ip -n sw link set p1 up",
                "ip -n sw link set q1 up",
            ] {
                sh(&cmd.split(' ').collect::<Vec<_>>());
            }
            let dir = state.path();
            refuses_after(
                dir,
                "p-port",
                json!([{"step": "set_bridge_port", "ns": "sw", "link": "p1", "isolated": true}]),
                &|| {
                    sh(&[
                        "ip", "netns", "exec", "sw", "bridge", "link", "set", "dev", "p1",
                        "learning", "off",
                    ]);
                },
                "bridge port flags of p1 in sw",
            );
            refuses_after(
                dir,
                "p-neigh",
                json!([{"step": "add_neigh", "ns": "sw", "link": "br0", "addr": "10.80.0.9",
                        "lladdr": "02:00:00:00:00:01"}]),
                &|| {
                    sh(&[
                        "ip",
                        "-n",
                        "sw",
                        "neigh",
                        "replace",
                        "10.80.0.9",
                        "lladdr",
                        "02:00:00:00:00:02",
                        "nud",
                        "permanent",
                        "dev",
                        "br0",
                    ]);
                },
                "neighbour entry 10.80.0.9 on br0 in sw",
            );
        },
    );
}

#[test]
fn undo_refuses_to_destroy_later_edits_unless_forced() {
    in_world(
        "plan_undo_safety::undo_refuses_to_destroy_later_edits_unless_forced",
        || {
            let state = private_state();
            private_etc_netns(&["red"]);
            red_world();
            std::fs::write(HOSTS_PATH, HOSTS_BEFORE).unwrap();
            let dir = state.path();

            refuses_after(
                dir,
                "p-hosts",
                json!([{"step": "write_file", "ns": "red", "path": HOSTS_PATH,
                    "content": "127.0.0.1 localhost\n10.70.0.1 gw\n"}]),
                &|| {
                    let mut t = std::fs::read_to_string(HOSTS_PATH).unwrap();
                    t.push_str("10.70.0.9 admin-added\n");
                    std::fs::write(HOSTS_PATH, t).unwrap();
                },
                HOSTS_PATH,
            );
            // --force put the plan's "before" back.
            assert_eq!(std::fs::read_to_string(HOSTS_PATH).unwrap(), HOSTS_BEFORE);

            let conf = sysctl_dir().join("90-netlens-net.ipv4.ip_forward.conf");
            refuses_after(
                dir,
                "p-sysctl-d",
                json!([{"step": "set_sysctl", "ns": "host", "key": "net/ipv4/ip_forward",
                    "value": "1", "persist": true}]),
                &|| {
                    let mut t = std::fs::read_to_string(&conf).unwrap();
                    t.push_str("net.ipv4.conf.all.forwarding = 1\n");
                    std::fs::write(&conf, t).unwrap();
                },
                "90-netlens-net.ipv4.ip_forward.conf",
            );

            refuses_after(
                dir,
                "p-mtu",
                json!([{"step": "set_mtu", "ns": "red", "link": "eth0", "mtu": 1400}]),
                &|| {
                    sh(&["ip", "-n", "red", "link", "set", "eth0", "mtu", "1300"]);
                },
                "mtu of eth0 in red",
            );
            // --force put the old MTU back.
            assert_eq!(
                ip_json(Some("red"), &["link", "show", "eth0"])[0]["mtu"],
                1500
            );

            // Put back as it was before the plan by someone else: undo has nothing to destroy
            // there, and goes ahead.
            let file = write_plan(
                dir,
                "p-mtu-back",
                json!([{"step": "set_mtu", "ns": "red", "link": "eth0", "mtu": 1400}]),
            );
            apply_cli(&file, "apply p-mtu-back");
            sh(&["ip", "-n", "red", "link", "set", "eth0", "mtu", "1500"]);
            assert_code(
                &netlens(&["undo", "p-mtu-back", "--yes"]),
                0,
                "undo p-mtu-back",
            );
            assert_eq!(state_of("p-mtu-back"), "undone");

            refuses_after(
                dir,
                "p-bridge",
                json!([{"step": "add_bridge", "ns": "host", "name": "brx"}]),
                &|| {
                    sh(&["ip", "link", "set", "to-red", "master", "brx"]);
                },
                "link brx in host",
            );

            refuses_after(
                dir,
                "p-rule",
                json!([{"step": "add_iptables_rule", "ns": "red", "table": "filter",
                    "chain": "FORWARD", "rule": ["-s", "10.70.0.0/24", "-j", "ACCEPT"]}]),
                &|| {
                    sh(&[
                        "ip",
                        "netns",
                        "exec",
                        "red",
                        "iptables",
                        "-w",
                        "-A",
                        "FORWARD",
                        "-s",
                        "10.70.0.0/24",
                        "-j",
                        "ACCEPT",
                    ]);
                },
                "filter/FORWARD",
            );
        },
    );
}

#[test]
fn bridges_come_back_with_their_admin_state() {
    in_world(
        "plan_undo_safety::bridges_come_back_with_their_admin_state",
        || {
            let _state = private_state();
            // `ip link add NAME type bridge`, as the preview says, creates it down.
            let p = plan(
                "add bridge",
                json!([{"step": "add_bridge", "ns": "host", "name": "brn"}]),
            );
            plan::apply(&p, &ApplyOptions::default()).unwrap();
            assert!(!is_up(None, "brn"), "add_bridge created an UP bridge");
            assert!(plan::preview(&p)
                .iter()
                .any(|c| c == "ip link add brn type bridge"));
            plan::undo(&UndoTarget::Id(p.id.clone())).unwrap();

            // With their MACs given, as undo recreates them: an empty bridge whose MAC was set has
            // no carrier once up (a kernel rule), so the snapshots compare like with like.
            sh(&[
                "ip",
                "link",
                "add",
                "bdown",
                "address",
                "02:00:00:00:0b:01",
                "type",
                "bridge",
            ]);
            sh(&[
                "ip",
                "link",
                "add",
                "bup",
                "address",
                "02:00:00:00:0b:02",
                "type",
                "bridge",
            ]);
            sh(&["ip", "link", "set", "bup", "up"]);
            let before = snap();
            let p = plan(
                "delete bridges",
                json!([{"step": "delete_link", "ns": "host", "name": "bdown"},
                   {"step": "delete_link", "ns": "host", "name": "bup"}]),
            );
            plan::apply(&p, &ApplyOptions::default()).unwrap();
            plan::undo(&UndoTarget::Id(p.id.clone())).unwrap();
            assert!(!is_up(None, "bdown"), "a DOWN bridge came back UP");
            assert!(is_up(None, "bup"), "an UP bridge came back DOWN");
            assert_same("bridges deleted and undone", &before, &snap());
        },
    );
}
