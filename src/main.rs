//! The `netlens` command: parse arguments and dispatch; the work lives in the library (the
//! command line itself is `netlens::cli::args`, shared with completions and the man page).

use std::io::IsTerminal;

use netlens::cli::{self, args::Cli, args::Command};

fn main() {
    let cli = Cli::parse_checked();
    // The environment is read here, once; the library only sees these settings.
    let settings = netlens::env::Settings::from_env();
    netlens::env::install(settings.clone());
    netlens::report::color::set(
        cli.color
            .enabled(settings.color, std::io::stdout().is_terminal()),
    );
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
        Some(Command::Completions(args)) => cli::shell::completions(args),
        Some(Command::Man) => cli::shell::man(),
        // The TUI on a terminal; piped or redirected, the text snapshot, so scripts that ran
        // `netlens | grep` keep working.
        None if cli.snapshot.is_some() || std::io::stdout().is_terminal() => {
            let mut options = netlens::ui::Options::from_settings(&settings);
            // `--color never` is the plain theme, as NO_COLOR is; `always` colours anyway.
            options.color = cli.color.enabled(settings.color, true);
            netlens::ui::run(options, cli.snapshot.clone(), cli.since.clone())
        }
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
