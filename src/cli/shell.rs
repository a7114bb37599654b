//! `netlens completions SHELL` and `netlens man`: generated from the clap definition
//! ([`super::args::command`]), so they cannot drift from the options netlens takes.

use std::io::Write;

/// `netlens completions bash|zsh|fish`.
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// The shells with a completion script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut super::args::command(), "netlens", &mut script);
    write_all(&script)
}

/// `netlens man`: the page of netlens itself, then one section per subcommand (each with its
/// options), so `man -l` shows everything in one page.
pub fn man() -> anyhow::Result<i32> {
    let cmd = super::args::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    for sub in cmd.get_subcommands() {
        render_subcommand(&mut page, sub, "netlens")?;
    }
    write_all(&page)
}

/// A subcommand as a section of the one page: its usage line, what it does, and its
/// options (recursively for `lab up|down|…`). Written here because clap_mangen renders a
/// whole page per command, with NAME and SYNOPSIS sections of its own.
fn render_subcommand(page: &mut Vec<u8>, sub: &clap::Command, parent: &str) -> std::io::Result<()> {
    let name = format!("{parent} {}", sub.get_name());
    let mut sub = sub.clone().bin_name(name.clone());
    sub.build();
    writeln!(page, ".SH \"{}\"", roff(&name.to_uppercase()))?;
    let usage = sub.render_usage().to_string();
    let usage = usage.trim_start_matches("Usage: ");
    writeln!(page, ".PP\n\\fB{}\\fR", roff(usage))?;
    let about = sub.get_long_about().or(sub.get_about());
    if let Some(about) = about {
        writeln!(page, ".PP\n{}", roff(&about.to_string()))?;
    }
    // `--help` and the global `--color` are in every command: said once, on the main page.
    let own = |a: &&clap::Arg| !a.is_hide_set() && !a.is_global_set() && a.get_id() != "help";
    for arg in sub.get_arguments().filter(own) {
        let flag = match (arg.get_short(), arg.get_long()) {
            (Some(s), Some(l)) => format!("-{s}, --{l}"),
            (None, Some(l)) => format!("--{l}"),
            (Some(s), None) => format!("-{s}"),
            (None, None) => arg.get_id().to_string().to_uppercase(),
        };
        let help = arg
            .get_long_help()
            .or(arg.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        writeln!(page, ".TP\n\\fB{}\\fR\n{}", roff(&flag), roff(&help))?;
    }
    for inner in sub.get_subcommands() {
        render_subcommand(page, inner, &name)?;
    }
    Ok(())
}

/// Text made inert in roff: backslashes escaped, hyphens as `\-`, a line starting with `.` or
/// `'` (a request) guarded by `\&`.
fn roff(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .lines()
        .map(|l| {
            if l.starts_with(['.', '\'']) {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn write_all(bytes: &[u8]) -> anyhow::Result<i32> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(0),
    }
}
