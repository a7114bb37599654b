//! `netlens capture`: tcpdump for any namespace, without `ip netns exec` and without libpcap.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::netns::lookup;
use crate::report;
use crate::trace::capture::{Capture, CaptureError, RingSize, Spec, KERNEL_RING};
use crate::trace::filter::Filter;

#[derive(Debug, Clone, clap::Args)]
pub struct CaptureArgs {
    /// The namespace (name, /run/netns path, pid, container or pod name, container id prefix
    /// or inode). Default: the one netlens runs in.
    #[arg(long = "ns", value_name = "NS")]
    pub ns: Option<String>,
    /// The interface to capture on, as named inside that namespace.
    #[arg(long, short = 'i', value_name = "IF")]
    pub iface: String,
    /// Stop after this many matching packets.
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,
    /// Write the matching packets to a pcap file (readable by tcpdump -r and Wireshark).
    #[arg(long, short = 'w', value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// One JSON object per packet (decoded layers), then one with the counters.
    #[arg(long)]
    pub json: bool,
    /// Print nothing per packet (with --write: just record).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// tcpdump-like filter: host/net/port/portrange [src|dst], tcp udp icmp icmp6 arp ip ip6
    /// vlan vxlan, and/or/not, parentheses. Matches encapsulated (VXLAN) packets too.
    #[arg(
        value_name = "FILTER",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub filter: Vec<String>,
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The running capture's stop descriptor ([`Capture::stop_fd`]), -1 before it starts.
static STOP_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    // Wake the capture thread, which ends the capture and so the main thread's wait: a quiet
    // capture sleeps until then instead of waking to look at the flag.
    let fd = STOP_FD.load(Ordering::SeqCst);
    if fd >= 0 {
        let one = 1u64;
        // SAFETY: write(2) is async-signal-safe; 8 bytes from a live u64.
        unsafe {
            libc::write(fd, (&one as *const u64).cast(), 8);
        }
    }
}

/// Ctrl-C ends the capture cleanly (counters printed, pcap flushed), as with tcpdump.
fn catch_sigint() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(
        SigHandler::Handler(on_sigint),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        let _ = sigaction(Signal::SIGINT, &act);
        let _ = sigaction(Signal::SIGTERM, &act);
    }
}

/// The namespace to capture in, opened; `None` (said on stderr) when the selector finds none.
fn namespace(args: &CaptureArgs) -> anyhow::Result<Option<(std::fs::File, String)>> {
    Ok(Some(match &args.ns {
        Some(sel) => match lookup::find(sel) {
            Ok((found, file)) => (file, found.name),
            Err(e) => {
                crate::errln!("netlens: {e}");
                return Ok(None);
            }
        },
        None => match std::fs::File::open("/proc/thread-self/ns/net") {
            Ok(f) => (f, "this namespace".to_string()),
            Err(e) => anyhow::bail!("cannot open this process's namespace: {e}"),
        },
    }))
}

/// The kernel's ring; when nothing is shown nobody waits to see a packet, so the kernel fills
/// blocks longer (200 ms) before waking the capture: fewer wake-ups, as tcpdump's 1 s.
fn kernel_ring(quiet: bool) -> RingSize {
    RingSize {
        retire_ms: if quiet { 200 } else { KERNEL_RING.retire_ms },
        ..KERNEL_RING
    }
}

pub fn run(args: &CaptureArgs) -> anyhow::Result<i32> {
    let filter = match Filter::parse(&args.filter) {
        Ok(f) => f,
        Err(e) => {
            crate::errln!("netlens: {e}");
            return Ok(2);
        }
    };
    if args.duration.is_some_and(|d| !(d > 0.0 && d.is_finite())) {
        crate::errln!("netlens: --duration must be a positive number of seconds");
        return Ok(2);
    }
    let Some((file, ns_name)) = namespace(args)? else {
        return Ok(2);
    };
    let spec = Spec {
        filter,
        count: args.count,
        write: args.write.clone(),
        // Nothing shown: frames go from the kernel's ring to the file undecoded.
        display: !args.quiet,
        kernel_ring: kernel_ring(args.quiet),
        ..Spec::new(file, &ns_name, &args.iface)
    };
    catch_sigint();
    let cap = match Capture::start(spec) {
        Ok(c) => c,
        Err(e @ (CaptureError::NoInterface { .. } | CaptureError::Pcap { .. })) => {
            crate::errln!("netlens: {e}");
            return Ok(2);
        }
        Err(e) => {
            crate::errln!("netlens: {e}");
            return Ok(1);
        }
    };
    crate::errln!(
        "netlens: capturing on {} in {ns_name}{}",
        args.iface,
        if args.filter.is_empty() {
            String::new()
        } else {
            format!(" ({})", args.filter.join(" "))
        }
    );
    let deadline = args
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d));
    STOP_FD.store(cap.stop_fd(), Ordering::SeqCst);
    let mut out = std::io::stdout().lock();
    let broken_pipe = show(args, &cap, deadline, &mut out)?;
    STOP_FD.store(-1, Ordering::SeqCst);
    let stats = match cap.finish() {
        Ok(s) => s,
        Err(e) => {
            crate::errln!("netlens: {e}");
            return Ok(1);
        }
    };
    if args.json && !broken_pipe {
        let _ = writeln!(out, "{}", serde_json::json!({ "stats": stats }));
    }
    crate::errln!(
        "netlens: {}",
        report::capture::summary(&stats, args.write.as_deref())
    );
    Ok(0)
}

/// Prints the packets as they come until the capture ends, Ctrl-C, the deadline or a closed
/// pipe; true for the latter.
fn show(
    args: &CaptureArgs,
    cap: &Capture,
    deadline: Option<Instant>,
    out: &mut impl Write,
) -> anyhow::Result<bool> {
    let mut broken_pipe = false;
    loop {
        // A signal before STOP_FD was set is seen here; one after it ends the capture.
        if INTERRUPTED.load(Ordering::SeqCst) {
            break;
        }
        // Nothing shown: no reason to wake before the end (count, Ctrl-C, --duration).
        let wait = match (args.quiet, deadline) {
            (false, _) => Duration::from_millis(200),
            (true, Some(d)) => d.saturating_duration_since(Instant::now()),
            (true, None) => Duration::from_secs(3600),
        };
        let (batch, finished) = cap.next_batch(wait);
        if !args.quiet && !broken_pipe {
            for p in &batch {
                let text = if args.json {
                    let mut v = serde_json::to_value(p)?;
                    v["summary"] = p.summary().into();
                    v.to_string()
                } else {
                    report::capture::line(p)
                };
                // A packet's names (DNS, interface) are the sender's: one inert line each.
                let text = if args.json {
                    crate::text::json_safe(&text)
                } else {
                    crate::text::escape(&text)
                };
                if writeln!(out, "{text}").is_err() {
                    // `| head`: stop printing, finish the capture quietly.
                    broken_pipe = true;
                    break;
                }
            }
            let _ = out.flush();
        }
        if finished
            || broken_pipe
            || INTERRUPTED.load(Ordering::SeqCst)
            || deadline.is_some_and(|d| Instant::now() >= d)
        {
            break;
        }
    }
    Ok(broken_pipe)
}
