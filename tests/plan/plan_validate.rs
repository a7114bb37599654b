//! Validation that cannot be talked round (issue 10, items 4, 10 and inverse validation):
//! iptables rules read as iptables reads them (every spelling of the table option,
//! `--modprobe`, chain commands, targets), sysctl keys limited to a namespace's network, the
//! sysctl.d file limited to what netlens writes, and inverses planted in a journal refused by
//! `undo`. Each runs in a throwaway world (a dry run needs to open the namespaces it names).

use crate::common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::plan::{private_state, sysctl_dir};
use common::world::{in_world, netlens_bin, sh};
use serde_json::{json, Value};

fn netlens(args: &[&str], state: &Path) -> Output {
    Command::new(netlens_bin())
        .args(args)
        .env("NETLENS_STATE_DIR", state.join("state"))
        .env("NETLENS_SYSCTL_DIR", state.join("sysctl.d"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run netlens {args:?}: {e}"))
}

fn write_plan(dir: &Path, plan: &Value) -> String {
    let path = dir.join("plan.json");
    std::fs::write(&path, serde_json::to_string_pretty(plan).unwrap()).unwrap();
    path.display().to_string()
}

/// `apply --dry-run` refuses the plan: exit 2, one line naming `needle`, nothing printed as
/// if it would run.
fn refused(dir: &Path, steps: Value, needle: &str) {
    let plan = json!({"id": "p-validate", "title": "t", "steps": steps});
    let file = write_plan(dir, &plan);
    let out = netlens(&["apply", "--dry-run", &file], dir);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "not refused: {steps}\nstdout:\n{}\nstderr:\n{err}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{steps}: {err}");
    assert!(!err.contains("panicked"), "{steps}: {err}");
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{steps}: expected {needle:?} in: {err}"
    );
}

fn accepted(dir: &Path, steps: Value) {
    let plan = json!({"id": "p-validate", "title": "t", "steps": steps});
    let file = write_plan(dir, &plan);
    let out = netlens(&["apply", "--dry-run", &file], dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "refused: {steps}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn rule(table: &str, chain: &str, args: &[&str]) -> Value {
    json!([{"step": "add_iptables_rule", "ns": "host", "table": table, "chain": chain,
            "rule": args}])
}

const DNAT: [&str; 6] = ["-p", "tcp", "-j", "DNAT", "--to-destination", "10.9.9.9:80"];

/// Every spelling iptables' getopt_long reads as "table nat".
fn smuggled_tables() -> Vec<Vec<&'static str>> {
    let with = |head: &[&'static str]| head.iter().copied().chain(DNAT).collect::<Vec<_>>();
    vec![
        with(&["-t", "nat"]),
        with(&["-tnat"]),
        with(&["--table", "nat"]),
        with(&["--table=nat"]),
        with(&["--tab=nat"]),
        with(&["--ta", "nat"]),
        with(&["-vtnat"]),
        with(&["-ntnat"]),
        with(&["!", "-tnat"]),
        with(&["-s", "10.0.0.0/8", "-tnat"]),
        // An option netlens does not know may take no value: what follows is still an option.
        with(&["-p", "tcp", "--syn", "-tnat"]),
        // After the target too.
        DNAT.iter().copied().chain(["-tnat"]).collect(),
    ]
}

#[test]
fn table_smuggling_is_refused() {
    in_world("plan_validate::table_smuggling_is_refused", || {
        let dir = tempfile::tempdir().unwrap();
        for args in smuggled_tables() {
            refused(dir.path(), rule("filter", "PREROUTING", &args), "table");
        }
    });
}

#[test]
fn commands_and_global_options_in_a_rule_are_refused() {
    in_world(
        "plan_validate::commands_and_global_options_in_a_rule_are_refused",
        || {
            let dir = tempfile::tempdir().unwrap();
            for (args, needle) in [
                (vec!["--modprobe=/tmp/x", "-j", "ACCEPT"], "modprobe"),
                (vec!["--modprobe", "/tmp/x", "-j", "ACCEPT"], "modprobe"),
                (vec!["--modp=/tmp/x", "-j", "ACCEPT"], "modprobe"),
                (vec!["-M/tmp/x", "-j", "ACCEPT"], "modprobe"),
                (vec!["-j", "ACCEPT", "-FINPUT"], "-F"),
                (vec!["-j", "ACCEPT", "--flush"], "flush"),
                (vec!["-j", "ACCEPT", "--fl"], "flush"),
                (vec!["-j", "ACCEPT", "-XDOCKER"], "-X"),
                (
                    vec!["-j", "ACCEPT", "--delete-chain=DOCKER"],
                    "delete-chain",
                ),
                (vec!["-PINPUT", "DROP"], "-P"),
                (vec!["-j", "ACCEPT", "-A", "INPUT"], "-A"),
                (vec!["-j", "ACCEPT", "-vA", "INPUT"], "-A"),
                (vec!["-j", "ACCEPT", "--app=INPUT"], "append"),
                (vec!["-j", "ACCEPT", "-NX"], "-N"),
                (vec!["-j", "ACCEPT", "-EA", "B"], "-E"),
                (vec!["-j", "ACCEPT", "-Z"], "-Z"),
                (vec!["-j", "ACCEPT", "-R", "INPUT", "1"], "-R"),
                (vec!["-j", "ACCEPT", "-c", "0", "0"], "-c"),
                (vec!["-j", "ACCEPT", "--", "-tnat"], "--"),
                (vec!["-j", "ACCEPT", "-g", "X"], "goto"),
                (vec!["-j", "LOG"], "target"),
                (vec!["--jump=LOG"], "target"),
                (vec!["-jLOG"], "target"),
                (vec!["-j", "ACCEPT", "-j", "DROP"], "target"),
                (vec!["-s", "10.0.0.0/8"], "target"),
            ] {
                refused(dir.path(), rule("filter", "FORWARD", &args), needle);
            }
            // A NAT rule netlens would never add: DNAT is only ever removed (stale NAT) or put back.
            refused(dir.path(), rule("nat", "PREROUTING", &DNAT), "DNAT");
            refused(
                dir.path(),
                rule("mangle", "PREROUTING", &["-j", "ACCEPT"]),
                "table",
            );
        },
    );
}

#[test]
fn rules_netlens_writes_are_accepted() {
    in_world("plan_validate::rules_netlens_writes_are_accepted", || {
        let dir = tempfile::tempdir().unwrap();
        let tag = ["-m", "comment", "--comment", "netlens"];
        let masq: Vec<&str> = ["-s", "10.0.0.0/24", "!", "-o", "br0"]
            .into_iter()
            .chain(tag)
            .chain(["-j", "MASQUERADE"])
            .collect();
        accepted(dir.path(), rule("nat", "POSTROUTING", &masq));
        let fwd: Vec<&str> = ["-d", "10.0.0.0/24", "-m", "conntrack", "--ctstate"]
            .into_iter()
            .chain(["RELATED,ESTABLISHED"])
            .chain(tag)
            .chain(["-j", "ACCEPT"])
            .collect();
        accepted(dir.path(), rule("filter", "FORWARD", &fwd));
        // A comment is a value, whatever it looks like.
        accepted(
            dir.path(),
            rule(
                "filter",
                "FORWARD",
                &["-m", "comment", "--comment", "-tnat", "-j", "ACCEPT"],
            ),
        );
        // Removing Docker's stale port forward, and the jump to a CNI chain, as doctor's fix does.
        accepted(
            dir.path(),
            json!([{"step": "del_iptables_rule", "ns": "host", "table": "nat", "chain": "DOCKER",
                    "rule": ["!", "-i", "docker0", "-p", "tcp", "-m", "tcp", "--dport", "8080",
                             "-j", "DNAT", "--to-destination", "172.17.0.2:80"]},
                   {"step": "del_iptables_rule", "ns": "host", "table": "nat", "chain": "POSTROUTING",
                    "rule": ["-s", "10.88.0.5/32", "-m", "comment", "--comment",
                             "name: \"podman\" id: \"abc\"", "-j", "CNI-0123456789abcdef"]}]),
        );
    });
}

#[test]
fn sysctls_outside_a_namespaces_network_are_refused() {
    in_world(
        "plan_validate::sysctls_outside_a_namespaces_network_are_refused",
        || {
            let dir = tempfile::tempdir().unwrap();
            let set = |key: &str, value: &str| json!([{"step": "set_sysctl", "ns": "host", "key": key, "value": value}]);
            for key in [
                "kernel/hostname",
                "net/../kernel/hostname",
                "net/ipv4/../../kernel/hostname",
                "kernel.hostname",
                "/proc/sys/kernel/hostname",
                "net.ipv4.ip_forward",
                "net/core/bpf_jit_enable",
                "net",
                "vm/overcommit_memory",
            ] {
                refused(dir.path(), set(key, "1"), "sysctl");
            }
            for value in ["1\n2", "", "$(reboot)", "1;2", "x\u{1b}[2J"] {
                refused(dir.path(), set("net/ipv4/ip_forward", value), "value");
            }
            for (key, value) in [
                ("net/ipv4/ip_forward", "1"),
                ("net/ipv4/conf/eth0.100/rp_filter", "2"),
                ("net/ipv4/ip_local_port_range", "32768\t60999"),
                ("net/bridge/bridge-nf-call-iptables", "1"),
                ("net/netfilter/nf_conntrack_max", "262144"),
                ("net/ipv6/conf/all/forwarding", "1"),
            ] {
                accepted(dir.path(), set(key, value));
            }
        },
    );
}

#[test]
fn sysctl_file_restores_only_this_keys_plain_setting() {
    in_world(
        "plan_validate::sysctl_file_restores_only_this_keys_plain_setting",
        || {
            let dir = tempfile::tempdir().unwrap();
            let restore = |key: &str, content: Option<&str>| json!([{"step": "restore_sysctl_file", "key": key, "content": content}]);
            let ours = "# Written by netlens (plan p: forward); `netlens undo` removes it.\n\
                    net.ipv4.ip_forward = 1\n";
            accepted(dir.path(), restore("net/ipv4/ip_forward", Some(ours)));
            accepted(dir.path(), restore("net/ipv4/ip_forward", None));
            // An admin's file that stood at that name before netlens wrote over it.
            accepted(
                dir.path(),
                restore("net/ipv4/ip_forward", Some("net.ipv4.ip_forward = 0\n")),
            );
            for content in [
                "kernel.hostname = pwned\n",
                "# Written by netlens; `netlens undo` removes it.\nkernel.hostname = x\n",
                "# Written by netlens; `netlens undo` removes it.\nnet.ipv4.ip_forward = 1\n\
             kernel.core_pattern = |/tmp/x\n",
                "# Written by netlens; `netlens undo` removes it.\nnet.ipv4.ip_forward = 1;x\n",
                "net.ipv4.* = 1\n",
                "net.ipv4.ip_forward = 1\r\nkernel.hostname = x\n",
            ] {
                refused(
                    dir.path(),
                    restore("net/ipv4/ip_forward", Some(content)),
                    "sysctl.d content",
                );
            }
            refused(dir.path(), restore("kernel/core_pattern", None), "sysctl");
        },
    );
}

/// In a world: a rule declared `filter` that names the nat table installs nothing, whether
/// asked for with `--yes` or not.
#[test]
fn smuggled_nat_rule_installs_nothing() {
    in_world("plan_validate::smuggled_nat_rule_installs_nothing", || {
        let state = private_state();
        for args in smuggled_tables() {
            let file = write_plan(
                state.path(),
                &json!({"id": "p-smuggle", "title": "t",
                        "steps": rule("filter", "PREROUTING", &args)}),
            );
            let out = Command::new(netlens_bin())
                .args(["apply", "--yes", &file])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            let nat = sh(&["iptables-save", "-t", "nat"]);
            assert!(!nat.contains("DNAT"), "{args:?} installed:\n{nat}");
        }
    });
}

/// A journal planted by hand (today's record format) whose inverses are crafted: a nat rule
/// smuggled into a "filter" step and a sysctl.d file with someone else's content. `undo`
/// refuses them, naming the plan and the step, and runs nothing.
#[test]
fn planted_journal_inverse_is_refused_by_undo() {
    in_world(
        "plan_validate::planted_journal_inverse_is_refused_by_undo",
        || {
            let _state = private_state();
            let journal = std::path::PathBuf::from(std::env::var_os("NETLENS_STATE_DIR").unwrap())
                .join("journal");
            std::fs::create_dir_all(&journal).unwrap();
            let plan = json!({"id": "p-planted", "title": "harmless",
            "steps": [{"step": "set_link_up", "ns": "host", "link": "lo", "up": true},
                      {"step": "set_link_up", "ns": "host", "link": "lo", "up": true}]});
            let sysctl_inverse = json!([{"step": "restore_sysctl_file", "key": "net/ipv4/ip_forward",
                                     "content": "kernel.core_pattern = |/tmp/pwn\n"}]);
            let nat_inverse = json!([{"step": "add_iptables_rule", "ns": "host", "table": "filter",
            "chain": "PREROUTING",
            "rule": ["-tnat", "-p", "tcp", "-j", "DNAT", "--to-destination", "10.9.9.9:80"]}]);
            let at = 1_700_000_000u64;
            let records = [
                json!({"at": at, "event": "started", "plan": plan, "pid": 1}),
                json!({"at": at, "event": "step_started", "index": 0, "inverse": sysctl_inverse}),
                json!({"at": at, "event": "step_done", "index": 0, "inverse": sysctl_inverse}),
                json!({"at": at, "event": "step_started", "index": 1, "inverse": nat_inverse}),
                json!({"at": at, "event": "step_done", "index": 1, "inverse": nat_inverse}),
                json!({"at": at, "event": "committed"}),
            ];
            let text: String = records.iter().map(|r| format!("{r}\n")).collect();
            std::fs::write(journal.join("p-planted.jsonl"), text).unwrap();

            let out = Command::new(netlens_bin())
                .args(["undo", "p-planted", "--yes"])
                .stdin(Stdio::null())
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_ne!(out.status.code(), Some(0), "undo ran it: {err}");
            assert!(!err.contains("panicked"), "{err}");
            assert!(err.contains("p-planted"), "plan not named: {err}");
            let nat = sh(&["iptables-save", "-t", "nat"]);
            assert!(!nat.contains("DNAT"), "the planted inverse ran:\n{nat}");
            let written: Vec<_> = std::fs::read_dir(sysctl_dir())
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default();
            assert!(written.is_empty(), "sysctl.d written: {written:?}");
        },
    );
}

fn nft_insert(family: &str, table: &str, chain: &str, rule: Value) -> Value {
    json!([{"step": "insert_nft_rule", "ns": "host", "family": family, "table": table,
            "chain": chain, "rule": rule}])
}

/// nft steps: names that are not plain nft names (a plan, or a hostile snapshot the doctor
/// read, may hold any), families other than ip/ip6/inet, an accept of everything, and a
/// rule nft's syntax could not quote are refused before anything runs; the rules the doctor
/// writes pass.
#[test]
fn nft_steps_are_validated() {
    in_world("plan_validate::nft_steps_are_validated", || {
        let dir = private_state();
        let port = json!({"proto": "tcp", "dport": 22});
        for (family, table, chain, needle) in [
            ("inet", "filter; flush ruleset", "forward", "table name"),
            ("inet", "filter", "fwd\"x", "chain name"),
            ("inet", "filter", "", "chain name"),
            ("bridge", "filter", "forward", "family"),
            ("netdev", "filter", "forward", "family"),
        ] {
            refused(
                dir.path(),
                nft_insert(family, table, chain, port.clone()),
                needle,
            );
        }
        refused(
            dir.path(),
            nft_insert("inet", "filter", "forward", json!({})),
            "accept of everything",
        );
        refused(
            dir.path(),
            nft_insert("inet", "filter", "forward", json!({"dport": 22})),
            "protocol",
        );
        refused(
            dir.path(),
            nft_insert("ip6", "filter", "forward", json!({"saddr": "10.0.0.0/8"})),
            "family",
        );
        refused(
            dir.path(),
            nft_insert(
                "inet",
                "filter",
                "forward",
                json!({"iif": "a\"b", "dport": 22, "proto": "tcp"}),
            ),
            "quote",
        );
        let del = json!([{"step": "del_nft_rule", "ns": "host", "family": "inet",
            "table": "x y", "chain": "forward", "handle": 3, "rule": port}]);
        refused(dir.path(), del, "table name");
        accepted(
            dir.path(),
            nft_insert(
                "inet",
                "filter",
                "forward",
                json!({"iif": "eth0", "oif": "cni0", "saddr": "10.5.0.0/24", "established": true}),
            ),
        );
    });
}
