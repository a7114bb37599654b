//! `netlens lab up|down|status|break SCENARIO`: build, remove, inspect and break the lab
//! topologies of `crate::lab`. `up`, `down` and `break` run as plans of the plan engine (journaled:
//! `netlens undo` reverts them).

use clap::{Args, Subcommand};

use crate::lab::{self, LabError, LabState, SCENARIOS};

/// Build, remove or inspect a lab scenario (router, bridge, cluster) made of namespaces.
#[derive(Debug, Args)]
pub struct LabArgs {
    #[command(subcommand)]
    action: LabAction,
}

#[derive(Debug, Subcommand)]
enum LabAction {
    /// Create the scenario's namespaces, links, addresses, routes and rules (idempotent).
    Up {
        /// Scenario name: router, bridge or cluster.
        scenario: String,
    },
    /// Delete the scenario's namespaces (and with them all their interfaces).
    Down {
        /// Scenario name: router, bridge or cluster.
        scenario: String,
    },
    /// Show which of the scenario's namespaces and interfaces exist (without a scenario:
    /// every scenario's).
    Status {
        /// Scenario name: router, bridge or cluster; default: all of them.
        scenario: Option<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Introduce a fault `netlens doctor` knows into a built scenario, for drills and tests.
    /// Repair it with `netlens fix FINDING` (or `fix all`), take it back with `netlens undo`,
    /// or rebuild with `lab down` then `lab up`. `--list` shows every scenario's faults.
    Break {
        /// Scenario name: router, bridge or cluster.
        #[arg(required_unless_present = "list")]
        scenario: Option<String>,
        /// Fault name, e.g. forwarding-off (see --list).
        #[arg(required_unless_present = "list")]
        fault: Option<String>,
        /// List the faults (of SCENARIO, or of every scenario) instead of breaking anything.
        #[arg(long)]
        list: bool,
    },
}

/// Exit code for a usage error (unknown scenario), as clap uses.
const EXIT_USAGE: i32 = 2;

/// Runs `netlens lab ...`. Returns the process exit code: 0 success, 1 failure, 2 bad input
/// (unknown scenario or fault, not root). Errors are printed as one line on stderr.
pub fn run(args: &LabArgs) -> anyhow::Result<i32> {
    if let Err(code) = checked(args) {
        return Ok(code);
    }
    let result = match &args.action {
        LabAction::Up { scenario } => lab::up(scenario).map(|r| print_up(&r)),
        LabAction::Down { scenario } => lab::down(scenario).map(|r| {
            if r.deleted.is_empty() {
                crate::outln!("lab {} is down (nothing to delete)", r.scenario);
            } else {
                crate::outln!(
                    "lab {} is down: deleted {}",
                    r.scenario,
                    r.deleted.join(", ")
                );
            }
        }),
        LabAction::Break {
            scenario,
            fault: Some(fault),
            ..
        } => lab::break_fault(scenario.as_deref().unwrap_or_default(), fault)
            .map(|r| print_break(&r)),
        LabAction::Break { fault: None, .. } => {
            crate::errln!("netlens lab break: name a fault (see --list)");
            return Ok(EXIT_USAGE);
        }
        LabAction::Status {
            scenario: Some(scenario),
            json,
        } => match lab::status(scenario) {
            Ok(status) if *json => {
                println!(
                    "{}",
                    crate::text::json_safe(&serde_json::to_string_pretty(&status)?)
                );
                Ok(())
            }
            Ok(status) => {
                print_status(&status);
                Ok(())
            }
            Err(e) => Err(e),
        },
        LabAction::Status {
            scenario: None,
            json,
        } => match SCENARIOS.iter().map(|n| lab::status(n)).collect() {
            Ok(all) => {
                let all: Vec<lab::LabStatus> = all;
                print_statuses(&all, *json)?;
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => Ok(0),
        Err(e @ (LabError::UnknownScenario { .. } | LabError::UnknownFault { .. })) => {
            crate::errln!("netlens lab: {e}");
            Ok(EXIT_USAGE)
        }
        Err(e) => {
            crate::errln!("netlens lab: {e}");
            Ok(1)
        }
    }
}

/// Checks the scenario named (known, and root to act on it). `Err(exit code)` when the
/// command ends here: `break --list` (which needs neither), or a usage error.
fn checked(args: &LabArgs) -> Result<(), i32> {
    let scenario = match &args.action {
        LabAction::Up { scenario }
        | LabAction::Down { scenario }
        | LabAction::Status {
            scenario: Some(scenario),
            ..
        } => scenario,
        LabAction::Status { scenario: None, .. } => {
            return require_root();
        }
        LabAction::Break {
            list: true,
            scenario,
            ..
        } => return Err(list_faults(scenario.as_deref())),
        LabAction::Break {
            scenario: Some(scenario),
            ..
        } => scenario,
        LabAction::Break { scenario: None, .. } => {
            crate::errln!("netlens lab break: name a scenario and a fault, or use --list");
            return Err(EXIT_USAGE);
        }
    };
    if !SCENARIOS.contains(&scenario.as_str()) {
        crate::errln!(
            "netlens lab: {}",
            LabError::UnknownScenario {
                name: scenario.clone()
            }
        );
        return Err(EXIT_USAGE);
    }
    require_root()
}

/// Not root is a usage error (exit 2), like every other input that stops a command before
/// it does anything.
fn require_root() -> Result<(), i32> {
    if !nix::unistd::geteuid().is_root() {
        crate::errln!("netlens lab: needs root (creating and entering network namespaces needs CAP_SYS_ADMIN and CAP_NET_ADMIN); run it with sudo");
        return Err(EXIT_USAGE);
    }
    Ok(())
}

/// `lab status` without a scenario: each scenario's status, in text one after the other, in
/// JSON an array.
fn print_statuses(all: &[lab::LabStatus], json: bool) -> anyhow::Result<()> {
    if json {
        let text = serde_json::to_string_pretty(all)?;
        println!("{}", crate::text::json_safe(&text));
    } else {
        for s in all {
            print_status(s);
        }
    }
    Ok(())
}

fn print_up(r: &lab::UpReport) {
    crate::outln!(
        "lab {} is up: {}, {} of {} changed something, {} ms",
        r.scenario,
        crate::report::plural(r.namespaces.len(), "namespace"),
        r.changed,
        crate::report::plural(r.steps, "step"),
        r.elapsed_ms
    );
}

fn print_break(r: &lab::BreakReport) {
    crate::outln!("lab {}: {} — {}", r.scenario, r.fault.name, r.fault.what);
    for change in &r.fault.changes {
        crate::outln!("  {change}");
    }
    crate::outln!("netlens doctor should report {}", r.fault.finding);
    if let Some(p) = &r.fault.probe {
        let size = p.size.map(|s| format!(" -M do -s {s}")).unwrap_or_default();
        crate::outln!(
            "this now fails: ip netns exec {} ping -c1 -W1{size} {}",
            p.ns,
            p.dst
        );
    }
}

/// `lab break --list [SCENARIO]`: every fault with what it does and what doctor reports.
fn list_faults(only: Option<&str>) -> i32 {
    if let Some(name) = only {
        if !SCENARIOS.contains(&name) {
            crate::errln!(
                "netlens lab: {}",
                LabError::UnknownScenario {
                    name: name.to_string()
                }
            );
            return EXIT_USAGE;
        }
    }
    let mut text = String::new();
    for scenario in SCENARIOS.iter().filter(|s| only.is_none_or(|o| o == **s)) {
        text.push_str(&format!("{scenario}:\n"));
        for f in lab::faults(scenario) {
            text.push_str(&format!(
                "  {:<24} {} (doctor: {})\n",
                f.name, f.what, f.finding
            ));
        }
    }
    // A closed pipe (`| head`) is not worth a panic.
    let mut stdout = std::io::stdout().lock();
    let _ = std::io::Write::write_all(&mut stdout, text.as_bytes());
    0
}

fn print_status(s: &lab::LabStatus) {
    let state = match s.state {
        LabState::Complete => "complete",
        LabState::Partial => "partial",
        LabState::Absent => "absent",
    };
    crate::outln!("lab {}: {state}", s.scenario);
    for ns in &s.namespaces {
        let mark = if ns.exists { "ok" } else { "missing" };
        crate::outln!("  namespace {:<20} {mark}", ns.name);
        for link in s.links.iter().filter(|l| l.ns == ns.name) {
            let state = match (link.exists, link.up, link.expected_up) {
                (false, _, _) => "missing",
                (true, false, true) => "down (expected up)",
                (true, true, _) => "up",
                (true, false, false) => "down",
            };
            let kind = match (&link.kind, &link.expected_kind) {
                (Some(found), Some(want)) if found != want => {
                    format!(" (is a {found}, expected a {want})")
                }
                (None, Some(want)) if link.exists => format!(" (expected a {want})"),
                _ => String::new(),
            };
            crate::outln!("    {:<16} {state}{kind}", link.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        lab: LabArgs,
    }

    #[test]
    fn unknown_scenario_is_usage_error() {
        let cli = Cli::parse_from(["lab", "up", "nope"]);
        assert_eq!(run(&cli.lab).unwrap(), EXIT_USAGE);
    }

    #[test]
    fn break_list_needs_no_root_and_unknown_fault_is_usage() {
        let cli = Cli::parse_from(["lab", "break", "--list"]);
        assert_eq!(run(&cli.lab).unwrap(), 0);
        let cli = Cli::parse_from(["lab", "break", "--list", "nope"]);
        assert_eq!(run(&cli.lab).unwrap(), EXIT_USAGE);
        let cli = Cli::parse_from(["lab", "break", "nope", "link-down"]);
        assert_eq!(run(&cli.lab).unwrap(), EXIT_USAGE);
    }

    #[test]
    fn status_json_flag_parses() {
        let cli = Cli::parse_from(["lab", "status", "router", "--json"]);
        assert!(matches!(
            cli.lab.action,
            LabAction::Status { json: true, .. }
        ));
        // Without a scenario: every scenario's status.
        let cli = Cli::parse_from(["lab", "status"]);
        assert!(matches!(
            cli.lab.action,
            LabAction::Status {
                scenario: None,
                json: false
            }
        ));
    }
}
