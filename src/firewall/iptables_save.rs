//! Parser for `iptables-save` / `ip6tables-save` output (also accepts `iptables-restore`
//! input such as kube-proxy's, and truncated fragments pasted into bug reports).
//!
//! The format is line based: `*table`, `:CHAIN POLICY [packets:bytes]`, `-A CHAIN options…`
//! (optionally prefixed by `[packets:bytes]` when saved with `-c`), `COMMIT`. Arguments
//! containing spaces are double-quoted with `\"` and `\\` escapes. Bad lines produce a warning
//! and parsing continues, so one odd line never hides the rest of a ruleset.

use super::iptables_rule::{build_rule, tokenize};
use crate::model::firewall::{IpFamily, XtChain, XtSource, XtTable};

/// Parses the text; returns the tables found and a warning per line that could not be used.
pub fn parse(text: &str, family: IpFamily, source: XtSource) -> (Vec<XtTable>, Vec<String>) {
    let mut parser = Parser {
        family,
        source,
        tables: Vec::new(),
        open: false,
        warnings: Vec::new(),
    };
    // Split on '\n' only: a comment may hold a '\r' that `lines()` would drop before a '\n'.
    let lines: Vec<&str> = text.split('\n').collect();
    let mut idx = 0;
    while idx < lines.len() {
        // A quoted argument (a comment) may hold newlines: iptables-save prints them raw, so
        // the lines that continue the quote belong to this rule, never to rules of their own.
        if let Some(end) = continuation_end(&lines, idx) {
            let joined = lines[idx..=end].join("\n");
            parser.line(idx + 1, &joined);
            idx = end + 1;
            continue;
        }
        parser.line(idx + 1, lines[idx]);
        idx += 1;
    }
    if parser.open {
        if let Some(t) = parser.tables.last() {
            let name = t.name.clone();
            parser
                .warnings
                .push(format!("table {name}: no COMMIT at end of input"));
        }
    }
    (parser.tables, parser.warnings)
}

struct Parser {
    family: IpFamily,
    source: XtSource,
    tables: Vec<XtTable>,
    /// True between `*table` and `COMMIT`.
    open: bool,
    warnings: Vec<String>,
}

impl Parser {
    fn line(&mut self, no: usize, line: &str) {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            return;
        }
        if let Some(name) = trimmed.strip_prefix('*') {
            self.start_table(no, name.trim());
        } else if trimmed == "COMMIT" {
            if !self.open {
                self.warn(no, "COMMIT outside a table");
            }
            self.open = false;
        } else if let Some(decl) = trimmed.strip_prefix(':') {
            self.chain_decl(no, decl);
        } else {
            self.rule_line(no, line, trimmed);
        }
    }

    fn warn(&mut self, no: usize, msg: &str) {
        self.warnings.push(format!("line {no}: {msg}"));
    }

    fn start_table(&mut self, no: usize, name: &str) {
        if name.is_empty() {
            self.warn(no, "table line without a name");
        }
        if self.open {
            self.warn(no, "new table before COMMIT of the previous one");
        }
        self.tables.push(XtTable {
            family: self.family,
            source: self.source,
            name: name.to_string(),
            chains: Vec::new(),
        });
        self.open = true;
    }

    /// The table lines currently belong to. Fragments often start in the middle of a table,
    /// so a table named `?` is created rather than dropping their lines.
    fn current_table(&mut self, no: usize) -> &mut XtTable {
        if self.tables.is_empty() || !self.open {
            self.warn(no, "line outside a *table block; using table '?'");
            self.tables.push(XtTable {
                family: self.family,
                source: self.source,
                name: "?".to_string(),
                chains: Vec::new(),
            });
            self.open = true;
        }
        let last = self.tables.len() - 1;
        &mut self.tables[last]
    }

    fn chain_decl(&mut self, no: usize, decl: &str) {
        let mut words = decl.split_whitespace();
        let Some(name) = words.next() else {
            self.warn(no, "chain declaration without a name");
            return;
        };
        let policy = words.next().filter(|p| *p != "-").map(str::to_string);
        let (packets, bytes) = match words.next() {
            Some(c) => parse_counters(c).unwrap_or_else(|| {
                self.warn(no, &format!("bad counters {c:?}"));
                (0, 0)
            }),
            None => (0, 0),
        };
        let table = self.current_table(no);
        if let Some(existing) = table.chains.iter_mut().find(|c| c.name == name) {
            // A rule line may have created the chain before its declaration (fragments).
            existing.policy = policy;
            existing.packets = packets;
            existing.bytes = bytes;
        } else {
            table.chains.push(XtChain {
                name: name.to_string(),
                policy,
                packets,
                bytes,
                rules: Vec::new(),
            });
        }
    }

    fn rule_line(&mut self, no: usize, raw: &str, trimmed: &str) {
        let (tokens, unterminated) = tokenize(trimmed);
        if unterminated {
            self.warn(no, "unterminated quote");
        }
        let mut toks = tokens.as_slice();
        let mut counters = None;
        if let Some(first) = toks.first() {
            if !first.quoted && first.text.starts_with('[') {
                match parse_counters(&first.text) {
                    Some(c) => counters = Some(c),
                    None => self.warn(no, &format!("bad counters {:?}", first.text)),
                }
                toks = &toks[1..];
            }
        }
        let command = toks.first().map(|t| t.text.as_str()).unwrap_or("");
        match command {
            "-A" | "--append" | "-I" | "--insert" => {}
            "-N" | "--new-chain" => {
                if let Some(name) = toks.get(1) {
                    let name = name.text.clone();
                    self.ensure_chain(no, &name);
                } else {
                    self.warn(no, "-N without a chain name");
                }
                return;
            }
            _ => {
                let shown: String = trimmed.chars().take(60).collect();
                self.warn(no, &format!("unrecognised line: {shown}"));
                return;
            }
        }
        let Some(chain_name) = toks.get(1).map(|t| t.text.clone()) else {
            self.warn(no, "rule without a chain name");
            return;
        };
        let mut rest = &toks[2..];
        // `-I CHAIN [rulenum]` (restore input): skip the position, rules keep file order.
        if matches!(command, "-I" | "--insert") {
            if let Some(t) = rest.first() {
                if t.text.parse::<u64>().is_ok() {
                    rest = &rest[1..];
                }
            }
        }
        let mut rule = build_rule(raw, rest, &mut |m| self.warn(no, m));
        if let Some((p, b)) = counters {
            rule.packets = Some(p);
            rule.bytes = Some(b);
        }
        let chain = self.ensure_chain(no, &chain_name);
        chain.rules.push(rule);
    }

    fn ensure_chain(&mut self, no: usize, name: &str) -> &mut XtChain {
        let table = self.current_table(no);
        let idx = match table.chains.iter().position(|c| c.name == name) {
            Some(i) => i,
            None => {
                table.chains.push(XtChain {
                    name: name.to_string(),
                    policy: None,
                    packets: 0,
                    bytes: 0,
                    rules: Vec::new(),
                });
                table.chains.len() - 1
            }
        };
        &mut table.chains[idx]
    }
}

/// Bytes a quoted argument may continue over following lines. The kernel caps a comment at 256
/// bytes (XT_MAX_COMMENT_LEN), escaping at most doubles that: a quote still open after this
/// much text is a truncated line, and the lines after it are parsed on their own.
const MAX_CONTINUATION: usize = 1024;

/// Whether a quote is still open at the end of `line` (a backslash escapes the next char).
fn quote_open(line: &str, mut open: bool) -> bool {
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => open = !open,
            _ => {}
        }
    }
    open
}

/// If the rule line at `start` leaves a quote open that a later line closes (within
/// [`MAX_CONTINUATION`] bytes), the index of that closing line.
fn continuation_end(lines: &[&str], start: usize) -> Option<usize> {
    let first = lines[start].trim_start();
    if !(first.starts_with('-') || first.starts_with('[')) || !quote_open(first, false) {
        return None;
    }
    let mut used = 0;
    for (j, line) in lines.iter().enumerate().skip(start + 1) {
        used += line.len() + 1;
        if used > MAX_CONTINUATION {
            return None;
        }
        if !quote_open(line, true) {
            return Some(j);
        }
    }
    None
}

/// A rule line's words as iptables would get them from a shell (quotes and `\"`/`\\`
/// escapes resolved), e.g. to delete the rule with `iptables -D`.
pub fn rule_words(raw: &str) -> Vec<String> {
    tokenize(raw.trim()).0.into_iter().map(|t| t.text).collect()
}

/// `[12:3456]` → (12, 3456).
fn parse_counters(s: &str) -> Option<(u64, u64)> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    let (p, b) = inner.split_once(':')?;
    Some((p.trim().parse().ok()?, b.trim().parse().ok()?))
}

#[cfg(test)]
#[path = "iptables_save_tests.rs"]
mod tests;
