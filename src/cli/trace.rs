//! `netlens trace --from NS DST [--proto tcp|udp|icmp] [--port N] [--json]`: sends one real
//! probe from NS and watches it at every interface of its computed path; where it was last
//! seen is where it vanished. Exit 0 when the reply came back, 1 when not, 2 on bad input.

use std::io::Write;
use std::net::IpAddr;
use std::time::Duration;

use crate::collect::{self, Options};
use crate::diagnose::diagnose;
use crate::report;
use crate::trace::live::trace;
use crate::trace::path::LiveKernel;

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
    let probe = match crate::trace::path::probe_for(
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
        report::path_text::render_trace(&report)
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(if report.answered { 0 } else { 1 })
}
