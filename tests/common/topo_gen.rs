//! A seeded generator of small routed networks for the random-topology oracle
//! (`tests/doctor/oracle_random.rs`): namespaces joined by veth pairs, bridges in a router or in a
//! "switch" namespace, second-level routers (some with asymmetric routes), an "internet"
//! namespace, MASQUERADE or return routes, a DNAT port-forward. Everything is a list of argv
//! commands (no shell), so a failure can print the exact commands that rebuild it.
//!
//! Addressing: `inet` holds 198.51.100.1/24 towards `r0` (198.51.100.2) and a server
//! 203.0.113.10/32 on lo. Segment `i` of `r0` is 10.i.0.0/24 with the gateway at .1 and hosts
//! at .11, .12, …; a second-level router `ri` sits behind transit 10.i.255.0/30 or /31 (and, with
//! asymmetric routes, a second transit 10.i.254.0/30 that carries its default route). More
//! shapes (router chains, a dual-homed host) are in `topo_shapes`.

use super::topo_shapes;

/// splitmix64: tiny, dependency-free and the same on every platform, so a seed replays.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x6e65_746c_656e_7321)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// True with probability `num/den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.next_u64() % den < num
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The TCP port every host and `inet` listens on.
pub const PORT: u16 = 8080;
/// The port `r0` forwards (DNAT) from its uplink address to one host's [`PORT`].
pub const DNAT_PORT: u16 = 8081;
pub const INET_SERVER: &str = "203.0.113.10";
pub const R0_UPLINK: &str = "198.51.100.2";

/// A namespace at the edge: a host with one address and a default route.
#[derive(Debug, Clone)]
pub struct Host {
    pub ns: String,
    pub addr: String,
    pub gw: String,
    /// Namespaces from the host up to `r0`, switches included: what its traffic crosses.
    pub chain: Vec<String>,
}

/// A deletable route: `(namespace, destination as `ip route` prints it)`.
pub type RouteRef = (String, String);

#[derive(Debug, Default)]
pub struct Topology {
    pub namespaces: Vec<String>,
    pub build: Vec<Vec<String>>,
    pub hosts: Vec<Host>,
    /// Namespaces that forward (r0 and second-level routers).
    pub routers: Vec<String>,
    pub switches: Vec<String>,
    pub masquerade: bool,
    /// `r0`'s MASQUERADE and DNAT are written in a native nftables table (`ip oraclenat`,
    /// chains `pre` and `post`) instead of iptables.
    pub nft_nat: bool,
    /// The host `r0` forwards [`DNAT_PORT`] to.
    pub dnat: Option<Host>,
    /// The DNAT rule matches on every interface, so hosts inside use the forward too.
    pub dnat_inside: bool,
    /// Second-level routers whose default route leaves by another link than their LAN's
    /// route in `r0` comes in.
    pub asymmetric: Vec<String>,
    /// `(namespace, link)` that can be set down.
    pub links: Vec<(String, String)>,
    /// `(namespace, port)` bridge ports that can be detached.
    pub ports: Vec<(String, String)>,
    /// `(namespace, bridge, port)` for every bridge port, to act on ports of one bridge.
    pub bridge_ports: Vec<(String, String, String)>,
    pub routes: Vec<RouteRef>,
    /// Namespaces running a listener on [`PORT`].
    pub listeners: Vec<String>,
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// `ip -n NS ARGS…`
pub(super) fn ipn(ns: &str, args: &[&str]) -> Vec<String> {
    let mut v = cmd(&["ip", "-n", ns]);
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// `ip netns exec NS ARGS…` (for sysctl and iptables).
pub fn exec_in(ns: &str, args: &[&str]) -> Vec<String> {
    let mut v = cmd(&["ip", "netns", "exec", ns]);
    v.extend(args.iter().map(|s| s.to_string()));
    v
}

/// Renders commands as lines a person can paste (every argument is a plain token).
pub fn script(cmds: &[Vec<String>]) -> String {
    cmds.iter().map(|c| c.join(" ") + "\n").collect()
}

impl Topology {
    pub(super) fn run(&mut self, c: Vec<String>) {
        self.build.push(c);
    }
    pub(super) fn add_ns(&mut self, ns: &str) {
        self.namespaces.push(ns.to_string());
        self.run(cmd(&["ip", "netns", "add", ns]));
        self.run(ipn(ns, &["link", "set", "lo", "up"]));
    }
    pub(super) fn addr_up(&mut self, ns: &str, link: &str, cidr: &str) {
        self.run(ipn(ns, &["addr", "add", cidr, "dev", link]));
        self.run(ipn(ns, &["link", "set", link, "up"]));
    }
    /// A veth `a` in `ns_a` paired with `b` in `ns_b`.
    pub(super) fn veth(&mut self, ns_a: &str, a: &str, ns_b: &str, b: &str) {
        self.run(ipn(
            ns_a,
            &[
                "link", "add", a, "type", "veth", "peer", "name", b, "netns", ns_b,
            ],
        ));
    }
    pub(super) fn bridge(&mut self, ns: &str, br: &str) {
        self.run(ipn(ns, &["link", "add", br, "type", "bridge"]));
        self.run(ipn(ns, &["link", "set", br, "up"]));
    }
    pub(super) fn port(&mut self, ns: &str, port: &str, br: &str) {
        self.run(ipn(ns, &["link", "set", port, "master", br, "up"]));
        self.ports.push((ns.into(), port.into()));
        self.bridge_ports.push((ns.into(), br.into(), port.into()));
        self.links.push((ns.into(), port.into()));
    }
    pub(super) fn forwarding(&mut self, ns: &str) {
        self.run(exec_in(ns, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]));
        self.routers.push(ns.into());
    }
    pub(super) fn route(&mut self, ns: &str, dst: &str, via: &str) {
        self.run(ipn(ns, &["route", "add", dst, "via", via]));
        self.routes.push((ns.into(), dst.into()));
    }
    /// A host `ns` whose `eth0` is already paired; address `addr`/24, default via `gw`.
    pub(super) fn host(&mut self, ns: &str, addr: &str, gw: &str, chain: Vec<String>) {
        self.addr_up(ns, "eth0", &format!("{addr}/24"));
        self.route(ns, "default", gw);
        self.links.push((ns.into(), "eth0".into()));
        self.listeners.push(ns.into());
        self.hosts.push(Host {
            ns: ns.into(),
            addr: addr.into(),
            gw: gw.into(),
            chain,
        });
    }
}

/// What segment `i` of `r0` is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Segment {
    BridgeInRouter,
    Switch,
    Direct,
    SubRouter {
        asymmetric: bool,
    },
    /// Two or three routers in a row, then a bridge with hosts (`topo_shapes::chain`).
    Chain {
        routers: usize,
    },
    /// One host with two links to `r0` and a backup default route (`topo_shapes::dual_homed`).
    DualHomed,
}

/// Builds a random topology for `rng`; `need_asymmetric` forces one second-level router with
/// asymmetric routes (for the strict rp_filter fault).
pub fn generate(rng: &mut Rng, need_asymmetric: bool) -> Topology {
    let mut t = Topology::default();
    t.add_ns("inet");
    t.add_ns("r0");
    t.veth("r0", "up0", "inet", "dn0");
    t.addr_up("inet", "dn0", "198.51.100.1/24");
    t.run(ipn(
        "inet",
        &["addr", "add", "203.0.113.10/32", "dev", "lo"],
    ));
    t.listeners.push("inet".into());
    if rng.chance(1, 2) {
        // An upstream that routes (an ISP's router) or one that only answers (a server):
        // both are healthy ends for the traffic the probes send.
        t.run(exec_in("inet", &["sysctl", "-qw", "net.ipv4.ip_forward=1"]));
    }
    t.addr_up("r0", "up0", &format!("{R0_UPLINK}/24"));
    t.links.push(("r0".into(), "up0".into()));
    t.route("r0", "default", "198.51.100.1");
    t.forwarding("r0");

    let segments = 1 + rng.below(3);
    let forced = if need_asymmetric {
        1 + rng.below(segments)
    } else {
        0
    };
    for i in 1..=segments {
        let kind = if i == forced {
            Segment::SubRouter { asymmetric: true }
        } else {
            match rng.below(6) {
                0 => Segment::BridgeInRouter,
                1 => Segment::Switch,
                2 => Segment::Direct,
                3 => Segment::Chain {
                    routers: 2 + rng.below(2),
                },
                4 => Segment::DualHomed,
                _ => Segment::SubRouter {
                    asymmetric: rng.chance(1, 2),
                },
            }
        };
        segment(&mut t, rng, i, kind);
    }

    t.masquerade = rng.chance(1, 2);
    // A side draw, so the main stream (and every seed's topology) stays as it was.
    t.nft_nat = Rng(rng.0 ^ 0x6e66_745f_6e61_7421).chance(1, 2);
    if t.nft_nat {
        for line in [
            "nft add table ip oraclenat",
            "nft add chain ip oraclenat pre { type nat hook prerouting priority dstnat ; }",
            "nft add chain ip oraclenat post { type nat hook postrouting priority srcnat ; }",
        ] {
            t.run(exec_in("r0", &words(line)));
        }
    }
    if t.masquerade && t.nft_nat {
        t.run(exec_in(
            "r0",
            &words("nft add rule ip oraclenat post ip saddr 10.0.0.0/8 oifname up0 masquerade"),
        ));
    } else if t.masquerade {
        t.run(exec_in(
            "r0",
            &words("iptables -t nat -A POSTROUTING -s 10.0.0.0/8 -o up0 -j MASQUERADE"),
        ));
    } else {
        // No NAT: the upstream knows the way back.
        t.route("inet", "10.0.0.0/8", R0_UPLINK);
    }
    if rng.chance(2, 3) {
        dnat(&mut t, rng);
    }
    t
}

/// `r0` forwards [`DNAT_PORT`] of its uplink address to a host's [`PORT`]: only from the
/// uplink (`-i up0`), or from everywhere, when hosts inside use it too (hairpin: a client on
/// the target's own segment gets the reply straight from the target, not through `r0`).
fn dnat(t: &mut Topology, rng: &mut Rng) {
    let h = rng.pick(&t.hosts).clone();
    let to = format!("{}:{PORT}", h.addr);
    let dport = DNAT_PORT.to_string();
    t.dnat_inside = rng.chance(1, 2);
    if t.nft_nat {
        let mut rule = words("nft add rule ip oraclenat pre");
        if !t.dnat_inside {
            rule.extend(["iifname", "up0"]);
        }
        rule.extend(["ip", "daddr", R0_UPLINK, "tcp", "dport", &dport]);
        rule.extend(["dnat", "to", &to]);
        t.run(exec_in("r0", &rule));
        t.dnat = Some(h);
        return;
    }
    let mut rule = words("iptables -t nat -A PREROUTING");
    if !t.dnat_inside {
        rule.extend(["-i", "up0"]);
    }
    rule.extend(["-d", R0_UPLINK, "-p", "tcp", "--dport", &dport]);
    rule.extend(["-j", "DNAT", "--to-destination", &to]);
    t.run(exec_in("r0", &rule));
    t.dnat = Some(h);
}

/// The words of a fixed command line (never user input).
pub fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

fn segment(t: &mut Topology, rng: &mut Rng, i: usize, kind: Segment) {
    let gw = format!("10.{i}.0.1");
    // Bridges with up to four ports besides the router's own.
    let nhosts = 1 + rng.below(4);
    let host_addr = |j: usize| format!("10.{i}.0.{}", 10 + j);
    match kind {
        Segment::BridgeInRouter => {
            let br = format!("br{i}");
            t.bridge("r0", &br);
            t.addr_up("r0", &br, &format!("{gw}/24"));
            t.links.push(("r0".into(), br.clone()));
            for j in 1..=nhosts {
                let (h, v) = (format!("h{i}{j}"), format!("v{i}{j}"));
                t.add_ns(&h);
                t.veth(&h, "eth0", "r0", &v);
                t.port("r0", &v, &br);
                t.host(&h, &host_addr(j), &gw, vec![h.clone(), "r0".into()]);
            }
        }
        Segment::Switch => {
            let sw = format!("sw{i}");
            let l = format!("l{i}");
            t.add_ns(&sw);
            t.switches.push(sw.clone());
            t.bridge(&sw, "br0");
            t.veth("r0", &l, &sw, "p0");
            t.port(&sw, "p0", "br0");
            t.addr_up("r0", &l, &format!("{gw}/24"));
            t.links.push(("r0".into(), l));
            for j in 1..=nhosts {
                let (h, p) = (format!("h{i}{j}"), format!("p{j}"));
                t.add_ns(&h);
                t.veth(&h, "eth0", &sw, &p);
                t.port(&sw, &p, "br0");
                t.host(
                    &h,
                    &host_addr(j),
                    &gw,
                    vec![h.clone(), sw.clone(), "r0".into()],
                );
            }
        }
        Segment::Direct => {
            let (h, l) = (format!("h{i}1"), format!("l{i}"));
            t.add_ns(&h);
            t.veth(&h, "eth0", "r0", &l);
            t.addr_up("r0", &l, &format!("{gw}/24"));
            t.links.push(("r0".into(), l));
            t.host(&h, &host_addr(1), &gw, vec![h.clone(), "r0".into()]);
        }
        Segment::SubRouter { asymmetric } => sub_router(t, rng, i, asymmetric),
        Segment::Chain { routers } => topo_shapes::chain(t, rng, i, routers),
        Segment::DualHomed => topo_shapes::dual_homed(t, i),
    }
}

/// `ri` behind transit 10.i.255.0/30, with a bridge `br0` holding its hosts; with
/// `asymmetric`, its default route leaves by a second transit (10.i.254.0/30) while `r0`
/// reaches its LAN by the first, so only loose or no rp_filter lets the traffic through.
fn sub_router(t: &mut Topology, rng: &mut Rng, i: usize, asymmetric: bool) {
    let r = format!("r{i}");
    let t_link = format!("t{i}");
    t.add_ns(&r);
    t.veth("r0", &t_link, &r, "up0");
    let (near, far) = topo_shapes::transit(t, rng, ("r0", &t_link), (&r, "up0"), i, 255);
    t.links.push(("r0".into(), t_link));
    t.links.push((r.clone(), "up0".into()));
    t.forwarding(&r);
    t.bridge(&r, "br0");
    t.addr_up(&r, "br0", &format!("10.{i}.0.1/24"));
    t.route("r0", &format!("10.{i}.0.0/24"), &far);
    if asymmetric {
        let a = format!("a{i}");
        t.veth("r0", &a, &r, "up1");
        t.addr_up("r0", &a, &format!("10.{i}.254.1/30"));
        t.addr_up(&r, "up1", &format!("10.{i}.254.2/30"));
        t.links.push(("r0".into(), a));
        t.route(&r, "default", &format!("10.{i}.254.1"));
        t.asymmetric.push(r.clone());
    } else {
        t.route(&r, "default", &near);
    }
    for j in 1..=1 + rng.below(2) {
        let (h, v) = (format!("h{i}{j}"), format!("v{j}"));
        t.add_ns(&h);
        t.veth(&h, "eth0", &r, &v);
        t.port(&r, &v, "br0");
        let addr = format!("10.{i}.0.{}", 10 + j);
        t.host(
            &h,
            &addr,
            &format!("10.{i}.0.1"),
            vec![h.clone(), r.clone(), "r0".into()],
        );
    }
}
