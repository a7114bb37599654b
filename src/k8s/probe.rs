//! `--peer`: TCP connects from this node (or from inside another namespace) to the ports of
//! the table on other nodes, with a short timeout. The only I/O of the k8s module.

use std::fs::File;
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::PortsReport;
use crate::netns::enter::{run_in_netns_file, EnterError};

/// One connect attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerResult {
    pub addr: IpAddr,
    pub port: u16,
    /// `connected`, `refused`, `timeout`, `unreachable` or `error`.
    pub result: String,
    pub ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl PeerResult {
    pub fn connected(&self) -> bool {
        self.result == "connected"
    }
}

/// Ranges are probed only on ports in use here (listening, or a NodePort rule): NodePorts are
/// cluster-wide, so the peer serves the same ones. Capped so a node with thousands of
/// NodePorts does not open thousands of connections.
const MAX_RANGE_PORTS: usize = 32;
/// Connects run in parallel, this many at a time.
const PARALLEL: usize = 32;

/// Where a connect goes, and which row of the report it belongs to.
struct Job {
    row: usize,
    addr: SocketAddr,
}

/// Connects to every TCP port of `report` that peers need (self-only ports are skipped: other
/// nodes are not meant to reach them) on every peer, from the calling thread's namespace or,
/// with `from` (an open namespace file and its name), from a thread inside that namespace.
/// Results go to each port's `peers`; a failed connect becomes a problem of that port.
pub fn probe_peers(
    report: &mut PortsReport,
    peers: &[IpAddr],
    from: Option<(&File, &str)>,
    timeout: Duration,
) -> Result<(), EnterError> {
    let mut jobs = Vec::new();
    for (row, p) in report.ports.iter().enumerate() {
        if p.protocol != "tcp" || !p.peers_need() {
            continue;
        }
        let mut ports: Vec<u16> = match p.end_port {
            None => vec![p.port],
            Some(_) => {
                let mut v: Vec<u16> = p
                    .nodeports
                    .iter()
                    .map(|n| n.port)
                    .chain(
                        p.addresses
                            .iter()
                            .filter_map(|a| a.parse::<SocketAddr>().ok().map(|s| s.port())),
                    )
                    .collect();
                v.sort_unstable();
                v.dedup();
                v.truncate(MAX_RANGE_PORTS);
                v
            }
        };
        ports.dedup();
        for peer in peers {
            for port in &ports {
                jobs.push(Job {
                    row,
                    addr: SocketAddr::new(*peer, *port),
                });
            }
        }
    }
    let results = match from {
        // Threads spawned from a thread inside the namespace start in it too (clone copies
        // the creating thread's namespaces), so the parallel connects all leave from there.
        Some((file, name)) => run_in_netns_file(file, name, || connect_all(&jobs, timeout))?,
        None => connect_all(&jobs, timeout),
    };
    report.probed_from = from.map(|(_, name)| name.to_string());
    for (job, res) in jobs.iter().zip(results) {
        let row = &mut report.ports[job.row];
        if !res.connected() {
            let via = from.map(|(_, n)| format!(" from {n}")).unwrap_or_default();
            let why = res
                .error
                .as_deref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default();
            row.problems.push(format!(
                "connect to {}{via}: {}{why} after {} ms",
                job.addr, res.result, res.ms
            ));
        }
        row.peers.push(res);
    }
    report.update_ok();
    Ok(())
}

fn connect_all(jobs: &[Job], timeout: Duration) -> Vec<PeerResult> {
    let mut out = Vec::with_capacity(jobs.len());
    for chunk in jobs.chunks(PARALLEL) {
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunk
                .iter()
                .map(|j| scope.spawn(move || connect(j.addr, timeout)))
                .collect();
            for (h, j) in handles.into_iter().zip(chunk) {
                out.push(h.join().unwrap_or_else(|_| PeerResult {
                    addr: j.addr.ip(),
                    port: j.addr.port(),
                    result: "error".into(),
                    ms: 0,
                    error: Some("the connecting thread panicked".into()),
                }));
            }
        });
    }
    out
}

fn connect(addr: SocketAddr, timeout: Duration) -> PeerResult {
    let start = Instant::now();
    let r = TcpStream::connect_timeout(&addr, timeout);
    let ms = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX);
    let (result, error) = match r {
        Ok(_) => ("connected", None),
        Err(e) => match e.kind() {
            std::io::ErrorKind::ConnectionRefused => ("refused", None),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => ("timeout", None),
            _ if matches!(
                e.raw_os_error(),
                Some(libc::EHOSTUNREACH | libc::ENETUNREACH)
            ) =>
            {
                ("unreachable", Some(e.to_string()))
            }
            _ => ("error", Some(e.to_string())),
        },
    };
    PeerResult {
        addr: addr.ip(),
        port: addr.port(),
        result: result.into(),
        ms,
        error,
    }
}
