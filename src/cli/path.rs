//! `netlens path --from NS [--src IP] DST [--proto tcp|udp|icmp] [--port N] [--json]`: the way
//! a packet would go, hop by hop, and back, from the configuration and the kernels' own route
//! lookups. Exit 0 when it delivers (and the reply comes back), 1 when it breaks, 2 on bad
//! input.

use std::io::Write;
use std::net::IpAddr;

use crate::collect::{self, Options};
use crate::diagnose::diagnose;
use crate::report;
use crate::trace::path::{probe_for, walk, LiveKernel};

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

pub fn run(args: &PathArgs) -> anyhow::Result<i32> {
    let snap = match collect::snapshot(&Options::default()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("netlens path: {e}");
            return Ok(EXIT_USAGE);
        }
    };
    let probe = match probe_for(
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
        report::path_text::render_path(&report)
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(if report.delivers { 0 } else { EXIT_BROKEN })
}
