//! The shell command(s) equivalent to each step, shown before anything runs. Display only:
//! netlens never runs these strings; it speaks netlink and runs iptables with an argv.

use super::step::Step;
use crate::netns::resolve::NsName;

/// Quotes `arg` for a POSIX shell: bare when it only holds safe characters, otherwise in single
/// quotes (a quote inside becomes `'\''`). A word holding a control or bidi character (a
/// container's interface name with ESC, a file's newlines) is written with bash's ANSI-C
/// quoting instead, `$'e\x1b[2J'`: the preview stays one inert line on the terminal and is
/// still the command that gets the same bytes.
pub fn quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_@%+=:,./-".contains(&b));
    if safe {
        arg.to_string()
    } else if arg.chars().any(crate::text::escape::is_unsafe_char) {
        ansi_c_quote(arg)
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// `$'…'` with `\\`, `\'`, `\n`, `\t`, `\r`, `\xHH` and, beyond ASCII, `\uHHHH` escapes.
fn ansi_c_quote(arg: &str) -> String {
    use std::fmt::Write;
    let mut out = String::from("$'");
    for c in arg.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if crate::text::escape::is_unsafe_char(c) && (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if crate::text::escape::is_unsafe_char(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

pub(super) fn join(argv: &[String]) -> String {
    argv.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ")
}

fn parse_ns(ns: &str) -> NsName {
    // Rendering must not fail: a name validation will reject is still shown as typed.
    NsName::parse(ns).unwrap_or_else(|_| NsName::Named(ns.to_string()))
}

/// What runs a command inside `ns`: nothing for the host, `ip netns exec` for a named
/// namespace, `nsenter` for a process's or Docker's.
fn exec_prefix(ns: &str) -> Vec<String> {
    match parse_ns(ns) {
        NsName::Host => vec![],
        NsName::Named(n) => vec!["ip".into(), "netns".into(), "exec".into(), n],
        NsName::Pid(pid) => vec!["nsenter".into(), "-t".into(), pid.to_string(), "-n".into()],
        NsName::Docker(_) => vec!["nsenter".into(), format!("--net={}", ns_path_text(ns))],
    }
}

fn ns_path_text(ns: &str) -> String {
    parse_ns(ns)
        .path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| ns.to_string())
}

/// `ip` in `ns`: `ip -n NAME` needs no subshell for named namespaces.
pub(super) fn ip(ns: &str, args: &[&str]) -> Vec<String> {
    let mut argv = match parse_ns(ns) {
        NsName::Host => vec!["ip".to_string()],
        NsName::Named(n) => vec!["ip".into(), "-n".into(), n],
        _ => {
            let mut p = exec_prefix(ns);
            p.push("ip".into());
            p
        }
    };
    argv.extend(args.iter().map(|s| s.to_string()));
    argv
}

/// The argument `ip link set … netns X` takes for a target namespace: a name under
/// /run/netns, a pid, or a path.
pub(super) fn netns_target(ns: &str) -> String {
    match parse_ns(ns) {
        NsName::Host => "1".into(),
        NsName::Named(n) => n,
        NsName::Pid(pid) => pid.to_string(),
        NsName::Docker(_) => ns_path_text(ns),
    }
}

/// `key` as sysctl(8) takes it: dotted, unless a component (an interface like `eth0.100`)
/// holds a dot, where only the slash form is unambiguous.
pub fn sysctl_name(key: &str) -> String {
    if key.split('/').any(|c| c.contains('.')) {
        key.to_string()
    } else {
        key.replace('/', ".")
    }
}

/// `bridge` in `ns`: `bridge -n NAME` for named namespaces (it takes `-netns` like `ip`).
pub(super) fn bridge_in(ns: &str, cmd: &[&str]) -> Vec<String> {
    match (parse_ns(ns), cmd.split_first()) {
        (NsName::Named(n), Some((&"bridge", rest))) => {
            let mut argv = vec!["bridge".to_string(), "-n".into(), n];
            argv.extend(rest.iter().map(|s| s.to_string()));
            argv
        }
        _ => in_ns(ns, cmd),
    }
}

pub(super) fn in_ns(ns: &str, cmd: &[&str]) -> Vec<String> {
    let mut argv = exec_prefix(ns);
    argv.extend(cmd.iter().map(|s| s.to_string()));
    argv
}

pub(super) fn write_file(path: &str, content: &str) -> String {
    format!("printf '%s' {} > {}", quote(content), quote(path))
}

/// The shell command(s) doing what `step` does, quoted for display (each family renders its
/// own, in `plan::steps`, with the helpers above).
pub fn commands(step: &Step) -> Vec<String> {
    super::steps::commands(step)
}

#[cfg(test)]
#[path = "shell_tests.rs"]
mod tests;
