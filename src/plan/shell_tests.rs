//! Tests of shell.rs.

use super::*;
use crate::plan::step::{LinkEnd, RouteSpec};

fn one(step: Step) -> String {
    let c = commands(&step);
    assert_eq!(c.len(), 1, "{c:?}");
    c[0].clone()
}

#[test]
fn quoting() {
    assert_eq!(quote("eth0"), "eth0");
    assert_eq!(quote("10.0.0.1/24"), "10.0.0.1/24");
    assert_eq!(quote(""), "''");
    assert_eq!(quote("a b"), "'a b'");
    assert_eq!(quote("it's"), r"'it'\''s'");
    assert_eq!(quote("$(reboot)"), "'$(reboot)'");
    assert_eq!(quote("a;b"), "'a;b'");
    assert_eq!(quote("e\u{1b}[2J"), r"$'e\x1b[2J'");
    assert_eq!(quote("it's\n\\"), r"$'it\'s\n\\'");
    assert_eq!(quote("b\u{202e}r\u{9b}"), r"$'b\u202er\u009b'");
}

/// What bash makes of a quoted word is the word itself, and the quoted form is inert.
#[test]
fn ansi_c_quoting_round_trips_through_bash() {
    if std::process::Command::new("bash")
        .arg("-c")
        .arg("true")
        .status()
        .is_err()
    {
        return;
    }
    let words = [
        "e\u{1b}[2J",
        "x\u{1b}[31mred\nline\u{202e}",
        "it's a \\ \"q\"\t\r\u{7f}\u{85}",
        "plain",
        "$(reboot)",
    ];
    for w in words {
        let q = quote(w);
        assert!(!q.chars().any(crate::text::escape::is_unsafe_char), "{q}");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("printf '%s' {q}"))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), w, "{q}");
    }
}

#[test]
fn namespaces_pick_the_right_wrapper() {
    let up = |ns: &str| {
        one(Step::SetLinkUp {
            ns: ns.into(),
            link: "eth0".into(),
            up: true,
        })
    };
    assert_eq!(up("host"), "ip link set eth0 up");
    assert_eq!(up("red"), "ip -n red link set eth0 up");
    assert_eq!(up("pid:42"), "nsenter -t 42 -n ip link set eth0 up");
    assert_eq!(
        up("docker:abc"),
        "nsenter --net=/var/run/docker/netns/abc ip link set eth0 up"
    );
}

#[test]
fn links() {
    assert_eq!(
        one(Step::AddVeth {
            ns: "host".into(),
            name: "veth0".into(),
            peer_ns: "red".into(),
            peer: "eth0".into()
        }),
        "ip link add veth0 type veth peer name eth0 netns red"
    );
    assert_eq!(
        one(Step::AddVeth {
            ns: "red".into(),
            name: "a".into(),
            peer_ns: "red".into(),
            peer: "b".into()
        }),
        "ip -n red link add a type veth peer name b"
    );
    assert_eq!(
        one(Step::MoveLink {
            ns: "red".into(),
            name: "a".into(),
            to_ns: "host".into()
        }),
        "ip -n red link set a netns 1"
    );
    assert_eq!(
        one(Step::SetMaster {
            ns: "red".into(),
            link: "a".into(),
            master: None
        }),
        "ip -n red link set a nomaster"
    );
    let end = |ns: &str, name: &str, index| LinkEnd {
        ns: ns.into(),
        name: name.into(),
        index,
        mac: "02:00:00:00:00:01".into(),
        mtu: 1500,
        up: false,
    };
    assert_eq!(
        one(Step::RecreateLink {
            kind: "veth".into(),
            link: end("host", "v0", 7),
            peer: Some(end("blue", "eth0", 2)),
        }),
        "ip link add v0 index 7 address 02:00:00:00:00:01 mtu 1500 type veth peer name eth0 \
         index 2 address 02:00:00:00:00:01 mtu 1500 netns blue"
    );
}

#[test]
fn addresses_and_routes() {
    assert_eq!(
        one(Step::AddAddress {
            ns: "red".into(),
            link: "eth0".into(),
            addr: "10.0.0.2/24".parse().unwrap()
        }),
        "ip -n red addr add 10.0.0.2/24 dev eth0"
    );
    let route = RouteSpec {
        dst: "0.0.0.0/0".parse().unwrap(),
        via: Some("10.0.0.1".parse().unwrap()),
        dev: Some("eth0".into()),
        table: None,
        metric: Some(10),
    };
    assert_eq!(
        one(Step::AddRoute {
            ns: "host".into(),
            route: route.clone()
        }),
        "ip route add default via 10.0.0.1 dev eth0 metric 10"
    );
    let v6 = RouteSpec {
        dst: "fd00::/64".parse().unwrap(),
        via: None,
        dev: Some("eth0".into()),
        table: Some(100),
        metric: None,
    };
    assert_eq!(
        one(Step::DelRoute {
            ns: "red".into(),
            route: v6.clone()
        }),
        "ip -n red -6 route del fd00::/64 dev eth0 table 100"
    );
    assert_eq!(
        one(Step::RestoreRoute {
            ns: "red".into(),
            route: v6,
            protocol: 4,
            scope: 253,
            kind: 6,
            prefsrc: None
        }),
        "ip -n red -6 route add blackhole fd00::/64 dev eth0 table 100 proto 4 scope 253"
    );
}

#[test]
fn sysctls_and_rules() {
    assert_eq!(
        one(Step::SetSysctl {
            ns: "red".into(),
            key: "net/ipv4/ip_forward".into(),
            value: "1".into(),
            persist: false
        }),
        "ip netns exec red sysctl -w net.ipv4.ip_forward=1"
    );
    assert_eq!(
        one(Step::SetSysctl {
            ns: "host".into(),
            key: "net/ipv4/conf/eth0.100/rp_filter".into(),
            value: "2".into(),
            persist: false
        }),
        "sysctl -w net/ipv4/conf/eth0.100/rp_filter=2"
    );
    let persisted = commands(&Step::SetSysctl {
        ns: "host".into(),
        key: "net/ipv4/ip_forward".into(),
        value: "1".into(),
        persist: true,
    });
    assert_eq!(persisted.len(), 2);
    assert!(
        persisted[1].ends_with("> /etc/sysctl.d/90-netlens-net.ipv4.ip_forward.conf")
            || persisted[1].contains("90-netlens-net.ipv4.ip_forward.conf"),
        "{persisted:?}"
    );
    assert_eq!(
        one(Step::AddIptablesRule {
            ns: "pid:7".into(),
            table: "nat".into(),
            chain: "POSTROUTING".into(),
            rule: vec![
                "-s".into(),
                "10.0.0.0/24".into(),
                "-m".into(),
                "comment".into(),
                "--comment".into(),
                "netlens: masquerade pods".into(),
                "-j".into(),
                "MASQUERADE".into()
            ]
        }),
        "nsenter -t 7 -n iptables -w -t nat -A POSTROUTING -s 10.0.0.0/24 -m comment \
         --comment 'netlens: masquerade pods' -j MASQUERADE"
    );
    assert_eq!(
        one(Step::InsertIptablesRule {
            ns: "host".into(),
            table: "filter".into(),
            chain: "FORWARD".into(),
            position: 3,
            rule: vec!["-j".into(), "ACCEPT".into()]
        }),
        "iptables -w -t filter -I FORWARD 3 -j ACCEPT"
    );
}

/// An nft accept is shown as the `nft insert rule` that does it, each word quoted for the
/// shell (nft's own quotes around names included), and its inverse by handle.
#[test]
fn nft_rules() {
    let rule = crate::plan::NftAccept {
        iif: Some("la".into()),
        oif: Some("lb".into()),
        saddr: Some("10.5.0.0/24".parse().unwrap()),
        daddr: None,
        proto: Some("tcp".into()),
        dport: Some(22),
        established: false,
    };
    assert_eq!(
        one(Step::InsertNftRule {
            ns: "r".into(),
            family: "inet".into(),
            table: "lab".into(),
            chain: "fwd_c".into(),
            rule: rule.clone(),
        }),
        "ip netns exec r nft insert rule inet lab fwd_c iifname '\"la\"' oifname '\"lb\"' \
         ip saddr 10.5.0.0/24 tcp dport 22 accept comment '\"netlens\"'"
    );
    assert_eq!(
        one(Step::DelNftRule {
            ns: "r".into(),
            family: "inet".into(),
            table: "lab".into(),
            chain: "fwd_c".into(),
            handle: 7,
            rule,
        }),
        "ip netns exec r nft delete rule inet lab fwd_c handle 7"
    );
}

#[test]
fn files() {
    assert_eq!(
        one(Step::WriteFile {
            ns: "red".into(),
            path: "/etc/netns/red/nsswitch.conf".into(),
            content: Some("hosts: files dns\n".into()),
            pid_start: None,
        }),
        "printf '%s' $'hosts: files dns\\n' > /etc/netns/red/nsswitch.conf"
    );
    assert_eq!(
        one(Step::WriteFile {
            ns: "red".into(),
            path: "/etc/netns/red/hosts".into(),
            content: None,
            pid_start: None,
        }),
        "rm -f /etc/netns/red/hosts"
    );
}

#[test]
fn ipam_leases() {
    assert_eq!(
        one(Step::ReleaseIpamLease {
            dir: "/var/lib/cni/networks/cbr0".into(),
            ip: "10.244.1.7".parse().unwrap(),
            container_id: Some("abc".into()),
        }),
        "rm -f /var/lib/cni/networks/cbr0/10.244.1.7"
    );
    assert_eq!(
        one(Step::RestoreIpamLease {
            dir: "/var/lib/cni/networks/cbr0".into(),
            ip: "10.244.1.7".parse().unwrap(),
            content: "abc\r\neth0".into(),
        }),
        "printf '%s' $'abc\\r\\neth0' > /var/lib/cni/networks/cbr0/10.244.1.7"
    );
}
