//! The TUI's doctor and changes, drawn into a TestBackend: findings mark their namespaces and
//! fill the Problems tab; Enter explains one and shows its fix as commands; `a` offers changes
//! as forms that refuse bad answers and become a plan to confirm. What runs the plan is the
//! plan engine (tested in plan_*.rs and, through the real TUI, in tui_e2e.rs).

use crate::common;

use common::tui::{app_over, asset, key, screen};
use crossterm::event::KeyCode;
use netlens::model::Snapshot;
use netlens::plan::Step;
use netlens::ui::app::{App, Source};
use netlens::ui::components::actions::Overlay;
use netlens::ui::effect::Effect;
use netlens::ui::tabs::Tab;
use netlens::ui::Msg;

/// The bridge lab with forwarding switched off on its gateway.
fn broken_bridge() -> Snapshot {
    let mut s = asset("demo-bridge.json");
    let gw = s
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-host")
        .expect("gateway");
    gw.sysctls.ip_forward = Some(0);
    s
}

fn select(app: &mut App, ns: &str) {
    app.ns_selected = app
        .visible_namespaces()
        .iter()
        .position(|n| n.name == ns)
        .expect("namespace");
}

/// A live app (changes allowed) over `snap`.
fn live(snap: Snapshot) -> App {
    let mut a = App::new(Source::Live, None);
    a.theme.color = false;
    a.handle(Msg::Snapshot(Box::new(snap)));
    a
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

#[test]
fn a_healthy_lab_has_no_problem_marks() {
    let mut a = app_over("demo-bridge.json", asset("demo-bridge.json"));
    let s = screen(&mut a, 140, 20);
    assert!(!s.contains("│!"), "{s}");
    key(&mut a, KeyCode::Char('p'));
    assert_eq!(a.tab, Tab::Problems);
    let s = screen(&mut a, 140, 20);
    assert!(s.contains("0 errors"), "{s}");
}

#[test]
fn findings_mark_namespaces_and_explain_themselves() {
    let mut a = app_over("broken.json", broken_bridge());
    let s = screen(&mut a, 150, 24);
    assert!(s.contains("│! bridge-host"), "{s}");
    assert!(!s.contains("│! bridge-red"), "{s}");
    key(&mut a, KeyCode::Char('p'));
    key(&mut a, KeyCode::Char('l'));
    let s = screen(&mut a, 150, 24);
    assert!(s.contains("forwarding-off:bridge-host"), "{s}");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 150, 40);
    assert!(s.contains("ip_forward"), "{s}");
    assert!(s.contains("sysctl -w net.ipv4.ip_forward=1"), "{s}");
    // A saved snapshot is read-only: the fix is shown, not offered.
    assert!(s.contains("read-only"), "{s}");
    assert!(key(&mut a, KeyCode::Char('y')).is_empty());
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.overlay, Overlay::None);
}

#[test]
fn live_fix_is_confirmed_with_y() {
    let mut a = live(broken_bridge());
    key(&mut a, KeyCode::Char('p'));
    key(&mut a, KeyCode::Char('l'));
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 150, 40);
    assert!(s.contains("y apply"), "{s}");
    let Some(Effect::Apply(plan)) = key(&mut a, KeyCode::Char('y')).pop() else {
        panic!("the confirmed plan")
    };
    assert_eq!(plan.title, "fix forwarding-off:bridge-host");
    assert!(matches!(
        &plan.steps[..],
        [Step::SetSysctl { ns, key, value, .. }] if ns == "bridge-host" && key == "net/ipv4/ip_forward" && value == "1"
    ));
    assert!(a.status.contains("applying"), "{}", a.status);
}

#[test]
fn a_form_refuses_bad_answers_then_shows_the_plan() {
    let mut a = live(asset("demo-bridge.json"));
    select(&mut a, "bridge-red");
    // Select veth-red in the Links tab, then ask for "add an address".
    key(&mut a, KeyCode::Char('l'));
    key(&mut a, KeyCode::Char('j'));
    key(&mut a, KeyCode::Char('a'));
    let s = screen(&mut a, 140, 30);
    assert!(s.contains("add an address"), "{s}");
    key(&mut a, KeyCode::Char('a'));
    let Overlay::Form(form) = &a.overlay else {
        panic!("no form: {:?}", a.overlay)
    };
    assert_eq!(form.values(), ["veth-red", ""]);
    // `q` is text here, not quit.
    key(&mut a, KeyCode::Tab);
    typed(&mut a, "10.77.0.300/24");
    key(&mut a, KeyCode::Enter);
    assert!(!a.quit);
    let s = screen(&mut a, 140, 30);
    assert!(s.contains("! address:"), "{s}");
    for _ in 0.."300/24".len() {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "3/24");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 140, 30);
    assert!(
        s.contains("ip -n bridge-red addr add 10.77.0.3/24 dev veth-red"),
        "{s}"
    );
    let effects = key(&mut a, KeyCode::Char('n'));
    assert_eq!(a.overlay, Overlay::None);
    assert!(effects.is_empty(), "n cancels");
}

#[test]
fn menu_keys_pick_an_action_and_esc_backs_out() {
    let mut a = live(asset("demo-cluster.json"));
    select(&mut a, "cluster-node2");
    key(&mut a, KeyCode::Char('a'));
    key(&mut a, KeyCode::Char('v'));
    let Overlay::Form(form) = &a.overlay else {
        panic!("no form")
    };
    assert_eq!(form.fields.len(), 3);
    typed(&mut a, "veth-x");
    key(&mut a, KeyCode::Down);
    typed(&mut a, "cluster-n2-pod1");
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Backspace);
    key(&mut a, KeyCode::Backspace);
    key(&mut a, KeyCode::Backspace);
    key(&mut a, KeyCode::Backspace);
    typed(&mut a, "eth9");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 150, 30);
    assert!(
        s.contains(
            "ip -n cluster-node2 link add veth-x type veth peer name eth9 netns cluster-n2-pod1"
        ),
        "{s}"
    );
    key(&mut a, KeyCode::Esc);
    key(&mut a, KeyCode::Char('a'));
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.overlay, Overlay::None);
    assert!(!a.quit);
    // A saved snapshot offers no changes.
    let mut ro = app_over("demo-bridge.json", asset("demo-bridge.json"));
    key(&mut ro, KeyCode::Char('a'));
    assert_eq!(ro.overlay, Overlay::None);
    assert!(ro.status.contains("read-only"));
}

/// An Ethernet/IPv4/ICMP echo request frame, as a capture would hand it over.
fn echo_packet(number: u64, src: [u8; 4], dst: [u8; 4]) -> netlens::trace::capture::Packet {
    let mut f = vec![2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x08, 0x00];
    let icmp = [8u8, 0, 0, 0, 0x12, 0x34, 0, number as u8];
    f.extend_from_slice(&[0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 1, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(&icmp);
    netlens::trace::capture::Packet {
        number,
        time: 1_700_000_000.0 + number as f64 / 10.0,
        length: f.len(),
        decoded: netlens::trace::decode::decode(&f),
        data: f,
    }
}

#[test]
fn capture_tab_starts_on_a_link_lists_packets_and_stops() {
    let mut a = live(asset("demo-bridge.json"));
    select(&mut a, "bridge-red");
    key(&mut a, KeyCode::Char('w'));
    assert_eq!(a.tab, Tab::Capture);
    key(&mut a, KeyCode::Char('l'));
    let s = screen(&mut a, 150, 20);
    assert!(s.contains("Enter captures on the selected link"), "{s}");
    key(&mut a, KeyCode::Char('j'));
    let effects = key(&mut a, KeyCode::Enter);
    assert!(
        matches!(&effects[..], [Effect::StartCapture { ns, iface, .. }] if ns == "bridge-red" && iface == "veth-red"),
        "{effects:?}"
    );
    // What its capture thread sends.
    let stats = netlens::trace::capture::Stats {
        received: 3,
        matched: 3,
        ..Default::default()
    };
    let batch = (1..=3)
        .map(|n| echo_packet(n, [192, 168, 15, 1], [192, 168, 1, 3]))
        .collect();
    a.handle(Msg::Packets(batch, stats));
    let s = screen(&mut a, 150, 20);
    assert!(s.contains("capturing on veth-red in bridge-red"), "{s}");
    assert!(s.contains("3 packets"), "{s}");
    assert!(
        s.contains("IP 192.168.15.1 > 192.168.1.3: ICMP echo request id 4660 seq 3"),
        "{s}"
    );
    // The list follows the newest packet; Enter shows its layers.
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 150, 30);
    assert!(s.contains("packet 3 on veth-red"), "{s}");
    assert!(s.contains("ttl 64"), "{s}");
    key(&mut a, KeyCode::Esc);
    let effects = key(&mut a, KeyCode::Char('x'));
    assert!(matches!(&effects[..], [Effect::StopCapture]), "{effects:?}");
    a.handle(Msg::CaptureEnded(None));
    assert!(screen(&mut a, 150, 20).contains("stopped on veth-red"));
    // A bad filter is refused in its form.
    key(&mut a, KeyCode::Char('f'));
    typed(&mut a, "port 99999");
    key(&mut a, KeyCode::Enter);
    let s = screen(&mut a, 150, 30);
    assert!(s.contains("not a port number"), "{s}");
    key(&mut a, KeyCode::Esc);
    assert_eq!(a.capture.filter, "");
}

#[test]
fn path_form_asks_for_a_destination_and_refuses_nonsense() {
    let mut a = live(asset("demo-bridge.json"));
    select(&mut a, "bridge-red");
    key(&mut a, KeyCode::Char('T'));
    typed(&mut a, "8.8.8.x");
    key(&mut a, KeyCode::Enter);
    assert!(screen(&mut a, 150, 30).contains("not an IP address"));
    key(&mut a, KeyCode::Backspace);
    typed(&mut a, "8");
    let Some(Effect::Path { probe, live, .. }) = key(&mut a, KeyCode::Enter).pop() else {
        panic!("a path to work out")
    };
    assert_eq!(probe.from, "bridge-red");
    assert_eq!(probe.dst.to_string(), "8.8.8.8");
    assert!(!live);
    // The loop's answer is shown as a report.
    a.handle(Msg::Report(
        " path from bridge-red to 8.8.8.8 ".into(),
        vec!["the path delivers".into()],
    ));
    assert!(screen(&mut a, 150, 30).contains("the path delivers"));
}

#[test]
fn ports_tab_shows_the_kubernetes_ports_of_the_namespace() {
    let mut snap = asset("demo-bridge.json");
    let ns = snap
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-lan")
        .expect("namespace");
    let sock = |addr: &str, port: u16, comm: &str| netlens::model::ListeningSocket {
        proto: "tcp".into(),
        address: addr.parse().expect("ip"),
        port,
        inode: port as u64,
        processes: vec![netlens::model::ProcessRef {
            pid: 700 + port as u32 % 100,
            comm: comm.into(),
            container_id: None,
        }],
    };
    ns.sockets.push(sock("0.0.0.0", 10250, "kubelet"));
    ns.sockets.push(sock("127.0.0.1", 6443, "kube-apiserver"));
    let mut a = app_over("node.json", snap);
    select(&mut a, "bridge-lan");
    key(&mut a, KeyCode::Char('K'));
    assert_eq!(a.tab, Tab::Ports);
    let s = screen(&mut a, 170, 24);
    assert!(s.contains("control-plane"), "{s}");
    let row = |port: &str| {
        s.lines()
            .find(|l| l.contains(&format!("││{port} ")))
            .unwrap_or_else(|| panic!("no row {port}:\n{s}"))
            .to_string()
    };
    assert!(row("10250").contains("kubelet"), "{s}");
    let api = row("6443");
    assert!(
        api.contains("kube-apiserver") && api.contains("127.0.0.1"),
        "{api}"
    );
    assert!(
        api.contains("bound to 127.0.0.1:6443 only"),
        "the loopback-only problem: {api}"
    );
    // A namespace with nothing of Kubernetes says so instead of a wall of "no".
    select(&mut a, "bridge-red");
    let s = screen(&mut a, 170, 24);
    assert!(s.contains("not a Kubernetes node"), "{s}");
}

#[test]
fn dns_tab_resolves_a_name_from_a_form() {
    let mut a = live(asset("demo-bridge.json"));
    select(&mut a, "bridge-red");
    key(&mut a, KeyCode::Char('6'));
    assert_eq!(a.tab, Tab::Dns);
    key(&mut a, KeyCode::Char('R'));
    typed(&mut a, "bad..name");
    key(&mut a, KeyCode::Enter);
    assert!(screen(&mut a, 150, 30).contains("! name:"));
    for _ in 0.."bad..name".len() {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "db.internal");
    key(&mut a, KeyCode::Tab);
    for _ in 0.."A+AAAA".len() {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "MX");
    let Some(Effect::Resolve(req)) = key(&mut a, KeyCode::Enter).pop() else {
        panic!("a lookup to run")
    };
    assert_eq!(
        (req.ns.as_str(), req.name.as_str()),
        ("bridge-red", "db.internal")
    );
    assert_eq!(req.qtype.label(), "MX");
    // Outside the DNS tab, or on a saved snapshot, R does nothing but say why.
    let mut ro = app_over("demo-bridge.json", asset("demo-bridge.json"));
    key(&mut ro, KeyCode::Char('6'));
    key(&mut ro, KeyCode::Char('R'));
    assert_eq!(ro.overlay, Overlay::None);
    assert!(ro.status.contains("cannot send queries"));
}

/// A problem and a change in one namespace: both markers, each in its own column; neighbour
/// churn alone marks nothing until `C` asks for it.
#[test]
fn problem_and_change_markers_show_together() {
    let base = asset("demo-bridge.json");
    let mut a = app_over("broken.json", broken_bridge());
    a.set_baseline(base);
    a.marks.show = true;
    let s = screen(&mut a, 150, 24);
    assert!(s.contains("│!*bridge-host"), "{s}");
    assert!(s.contains("│  bridge-red"), "{s}");
    // ARP churn in red: a new neighbour entry.
    let mut churn = broken_bridge();
    let red = churn
        .namespaces
        .iter_mut()
        .find(|n| n.name == "bridge-red")
        .expect("red");
    let mut n = red.neighbors[0].clone();
    n.address = "192.168.15.99".parse().expect("ip");
    red.neighbors.push(n);
    a.handle(Msg::Snapshot(Box::new(churn)));
    let s = screen(&mut a, 150, 24);
    assert!(
        s.contains("│  bridge-red"),
        "neighbour churn marked red:\n{s}"
    );
    key(&mut a, KeyCode::Char('C'));
    let s = screen(&mut a, 150, 24);
    assert!(s.contains("│ *bridge-red"), "{s}");
}
