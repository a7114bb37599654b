//! The JSON contract: the committed demo snapshots decode into the model and encode back to
//! the very same bytes. Any change of a field's type (the typed-model work: enums for kind,
//! scope, family, …) must keep this passing, or it changed what `snapshot --json` writes.

use super::{Snapshot, SCHEMA_VERSION};

/// `netlens snapshot --json` output saved in `assets/` (pretty-printed, one trailing newline).
const DEMOS: [(&str, &str); 2] = [
    ("demo-bridge", include_str!("../../assets/demo-bridge.json")),
    (
        "demo-cluster",
        include_str!("../../assets/demo-cluster.json"),
    ),
];

#[test]
fn demo_snapshots_round_trip_byte_for_byte() {
    for (name, text) in DEMOS {
        let snap: Snapshot = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(snap.schema_version, SCHEMA_VERSION, "{name}");
        let again = serde_json::to_string_pretty(&snap).expect("encode") + "\n";
        if again != text {
            // Name the first differing line rather than print 100 kB twice.
            let (i, (a, b)) = text
                .lines()
                .zip(again.lines())
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .unwrap_or((0, ("(length differs)", "")));
            panic!("{name}: line {}: committed {a:?}, re-encoded {b:?}", i + 1);
        }
    }
}

#[test]
fn demo_snapshots_round_trip_value_for_value() {
    for (name, text) in DEMOS {
        let before: serde_json::Value = serde_json::from_str(text).expect("json");
        let snap: Snapshot = serde_json::from_str(text).expect("snapshot");
        let after = serde_json::to_value(&snap).expect("encode");
        assert_eq!(before, after, "{name}");
    }
}

/// Every form a route destination takes encodes back to the text it was read from, and
/// decodes to the variant consumers match on.
#[test]
fn route_dst_round_trips_every_variant() {
    use super::RouteDst;
    let cases = [
        ("default", RouteDst::Default),
        ("10.0.0.0/24", RouteDst::Net("10.0.0.0/24".parse().unwrap())),
        ("10.0.0.1/32", RouteDst::Net("10.0.0.1/32".parse().unwrap())),
        // Host bits are kept as the kernel gave them, not truncated.
        ("10.0.0.1/24", RouteDst::Net("10.0.0.1/24".parse().unwrap())),
        ("0.0.0.0/0", RouteDst::Net("0.0.0.0/0".parse().unwrap())),
        ("fe80::/64", RouteDst::Net("fe80::/64".parse().unwrap())),
        ("::/0", RouteDst::Net("::/0".parse().unwrap())),
        // Neither default nor a prefix as netlens writes it: kept verbatim.
        ("10.0.0.1", RouteDst::Other("10.0.0.1".into())),
        ("FE80::/64", RouteDst::Other("FE80::/64".into())),
        ("blackhole-ish", RouteDst::Other("blackhole-ish".into())),
    ];
    for (text, want) in cases {
        let json = serde_json::to_string(text).unwrap();
        let got: RouteDst = serde_json::from_str(&json).unwrap();
        assert_eq!(got, want, "{text}");
        assert_eq!(serde_json::to_string(&got).unwrap(), json, "{text}");
        assert_eq!(got.to_string(), text);
    }
    // A bare address reads as the host route older readers took it for.
    assert_eq!(
        RouteDst::parse("10.0.0.1").net(),
        Some("10.0.0.1/32".parse().unwrap())
    );
    assert_eq!(RouteDst::Default.net(), None);
    assert_eq!(
        RouteDst::of_net(&"10.1.2.3/8".parse().unwrap()),
        RouteDst::Net("10.0.0.0/8".parse().unwrap())
    );
    assert_eq!(
        RouteDst::of_net(&"::/0".parse().unwrap()),
        RouteDst::Default
    );
}

/// A route's or rule's family encodes back to the name it was read from, unknown ones too, and
/// sorts as the names did.
#[test]
fn route_family_round_trips_every_variant() {
    use super::RouteFamily;
    let cases = [
        ("inet", RouteFamily::Inet),
        ("inet6", RouteFamily::Inet6),
        ("ipmr", RouteFamily::Other("ipmr".into())),
        ("", RouteFamily::Other(String::new())),
    ];
    for (text, want) in cases {
        let json = serde_json::to_string(text).unwrap();
        let got: RouteFamily = serde_json::from_str(&json).unwrap();
        assert_eq!(got, want, "{text}");
        assert_eq!(serde_json::to_string(&got).unwrap(), json, "{text}");
        assert_eq!(got.to_string(), text);
    }
    assert_eq!(
        RouteFamily::of("10.0.0.1".parse().unwrap()),
        RouteFamily::Inet
    );
    assert_eq!(RouteFamily::of("::1".parse().unwrap()), RouteFamily::Inet6);
    let mut sorted = [
        RouteFamily::Inet6,
        RouteFamily::Other("zz".into()),
        RouteFamily::Inet,
        RouteFamily::Other("bridge".into()),
    ];
    sorted.sort();
    let names: Vec<&str> = sorted.iter().map(RouteFamily::as_str).collect();
    assert_eq!(names, ["bridge", "inet", "inet6", "zz"]);
}

/// A route's scope encodes back to the name it was read from, unknown ones too.
#[test]
fn route_scope_round_trips_every_variant() {
    use super::RouteScope;
    let cases = [
        ("global", RouteScope::Global),
        ("site", RouteScope::Site),
        ("link", RouteScope::Link),
        ("host", RouteScope::Host),
        ("nowhere", RouteScope::Nowhere),
        ("universe", RouteScope::Other("universe".into())),
        ("42", RouteScope::Other("42".into())),
    ];
    for (text, want) in cases {
        let json = serde_json::to_string(text).unwrap();
        let got: RouteScope = serde_json::from_str(&json).unwrap();
        assert_eq!(got, want, "{text}");
        assert_eq!(serde_json::to_string(&got).unwrap(), json, "{text}");
        assert_eq!(got.to_string(), text);
    }
}

/// A route's type encodes back to the name it was read from, unknown ones too.
#[test]
fn route_kind_round_trips_every_variant() {
    use super::RouteKind;
    let cases = [
        ("unicast", RouteKind::Unicast),
        ("local", RouteKind::Local),
        ("broadcast", RouteKind::Broadcast),
        ("anycast", RouteKind::Anycast),
        ("multicast", RouteKind::Multicast),
        ("blackhole", RouteKind::Blackhole),
        ("unreachable", RouteKind::Unreachable),
        ("prohibit", RouteKind::Prohibit),
        ("throw", RouteKind::Throw),
        ("nat", RouteKind::Nat),
        ("unspec", RouteKind::Unspec),
        (
            "externalresolve",
            RouteKind::Other("externalresolve".into()),
        ),
        ("other(42)", RouteKind::Other("other(42)".into())),
    ];
    for (text, want) in cases {
        let json = serde_json::to_string(text).unwrap();
        let got: RouteKind = serde_json::from_str(&json).unwrap();
        assert_eq!(got, want, "{text}");
        assert_eq!(serde_json::to_string(&got).unwrap(), json, "{text}");
        assert_eq!(got.to_string(), text);
        let drops = matches!(text, "blackhole" | "unreachable" | "prohibit");
        assert_eq!(got.drops(), drops, "{text}");
    }
}

/// The typed route protocol, address scope, neighbour state and rule action (the `typedrest`
/// part of the typed model): each named variant and an unknown value round-trip.
mod typed_rest {
    use crate::model::RouteProtocol;

    /// `text` decodes to `want` and encodes back to the same JSON and display text.
    fn round_trips<T>(text: &str, want: &T)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
        T: std::fmt::Display,
    {
        let json = serde_json::to_string(text).unwrap();
        let got: T = serde_json::from_str(&json).unwrap();
        assert_eq!(&got, want, "{text}");
        assert_eq!(serde_json::to_string(&got).unwrap(), json, "{text}");
        assert_eq!(got.to_string(), text);
    }

    /// A route's protocol encodes back to its name, a number iproute2 does not name too, and
    /// its kernel number maps both ways.
    #[test]
    fn route_protocol_round_trips_every_variant() {
        use RouteProtocol as P;
        let cases = [
            ("unspec", P::Unspec, Some(0)),
            ("redirect", P::Redirect, Some(1)),
            ("kernel", P::Kernel, Some(2)),
            ("boot", P::Boot, Some(3)),
            ("static", P::Static, Some(4)),
            ("gated", P::Gated, Some(8)),
            ("ra", P::Ra, Some(9)),
            ("mrt", P::Mrt, Some(10)),
            ("zebra", P::Zebra, Some(11)),
            ("bird", P::Bird, Some(12)),
            ("dnrouted", P::Dnrouted, Some(13)),
            ("xorp", P::Xorp, Some(14)),
            ("ntk", P::Ntk, Some(15)),
            ("dhcp", P::Dhcp, Some(16)),
            ("keepalived", P::Keepalived, Some(18)),
            ("babel", P::Babel, Some(42)),
            ("openr", P::Openr, Some(99)),
            ("bgp", P::Bgp, Some(186)),
            ("isis", P::Isis, Some(187)),
            ("ospf", P::Ospf, Some(188)),
            ("rip", P::Rip, Some(189)),
            ("eigrp", P::Eigrp, Some(192)),
            ("250", P::Other("250".into()), Some(250)),
            ("frr", P::Other("frr".into()), None),
            // Not as `ip` prints a number: `static`, and no leading zeros.
            ("4", P::Other("4".into()), None),
            ("017", P::Other("017".into()), None),
        ];
        for (text, want, number) in cases {
            round_trips(text, &want);
            assert_eq!(want.number(), number, "{text}");
            if let Some(n) = number {
                assert_eq!(P::from_number(n), want, "{text}");
            }
        }
        assert_eq!(P::from_number(17), P::Other("17".into()));
    }

    /// An address's scope is a [`RouteScope`](crate::model::RouteScope) (the kernel has one
    /// `rt_scope_t` for both): every name, and a number, survives inside an address.
    #[test]
    fn address_scope_round_trips_every_variant() {
        use crate::model::{Address, RouteScope as S};
        let cases = [
            ("global", S::Global),
            ("site", S::Site),
            ("link", S::Link),
            ("host", S::Host),
            ("nowhere", S::Nowhere),
            ("other(42)", S::Other("other(42)".into())),
        ];
        for (text, want) in cases {
            round_trips(text, &want);
            let json = format!(
                r#"{{"ifindex":2,"ifname":"eth0","address":"10.0.0.2","prefix_len":24,"scope":"{text}"}}"#
            );
            let a: Address = serde_json::from_str(&json).unwrap();
            assert_eq!(a.scope, want, "{text}");
            assert_eq!(serde_json::to_string(&a).unwrap(), json, "{text}");
        }
    }

    /// A neighbour's state encodes back to the upper-case name it was read from, unknown ones
    /// too, and each falls in the one class consumers ask about.
    #[test]
    fn neighbor_state_round_trips_every_variant() {
        use crate::model::NeighborState as N;
        // (text, state, pinned, learned, unresolved)
        let cases = [
            ("INCOMPLETE", N::Incomplete, false, false, true),
            ("REACHABLE", N::Reachable, false, true, false),
            ("STALE", N::Stale, false, true, false),
            ("DELAY", N::Delay, false, true, false),
            ("PROBE", N::Probe, false, true, false),
            ("FAILED", N::Failed, false, false, true),
            ("NOARP", N::Noarp, true, false, false),
            ("PERMANENT", N::Permanent, true, false, false),
            ("NONE", N::None, false, false, false),
            (
                "OTHER(65)",
                N::Other("OTHER(65)".into()),
                false,
                false,
                false,
            ),
            (
                "reachable",
                N::Other("reachable".into()),
                false,
                false,
                false,
            ),
        ];
        for (text, want, pinned, learned, unresolved) in cases {
            round_trips(text, &want);
            assert_eq!(want.pinned(), pinned, "{text}");
            assert_eq!(want.learned(), learned, "{text}");
            assert_eq!(want.unresolved(), unresolved, "{text}");
        }
    }

    /// A rule's action encodes back to the name the collector wrote (`lookup` for the kernel's
    /// FR_ACT_TO_TBL), unknown ones too, and `ip rule` prints it the same way.
    #[test]
    fn routing_rule_action_round_trips_every_variant() {
        use crate::model::RoutingRuleAction as A;
        let cases = [
            ("lookup", A::Lookup),
            ("goto", A::Goto),
            ("nop", A::Nop),
            ("blackhole", A::Blackhole),
            ("unreachable", A::Unreachable),
            ("prohibit", A::Prohibit),
            ("unspec", A::Unspec),
            ("other(9)", A::Other("other(9)".into())),
            ("to_tbl", A::Other("to_tbl".into())),
        ];
        for (text, want) in cases {
            round_trips(text, &want);
            let drops = matches!(text, "blackhole" | "unreachable" | "prohibit");
            assert_eq!(want.drops(), drops, "{text}");
        }
    }
}

/// The link's typed fields (kind, operational state, flags, bridge-port STP state): every
/// named variant and an unknown name encode back to the text they were read from.
mod typed_link {
    /// `(text, variant)` pairs decode to the variant, encode back to the same JSON, and print
    /// as the text.
    fn round_trips<T>(cases: &[(&str, T)])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Display + PartialEq,
        T: std::fmt::Debug,
    {
        for (text, want) in cases {
            let json = serde_json::to_string(text).unwrap();
            let got: T = serde_json::from_str(&json).unwrap();
            assert_eq!(&got, want, "{text}");
            assert_eq!(serde_json::to_string(&got).unwrap(), json, "{text}");
            assert_eq!(got.to_string(), *text);
        }
    }

    #[test]
    fn link_kind_round_trips_every_variant() {
        use crate::model::LinkKind as K;
        round_trips(&[
            ("device", K::Device),
            ("loopback", K::Loopback),
            ("veth", K::Veth),
            ("bridge", K::Bridge),
            ("vxlan", K::Vxlan),
            ("geneve", K::Geneve),
            ("dummy", K::Dummy),
            ("macvlan", K::Macvlan),
            ("macvtap", K::Macvtap),
            ("ipvlan", K::Ipvlan),
            ("tun", K::Tun),
            ("wireguard", K::Wireguard),
            ("bond", K::Bond),
            ("team", K::Team),
            ("vlan", K::Vlan),
            ("vrf", K::Vrf),
            ("ipip", K::Ipip),
            ("gre", K::Gre),
            ("sit", K::Sit),
            ("netkit", K::Other("netkit".into())),
            ("", K::Other(String::new())),
        ]);
        assert_eq!(K::from("veth"), K::Veth);
        assert_eq!(K::from("Veth"), K::Other("Veth".into()));
    }

    #[test]
    fn oper_state_round_trips_every_variant() {
        use crate::model::OperState as S;
        round_trips(&[
            ("UP", S::Up),
            ("DOWN", S::Down),
            ("UNKNOWN", S::Unknown),
            ("LOWERLAYERDOWN", S::LowerLayerDown),
            ("DORMANT", S::Dormant),
            ("NOTPRESENT", S::NotPresent),
            ("TESTING", S::Testing),
            // An IF_OPER_* value the netlink crate has no name for, as netlens writes it.
            ("OTHER(7)", S::Other("OTHER(7)".into())),
            ("up", S::Other("up".into())),
        ]);
    }

    #[test]
    fn stp_port_state_round_trips_every_variant() {
        use crate::model::StpPortState as S;
        round_trips(&[
            ("disabled", S::Disabled),
            ("listening", S::Listening),
            ("learning", S::Learning),
            ("forwarding", S::Forwarding),
            ("blocking", S::Blocking),
            ("other(9)", S::Other("other(9)".into())),
        ]);
    }

    /// Only a forwarding port passes frames; every other state is named as the reason.
    #[test]
    fn bridge_port_blocks_unless_forwarding() {
        use crate::model::{BridgePort, StpPortState as S};
        let port = |state| BridgePort {
            state,
            isolated: false,
            learning: true,
            flood: true,
        };
        assert_eq!(port(S::Forwarding).blocks_from(), None);
        assert_eq!(port(S::Forwarding).blocks_to(), None);
        assert_eq!(
            port(S::Learning).blocks_from().as_deref(),
            Some("its state is learning")
        );
        assert_eq!(
            port(S::Other("other(9)".into())).blocks_to().as_deref(),
            Some("its state is other(9)")
        );
    }

    #[test]
    fn link_flag_round_trips_every_variant() {
        use crate::model::LinkFlag as F;
        round_trips(&[
            ("UP", F::Up),
            ("BROADCAST", F::Broadcast),
            ("DEBUG", F::Debug),
            ("LOOPBACK", F::Loopback),
            ("POINTOPOINT", F::PointToPoint),
            ("NOTRAILERS", F::NoTrailers),
            ("RUNNING", F::Running),
            ("NOARP", F::NoArp),
            ("PROMISC", F::Promisc),
            ("ALLMULTI", F::AllMulti),
            ("MASTER", F::Master),
            ("SLAVE", F::Slave),
            ("MULTICAST", F::Multicast),
            ("PORTSEL", F::PortSel),
            ("AUTOMEDIA", F::AutoMedia),
            ("DYNAMIC", F::Dynamic),
            ("LOWER_UP", F::LowerUp),
            ("DORMANT", F::Dormant),
            ("ECHO", F::Echo),
            ("M-DOWN", F::Other("M-DOWN".into())),
        ]);
    }

    /// A flag list keeps its order (not sorted), unknown names and even a repeated name, so
    /// what was read encodes back unchanged; `insert` appends only what is missing.
    #[test]
    fn link_flags_keep_their_order() {
        use crate::model::{LinkFlag as F, LinkFlags};
        let text = r#"["UP","BROADCAST","M-DOWN","LOWER_UP","UP"]"#;
        let mut flags: LinkFlags = serde_json::from_str(text).unwrap();
        assert_eq!(serde_json::to_string(&flags).unwrap(), text);
        assert!(flags.contains(F::Up) && flags.contains(F::Other("M-DOWN".into())));
        assert!(!flags.contains(F::Running));
        flags.remove(F::Up);
        assert_eq!(flags.to_string(), "BROADCAST,M-DOWN,LOWER_UP");
        flags.insert(F::LowerUp);
        flags.insert(F::Up);
        assert_eq!(flags.to_string(), "BROADCAST,M-DOWN,LOWER_UP,UP");
        flags.retain(|f| *f != F::Broadcast);
        assert_eq!(
            serde_json::to_string(&flags).unwrap(),
            r#"["M-DOWN","LOWER_UP","UP"]"#
        );
        assert_eq!(LinkFlags::from([F::Up, F::Up]).to_string(), "UP");
        assert_eq!(serde_json::to_string(&LinkFlags::default()).unwrap(), "[]");
        let mut link = crate::model::Link::new(1, "eth0", "veth");
        assert!(!link.is_up());
        link.flags = LinkFlags::from([F::Broadcast, F::Up]);
        assert!(link.is_up());
    }
}

/// A namespace's workload (issue 13, "real names everywhere"): a new optional field, written
/// only when a runtime named the namespace, so snapshots without it encode as before; the
/// runtime is a `text_enum` (an unknown runtime's name survives).
mod workload {
    use crate::model::{Namespace, NamespaceKind, Runtime, Workload, WorkloadKind};

    #[test]
    fn workload_round_trips_and_is_omitted_when_none() {
        let mut ns = Namespace::new("netns-317be69c".into(), NamespaceKind::Named, 7);
        let plain = serde_json::to_value(&ns).unwrap();
        assert!(plain.get("workload").is_none(), "{plain}");
        ns.workload = Some(Workload {
            kind: WorkloadKind::Pod,
            runtime: Runtime::CriO,
            name: "web".into(),
            pod_namespace: Some("default".into()),
            id: "4c9d3b1f2a6e".into(),
        });
        let v = serde_json::to_value(&ns).unwrap();
        assert_eq!(
            v["workload"],
            serde_json::json!({"kind": "pod", "runtime": "cri-o", "name": "web",
                "pod_namespace": "default", "id": "4c9d3b1f2a6e"})
        );
        let back: Namespace = serde_json::from_value(v).unwrap();
        assert_eq!(back, ns);
        let c =
            serde_json::json!({"kind": "container", "runtime": "lxc", "name": "c3", "id": "31"});
        let w: Workload = serde_json::from_value(c.clone()).unwrap();
        assert_eq!(w.runtime, Runtime::Other("lxc".into()));
        assert_eq!(w.pod_namespace, None);
        assert_eq!(serde_json::to_value(&w).unwrap(), c);
        for r in [
            Runtime::Containerd,
            Runtime::CriO,
            Runtime::Podman,
            Runtime::Docker,
        ] {
            assert_eq!(Runtime::parse(r.as_str()), r);
        }
    }
}
