//! `netlens trace --from NS DST [--proto tcp|udp|icmp] [--port N] [--json]`: sends one real
//! probe from NS and watches it at every interface of its computed path; where it was last
//! seen is where it vanished. Exit 0 when the reply came back, 1 when not, 2 on bad input.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use crate::collect::{self, Options};
use crate::diagnose::diagnose;
use crate::trace::live::{trace, TraceReport};
use crate::trace::path::{LiveKernel, Outcome};

#[derive(Debug, Clone, clap::Args)]
pub struct TraceArgs {
    /// The namespace the probe is sent from (name, path, pid, container id prefix or inode).
    #[arg(long, value_name = "NS")]
    pub from: String,
    /// Source address (one of the namespace's own).
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
    /// Seconds to watch for the probe and its reply.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub wait: f64,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &TraceArgs) -> anyhow::Result<i32> {
    if !(args.wait > 0.0 && args.wait <= 60.0) {
        eprintln!("netlens trace: --wait must be between 0 and 60 seconds");
        return Ok(2);
    }
    let snap = match collect::snapshot(&Options::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netlens trace: {e}");
            return Ok(2);
        }
    };
    let probe = match super::path::probe_from_args(
        &snap,
        &args.from,
        args.src,
        &args.dst,
        &args.proto,
        args.port,
    ) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("netlens trace: {e}");
            return Ok(2);
        }
    };
    let findings = diagnose(&snap);
    let report = match trace(
        &snap,
        &findings,
        &LiveKernel::default(),
        &probe,
        Duration::from_secs_f64(args.wait),
    ) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("netlens trace: {e}");
            return Ok(1);
        }
    };
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
    Ok(if report.answered { 0 } else { 1 })
}

/// Each watched interface in order, what it saw and when; then the verdict.
pub fn render(r: &TraceReport) -> String {
    let p = &r.path.probe;
    let mut out = format!(
        "trace from {} to {} ({}{})\n",
        p.from,
        p.dst,
        p.proto,
        p.port.map(|n| format!("/{n}")).unwrap_or_default()
    );
    let mut dir = "";
    for s in &r.sightings {
        if s.direction != dir {
            dir = &s.direction;
            out.push_str(&format!("{dir}:\n"));
        }
        match (&s.after_ms, &s.packet) {
            (Some(ms), Some(pkt)) => out.push_str(&format!(
                "  ✓ {:<14} {:<16} +{ms:>8.3} ms  {pkt}\n",
                s.namespace, s.iface
            )),
            _ => out.push_str(&format!(
                "  ✗ {:<14} {:<16}   not seen\n",
                s.namespace, s.iface
            )),
        }
    }
    for u in &r.unwatched {
        out.push_str(&format!("  ? not watched: {u}\n"));
    }
    if r.answered {
        out.push_str("the reply came back\n");
    } else {
        match &r.vanished {
            Some(v) => out.push_str(&format!("no reply: {v}\n")),
            None => out.push_str("no reply\n"),
        }
        // What the configuration says about the spot.
        for leg in &r.path.legs {
            if let Outcome::Broken {
                namespace,
                cause,
                finding,
            } = &leg.outcome
            {
                out.push_str(&format!("the path says: stops in {namespace}: {cause}\n"));
                if let Some(f) = finding {
                    out.push_str(&format!("fix: netlens fix {f}\n"));
                }
            }
        }
    }
    out
}
