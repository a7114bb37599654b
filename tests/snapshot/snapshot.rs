//! `netlens snapshot` on topologies built by hand with `ip`/`iptables` inside throwaway worlds
//! (see `common::world`), with names and subnets the lab never uses. Every fact the snapshot
//! reports is asserted exactly, and checked against iproute2 where it has an independent answer
//! (MAC addresses, IPv6 link-local addresses).

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::snap::*;
use common::world::{in_world, netlens_bin, private_etc_netns, sh};
use netlens::firewall::{Backend, IpFamily, XtSource};
use netlens::model::{NamespaceKind, NsStatus, ProcessRef, Snapshot};

// ---------------------------------------------------------------------------------------------
// Topology builders

/// `app1`, `app2`, `db` on bridge `br-test` (10.77.0.1/24) in the world's root namespace; each
/// namespace's `eth0` is paired with `h-NAME` in the root, default route via the bridge. Root
/// forwards, masquerades the subnet and forwards port 8080 to db:5432.
fn build_bridge_world() {
    sh(&["ip", "link", "add", "br-test", "type", "bridge"]);
    sh(&["ip", "addr", "add", "10.77.0.1/24", "dev", "br-test"]);
    sh(&["ip", "link", "set", "br-test", "up"]);
    for (name, ip) in [
        ("app1", "10.77.0.11"),
        ("app2", "10.77.0.12"),
        ("db", "10.77.0.13"),
    ] {
        let host_end = format!("h-{name}");
        sh(&["ip", "netns", "add", name]);
        sh(&["ip", "-n", name, "link", "set", "lo", "up"]);
        sh(&[
            "ip", "link", "add", &host_end, "type", "veth", "peer", "name", "eth0", "netns", name,
        ]);
        sh(&["ip", "link", "set", &host_end, "master", "br-test", "up"]);
        sh(&[
            "ip",
            "-n",
            name,
            "addr",
            "add",
            &format!("{ip}/24"),
            "dev",
            "eth0",
        ]);
        sh(&["ip", "-n", name, "link", "set", "eth0", "up"]);
        sh(&[
            "ip",
            "-n",
            name,
            "route",
            "add",
            "default",
            "via",
            "10.77.0.1",
        ]);
    }
    std::fs::write("/proc/sys/net/ipv4/ip_forward", "1\n").expect("set ip_forward");
    sh(&[
        "iptables",
        "-t",
        "nat",
        "-A",
        "POSTROUTING",
        "-s",
        "10.77.0.0/24",
        "!",
        "-o",
        "br-test",
        "-j",
        "MASQUERADE",
    ]);
    sh(&[
        "iptables",
        "-t",
        "nat",
        "-A",
        "PREROUTING",
        "-p",
        "tcp",
        "--dport",
        "8080",
        "-j",
        "DNAT",
        "--to-destination",
        "10.77.0.13:5432",
    ]);
}

/// A neighbour state that means "resolved": what a ping leaves behind for a while.
fn resolved(state: &str) -> bool {
    matches!(state, "REACHABLE" | "STALE" | "DELAY" | "PROBE")
}

/// `(address, lladdr)` of the resolved IPv4 neighbours of a namespace, sorted.
fn v4_neighbors(snap: &Snapshot, ns_name: &str) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = ns(snap, ns_name)
        .neighbors
        .iter()
        .filter(|n| n.address.is_ipv4())
        .map(|n| {
            assert!(
                resolved(&n.state),
                "{ns_name}: neighbour {n:?} not resolved"
            );
            (
                n.dev.clone(),
                n.address.to_string(),
                n.lladdr.clone().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

// ---------------------------------------------------------------------------------------------
// 1. Bridge topology

/// Three namespaces on a root bridge: names, kinds, MACs, peers both ways, masters and ports,
/// addresses, routes, neighbours after pings, NAT rules, ip_forward, DNS defaults and the text
/// output's topology section, all exact.
#[test]
fn bridge_topology_is_reported_exactly() {
    in_world("snapshot::bridge_topology_is_reported_exactly", || {
        build_bridge_world();
        ping("app1", "10.77.0.12");
        ping("app1", "10.77.0.1");
        let snap = snapshot_json(&[]);

        // Namespaces: host first, then named ones sorted; all fully read.
        let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["host", "app1", "app2", "db"]);
        assert_eq!(ns(&snap, "host").kind, NamespaceKind::Host);
        for n in ["app1", "app2", "db"] {
            let nsx = ns(&snap, n);
            assert_eq!(nsx.kind, NamespaceKind::Named, "{n}");
            assert_eq!(nsx.paths, [format!("/run/netns/{n}")], "{n}");
            assert_eq!(nsx.processes, Vec::<ProcessRef>::new(), "{n}");
        }
        for n in &snap.namespaces {
            assert_eq!(n.status, NsStatus::Ok, "{}", n.name);
        }
        assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
        assert_eq!(snap.schema_version, netlens::model::SCHEMA_VERSION);

        // Links.
        assert_eq!(
            link_names(&snap, "host"),
            ["br-test", "h-app1", "h-app2", "h-db", "lo"]
        );
        let br = link(&snap, "host", "br-test");
        assert_eq!(br.kind, "bridge");
        assert_eq!(br.ports, ["h-app1", "h-app2", "h-db"]);
        assert_eq!(br.master, None);
        assert_eq!(br.peer, None);
        assert_eq!(link(&snap, "host", "lo").kind, "loopback");
        for n in ["app1", "app2", "db"] {
            assert_eq!(link_names(&snap, n), ["eth0", "lo"], "{n}");
            let host_end = format!("h-{n}");
            let h = link(&snap, "host", &host_end);
            assert_eq!(h.master.as_deref(), Some("br-test"), "{host_end}");
            assert_eq!(h.master_index, Some(br.index), "{host_end}");
            assert!(h.ports.is_empty());
            let e = link(&snap, n, "eth0");
            assert_eq!((e.master.as_deref(), e.master_index), (None, None), "{n}");
            assert_eq!(e.oper_state, "UP", "{n}/eth0");
            assert!(e.flags.iter().any(|f| f == "UP"), "{n}/eth0 {:?}", e.flags);
            assert_eq!(e.mtu, 1500);
            assert_veth_pair(&snap, n, "eth0", "host", &host_end);
            assert_eq!(
                e.mac.as_deref(),
                Some(mac_from_ip(Some(n), "eth0").as_str())
            );
            assert_eq!(
                h.mac.as_deref(),
                Some(mac_from_ip(None, &host_end).as_str())
            );
        }
        assert_eq!(
            br.mac.as_deref(),
            Some(mac_from_ip(None, "br-test").as_str())
        );
        assert_all_veths_paired(&snap);

        // Addresses: IPv4 exact, IPv6 (kernel-made link-locals) as iproute2 sees them.
        let lo4 = (
            "lo".to_string(),
            "127.0.0.1/8".to_string(),
            "host".to_string(),
        );
        let global =
            |ifname: &str, cidr: &str| (ifname.to_string(), cidr.to_string(), "global".to_string());
        assert_eq!(
            v4_addresses(&snap, "host"),
            [global("br-test", "10.77.0.1/24"), lo4.clone()]
        );
        for (n, ip) in [
            ("app1", "10.77.0.11"),
            ("app2", "10.77.0.12"),
            ("db", "10.77.0.13"),
        ] {
            assert_eq!(
                v4_addresses(&snap, n),
                [global("eth0", &format!("{ip}/24")), lo4.clone()],
                "{n}"
            );
            assert_eq!(v6_addresses(&snap, n), v6_addresses_from_ip(Some(n)), "{n}");
        }
        assert_eq!(v6_addresses(&snap, "host"), v6_addresses_from_ip(None));

        // Routes.
        assert_eq!(
            routes(&snap, "host", "inet", 254),
            ["10.77.0.0/24 dev br-test proto kernel scope link src 10.77.0.1"]
        );
        assert_eq!(
            routes(&snap, "app1", "inet", 254),
            [
                "10.77.0.0/24 dev eth0 proto kernel scope link src 10.77.0.11",
                "default via 10.77.0.1 dev eth0 proto boot scope global",
            ]
        );
        assert_eq!(
            routes(&snap, "app1", "inet", 255),
            [
                "broadcast 10.77.0.255/32 dev eth0 proto kernel scope link src 10.77.0.11",
                "broadcast 127.255.255.255/32 dev lo proto kernel scope link src 127.0.0.1",
                "local 10.77.0.11/32 dev eth0 proto kernel scope host src 10.77.0.11",
                "local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1",
                "local 127.0.0.1/32 dev lo proto kernel scope host src 127.0.0.1",
            ]
        );
        for (n, ip) in [("app2", "10.77.0.12"), ("db", "10.77.0.13")] {
            assert_eq!(
                routes(&snap, n, "inet", 254),
                [
                    format!("10.77.0.0/24 dev eth0 proto kernel scope link src {ip}"),
                    "default via 10.77.0.1 dev eth0 proto boot scope global".to_string(),
                ],
                "{n}"
            );
        }

        // Neighbours: app1 pinged app2 and the gateway; app2 and the root answered app1.
        let app1_mac = mac_from_ip(Some("app1"), "eth0");
        let nb =
            |dev: &str, ip: &str, mac: &str| (dev.to_string(), ip.to_string(), mac.to_string());
        assert_eq!(
            v4_neighbors(&snap, "app1"),
            [
                nb("eth0", "10.77.0.1", &mac_from_ip(None, "br-test")),
                nb("eth0", "10.77.0.12", &mac_from_ip(Some("app2"), "eth0")),
            ]
        );
        assert_eq!(
            v4_neighbors(&snap, "app2"),
            [nb("eth0", "10.77.0.11", &app1_mac)]
        );
        assert_eq!(
            v4_neighbors(&snap, "host"),
            [nb("br-test", "10.77.0.11", &app1_mac)]
        );
        assert_eq!(v4_neighbors(&snap, "db"), []);

        // Sysctls.
        assert_eq!(ns(&snap, "host").sysctls.ip_forward, Some(1));
        for n in ["app1", "app2", "db"] {
            assert_eq!(ns(&snap, n).sysctls.ip_forward, Some(0), "{n}");
        }
        assert!(ns(&snap, "host").sysctls.rp_filter.contains_key("br-test"));

        // Firewall: the root's two NAT rules, nothing anywhere else.
        let fw = ns(&snap, "host").firewall.as_ref().expect("root firewall");
        assert!(fw.errors.is_empty(), "{:?}", fw.errors);
        assert_eq!(fw.backends, [Backend::IptablesNft]);
        let tables: Vec<_> = fw
            .iptables
            .iter()
            .map(|t| (t.family, t.source, t.name.as_str()))
            .collect();
        assert_eq!(tables, [(IpFamily::V4, XtSource::Nft, "nat")]);
        let nat = &fw.iptables[0];
        let chain = |name: &str| {
            nat.chains
                .iter()
                .find(|c| c.name == name)
                .unwrap_or_else(|| panic!("no nat chain {name}: {nat:#?}"))
        };
        let mut chains: Vec<&str> = nat.chains.iter().map(|c| c.name.as_str()).collect();
        chains.sort();
        assert_eq!(chains, ["INPUT", "OUTPUT", "POSTROUTING", "PREROUTING"]);
        assert!(chain("INPUT").rules.is_empty() && chain("OUTPUT").rules.is_empty());
        let post = &chain("POSTROUTING");
        assert_eq!(post.policy.as_deref(), Some("ACCEPT"));
        assert_eq!(post.rules.len(), 1, "{post:#?}");
        let masq = &post.rules[0];
        assert_eq!(masq.target.as_deref(), Some("MASQUERADE"));
        assert!(masq.target_args.is_empty(), "{masq:#?}");
        let src = masq.source.as_ref().expect("-s");
        assert_eq!((src.negated, src.value.as_str()), (false, "10.77.0.0/24"));
        let out = masq.out_iface.as_ref().expect("! -o");
        assert_eq!((out.negated, out.value.as_str()), (true, "br-test"));
        assert!(masq
            .raw
            .ends_with("-A POSTROUTING -s 10.77.0.0/24 ! -o br-test -j MASQUERADE"));
        let pre = &chain("PREROUTING");
        assert_eq!(pre.rules.len(), 1, "{pre:#?}");
        let dnat = &pre.rules[0];
        assert_eq!(dnat.target.as_deref(), Some("DNAT"));
        assert_eq!(
            dnat.target_args,
            [(
                "--to-destination".to_string(),
                "10.77.0.13:5432".to_string()
            )]
        );
        assert_eq!(dnat.dport.as_ref().map(|c| c.value.as_str()), Some("8080"));
        assert_eq!(
            dnat.protocol.as_ref().map(|c| c.value.as_str()),
            Some("tcp")
        );
        assert_eq!(dnat.source, None);
        assert_eq!(dnat.comment, None);
        for n in ["app1", "app2", "db"] {
            let fw = ns(&snap, n).firewall.as_ref().expect("firewall read");
            assert!(
                fw.backends.is_empty() && fw.iptables.is_empty(),
                "{n}: {fw:#?}"
            );
            assert!(fw.nft.is_empty() && fw.errors.is_empty(), "{n}: {fw:#?}");
        }

        // DNS: no /etc/netns overrides, so everyone reads the machine's files.
        for n in &snap.namespaces {
            let dns = n.dns.as_ref().expect("dns read");
            assert_eq!(dns.resolv_conf.path, "/etc/resolv.conf", "{}", n.name);
            assert_eq!(dns.hosts.path, "/etc/hosts", "{}", n.name);
        }

        // `--no-firewall` leaves the firewall out and changes nothing else of substance.
        let nofw = snapshot_json(&["--no-firewall"]);
        assert!(nofw.namespaces.iter().all(|n| n.firewall.is_none()));
        assert_eq!(link_names(&nofw, "host"), link_names(&snap, "host"));

        // Text: the topology section.
        let text = snapshot_text(&[]);
        let mut topo = topology_lines(&text);
        topo.sort();
        assert_eq!(
            topo,
            [
                "bridge br-test (host): h-app1, h-app2, h-db",
                "eth0 (app1) ⇄ h-app1 (host, master br-test)",
                "eth0 (app2) ⇄ h-app2 (host, master br-test)",
                "eth0 (db) ⇄ h-db (host, master br-test)",
            ],
            "{text}"
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 2. veths without a bridge or host end

/// A veth pair directly between two named namespaces, one with both ends in one named
/// namespace, and one with both ends in the root: every end names the other, and the
/// topology section lists each pair once.
#[test]
fn veth_pairs_between_and_within_namespaces() {
    in_world("snapshot::veth_pairs_between_and_within_namespaces", || {
        for n in ["left", "right", "solo"] {
            sh(&["ip", "netns", "add", n]);
        }
        // Give `right` an extra pair first so that index numbers differ across namespaces.
        sh(&[
            "ip", "-n", "right", "link", "add", "pad0", "type", "veth", "peer", "name", "pad1",
        ]);
        sh(&[
            "ip", "-n", "left", "link", "add", "l-to-r", "type", "veth", "peer", "name", "r-to-l",
            "netns", "right",
        ]);
        sh(&[
            "ip", "-n", "solo", "link", "add", "loop-a", "type", "veth", "peer", "name", "loop-b",
        ]);
        sh(&[
            "ip", "link", "add", "rootx0", "type", "veth", "peer", "name", "rootx1",
        ]);
        sh(&[
            "ip",
            "-n",
            "left",
            "addr",
            "add",
            "172.31.9.1/30",
            "dev",
            "l-to-r",
        ]);
        sh(&[
            "ip",
            "-n",
            "right",
            "addr",
            "add",
            "172.31.9.2/30",
            "dev",
            "r-to-l",
        ]);
        sh(&["ip", "-n", "left", "link", "set", "l-to-r", "up"]);
        sh(&["ip", "-n", "right", "link", "set", "r-to-l", "up"]);

        let snap = snapshot_json(&[]);
        assert_eq!(link_names(&snap, "left"), ["l-to-r", "lo"]);
        assert_eq!(link_names(&snap, "right"), ["lo", "pad0", "pad1", "r-to-l"]);
        assert_eq!(link_names(&snap, "solo"), ["lo", "loop-a", "loop-b"]);
        assert_eq!(link_names(&snap, "host"), ["lo", "rootx0", "rootx1"]);
        assert_veth_pair(&snap, "left", "l-to-r", "right", "r-to-l");
        assert_veth_pair(&snap, "right", "pad0", "right", "pad1");
        assert_veth_pair(&snap, "solo", "loop-a", "solo", "loop-b");
        assert_veth_pair(&snap, "host", "rootx0", "host", "rootx1");
        assert_all_veths_paired(&snap);
        assert_eq!(
            v4_addresses(&snap, "left"),
            [("l-to-r".into(), "172.31.9.1/30".into(), "global".into())]
        );
        assert_eq!(
            routes(&snap, "right", "inet", 254),
            ["172.31.9.0/30 dev r-to-l proto kernel scope link src 172.31.9.2"]
        );

        let mut topo = topology_lines(&snapshot_text(&[]));
        topo.sort();
        assert_eq!(
            topo,
            [
                "l-to-r (left) ⇄ r-to-l (right)",
                "loop-a (solo) ⇄ loop-b (solo)",
                "pad0 (right) ⇄ pad1 (right)",
                "rootx0 (host) ⇄ rootx1 (host)",
            ]
        );
    });
}

// ---------------------------------------------------------------------------------------------
// 3. Per-namespace resolv.conf

/// `ip netns exec` semantics: `/etc/netns/NAME/resolv.conf` wins for that namespace only; the
/// others read `/etc/resolv.conf`. Parsed nameserver, search list and ndots are exact.
#[test]
fn per_namespace_resolv_conf_is_used() {
    in_world("snapshot::per_namespace_resolv_conf_is_used", || {
        private_etc_netns(&[]);
        for n in ["app1", "app2"] {
            sh(&["ip", "netns", "add", n]);
        }
        std::fs::create_dir_all("/etc/netns/app1").unwrap();
        std::fs::write(
            "/etc/netns/app1/resolv.conf",
            "nameserver 10.96.0.10\nsearch team.svc.cluster.local svc.cluster.local\noptions ndots:5\n",
        )
        .unwrap();
        // Only resolv.conf is overridden: hosts still comes from /etc.
        let snap = snapshot_json(&[]);

        let dns = ns(&snap, "app1").dns.as_ref().expect("app1 dns");
        assert_eq!(dns.resolv_conf.path, "/etc/netns/app1/resolv.conf");
        assert_eq!(dns.resolv_conf.error, None);
        let rc = dns.resolv_conf.parsed.as_ref().expect("parsed");
        let ns_list: Vec<(&str, Option<std::net::IpAddr>)> = rc
            .nameservers
            .iter()
            .map(|n| (n.text.as_str(), n.addr))
            .collect();
        assert_eq!(
            ns_list,
            [("10.96.0.10", Some("10.96.0.10".parse().unwrap()))]
        );
        assert_eq!(rc.search, ["team.svc.cluster.local", "svc.cluster.local"]);
        assert_eq!(rc.options.ndots, 5);
        assert_eq!(dns.hosts.path, "/etc/hosts");

        let host_rc = std::fs::read_to_string("/etc/resolv.conf").ok();
        for other in ["app2", "host"] {
            let dns = ns(&snap, other).dns.as_ref().expect("dns");
            assert_eq!(dns.resolv_conf.path, "/etc/resolv.conf", "{other}");
            assert_eq!(dns.resolv_conf.raw, host_rc, "{other}");
        }
    });
}

// ---------------------------------------------------------------------------------------------
// 4. Namespace held only by a process

/// Spawns `unshare --net sleep 60` and waits until it runs `sleep` in its own namespace.
fn spawn_netns_holder() -> Child {
    let own = std::fs::read_link("/proc/self/ns/net").expect("own netns");
    let mut child = Command::new("unshare")
        .args(["--net", "sleep", "60"])
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn unshare --net sleep");
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let started = loop {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let netns = std::fs::read_link(format!("/proc/{pid}/ns/net")).ok();
        if comm.trim() == "sleep" && netns.is_some_and(|n| n != own) {
            break true;
        }
        if Instant::now() >= deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if started {
        child
    } else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("unshare --net sleep never started");
    }
}

/// A namespace with no name, held by `sleep`: reported as `pid:N`, kind process, with its
/// process; a veth moved into it pairs with its root end both ways; `--ns N` selects it.
#[test]
fn process_held_namespace_is_found_and_paired() {
    in_world(
        "snapshot::process_held_namespace_is_found_and_paired",
        || {
            let mut child = spawn_netns_holder();
            let pid = child.id();
            let pid_s = pid.to_string();
            sh(&[
                "ip",
                "link",
                "add",
                "to-sleeper",
                "type",
                "veth",
                "peer",
                "name",
                "in-sleeper",
            ]);
            sh(&["ip", "link", "set", "in-sleeper", "netns", &pid_s]);

            let snap = snapshot_json(&[]);
            let name = format!("pid:{pid}");
            let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, ["host", name.as_str()]);
            let held = ns(&snap, &name);
            assert_eq!(held.kind, NamespaceKind::Process);
            assert_eq!(held.status, NsStatus::Ok);
            assert!(held.paths.is_empty(), "{:?}", held.paths);
            assert_eq!(
                held.processes,
                [ProcessRef {
                    pid,
                    comm: "sleep".into(),
                    container_id: None
                }]
            );
            assert_eq!(link_names(&snap, &name), ["in-sleeper", "lo"]);
            assert_veth_pair(&snap, "host", "to-sleeper", &name, "in-sleeper");
            // DNS files are read through the process's root.
            let dns = held.dns.as_ref().expect("dns");
            assert_eq!(
                dns.resolv_conf.path,
                format!("/proc/{pid}/root/etc/resolv.conf")
            );

            let mut topo = topology_lines(&snapshot_text(&[]));
            topo.sort();
            // Neither end is a bridge port, so the ends read in name order.
            assert_eq!(topo, [format!("to-sleeper (host) ⇄ in-sleeper ({name})")]);

            // Selecting by pid returns just that namespace, still paired with the root.
            let only = snapshot_json(&["--ns", &pid_s]);
            let names: Vec<&str> = only.namespaces.iter().map(|n| n.name.as_str()).collect();
            assert_eq!(names, [name.as_str()]);
            assert_veth_pair_one_sided(&only, &name, "in-sleeper", "host", "to-sleeper");

            child.kill().unwrap();
            child.wait().unwrap();
            let after = snapshot_json(&[]);
            assert!(after.namespace(&name).is_none());
            // The kernel dismantles a dead namespace (and the veth with it) asynchronously.
            let deadline = Instant::now() + Duration::from_secs(10);
            while link_names(&snapshot_json(&[]), "host") != ["lo"] {
                assert!(
                    Instant::now() < deadline,
                    "to-sleeper outlived its peer's namespace"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        },
    );
}

/// Peer of `a` is `b` in `ns_b` (which is filtered out of the snapshot, so only one side).
fn assert_veth_pair_one_sided(snap: &Snapshot, ns_a: &str, a: &str, ns_b: &str, b: &str) {
    assert_eq!(
        peer_of(snap, ns_a, a),
        (Some(ns_b.to_string()), Some(b.to_string())),
        "peer of {ns_a}/{a}"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. A namespace that vanishes between discovery and collection

/// `discover()`, then one named namespace is deleted and one process-held namespace's process
/// exits: both come out `Gone`, the others complete with their links and a pair across them.
#[test]
fn namespace_deleted_after_discovery_is_gone() {
    in_world(
        "snapshot::namespace_deleted_after_discovery_is_gone",
        || {
            for n in ["keep-a", "doomed", "keep-c"] {
                sh(&["ip", "netns", "add", n]);
            }
            sh(&[
                "ip", "-n", "keep-a", "link", "add", "a-c", "type", "veth", "peer", "name", "c-a",
                "netns", "keep-c",
            ]);
            sh(&[
                "ip", "-n", "doomed", "link", "add", "d0", "type", "veth", "peer", "name", "d1",
            ]);
            let mut holder = spawn_netns_holder();
            let holder_name = format!("pid:{}", holder.id());

            let discovery = netlens::netns::discover::discover();
            let mut names = discovery.names();
            names.sort();
            let mut want = vec![
                "doomed".to_string(),
                "host".into(),
                holder_name.clone(),
                "keep-a".into(),
                "keep-c".into(),
            ];
            want.sort();
            assert_eq!(names, want);

            sh(&["ip", "netns", "del", "doomed"]);
            holder.kill().unwrap();
            holder.wait().unwrap();

            let snap = netlens::collect::collect(&discovery, &netlens::collect::Options::default())
                .expect("collect");
            let statuses: Vec<(&str, &NsStatus)> = snap
                .namespaces
                .iter()
                .map(|n| (n.name.as_str(), &n.status))
                .collect();
            assert_eq!(
                statuses,
                [
                    ("host", &NsStatus::Ok),
                    ("doomed", &NsStatus::Gone),
                    ("keep-a", &NsStatus::Ok),
                    ("keep-c", &NsStatus::Ok),
                    (holder_name.as_str(), &NsStatus::Gone),
                ]
            );
            for gone in ["doomed", holder_name.as_str()] {
                let g = ns(&snap, gone);
                assert!(g.links.is_empty() && g.addresses.is_empty() && g.routes.is_empty());
                assert!(g.dns.is_none() && g.firewall.is_none(), "{gone}");
            }
            assert_eq!(link_names(&snap, "keep-a"), ["a-c", "lo"]);
            assert_eq!(link_names(&snap, "keep-c"), ["c-a", "lo"]);
            assert_veth_pair(&snap, "keep-a", "a-c", "keep-c", "c-a");

            // The text report says so instead of failing.
            let text = netlens::report::text::render(&snap);
            assert!(
                text.contains("== doomed") && text.contains("gone"),
                "{text}"
            );
        },
    );
}

// ---------------------------------------------------------------------------------------------
// 7. --ns selection

/// An unknown `--ns` exits 2 with one line on stderr naming the known namespaces and prints
/// nothing; `--ns a --ns b` returns exactly those two (by name, path or inode), peers still
/// resolved to namespaces left out.
#[test]
fn ns_selection_and_unknown_namespace() {
    in_world("snapshot::ns_selection_and_unknown_namespace", || {
        build_bridge_world();

        let out = netlens(&["snapshot", "--ns", "nosuch"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        for word in ["nosuch", "host", "app1", "app2", "db"] {
            assert!(err.contains(word), "{word} missing: {err}");
        }
        let out = netlens(&["snapshot", "--json", "--ns", "app1", "--ns", "nosuch"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(out.stdout.is_empty());

        let snap = snapshot_json(&["--ns", "app1", "--ns", "app2"]);
        let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["app1", "app2"]);
        assert_veth_pair_one_sided(&snap, "app1", "eth0", "host", "h-app1");
        assert_veth_pair_one_sided(&snap, "app2", "eth0", "host", "h-app2");

        let db_inode = ns(&snapshot_json(&[]), "db").inode.to_string();
        let snap = snapshot_json(&["--ns", "/run/netns/app2", "--ns", &db_inode]);
        let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["app2", "db"]);

        // Text output with a filter: only those sections.
        let text = snapshot_text(&["--ns", "host"]);
        let headers: Vec<&str> = text.lines().filter(|l| l.starts_with("== ")).collect();
        assert_eq!(headers.len(), 2, "{text}");
        assert!(headers[0].starts_with("== host "), "{text}");
        assert_eq!(headers[1], "== topology");
    });
}

// ---------------------------------------------------------------------------------------------
// 8. Not root

/// Run as `nobody` with no capabilities: exit 0, valid JSON, the not-root warning, the own
/// namespace's links read, every other namespace `inaccessible`, and no panic.
#[test]
fn unprivileged_snapshot_degrades_without_failing() {
    in_world(
        "snapshot::unprivileged_snapshot_degrades_without_failing",
        || {
            build_bridge_world();
            // Somewhere nobody can surely execute the binary from.
            std::fs::create_dir_all("/run/nl-bin").unwrap();
            std::fs::copy(netlens_bin(), "/run/nl-bin/netlens").unwrap();
            let out = Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--inh-caps=-all",
                    "/run/nl-bin/netlens",
                    "snapshot",
                    "--json",
                ])
                .stdin(Stdio::null())
                .output()
                .expect("setpriv");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "exit {}: {stderr}", out.status);
            assert!(!stderr.contains("panicked"), "{stderr}");
            let snap: Snapshot = serde_json::from_str(&stdout).expect("JSON");
            assert!(
                snap.warnings
                    .iter()
                    .any(|w| w.starts_with("not running as root")),
                "{:?}",
                snap.warnings
            );
            let host = ns(&snap, "host");
            assert_eq!(host.kind, NamespaceKind::Host);
            // The root's NAT rules cannot be read without CAP_NET_ADMIN: that must show in the
            // status, not pass for an empty rule set.
            let fw = host.firewall.as_ref().expect("firewall attempted");
            assert!(!fw.errors.is_empty(), "{fw:#?}");
            match &host.status {
                NsStatus::Partial(problems) => assert!(
                    problems.iter().any(|p| p.starts_with("firewall: ")),
                    "{problems:?}"
                ),
                other => panic!("host status {other:?}: firewall errors not reflected"),
            }
            assert!(host.link("br-test").is_some(), "{host:#?}");
            assert_eq!(
                link_names(&snap, "host"),
                ["br-test", "h-app1", "h-app2", "h-db", "lo"]
            );
            for n in ["app1", "app2", "db"] {
                let x = ns(&snap, n);
                assert!(
                    matches!(&x.status, NsStatus::Inaccessible(why) if why.contains("cannot enter")),
                    "{n}: {:?}",
                    x.status
                );
                assert!(x.links.is_empty(), "{n}");
            }
            // The root's veths point into namespaces it could not read: the namespace may be
            // known (by nsid) but the name cannot be.
            for n in ["app1", "app2", "db"] {
                let h = link(&snap, "host", &format!("h-{n}"));
                let p = h
                    .peer
                    .as_ref()
                    .expect("peer ifindex is known without entering");
                assert_eq!(p.name, None, "{n}");
            }

            // Text works too.
            let out = Command::new("setpriv")
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--inh-caps=-all",
                    "/run/nl-bin/netlens",
                    "snapshot",
                ])
                .stdin(Stdio::null())
                .output()
                .expect("setpriv");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && !stderr.contains("panicked"),
                "{stderr}"
            );
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                text.lines()
                    .any(|l| l.starts_with("warning: not running as root")),
                "{text}"
            );
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Sockets, processes in named namespaces, Docker's netns directory, re-created names

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
        "snapshot::listening_sockets_and_processes_per_namespace",
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

/// A namespace bind-mounted only under Docker's directory is named `docker:NAME`; one mounted
/// in both places is listed once, under its `/run/netns` name, with both paths.
#[test]
fn docker_netns_directory_and_shared_mounts() {
    in_world("snapshot::docker_netns_directory_and_shared_mounts", || {
        std::fs::create_dir_all("/run/docker/netns").unwrap();
        for n in ["tmp-ctr", "shared"] {
            sh(&["ip", "netns", "add", n]);
        }
        for (src, dst) in [("tmp-ctr", "1a2b3c4d5e6f"), ("shared", "77aa88bb99cc")] {
            let target = format!("/run/docker/netns/{dst}");
            std::fs::write(&target, "").unwrap();
            sh(&["mount", "--bind", &format!("/run/netns/{src}"), &target]);
        }
        // Only Docker's mount keeps tmp-ctr alive now.
        sh(&["ip", "netns", "del", "tmp-ctr"]);
        sh(&[
            "ip",
            "-n",
            "shared",
            "link",
            "add",
            "s0",
            "type",
            "veth",
            "peer",
            "name",
            "d0",
            "netns",
            "/run/docker/netns/1a2b3c4d5e6f",
        ]);

        let snap = snapshot_json(&[]);
        let names: Vec<&str> = snap.namespaces.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["host", "docker:1a2b3c4d5e6f", "shared"]);
        let d = ns(&snap, "docker:1a2b3c4d5e6f");
        assert_eq!(d.kind, NamespaceKind::Named);
        assert_eq!(d.paths, ["/var/run/docker/netns/1a2b3c4d5e6f"]);
        assert_eq!(
            ns(&snap, "shared").paths,
            ["/run/netns/shared", "/var/run/docker/netns/77aa88bb99cc"]
        );
        assert_veth_pair(&snap, "shared", "s0", "docker:1a2b3c4d5e6f", "d0");
        // Docker namespaces get no /etc/netns override.
        assert_eq!(d.dns.as_ref().unwrap().resolv_conf.path, "/etc/resolv.conf");
        let only = snapshot_json(&["--ns", "docker:1a2b3c4d5e6f"]);
        assert_eq!(only.namespaces.len(), 1);
    });
}

/// A name deleted and re-created between discovery and collection points at a different
/// namespace: the discovered one is reported `Gone`, never the impostor's contents.
#[test]
fn recreated_name_after_discovery_is_gone() {
    in_world("snapshot::recreated_name_after_discovery_is_gone", || {
        sh(&["ip", "netns", "add", "phoenix"]);
        sh(&[
            "ip", "-n", "phoenix", "link", "add", "old0", "type", "veth", "peer", "name", "old1",
        ]);
        let discovery = netlens::netns::discover::discover();
        sh(&["ip", "netns", "del", "phoenix"]);
        sh(&["ip", "netns", "add", "phoenix"]);
        sh(&[
            "ip", "-n", "phoenix", "link", "add", "new0", "type", "veth", "peer", "name", "new1",
        ]);
        let snap = netlens::collect::collect(&discovery, &netlens::collect::Options::default())
            .expect("collect");
        let p = ns(&snap, "phoenix");
        assert_eq!(p.status, NsStatus::Gone);
        assert!(p.links.is_empty(), "{:?}", p.links);
        assert_eq!(ns(&snap, "host").status, NsStatus::Ok);
    });
}
