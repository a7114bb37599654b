//! One `-A CHAIN …` line of iptables-save: its words (as a shell would split them) and the
//! rule they make.

use crate::model::firewall::{Cond, Match, XtRule};

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub(super) text: String,
    /// Quoted tokens are always values, even when they start with `-` or equal `!`.
    pub(super) quoted: bool,
}

/// Splits a line like a shell would for iptables-save's quoting: whitespace separates words,
/// `"…"` groups, and a backslash escapes the next character (iptables 1.6 also wrote `\'`).
/// Returns the tokens and whether a quote was left open.
pub(super) fn tokenize(line: &str) -> (Vec<Token>, bool) {
    let mut tokens = Vec::new();
    let mut cur = String::new();
    let mut in_token = false;
    let mut quoted = false;
    let mut in_quotes = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    cur.push(next);
                } else {
                    cur.push('\\');
                }
                in_token = true;
            }
            '"' => {
                in_quotes = !in_quotes;
                quoted = true;
                in_token = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if in_token {
                    tokens.push(Token {
                        text: std::mem::take(&mut cur),
                        quoted,
                    });
                }
                in_token = false;
                quoted = false;
            }
            c => {
                cur.push(c);
                in_token = true;
            }
        }
    }
    if in_token {
        tokens.push(Token { text: cur, quoted });
    }
    (tokens, in_quotes)
}

fn is_option(t: &Token) -> bool {
    !t.quoted && t.text.len() > 1 && t.text.starts_with('-')
}

fn is_bang(t: &Token) -> bool {
    !t.quoted && t.text == "!"
}

/// Turns the tokens after `-A CHAIN` into a rule. Options take every following word that is
/// not itself an option (so `--tcp-flags SYN,RST SYN` keeps both words and `--rsource` none).
/// `!` negates the next option, or — old iptables syntax — the value that follows it.
pub(super) fn build_rule(raw: &str, toks: &[Token], warn: &mut dyn FnMut(&str)) -> XtRule {
    let mut rule = XtRule {
        raw: raw.to_string(),
        ..XtRule::default()
    };
    let options = options(toks, warn);
    fill(&mut rule, options, warn);
    rule
}

/// The options of a rule line in order, each with its values and whether it is negated.
fn options(toks: &[Token], warn: &mut dyn FnMut(&str)) -> Vec<Match> {
    let mut options: Vec<Match> = Vec::new();
    let mut pending_neg = false;
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        i += 1;
        if is_bang(t) {
            pending_neg = true;
            continue;
        }
        if !is_option(t) {
            warn(&format!("stray value {:?}", t.text));
            continue;
        }
        let mut m = Match {
            negated: std::mem::take(&mut pending_neg),
            option: t.text.clone(),
            value: String::new(),
        };
        let mut values: Vec<&str> = Vec::new();
        while i < toks.len() {
            let v = &toks[i];
            if is_option(v) {
                break;
            }
            if is_bang(v) {
                // `--opt ! value` (old syntax) negates this option; `! --next` negates the next.
                let next_is_value = toks
                    .get(i + 1)
                    .is_some_and(|n| !is_option(n) && !is_bang(n));
                if values.is_empty() && next_is_value {
                    m.negated = true;
                    i += 1;
                    continue;
                }
                break;
            }
            values.push(&v.text);
            i += 1;
        }
        m.value = values.join(" ");
        options.push(m);
    }
    if pending_neg {
        warn("trailing '!'");
    }
    options
}

/// Sorts `options` into `rule`: the target and its arguments, counters, the well-known
/// matches (first one wins) and every option before the target in `matches`.
fn fill(rule: &mut XtRule, options: Vec<Match>, warn: &mut dyn FnMut(&str)) {
    let mut after_target = false;
    for m in options {
        if after_target {
            rule.target_args.push((m.option, m.value));
            continue;
        }
        match m.option.as_str() {
            "-j" | "--jump" | "-g" | "--goto" => {
                rule.goto = matches!(m.option.as_str(), "-g" | "--goto");
                rule.target = Some(m.value);
                after_target = true;
                continue;
            }
            "-c" | "--set-counters" => {
                let mut nums = m.value.split_whitespace().map(str::parse::<u64>);
                match (nums.next(), nums.next()) {
                    (Some(Ok(p)), Some(Ok(b))) => {
                        rule.packets = Some(p);
                        rule.bytes = Some(b);
                    }
                    _ => warn(&format!("bad -c counters {:?}", m.value)),
                }
                continue;
            }
            _ => {}
        }
        let cond = Cond {
            negated: m.negated,
            value: m.value.clone(),
        };
        let slot = match m.option.as_str() {
            "-s" | "--source" | "--src" => Some(&mut rule.source),
            "-d" | "--destination" | "--dst" => Some(&mut rule.destination),
            "-i" | "--in-interface" => Some(&mut rule.in_iface),
            "-o" | "--out-interface" => Some(&mut rule.out_iface),
            "-p" | "--protocol" => Some(&mut rule.protocol),
            "--dport" | "--destination-port" | "--dports" | "--destination-ports" => {
                Some(&mut rule.dport)
            }
            "--sport" | "--source-port" | "--sports" | "--source-ports" => Some(&mut rule.sport),
            _ => None,
        };
        if let Some(slot) = slot {
            if slot.is_none() {
                *slot = Some(cond);
            }
        }
        if m.option == "--comment" && rule.comment.is_none() {
            rule.comment = Some(m.value.clone());
        }
        rule.matches.push(m);
    }
}
