//! `netlens snapshot` reads a namespace's own `/etc/netns/NAME/resolv.conf`.
//!
//! Built by hand with `ip`/`iptables` inside throwaway worlds (see `common::world`), with names
//! and subnets the lab never uses; every fact is asserted exactly, and checked against
//! iproute2 where it has an independent answer.

use crate::common;

use common::snap::*;
use common::world::{in_world, private_etc_netns, sh};

/// `ip netns exec` semantics: `/etc/netns/NAME/resolv.conf` wins for that namespace only; the
/// others read `/etc/resolv.conf`. Parsed nameserver, search list and ndots are exact.
#[test]
fn per_namespace_resolv_conf_is_used() {
    in_world("snapshot_dns::per_namespace_resolv_conf_is_used", || {
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
