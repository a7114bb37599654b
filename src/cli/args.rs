//! The command line as clap sees it: the top-level options, the subcommands, and the colour
//! choice. In the library (not in `main.rs`) so that `netlens completions` and `netlens man`
//! are generated from this one definition, and tests can walk it.

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use super::*;

#[derive(Parser)]
#[command(
    name = "netlens",
    version,
    about = "Inspect and debug Linux networking across every network namespace",
    long_about = "Inspect and debug Linux networking across every network namespace.\n\n\
                  On a terminal, without a command: the TUI (`?` lists its keys). Piped: the \
                  text snapshot. Exit status: 0 fine, 1 problems found (or the command \
                  failed), 2 bad input (unknown namespace, invalid address, missing file, not \
                  root where root is needed)."
)]
pub struct Cli {
    /// Open a saved snapshot (from `netlens snapshot --json` or the TUI's `s`) read-only in
    /// the TUI; needs no root.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<std::path::PathBuf>,
    /// In the TUI, mark (*) everything that changed since this saved snapshot.
    #[arg(long, value_name = "FILE")]
    pub since: Option<std::path::PathBuf>,
    /// Colour text output: auto (only on a terminal, and not when NO_COLOR is set), always or
    /// never. JSON is never coloured; in the TUI `never` is a plain theme.
    // The values are in the sentence above: clap's list of them would repeat it under every
    // command's --help, since the option is global.
    #[arg(
        long,
        value_name = "auto|always|never",
        value_enum,
        default_value_t = ColorChoice::Auto,
        hide_possible_values = true,
        hide_default_value = true,
        global = true
    )]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `--color WHEN`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour: `always`/`never` as said; `auto` when the output is a terminal and
    /// the environment allows colour (`env::Settings::color`: NO_COLOR unset).
    pub fn enabled(self, env_allows: bool, is_terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => env_allows && is_terminal,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Print every namespace with its links, addresses, routes, neighbours, firewall and DNS.
    Snapshot(snapshot::SnapshotArgs),
    /// Build, inspect or remove the networking notes' topologies inside namespaces.
    Lab(lab::LabArgs),
    /// Compare two saved snapshots: what was added, removed or changed.
    Diff(diff::DiffArgs),
    /// The node's CNI: the config the runtime uses, plugin binaries, host-local leases (held
    /// or leaked) and range use, pods per network.
    Cni(cni::CniArgs),
    /// Find what is wrong: forwarding, routes, links, bridges, NAT, MTU, conntrack, DNS.
    Doctor(doctor::DoctorArgs),
    /// The way a packet would go from a namespace, hop by hop, and its reply back.
    Path(path::PathArgs),
    /// Check the Kubernetes ports of this node: listening, by whom, on which address, let in
    /// by INPUT, reachable on other nodes (--peer); and the node's identity.
    Ports(ports::PortsArgs),
    /// Resolve a name the way glibc would in a namespace, showing every step and query.
    Dns(dns::DnsArgs),
    /// Send a real probe and watch it at every interface of its path: where did it vanish?
    Trace(trace::TraceArgs),
    /// Capture packets on an interface of any namespace (tcpdump-like filter, pcap output).
    Capture(capture::CaptureArgs),
    /// Repair a doctor finding (or `all`) with its fix plan: shown, asked, applied all or
    /// nothing, journaled for `netlens undo`.
    Fix(fix::FixArgs),
    /// Apply a plan: show its shell commands, ask, apply all or nothing, journal it.
    Apply(apply::ApplyArgs),
    /// Revert an applied plan (default: the latest still in effect).
    Undo(undo::UndoArgs),
    /// Keep a change applied with --confirm-within.
    Confirm(confirm::ConfirmArgs),
    /// List applied plans and their state.
    Journal(journal::JournalArgs),
    /// Print a shell completion script: `netlens completions bash > /etc/bash_completion.d/netlens`.
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff): `netlens man | man -l -`.
    Man,
}

impl Cli {
    /// Parses the process's arguments; a usage error is clap's message and exit 2.
    pub fn parse_checked() -> Cli {
        let cli = Cli::parse();
        if let Err(e) = cli.check() {
            e.exit();
        }
        cli
    }

    /// `--snapshot`/`--since` before a command would be silently ignored: `netlens --snapshot
    /// F doctor` would examine the live node while its user believes it reads F. Refused.
    /// (Not clap's `args_conflicts_with_subcommands`: that would refuse `--color` too.)
    pub fn check(&self) -> Result<(), clap::Error> {
        let tui_only = match (&self.snapshot, &self.since) {
            (Some(_), _) => "--snapshot <FILE>",
            (None, Some(_)) => "--since <FILE>",
            (None, None) => return Ok(()),
        };
        match &self.command {
            None => Ok(()),
            Some(_) => Err(command().error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "the argument '{tui_only}' cannot be used with a command (it is for the \
                     TUI; `doctor --snapshot FILE` reads a saved snapshot)"
                ),
            )),
        }
    }
}

/// The clap definition, for completions, the man page and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
