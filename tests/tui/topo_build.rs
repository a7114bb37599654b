//! A small builder for topology tests: nodes that look nothing like the lab (other names,
//! shapes and sizes), built link by link, for `tui_topology` and `tui_topology_map`.

use netlens::model::{
    Address, Link, LinkFlag, LinkFlags, Namespace, NamespaceKind, OperState, PeerRef, Route,
    Snapshot, SCHEMA_VERSION,
};

pub fn up(l: Link) -> Link {
    Link {
        flags: LinkFlags::from([LinkFlag::Up, LinkFlag::LowerUp]),
        oper_state: OperState::Up,
        mtu: 1500,
        ..l
    }
}

pub fn ns(name: &str, kind: NamespaceKind) -> Namespace {
    let mut n = Namespace::new(name.into(), kind, 4026530000 + name.len() as u64);
    n.links.push(up(Link::new(1, "lo", "loopback")));
    n.sysctls.ip_forward = Some(0);
    n
}

pub fn find<'a>(nodes: &'a mut [Namespace], name: &str) -> &'a mut Namespace {
    nodes
        .iter_mut()
        .find(|n| n.name == name)
        .expect("namespace")
}

/// A veth pair `a_name` (in `a`, index `ai`) ⇄ `b_name` (in `b`, index `bi`).
pub fn veth(nodes: &mut [Namespace], a: (&str, &str, u32), b: (&str, &str, u32)) {
    for ((ns_name, name, idx), (pns, pname, pidx)) in [(a, b), (b, a)] {
        let mut l = up(Link::new(idx, name, "veth"));
        l.peer = Some(PeerRef {
            namespace: Some(pns.into()),
            ifindex: pidx,
            name: Some(pname.into()),
        });
        find(nodes, ns_name).links.push(l);
    }
}

pub fn bridge(nodes: &mut [Namespace], ns_name: &str, name: &str, idx: u32, ports: &[&str]) {
    let n = find(nodes, ns_name);
    n.links.push(up(Link::new(idx, name, "bridge")));
    for p in ports {
        let l = n.links.iter_mut().find(|l| l.name == *p).expect("port");
        l.master = Some(name.into());
        l.master_index = Some(idx);
    }
    let b = n.links.iter_mut().find(|l| l.name == name).expect("bridge");
    b.ports = ports.iter().map(|p| p.to_string()).collect();
}

pub fn addr(nodes: &mut [Namespace], ns_name: &str, ifname: &str, cidr: &str) {
    let (ip, len) = cidr.split_once('/').expect("cidr");
    let n = find(nodes, ns_name);
    let ifindex = n.link(ifname).expect("link").index;
    n.addresses.push(Address {
        ifindex,
        ifname: ifname.into(),
        address: ip.parse().expect("ip"),
        prefix_len: len.parse().expect("len"),
        scope: netlens::model::RouteScope::Global,
        peer: None,
    });
}

pub fn default_via(nodes: &mut [Namespace], ns_name: &str, dev: &str, gw: &str) {
    find(nodes, ns_name).routes.push(Route {
        table: 254,
        table_name: "main".into(),
        family: netlens::model::RouteFamily::Inet,
        dst: netlens::model::RouteDst::Default,
        gateway: Some(gw.parse().expect("gw")),
        dev: Some(dev.into()),
        prefsrc: None,
        protocol: netlens::model::RouteProtocol::Static,
        scope: netlens::model::RouteScope::Global,
        kind: netlens::model::RouteKind::Unicast,
        metric: None,
        nexthops: Vec::new(),
    });
}

pub fn set_down(nodes: &mut [Namespace], ns_name: &str, link: &str) {
    let l = find(nodes, ns_name)
        .links
        .iter_mut()
        .find(|l| l.name == link)
        .expect("link");
    l.flags.remove(LinkFlag::Up);
    l.oper_state = OperState::Down;
}

pub fn snapshot(namespaces: Vec<Namespace>) -> Snapshot {
    Snapshot {
        schema_version: SCHEMA_VERSION,
        taken_at: 0,
        hostname: "node-x".into(),
        namespaces,
        warnings: Vec::new(),
        cni: None,
    }
}

/// Link `link` of `ns_name` switched on but without carrier (its cable, or its veth peer,
/// gone): UP, no LOWER_UP, operstate DOWN.
pub fn set_no_carrier(nodes: &mut [Namespace], ns_name: &str, link: &str) {
    let l = find(nodes, ns_name)
        .links
        .iter_mut()
        .find(|l| l.name == link)
        .expect("link");
    l.flags = LinkFlags::from([LinkFlag::Up]);
    l.oper_state = OperState::Down;
}

/// A line of the picture without its gutter of marks (severity, change and a space).
pub fn body(line: &str) -> String {
    line.chars().skip(3).collect()
}

/// The picture of `snap` without findings, each line without its gutter.
pub fn picture(snap: &Snapshot) -> Vec<String> {
    netlens::ui::topo::layout(snap, &Default::default())
        .iter()
        .map(|l| body(&l.text()))
        .collect()
}

/// The one line containing `needle`; panics showing the picture otherwise.
pub fn line_with<'a>(pic: &'a [String], needle: &str) -> &'a str {
    let hits: Vec<&String> = pic.iter().filter(|l| l.contains(needle)).collect();
    assert_eq!(
        hits.len(),
        1,
        "{needle:?} on {} lines:\n{}",
        hits.len(),
        pic.join("\n")
    );
    hits[0]
}
