//! The `netlens` command: parse arguments and dispatch; the work lives in the library.

use std::io::IsTerminal;

use clap::{Parser, Subcommand};
use netlens::cli;

#[derive(Parser)]
#[command(
    name = "netlens",
    version,
    about = "Inspect and debug Linux networking across every network namespace",
    // `--snapshot`/`--since` before a command would be silently ignored: `netlens --snapshot
    // F doctor` would examine the live node while its user believes it reads F. Refused.
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// Open a saved snapshot (from `netlens snapshot --json` or the TUI's `s`) read-only in
    /// the TUI; needs no root.
    #[arg(long, value_name = "FILE")]
    snapshot: Option<std::path::PathBuf>,
    /// In the TUI, mark (*) everything that changed since this saved snapshot.
    #[arg(long, value_name = "FILE")]
    since: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Print every namespace with its links, addresses, routes, neighbours, firewall and DNS.
    Snapshot(cli::snapshot::SnapshotArgs),
    /// Build, inspect or remove the networking notes' topologies inside namespaces.
    Lab(cli::lab::LabArgs),
    /// Compare two saved snapshots: what was added, removed or changed.
    Diff(cli::diff::DiffArgs),
    /// The node's CNI: the config the runtime uses, plugin binaries, host-local leases (held
    /// or leaked) and range use, pods per network.
    Cni(cli::cni::CniArgs),
    /// Find what is wrong: forwarding, routes, links, bridges, NAT, MTU, conntrack, DNS.
    Doctor(cli::doctor::DoctorArgs),
    /// The way a packet would go from a namespace, hop by hop, and its reply back.
    Path(cli::path::PathArgs),
    /// Check the Kubernetes ports of this node: listening, by whom, on which address, let in
    /// by INPUT, reachable on other nodes (--peer); and the node's identity.
    Ports(cli::ports::PortsArgs),
    /// Resolve a name the way glibc would in a namespace, showing every step and query.
    Dns(cli::dns::DnsArgs),
    /// Send a real probe and watch it at every interface of its path: where did it vanish?
    Trace(cli::trace::TraceArgs),
    /// Capture packets on an interface of any namespace (tcpdump-like filter, pcap output).
    Capture(cli::capture::CaptureArgs),
    /// Repair a doctor finding (or `all`) with its fix plan: shown, asked, applied all or
    /// nothing, journaled for `netlens undo`.
    Fix(cli::fix::FixArgs),
    /// Apply a plan: show its shell commands, ask, apply all or nothing, journal it.
    Apply(cli::apply::ApplyArgs),
    /// Revert an applied plan (default: the latest still in effect).
    Undo(cli::undo::UndoArgs),
    /// Keep a change applied with --confirm-within.
    Confirm(cli::confirm::ConfirmArgs),
    /// List applied plans and their state.
    Journal(cli::journal::JournalArgs),
}

fn main() {
    let cli = Cli::parse();
    // The environment is read here, once; the library only sees these settings.
    let settings = netlens::env::Settings::from_env();
    netlens::env::install(settings.clone());
    let result = match &cli.command {
        Some(Command::Snapshot(args)) => cli::snapshot::run(args),
        Some(Command::Lab(args)) => cli::lab::run(args),
        Some(Command::Diff(args)) => cli::diff::run(args),
        Some(Command::Doctor(args)) => cli::doctor::run(args),
        Some(Command::Cni(args)) => cli::cni::run(args),
        Some(Command::Capture(args)) => cli::capture::run(args),
        Some(Command::Path(args)) => cli::path::run(args),
        Some(Command::Trace(args)) => cli::trace::run(args),
        Some(Command::Ports(args)) => cli::ports::run(args),
        Some(Command::Dns(args)) => cli::dns::run(args),
        Some(Command::Fix(args)) => cli::fix::run(args),
        Some(Command::Apply(args)) => cli::apply::run(args),
        Some(Command::Undo(args)) => cli::undo::run(args),
        Some(Command::Confirm(args)) => cli::confirm::run(args),
        Some(Command::Journal(args)) => cli::journal::run(args),
        // The TUI on a terminal; piped or redirected, the text snapshot, so scripts that ran
        // `netlens | grep` keep working.
        None if cli.snapshot.is_some() || std::io::stdout().is_terminal() => netlens::ui::run(
            netlens::ui::Options::from_settings(&settings),
            cli.snapshot.clone(),
            cli.since.clone(),
        ),
        None => cli::snapshot::run(&cli::snapshot::SnapshotArgs::default()),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            netlens::errln!("netlens: {e:#}");
            std::process::exit(1);
        }
    }
}
