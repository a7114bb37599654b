//! Listening sockets and processes per namespace in `netlens snapshot`.
//!
//! Built by hand with `ip`/`iptables` inside throwaway worlds (see `common::world`), with names
//! and subnets the lab never uses; every fact is asserted exactly, and checked against
//! iproute2 where it has an independent answer.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::bridge_world::build_bridge_world;
use common::snap::*;
use common::world::{in_world, sh};
use netlens::model::ProcessRef;

/// Kills and reaps the children it holds when dropped, so a failing assertion leaves no
/// stray process behind (the world would kill them anyway).
struct Reaper(Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `argv` inside named namespace `ns_name` in the background.
fn spawn_in(ns_name: &str, argv: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns_name])
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {argv:?} in {ns_name}: {e}"))
}

/// Waits until `ss ARGS` inside `ns_name` prints something.
fn wait_for_ss(ns_name: &str, args: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut argv = vec!["ss", "-H"];
    argv.extend_from_slice(args);
    while ns_sh(ns_name, &argv).trim().is_empty() {
        assert!(Instant::now() < deadline, "{argv:?} in {ns_name}: nothing");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A TCP listener on one address in `db` and a UDP socket on the wildcard in `app2`, both
/// socat: each namespace lists exactly its own socket with the owning process, and no other
/// namespace sees them. A process started with `ip netns exec` is listed in the named
/// namespace's processes.
#[test]
fn listening_sockets_and_processes_per_namespace() {
    in_world(
        "snapshot_sockets::listening_sockets_and_processes_per_namespace",
        || {
            assert!(
                sh(&["sh", "-c", "command -v socat || true"]).contains("socat"),
                "socat is needed: run tests/setup.sh"
            );
            build_bridge_world();
            let tcp = spawn_in(
                "db",
                &[
                    "socat",
                    "TCP-LISTEN:5432,bind=10.77.0.13,reuseaddr,fork",
                    "EXEC:/bin/true",
                ],
            );
            let udp = spawn_in("app2", &["socat", "-u", "UDP-RECV:5353", "OPEN:/dev/null"]);
            let (tcp_pid, udp_pid) = (tcp.id(), udp.id());
            let _reaper = Reaper(vec![tcp, udp]);
            wait_for_ss("db", &["-ltn"]);
            wait_for_ss("app2", &["-lun"]);

            let snap = snapshot_json(&[]);
            let socat = |pid| ProcessRef {
                pid,
                comm: "socat".into(),
                container_id: None,
            };
            let view = |n: &str| -> Vec<(String, String, u16, Vec<ProcessRef>)> {
                ns(&snap, n)
                    .sockets
                    .iter()
                    .map(|s| {
                        (
                            s.proto.clone(),
                            s.address.to_string(),
                            s.port,
                            s.processes.clone(),
                        )
                    })
                    .collect()
            };
            assert_eq!(
                view("db"),
                [(
                    "tcp".into(),
                    "10.77.0.13".into(),
                    5432,
                    vec![socat(tcp_pid)]
                )]
            );
            assert_eq!(
                view("app2"),
                [("udp".into(), "0.0.0.0".into(), 5353, vec![socat(udp_pid)])]
            );
            assert_eq!(view("app1"), []);
            assert_eq!(view("host"), []);
            assert_eq!(ns(&snap, "db").processes, [socat(tcp_pid)]);
            assert_eq!(ns(&snap, "app2").processes, [socat(udp_pid)]);
            assert_eq!(ns(&snap, "app1").processes, []);
            // Host processes are listed only when containerised.
            assert_eq!(ns(&snap, "host").processes, []);
        },
    );
}

/// One socket of each kind (TCP, TCP over IPv6, UDP, UDP over IPv6), each alone in its
/// namespace, and one namespace with none: netlens skips dumping a protocol a namespace
/// holds no socket of (its sockstat counts), so each must still list exactly what `ss` lists
/// there, by port and protocol.
#[test]
fn a_namespace_with_one_kind_of_socket_lists_it() {
    in_world(
        "snapshot_sockets::a_namespace_with_one_kind_of_socket_lists_it",
        || {
            let kinds = [
                ("sk-tcp", "AF_INET", "SOCK_STREAM", "0.0.0.0", "tcp"),
                ("sk-tcp6", "AF_INET6", "SOCK_STREAM", "::", "tcp6"),
                ("sk-udp", "AF_INET", "SOCK_DGRAM", "0.0.0.0", "udp"),
                ("sk-udp6", "AF_INET6", "SOCK_DGRAM", "::", "udp6"),
            ];
            sh(&["ip", "netns", "add", "sk-none"]);
            let mut children = Vec::new();
            for (k, (name, family, kind, addr, _)) in kinds.iter().enumerate() {
                sh(&["ip", "netns", "add", name]);
                sh(&["ip", "-n", name, "link", "set", "lo", "up"]);
                let listen = if *kind == "SOCK_STREAM" {
                    "s.listen()\n"
                } else {
                    ""
                };
                let code = format!(
                    "import socket,time\ns=socket.socket(socket.{family},socket.{kind})\n\
                     s.bind(('{addr}',{}))\n{listen}time.sleep(600)",
                    7100 + k
                );
                children.push(spawn_in(name, &["python3", "-c", &code]));
            }
            let _reaper = Reaper(children);
            for (name, _, kind, ..) in &kinds {
                let flag = if *kind == "SOCK_STREAM" {
                    "-ltn"
                } else {
                    "-lun"
                };
                wait_for_ss(name, &[flag]);
            }
            let snap = snapshot_json(&[]);
            for (k, (name, .., proto)) in kinds.iter().enumerate() {
                let got: Vec<(String, u16)> = ns(&snap, name)
                    .sockets
                    .iter()
                    .map(|s| (s.proto.clone(), s.port))
                    .collect();
                assert_eq!(got, [(proto.to_string(), 7100 + k as u16)], "{name}");
                // The oracle: `ss` dumps every protocol.
                let ss = ns_sh(name, &["ss", "-Hlnut"]);
                assert_eq!(ss.lines().count(), 1, "{name}: {ss}");
                assert!(ss.contains(&format!(":{}", 7100 + k)), "{name}: {ss}");
            }
            assert!(ns(&snap, "sk-none").sockets.is_empty());
        },
    );
}
