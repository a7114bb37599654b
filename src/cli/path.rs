//! `netlens path --from NS [--src IP] DST [--proto tcp|udp|icmp] [--port N] [--json]`: the way
//! a packet would go, hop by hop, and back, from the configuration and the kernels' own route
//! lookups. Exit 0 when it delivers (and the reply comes back), 1 when it breaks, 2 on bad
//! input.

use std::io::Write;
use std::net::IpAddr;

use crate::collect::{self, Options};
use crate::diagnose::diagnose;
use crate::model::Snapshot;
use crate::trace::path::{walk, Hop, LiveKernel, Outcome, PathReport, Probe};

#[derive(Debug, Clone, clap::Args)]
pub struct PathArgs {
    /// The namespace the packet starts in (name, path, pid, container id prefix or inode).
    #[arg(long, value_name = "NS")]
    pub from: String,
    /// Source address (one of the namespace's own); default: what the kernel would choose.
    #[arg(long, value_name = "IP")]
    pub src: Option<IpAddr>,
    /// Destination address.
    #[arg(value_name = "DST")]
    pub dst: String,
    #[arg(long, value_name = "PROTO", default_value = "icmp", value_parser = ["icmp", "tcp", "udp"])]
    pub proto: String,
    /// Destination port (tcp/udp).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    #[arg(long)]
    pub json: bool,
}

const EXIT_BROKEN: i32 = 1;
const EXIT_USAGE: i32 = 2;

/// The probe the arguments describe, checked against the snapshot.
pub fn probe_from_args(
    snap: &Snapshot,
    from: &str,
    src: Option<IpAddr>,
    dst: &str,
    proto: &str,
    port: Option<u16>,
) -> Result<Probe, String> {
    let name = match snap.namespace(from) {
        Some(n) => n.name.clone(),
        None => crate::netns::lookup::find(from)
            .map(|(f, _)| f.name)
            .map_err(|e| e.to_string())?,
    };
    let ns = snap
        .namespace(&name)
        .ok_or_else(|| format!("namespace {name} was not read"))?;
    let dst: IpAddr = dst.parse().map_err(|_| {
        format!("{dst:?} is not an IP address (names are resolved by `netlens dns`)")
    })?;
    if let Some(s) = src {
        if !ns.addresses.iter().any(|a| a.address == s) {
            return Err(format!("{s} is not an address of {name}"));
        }
        if s.is_ipv4() != dst.is_ipv4() {
            return Err("--src and the destination are of different families".into());
        }
    }
    if port.is_some() && proto == "icmp" {
        return Err("--port needs --proto tcp or udp".into());
    }
    Ok(Probe {
        from: name,
        src,
        dst,
        proto: proto.to_string(),
        port,
    })
}

pub fn run(args: &PathArgs) -> anyhow::Result<i32> {
    let snap = match collect::snapshot(&Options::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netlens path: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    let probe = match probe_from_args(
        &snap,
        &args.from,
        args.src,
        &args.dst,
        &args.proto,
        args.port,
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("netlens path: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    let findings = diagnose(&snap);
    let report = walk(&snap, &findings, &LiveKernel::default(), &probe);
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&report)?;
        t.push('\n');
        t
    } else {
        render(&report)
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(if report.delivers { 0 } else { EXIT_BROKEN })
}

fn hop_line(i: usize, h: &Hop) -> String {
    let mut s = format!("  {}. {}", i + 1, h.namespace);
    match (&h.in_iface, &h.out_iface) {
        (Some(a), Some(b)) => s.push_str(&format!(" ({a} → {b})")),
        (Some(a), None) => s.push_str(&format!(" (in {a})")),
        (None, Some(b)) => s.push_str(&format!(" (out {b})")),
        (None, None) => {}
    }
    s.push_str(&format!(": {} → {} [{}]", h.src, h.dst, h.verdict));
    if let Some(r) = &h.route {
        s.push_str(&format!("\n       route {r}"));
    }
    for n in &h.nat {
        s.push_str(&format!("\n       nat   {n}"));
    }
    if !h.via.is_empty() {
        s.push_str(&format!("\n       via   {}", h.via.join(" · ")));
    }
    for n in &h.notes {
        s.push_str(&format!("\n       ?     {n}"));
    }
    s
}

/// The report as text: each leg's hops, then how it ended.
pub fn render(r: &PathReport) -> String {
    let p = &r.probe;
    let mut out = format!(
        "path from {} to {} ({}{})\n",
        p.from,
        p.dst,
        p.proto,
        p.port.map(|n| format!("/{n}")).unwrap_or_default()
    );
    for leg in &r.legs {
        out.push_str(&format!("{}:\n", leg.direction));
        for (i, h) in leg.hops.iter().enumerate() {
            out.push_str(&hop_line(i, h));
            out.push('\n');
        }
        out.push_str(&match &leg.outcome {
            Outcome::Delivered {
                namespace,
                listener,
            } => format!(
                "  ✓ delivered in {namespace}{}\n",
                listener
                    .as_ref()
                    .map(|l| format!(" to {l}"))
                    .unwrap_or_default()
            ),
            Outcome::LeavesNode { namespace, iface } => {
                format!("  → leaves the node from {namespace} through {iface}\n")
            }
            Outcome::Broken {
                namespace,
                cause,
                finding,
            } => format!(
                "  ✗ stops in {namespace}: {cause}{}\n",
                finding
                    .as_ref()
                    .map(|f| format!("\n    fix: netlens fix {f}"))
                    .unwrap_or_default()
            ),
        });
    }
    out.push_str(if r.delivers {
        "the path delivers\n"
    } else {
        "the path is broken\n"
    });
    out
}
