//! A rule's argument vector read the way iptables reads it, so that what validation sees is
//! what iptables does. iptables parses its whole command line with `getopt_long` (optstring
//! starting with `-`, so words stay in order): short options bundle (`-vtnat` is `-v -t nat`),
//! a required value may be glued on (`-tnat`, `-M/tmp/x`), long options take `--name=value`
//! or the next word, and any unambiguous prefix of a long option is that option (`--tab=nat`).
//! A rule may therefore hold only the options that describe a packet and its target; the
//! table comes from the step's `table` field and the command (`-A`/`-D`/`-I`) from the step.
//!
//! Extension options (`--dport`, `--comment`, …) are merged into getopt's table by iptables
//! once their module is loaded; netlens cannot know them all. One it knows to take a value
//! consumes the next word as getopt would (a comment may read `-tnat`); one it does not know
//! is assumed to take none, so a following word that looks like an option is checked as one.
//! That errs on refusing.

/// iptables' own long options (iptables 1.8, `xshared.c`): name, short letter, whether the
/// option takes a value (0 no, 1 required, 2 optional and only glued on).
const CORE: &[(&str, char, u8)] = &[
    ("append", 'A', 1),
    ("delete", 'D', 1),
    ("check", 'C', 1),
    ("insert", 'I', 1),
    ("replace", 'R', 1),
    ("list", 'L', 2),
    ("list-rules", 'S', 2),
    ("flush", 'F', 2),
    ("zero", 'Z', 2),
    ("new-chain", 'N', 1),
    ("delete-chain", 'X', 2),
    ("rename-chain", 'E', 1),
    ("policy", 'P', 1),
    ("source", 's', 1),
    ("destination", 'd', 1),
    ("src", 's', 1),
    ("dst", 'd', 1),
    ("protocol", 'p', 1),
    ("in-interface", 'i', 1),
    ("jump", 'j', 1),
    ("table", 't', 1),
    ("match", 'm', 1),
    ("numeric", 'n', 0),
    ("out-interface", 'o', 1),
    ("verbose", 'v', 0),
    ("wait", 'w', 2),
    ("wait-interval", 'W', 2),
    ("exact", 'x', 0),
    ("fragments", 'f', 0),
    ("version", 'V', 0),
    ("help", 'h', 2),
    ("line-numbers", '0', 0),
    ("modprobe", 'M', 1),
    ("set-counters", 'c', 1),
    ("goto", 'g', 1),
    ("ipv4", '4', 0),
    ("ipv6", '6', 0),
];

/// Short options with no long name in [`CORE`] (iptables' optstring has them too).
const SHORT_ONLY: &[(char, u8)] = &[('b', 0)];

/// The options a rule may hold: what a packet looks like, and where it goes.
const RULE_OPTIONS: &[char] = &['s', 'd', 'p', 'i', 'o', 'j', 'm', 'f'];

/// Extension options netlens' own rules and the rules its fixes remove use, each taking one
/// value (`--comment`'s value is free text: it must not be read as options).
const EXT_WITH_VALUE: &[&str] = &[
    "comment",
    "ctstate",
    "state",
    "dport",
    "sport",
    "dports",
    "sports",
    "destination-port",
    "source-port",
    "to-destination",
    "to-source",
    "to-ports",
    "src-type",
    "dst-type",
    "mark",
    "icmp-type",
    "physdev-in",
    "physdev-out",
];

/// xtables extension targets: a `-j NAME` with one of these names is the extension, not a
/// user chain (iptables loads `libxt_NAME.so` when it exists).
const EXTENSION_TARGETS: &[&str] = &[
    "AUDIT",
    "CHECKSUM",
    "CLASSIFY",
    "CLUSTERIP",
    "CONNMARK",
    "CONNSECMARK",
    "CT",
    "DNPT",
    "DSCP",
    "ECN",
    "HL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "LOG",
    "MARK",
    "MIRROR",
    "NETMAP",
    "NFLOG",
    "NFQUEUE",
    "NOTRACK",
    "QUEUE",
    "RATEEST",
    "REDIRECT",
    "REJECT",
    "SAME",
    "SECMARK",
    "SET",
    "SNPT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TOS",
    "TPROXY",
    "TRACE",
    "TTL",
    "ULOG",
];

/// What a step does with its rule; a removed rule (and putting it back) may be one netlens
/// never adds itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Add,
    /// `-D`, and `-I` (which in netlens only puts a removed rule back).
    RemoveOrRestore,
}

/// Checks `rule` for a step on `table` (already known to be filter or nat).
pub fn check(table: &str, rule: &[String], use_: Use) -> Result<(), String> {
    let targets = scan(rule)?;
    let target = match targets.as_slice() {
        [t] => t.as_str(),
        [] => return Err("the rule has no target (-j): netlens' rules always have one".into()),
        _ => {
            return Err(format!(
                "the rule has more than one target ({}): iptables would take the last",
                targets.join(", ")
            ))
        }
    };
    target_allowed(table, target, use_)
}

/// The targets netlens' fixes use (`diagnose`, the TUI's forms): ACCEPT in FORWARD,
/// MASQUERADE in POSTROUTING; RETURN and DROP as their plain counterparts. The stale-NAT fix
/// removes Docker's and CNI's DNAT/SNAT/MASQUERADE rules and jumps to a CNI chain, so those
/// may be removed and put back, never added.
fn target_allowed(table: &str, target: &str, use_: Use) -> Result<(), String> {
    let ok = match (table, target) {
        (_, "ACCEPT" | "DROP" | "RETURN") => true,
        ("nat", "MASQUERADE") => true,
        ("nat", "DNAT" | "SNAT") => use_ == Use::RemoveOrRestore,
        ("nat", chain) => use_ == Use::RemoveOrRestore && user_chain(chain),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(match use_ {
        Use::Add => format!(
            "target {target} is not one netlens adds in the {table} table (ACCEPT, DROP, \
             RETURN{})",
            if table == "nat" { ", MASQUERADE" } else { "" }
        ),
        Use::RemoveOrRestore => {
            format!("target {target} is not one netlens removes or puts back in the {table} table")
        }
    })
}

/// A user-defined chain's name as iptables allows it, and not an extension target.
fn user_chain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 28
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        && !EXTENSION_TARGETS.contains(&name)
}

/// [`user_chain`] for chain steps.
pub fn is_user_chain(name: &str) -> bool {
    user_chain(name)
}

/// Which refused option of a bundle to name: the table first, then what runs a program, then
/// commands.
fn severity(c: char) -> u8 {
    match c {
        't' => 3,
        'M' => 2,
        'A' | 'C' | 'D' | 'I' | 'R' | 'L' | 'S' | 'F' | 'Z' | 'N' | 'X' | 'E' | 'P' => 1,
        _ => 0,
    }
}

fn core_long(name: &str) -> Option<(&'static str, char, u8)> {
    CORE.iter().copied().find(|(n, ..)| *n == name)
}

fn describe(c: char) -> String {
    let long = CORE
        .iter()
        .find(|(_, s, _)| *s == c)
        .map_or(String::new(), |(n, ..)| format!(" (--{n})"));
    let why = match c {
        't' => "names the table; the table comes only from the step's `table` field",
        'M' => "runs a program to load kernel modules",
        'A' | 'C' | 'D' | 'I' | 'R' | 'L' | 'S' | 'F' | 'Z' | 'N' | 'X' | 'E' | 'P' => {
            "is an iptables command; netlens chooses the command from the step"
        }
        'g' => "jumps without return; netlens' rules use -j",
        _ => "is a global option, not part of a rule",
    };
    format!("-{c}{long} {why}")
}

/// The option a `--name` means to getopt_long: an exact name, or a prefix of exactly one.
/// `None`: not iptables' own (an extension option). A prefix of a forbidden option is refused
/// even where getopt would find it ambiguous, since the extensions loaded change that.
fn resolve_long(word: &str, name: &str) -> Result<Option<(char, u8)>, String> {
    if let Some((_, c, arg)) = core_long(name) {
        return Ok(Some((c, arg)));
    }
    if name.is_empty() {
        return Err("`--` ends iptables' options; a rule has no use for it".into());
    }
    let candidates: Vec<_> = CORE.iter().filter(|(n, ..)| n.starts_with(name)).collect();
    if let Some((full, c, _)) = candidates
        .iter()
        .find(|(_, c, _)| !RULE_OPTIONS.contains(c))
    {
        return Err(format!(
            "`{word}` is read by iptables as --{full}: {}",
            describe(*c)
        ));
    }
    match candidates.as_slice() {
        [] => Ok(None),
        [(_, c, arg), rest @ ..] if rest.iter().all(|(_, c2, _)| c2 == c) => Ok(Some((*c, *arg))),
        _ => Err(format!("`{word}` is an ambiguous abbreviation")),
    }
}

fn short_arg(c: char) -> Option<u8> {
    CORE.iter()
        .find(|(_, s, _)| *s == c)
        .map(|(.., a)| *a)
        .or_else(|| SHORT_ONLY.iter().find(|(s, _)| *s == c).map(|(_, a)| *a))
}

/// A match, protocol or extension name as xtables names its libraries (`conntrack`,
/// `addrtype`, `tcp`, `icmp`, `41`): never a path.
fn extension_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 32
        && !v.starts_with('-')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Walks the words as getopt_long would; refuses anything but packet and target options and
/// returns the targets named.
fn scan(rule: &[String]) -> Result<Vec<String>, String> {
    let mut targets = Vec::new();
    let mut words = rule.iter();
    let mut value_of = |opt: char, glued: Option<&str>, words: &mut std::slice::Iter<String>| {
        let v = match glued {
            Some(v) => v.to_string(),
            None => match words.next() {
                Some(v) => v.clone(),
                None => return Err(format!("-{opt} needs a value")),
            },
        };
        // iptables turns a match or protocol name into a library path it loads as root
        // (`XTABLES_LIBDIR/libxt_NAME.so`); the stale-NAT fix copies rules from namespaces a
        // container or a user controls. Extension names are plain words.
        if matches!(opt, 'm' | 'p') && !extension_name(&v) {
            return Err(format!(
                "-{opt} {:?} is not a match or protocol name (letters, digits, _ and - only)",
                v
            ));
        }
        if opt == 'j' {
            targets.push(v);
        }
        Ok(())
    };
    while let Some(word) = words.next() {
        if word == "!" {
            continue;
        }
        if let Some(long) = word.strip_prefix("--") {
            let (name, glued) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            match resolve_long(word, name)? {
                Some((c, arg)) => {
                    if !RULE_OPTIONS.contains(&c) {
                        return Err(format!("`{word}` {}", describe(c)));
                    }
                    if arg == 1 {
                        value_of(c, glued, &mut words)?;
                    }
                }
                None => {
                    if glued.is_none() && EXT_WITH_VALUE.contains(&name) {
                        words.next();
                    }
                }
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            // Each letter is an option until one that takes a value: the rest is its value
            // (glued), or the next word. A bundle is refused for its worst letter.
            let mut refused: Option<char> = None;
            for (i, c) in shorts.char_indices() {
                let Some(arg) = short_arg(c) else {
                    return Err(format!("`{word}`: iptables has no option -{c}"));
                };
                if !RULE_OPTIONS.contains(&c) {
                    if refused.is_none_or(|r| severity(c) > severity(r)) {
                        refused = Some(c);
                    }
                    if arg > 0 {
                        break;
                    }
                    continue;
                }
                if arg == 1 {
                    let rest = &shorts[i + c.len_utf8()..];
                    value_of(c, (!rest.is_empty()).then_some(rest), &mut words)?;
                    break;
                }
            }
            if let Some(c) = refused {
                let shown = if shorts.chars().count() > 1 {
                    format!("`{word}` holds -{c}: ")
                } else {
                    String::new()
                };
                return Err(format!("{shown}{}", describe(c)));
            }
        }
        // Anything else is the value of an extension option (`RELATED,ESTABLISHED`).
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    fn ok(table: &str, s: &str, use_: Use) {
        check(table, &words(s), use_).unwrap_or_else(|e| panic!("{s}: {e}"));
    }

    fn bad(table: &str, s: &str, use_: Use) -> String {
        check(table, &words(s), use_).expect_err(s)
    }

    #[test]
    fn table_in_any_spelling() {
        for s in [
            "-t nat -j ACCEPT",
            "-tnat -j ACCEPT",
            "-vtnat -j ACCEPT",
            "--table nat -j ACCEPT",
            "--table=nat -j ACCEPT",
            "--tab=nat -j ACCEPT",
            "--t nat -j ACCEPT",
            "-j ACCEPT --ta nat",
            "-p tcp --syn -tnat -j ACCEPT",
            "-m comment --comment x -tnat -j ACCEPT",
        ] {
            let e = bad("filter", s, Use::Add);
            assert!(e.contains("table"), "{s}: {e}");
        }
    }

    #[test]
    fn values_are_not_options() {
        ok("filter", "-m comment --comment -tnat -j ACCEPT", Use::Add);
        ok("filter", "-s 10.0.0.0/8 -i eth0 -ptcp -j ACCEPT", Use::Add);
        ok("filter", "--src 10.0.0.0/8 --jump=ACCEPT", Use::Add);
        ok("filter", "--sour 10.0.0.0/8 -jACCEPT", Use::Add);
        ok("nat", "-s 10.0.0.0/24 ! -o br0 -j MASQUERADE", Use::Add);
    }

    #[test]
    fn targets() {
        assert!(bad("nat", "-j DNAT --to-destination 1.2.3.4", Use::Add).contains("DNAT"));
        ok(
            "nat",
            "-j DNAT --to-destination 1.2.3.4",
            Use::RemoveOrRestore,
        );
        ok("nat", "-s 10.1.0.5/32 -j CNI-abc", Use::RemoveOrRestore);
        bad("nat", "-s 10.1.0.5/32 -j CNI-abc", Use::Add);
        bad("nat", "-j REDIRECT --to-ports 1", Use::RemoveOrRestore);
        bad("filter", "-j DNAT", Use::RemoveOrRestore);
        bad("filter", "-j LOG", Use::Add);
        bad("filter", "-j ACCEPT -j DROP", Use::Add);
        bad("filter", "-s 1.2.3.4", Use::Add);
        bad("filter", "-j ACCEPT -g X", Use::Add);
        bad("filter", "-j ACCEPT --", Use::Add);
        bad("filter", "-j ACCEPT -q", Use::Add);
        bad("filter", "-j", Use::Add);
    }

    /// A match or protocol name becomes a library path iptables loads as root.
    #[test]
    fn extension_names_are_not_paths() {
        for s in [
            "-m ../../../../tmp/evil -j ACCEPT",
            "--match=/tmp/x -j ACCEPT",
            "-m/tmp/x -j ACCEPT",
            "-p ../x -j ACCEPT",
            "-p\u{1b}[2J -j ACCEPT",
        ] {
            let e = bad("filter", s, Use::Add);
            assert!(e.contains("not a match or protocol name"), "{s}: {e}");
        }
        ok(
            "filter",
            "-p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
            Use::Add,
        );
        ok(
            "filter",
            "! -p 41 -m addrtype --dst-type LOCAL -j ACCEPT",
            Use::Add,
        );
    }
}
