//! `netlens lab up|down|status SCENARIO`: build and remove the lab topologies of `crate::lab`.

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
    /// Show which of the scenario's namespaces and interfaces exist.
    Status {
        /// Scenario name: router, bridge or cluster.
        scenario: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Exit code for a usage error (unknown scenario), as clap uses.
const EXIT_USAGE: i32 = 2;

/// Runs `netlens lab ...`. Returns the process exit code: 0 success, 1 failure (including not
/// root), 2 unknown scenario. Errors are printed as one line on stderr.
pub fn run(args: &LabArgs) -> anyhow::Result<i32> {
    let scenario = match &args.action {
        LabAction::Up { scenario }
        | LabAction::Down { scenario }
        | LabAction::Status { scenario, .. } => scenario,
    };
    if !SCENARIOS.contains(&scenario.as_str()) {
        eprintln!(
            "netlens lab: {}",
            LabError::UnknownScenario {
                name: scenario.clone()
            }
        );
        return Ok(EXIT_USAGE);
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("netlens lab: needs root (creating and entering network namespaces needs CAP_SYS_ADMIN and CAP_NET_ADMIN); run it with sudo");
        return Ok(1);
    }
    let result = match &args.action {
        LabAction::Up { scenario } => lab::up(scenario).map(|r| {
            println!(
                "lab {} is up: {} namespaces, {} of {} steps changed something, {} ms",
                r.scenario,
                r.namespaces.len(),
                r.changed,
                r.steps,
                r.elapsed_ms
            );
        }),
        LabAction::Down { scenario } => lab::down(scenario).map(|r| {
            if r.deleted.is_empty() {
                println!("lab {} is down (nothing to delete)", r.scenario);
            } else {
                println!(
                    "lab {} is down: deleted {}",
                    r.scenario,
                    r.deleted.join(", ")
                );
            }
        }),
        LabAction::Status { scenario, json } => match lab::status(scenario) {
            Ok(status) if *json => {
                println!("{}", serde_json::to_string_pretty(&status)?);
                Ok(())
            }
            Ok(status) => {
                print_status(&status);
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => Ok(0),
        Err(e @ LabError::UnknownScenario { .. }) => {
            eprintln!("netlens lab: {e}");
            Ok(EXIT_USAGE)
        }
        Err(e) => {
            eprintln!("netlens lab: {e}");
            Ok(1)
        }
    }
}

fn print_status(s: &lab::LabStatus) {
    let state = match s.state {
        LabState::Complete => "complete",
        LabState::Partial => "partial",
        LabState::Absent => "absent",
    };
    println!("lab {}: {state}", s.scenario);
    for ns in &s.namespaces {
        let mark = if ns.exists { "ok" } else { "missing" };
        println!("  namespace {:<20} {mark}", ns.name);
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
            println!("    {:<16} {state}{kind}", link.name);
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
    fn status_json_flag_parses() {
        let cli = Cli::parse_from(["lab", "status", "router", "--json"]);
        assert!(matches!(
            cli.lab.action,
            LabAction::Status { json: true, .. }
        ));
    }
}
