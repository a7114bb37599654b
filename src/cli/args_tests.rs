use super::*;

/// Every option and positional of every command, with the path of commands leading to it.
fn all_args(cmd: &clap::Command, path: &str, out: &mut Vec<(String, clap::Arg)>) {
    for a in cmd.get_arguments() {
        out.push((path.to_string(), a.clone()));
    }
    for sub in cmd.get_subcommands() {
        all_args(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn every_argument_has_help() {
    let mut cmd = command();
    cmd.build();
    let mut args = Vec::new();
    all_args(&cmd, "netlens", &mut args);
    assert!(args.len() > 50, "{}", args.len());
    let missing: Vec<String> = args
        .iter()
        .filter(|(_, a)| a.get_help().is_none() && a.get_long_help().is_none())
        .map(|(path, a)| format!("{path} {}", a.get_id()))
        .collect();
    assert!(missing.is_empty(), "arguments without help: {missing:?}");
}

#[test]
fn every_command_has_an_about() {
    let cmd = command();
    let missing: Vec<&str> = cmd
        .get_subcommands()
        .filter(|s| s.get_about().is_none())
        .map(|s| s.get_name())
        .collect();
    assert!(missing.is_empty(), "{missing:?}");
}

#[test]
fn the_definition_is_consistent() {
    command().debug_assert();
}

#[test]
fn color_is_global_and_auto_follows_the_terminal_and_no_color() {
    let cli = Cli::try_parse_from(["netlens", "doctor", "--color", "never"]).unwrap();
    assert_eq!(cli.color, ColorChoice::Never);
    let cli = Cli::try_parse_from(["netlens", "--color", "always", "doctor"]).unwrap();
    assert_eq!(cli.color, ColorChoice::Always);
    assert!(Cli::try_parse_from(["netlens", "--color", "sometimes"]).is_err());
    // The TUI's own options are still refused before a command.
    let cli = Cli::try_parse_from(["netlens", "--snapshot", "f.json", "doctor"]).unwrap();
    let e = cli.check().unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("cannot be used with"), "{e}");
    let cli = Cli::try_parse_from(["netlens", "--snapshot", "f.json"]).unwrap();
    assert!(cli.check().is_ok());
    assert!(ColorChoice::Auto.enabled(true, true));
    assert!(!ColorChoice::Auto.enabled(false, true), "NO_COLOR");
    assert!(!ColorChoice::Auto.enabled(true, false), "piped");
    assert!(ColorChoice::Always.enabled(false, false));
    assert!(!ColorChoice::Never.enabled(true, true));
}
