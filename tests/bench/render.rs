//! Benchmark: time to draw one TUI frame over a large synthetic snapshot — 1000 namespaces,
//! one of them with 10,000 routes — into ratatui's TestBackend (no terminal I/O), so the cost
//! measured is the view's own. Also the cost of decoding the saved snapshot.
//!
//!     cargo bench --bench render

use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use netlens::model::{
    Link, LinkFlag, LinkFlags, Namespace, NamespaceKind, OperState, PeerRef, Route, Snapshot,
    SCHEMA_VERSION,
};
use netlens::ui::app::{App, Source};
use netlens::ui::{view, Msg};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn link(index: u32, name: String) -> Link {
    Link {
        flags: LinkFlags::from([LinkFlag::Up, LinkFlag::LowerUp]),
        oper_state: OperState::Up,
        mtu: 1500,
        mac: Some("02:00:00:00:00:01".into()),
        ..Link::new(index, name, "veth")
    }
}

fn route(i: u32) -> Route {
    Route {
        table: 254,
        table_name: "main".into(),
        family: netlens::model::RouteFamily::Inet,
        dst: netlens::model::RouteDst::parse(&format!("10.{}.{}.0/24", i / 256, i % 256)),
        gateway: Some("192.168.1.1".parse().expect("ip")),
        dev: Some("eth0".into()),
        prefsrc: None,
        protocol: netlens::model::RouteProtocol::Bird,
        scope: netlens::model::RouteScope::Global,
        kind: netlens::model::RouteKind::Unicast,
        metric: Some(20),
        nexthops: Vec::new(),
    }
}

fn snapshot() -> Snapshot {
    let mut namespaces = Vec::new();
    let mut host = Namespace::new("host".into(), NamespaceKind::Host, 1);
    // 999 veths to the pods, all ports of one bridge, as on a busy CNI node.
    host.links = (0..999)
        .map(|i| {
            let mut l = link(i + 2, format!("veth{i}"));
            l.peer = Some(PeerRef {
                namespace: Some(format!("pod{i}")),
                ifindex: 2,
                name: Some("eth0".into()),
            });
            l.master = Some("cni0".into());
            l
        })
        .collect();
    let mut bridge = link(1001, "cni0".into());
    bridge.kind = "bridge".into();
    bridge.ports = (0..999).map(|i| format!("veth{i}")).collect();
    host.links.push(bridge);
    host.routes = (0..10_000).map(route).collect();
    namespaces.push(host);
    for i in 0..999 {
        let mut ns = Namespace::new(format!("pod{i}"), NamespaceKind::Named, 10 + i);
        let mut eth0 = link(2, "eth0".into());
        eth0.peer = Some(PeerRef {
            namespace: Some("host".into()),
            ifindex: i as u32 + 2,
            name: Some(format!("veth{i}")),
        });
        ns.links = vec![eth0];
        ns.routes = vec![route(i as u32)];
        namespaces.push(ns);
    }
    Snapshot {
        schema_version: SCHEMA_VERSION,
        taken_at: 0,
        hostname: "bench".into(),
        namespaces,
        warnings: Vec::new(),
        cni: None,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("render benchmark: run it with `cargo bench --bench render`");
        return;
    }
    let snap = snapshot();
    let json = serde_json::to_vec(&snap).expect("json");
    let t = Instant::now();
    let decoded: Snapshot = serde_json::from_slice(&json).expect("decode");
    let decode = t.elapsed();

    let mut app = App::new(Source::File("bench.json".into()), Some(decoded));
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let key = |app: &mut App, code| {
        app.handle(Msg::Input(Event::Key(KeyEvent::new(
            code,
            KeyModifiers::NONE,
        ))));
    };
    println!("| view (200×60) | median of 200 frames | worst |");
    println!("|---|---|---|");
    for (label, setup) in [
        ("host, Links (1000 rows)", vec![KeyCode::Char('1')]),
        ("host, Routes (10,000 rows), top", vec![KeyCode::Char('3')]),
        (
            "host, Routes, scrolled to the end",
            vec![KeyCode::Char('l'), KeyCode::Char('G')],
        ),
        (
            "pod500, Links",
            vec![KeyCode::Char('h'), KeyCode::Char('g'), KeyCode::Char('1')],
        ),
        (
            "Topology (999 pods on one bridge, collapsed)",
            vec![KeyCode::Char('t')],
        ),
        (
            "Topology, group expanded, scrolled to the end",
            vec![
                KeyCode::Char('l'),
                KeyCode::Char('g'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Char('j'),
                KeyCode::Enter,
                KeyCode::Char('G'),
            ],
        ),
    ] {
        for k in setup {
            key(&mut app, k);
        }
        if label.starts_with("pod500") {
            for _ in 0..501 {
                key(&mut app, KeyCode::Char('j'));
            }
        }
        let mut times = Vec::new();
        for _ in 0..200 {
            let t = Instant::now();
            terminal.draw(|f| view::draw(f, &mut app)).expect("draw");
            times.push(t.elapsed());
        }
        let worst = *times.iter().max().expect("frames");
        println!(
            "| {label} | {:.2} ms | {:.2} ms |",
            median(times).as_secs_f64() * 1e3,
            worst.as_secs_f64() * 1e3
        );
    }
    let topo_lines = app.topology.lines.as_ref().map_or(0, Vec::len);
    layout_and_doctor(&snap, topo_lines);
    println!(
        "\ndecoding the {:.1} MB snapshot JSON: {:.1} ms",
        json.len() as f64 / 1e6,
        decode.as_secs_f64() * 1e3
    );
}

/// What the TUI does once per snapshot rather than per frame: lay out the topology picture
/// and run the doctor's rules.
fn layout_and_doctor(snap: &Snapshot, topo_lines: usize) {
    let mut layouts = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let lines = netlens::ui::topo::layout(snap, &Default::default());
        layouts.push(t.elapsed());
        std::hint::black_box(lines);
    }
    println!(
        "\nlaying out the topology picture of 1000 namespaces (once per snapshot, while the tab \
         is shown): {:.2} ms median of 20; expanded picture: {topo_lines} lines",
        median(layouts).as_secs_f64() * 1e3
    );
    let mut doctor = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        std::hint::black_box(netlens::diagnose::diagnose(snap));
        doctor.push(t.elapsed());
    }
    println!(
        "\nthe doctor's rules over those 1000 namespaces (run by the TUI on each snapshot): \
         {:.1} ms median of 5",
        median(doctor).as_secs_f64() * 1e3
    );
}
