//! `netlens path --from NS [--src IP] DST [--proto tcp|udp|icmp] [--port N] [--json]`: the way
//! a packet would go, hop by hop, and back, from the configuration and the kernels' own route
//! lookups. Exit 0 when it delivers (and the reply comes back), 1 when it breaks, 2 on bad
//! input.

use std::net::IpAddr;

use crate::collect::{self, Options};
use crate::diagnose::diagnose;
use crate::report;
use crate::trace::path::{probe_for, walk, LiveKernel, Probe};

/// What to send and where: shared by `path` and `trace`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProbeArgs {
    /// The namespace the packet starts in (name, path, pid, container or pod name, container
    /// id prefix or inode).
    #[arg(long, value_name = "NS")]
    pub from: String,
    /// Source address (one of the namespace's own); default: what the kernel would choose.
    #[arg(long, value_name = "IP")]
    pub src: Option<IpAddr>,
    /// Destination address.
    #[arg(value_name = "DST")]
    pub dst: String,
    /// Protocol of the packet: icmp (an echo request), tcp (a SYN) or udp.
    #[arg(long, value_name = "PROTO", default_value = "icmp", value_parser = ["icmp", "tcp", "udp"])]
    pub proto: String,
    /// Destination port (tcp/udp).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Print the report as JSON (the hops, each leg's outcome, the finding that breaks it).
    #[arg(long)]
    pub json: bool,
}

impl ProbeArgs {
    /// The snapshot to work on and the probe, checked; `Err` is the exit status after the
    /// one-line message `cmd` printed.
    pub fn read(&self, cmd: &str) -> Result<(crate::model::Snapshot, Probe), i32> {
        let snap = super::output::Progress::current()
            .slow("reading every namespace…", || {
                collect::snapshot(&Options::default())
            })
            .map_err(|e| {
                crate::errln!("netlens {cmd}: {e}");
                EXIT_USAGE
            })?;
        let probe = probe_for(
            &snap,
            &self.from,
            self.src,
            &self.dst,
            &self.proto,
            self.port,
        )
        .map_err(|e| {
            crate::errln!("netlens {cmd}: {e}");
            EXIT_USAGE
        })?;
        Ok((snap, probe))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct PathArgs {
    #[command(flatten)]
    pub probe: ProbeArgs,
}

const EXIT_BROKEN: i32 = 1;
const EXIT_USAGE: i32 = 2;

pub fn run(args: &PathArgs) -> anyhow::Result<i32> {
    let (snap, probe) = match args.probe.read("path") {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let findings = diagnose(&snap);
    let report = walk(&snap, &findings, &LiveKernel::default(), &probe);
    let text = if args.probe.json {
        let mut t = serde_json::to_string_pretty(&report)?;
        t.push('\n');
        t
    } else {
        report::path::render_path_named(&report, &|n| {
            snap.namespace(n)
                .map_or_else(|| n.to_string(), |ns| ns.label())
        })
    };
    super::output::print_report(&text, args.probe.json, crate::report::color::Kind::Path)?;
    Ok(if report.delivers { 0 } else { EXIT_BROKEN })
}
