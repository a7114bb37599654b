//! Benchmark: the doctor on a node-shaped snapshot (`diagnose::node_fixture`: pods on a `cni0`
//! bridge, IPv6 link-locals, kube-proxy's ~5000 NAT rules, per-pod resolv.conf, sockets, CNI
//! leases), built in memory — no kernel, no root. Times `diagnose` at 200, 1000 and 3000 pods,
//! healthy and with three faults (so fixes are simulated), each stage separately at 1000, and
//! the incremental doctor after one pod changed.
//!
//!     cargo bench --bench doctor    # NETLENS_BENCH_RUNS=N (default 7), NETLENS_BENCH_PODS=200,1000
//!
//! `NETLENS_BENCH_SNAPSHOT=FILE` (a `netlens snapshot --json` of a real node, e.g. from
//! `tests/bench/node_world.sh run 1000 bash -c 'netlens snapshot --json > FILE'`) adds a row
//! timing `diagnose` on it, with its stages: shapes the fixture does not have show there.
//! `NETLENS_BENCH_ONLY=healthy` runs only the healthy rows (for a profile of them).

use std::time::{Duration, Instant};

use netlens::diagnose::node_fixture::{node_snapshot, pod_ns, NodeShape};
use netlens::diagnose::{self, profile, Incremental};
use netlens::model::{LinkFlag, OperState, Snapshot};

fn runs() -> usize {
    std::env::var("NETLENS_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7)
        .max(5)
}

/// Pod counts to run (`NETLENS_BENCH_PODS=200,1000`; default 200, 1000, 3000).
fn sizes() -> Vec<usize> {
    std::env::var("NETLENS_BENCH_PODS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .filter(|v: &Vec<usize>| !v.is_empty())
        .unwrap_or_else(|| vec![200, 1000, 3000])
}

/// Median, min and max of `times`, in ms.
fn spread(mut times: Vec<Duration>) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:8.3} ms  (min {:.3}, max {:.3}, {} runs)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    )
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed()
        })
        .collect()
}

fn set_down(snap: &mut Snapshot, ns: &str, link: &str) {
    let n = snap
        .namespaces
        .iter_mut()
        .find(|n| n.name == ns)
        .expect("ns");
    let l = n.links.iter_mut().find(|l| l.name == link).expect("link");
    l.flags
        .retain(|f| !matches!(f, LinkFlag::Up | LinkFlag::LowerUp | LinkFlag::Running));
    l.oper_state = OperState::Down;
    n.routes.retain(|r| r.dev.as_deref() != Some(link));
}

/// Three faults a node sees: a pod's eth0 down, a pod without its default route, a port
/// detached from the bridge.
fn faulted(pods: usize) -> Snapshot {
    let mut snap = node_snapshot(NodeShape::pods(pods));
    set_down(&mut snap, &pod_ns(1), "eth0");
    let p2 = pod_ns(2);
    let n = snap
        .namespaces
        .iter_mut()
        .find(|n| n.name == p2)
        .expect("pod 2");
    n.routes.retain(|r| r.gateway.is_none());
    let host = &mut snap.namespaces[0];
    let port = host
        .links
        .iter_mut()
        .find(|l| l.name == "veth3")
        .expect("veth3");
    port.master = None;
    port.master_index = None;
    port.bridge_port = None;
    snap
}

fn main() {
    // `cargo test --all-targets` runs benches too, in debug: seconds per diagnose there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("doctor benchmark: run it with `cargo bench --bench doctor`");
        return;
    }
    let runs = runs();
    // `NETLENS_BENCH_ONLY=healthy`: the healthy runs alone, for a profile of just them.
    let only_healthy = std::env::var("NETLENS_BENCH_ONLY").is_ok_and(|v| v == "healthy");
    println!("doctor on a node-shaped snapshot (500 services), {runs} runs each:");
    for pods in sizes() {
        let healthy = node_snapshot(NodeShape::pods(pods));
        let found = diagnose::diagnose(&healthy).len();
        println!(
            "  {pods:>5} pods, healthy  ({found:>3} findings): {}",
            spread(time(runs, || diagnose::diagnose(&healthy)))
        );
        if only_healthy {
            continue;
        }
        let broken = faulted(pods);
        let found = diagnose::diagnose(&broken).len();
        println!(
            "  {pods:>5} pods, 3 faults ({found:>3} findings): {}",
            spread(time(runs, || diagnose::diagnose(&broken)))
        );
    }
    if only_healthy {
        return;
    }
    println!("\neach stage at 1000 pods, healthy (median of {runs}):");
    stages(runs, &node_snapshot(NodeShape::pods(1000)));
    println!("\neach stage at 1000 pods, 3 faults (median of {runs}):");
    stages(runs, &faulted(1000));
    incremental(runs);
    if let Ok(path) = std::env::var("NETLENS_BENCH_SNAPSHOT") {
        saved(runs, std::path::Path::new(&path));
    }
}

/// `diagnose` on a saved snapshot, whole and stage by stage.
fn saved(runs: usize, path: &std::path::Path) {
    let snap = match netlens::saved::snapshot::load(path) {
        Ok(s) => s,
        Err(e) => {
            println!("\nsnapshot {}: {e}", path.display());
            return;
        }
    };
    let found = diagnose::diagnose(&snap).len();
    println!(
        "\nsaved snapshot {} ({} namespaces, {found} findings):",
        path.display(),
        snap.namespaces.len()
    );
    println!(
        "  diagnose:                {}",
        spread(time(runs, || diagnose::diagnose(&snap)))
    );
    stages(runs, &snap);
}

/// Each stage of `diagnose` on `snap`, the median of `runs`.
fn stages(runs: usize, snap: &Snapshot) {
    let all: Vec<Vec<(&str, Duration)>> = (0..runs).map(|_| profile::stage_times(snap)).collect();
    for (i, (name, _)) in all[0].iter().enumerate() {
        let mut t: Vec<Duration> = all.iter().map(|r| r[i].1).collect();
        t.sort();
        println!(
            "  {name:<16} {:8.3} ms",
            t[t.len() / 2].as_secs_f64() * 1000.0
        );
    }
}

/// `update` alternating between `up` and `down` (which differ in the namespace `touched`).
fn flapping(runs: usize, up: &Snapshot, down: &Snapshot, touched: &str) -> Vec<Duration> {
    let touched = [touched.to_string()].into_iter().collect();
    let mut inc = Incremental::new(up);
    let mut flip = false;
    time(runs, || {
        flip = !flip;
        inc.update(if flip { down } else { up }, &touched).len()
    })
}

/// The incremental doctor at 1000 pods: one pod's eth0 goes down (and comes back), each time
/// `update` with that pod touched; the same for a host-side veth (the host touched).
fn incremental(runs: usize) {
    println!("\nincremental doctor at 1000 pods, one namespace touched:");
    let up = node_snapshot(NodeShape::pods(1000));
    let mut down = up.clone();
    let pod = pod_ns(500);
    set_down(&mut down, &pod, "eth0");
    let times = flapping(runs * 3, &up, &down, &pod);
    println!("  update (eth0 down/up):   {}", spread(times));
    // The rules stage alone, whole and scoped to the one pod (the Local rules' share).
    let all: Vec<Vec<(&str, Duration)>> = (0..runs)
        .map(|_| profile::scoped_times(&down, std::slice::from_ref(&pod)))
        .collect();
    for (i, (name, _)) in all[0].iter().enumerate() {
        let t: Vec<Duration> = all.iter().map(|r| r[i].1).collect();
        println!("  {name:<23} {}", spread(t));
    }
    let mut host_down = up.clone();
    set_down(&mut host_down, "host", "veth500");
    let times = flapping(runs * 3, &up, &host_down, "host");
    println!("  update (host veth500):   {}", spread(times));
    let mut inc = Incremental::new(&up);
    let touched = [pod.clone()].into_iter().collect();
    inc.update(&down, &touched);
    // A re-read that changed nothing since the last update (the same snapshot): the previous
    // findings, no rule run.
    let none = Default::default();
    let times = time(runs * 3, || inc.update(&down, &none).len());
    println!("  update, nothing touched: {}", spread(times));
    println!(
        "  full diagnose, same:     {}",
        spread(time(runs, || diagnose::diagnose(&down)))
    );
}
