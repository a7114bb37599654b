//! `netlens trace --from NS DST [--proto tcp|udp|icmp] [--port N] [--json]`: sends one real
//! probe from NS and watches it at every interface of its computed path; where it was last
//! seen is where it vanished. Exit 0 when the reply came back, 1 when not (or when the
//! destination refused with a TCP reset), 2 on bad input.

use std::time::Duration;

use crate::diagnose::diagnose;
use crate::report;
use crate::trace::live::trace;
use crate::trace::path::LiveKernel;

#[derive(Debug, Clone, clap::Args)]
pub struct TraceArgs {
    #[command(flatten)]
    pub probe: super::path::ProbeArgs,
    /// Seconds to watch for the probe and its reply.
    #[arg(long, value_name = "SECS", default_value_t = 2.0)]
    pub wait: f64,
}

pub fn run(args: &TraceArgs) -> anyhow::Result<i32> {
    if !(args.wait > 0.0 && args.wait <= 60.0) {
        crate::errln!("netlens trace: --wait must be more than 0 and at most 60 seconds");
        return Ok(2);
    }
    let (snap, probe) = match args.probe.read("trace") {
        Ok(x) => x,
        Err(code) => return Ok(code),
    };
    let findings = diagnose(&snap);
    let note = format!(
        "probe sent; watching its path for {} s…",
        Duration::from_secs_f64(args.wait).as_secs_f64()
    );
    let traced = super::output::Progress::current().slow(&note, || {
        trace(
            &snap,
            &findings,
            &LiveKernel::default(),
            &probe,
            Duration::from_secs_f64(args.wait),
        )
    });
    let report = match traced {
        Ok(r) => r,
        Err(e) => {
            crate::errln!("netlens trace: {e}");
            return Ok(1);
        }
    };
    let text = if args.probe.json {
        let mut t = serde_json::to_string_pretty(&report)?;
        t.push('\n');
        t
    } else {
        report::path::render_trace(&report)
    };
    super::output::print_report(&text, args.probe.json, crate::report::color::Kind::Trace)?;
    Ok(if report.answered { 0 } else { 1 })
}
