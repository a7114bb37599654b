//! `/etc/nsswitch.conf` parser.
//!
//! Each line is `database: source [STATUS=action ...] source ...`; `#` starts a comment
//! anywhere. glibc uses the first line for a database and ignores later duplicates; a
//! missing `hosts` line means `files dns`.

pub use crate::model::dns_files::{Action, Database, NsSwitch, Source, DEFAULT_HOSTS_SOURCES};

const STATUSES: [&str; 4] = ["success", "notfound", "unavail", "tryagain"];
const ACTIONS: [&str; 3] = ["return", "continue", "merge"];

/// Parses nsswitch.conf text. Never panics; odd lines become warnings.
pub fn parse(text: &str) -> NsSwitch {
    let mut ns = NsSwitch::default();
    for (idx, raw) in text.lines().enumerate() {
        let no = idx + 1;
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((name, rest)) = line.split_once(':') else {
            ns.warnings.push(format!(
                "line {no}: no ':' after the database name; ignored"
            ));
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.contains(char::is_whitespace) {
            ns.warnings
                .push(format!("line {no}: bad database name {name:?}; ignored"));
            continue;
        }
        let sources = parse_sources(rest, no, &mut ns.warnings);
        if sources.is_empty() {
            ns.warnings
                .push(format!("line {no}: database {name:?} lists no sources"));
        }
        if ns.database(name).is_some() {
            ns.warnings.push(format!(
                "line {no}: duplicate {name:?} line; glibc uses the first"
            ));
        }
        if name.chars().any(|c| c.is_ascii_uppercase()) {
            ns.warnings.push(format!(
                "line {no}: database {name:?} is not lower case; glibc will not match it"
            ));
        }
        ns.databases.push(Database {
            name: name.to_string(),
            sources,
            line: no,
        });
    }
    ns
}

fn parse_sources(rest: &str, no: usize, warnings: &mut Vec<String>) -> Vec<Source> {
    let mut sources: Vec<Source> = Vec::new();
    let mut chars = rest.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '[' {
            // Collect up to the closing bracket (actions may contain blanks).
            chars.next();
            let mut inner = String::new();
            let mut closed = false;
            for (_, c) in chars.by_ref() {
                if c == ']' {
                    closed = true;
                    break;
                }
                inner.push(c);
            }
            if !closed {
                warnings.push(format!("line {no}: unclosed '['"));
            }
            let actions = parse_actions(&inner, no, warnings);
            match sources.last_mut() {
                Some(src) => src.actions.extend(actions),
                None => warnings.push(format!("line {no}: action before any source")),
            }
            continue;
        }
        let mut end = rest.len();
        while let Some(&(i, c)) = chars.peek() {
            if c.is_whitespace() || c == '[' {
                end = i;
                break;
            }
            chars.next();
        }
        let word = &rest[start..end];
        if word.contains(['{', '}', ']']) {
            warnings.push(format!("line {no}: odd source name {word:?}"));
        }
        sources.push(Source {
            name: word.to_string(),
            actions: Vec::new(),
        });
    }
    sources
}

fn parse_actions(inner: &str, no: usize, warnings: &mut Vec<String>) -> Vec<Action> {
    let mut out = Vec::new();
    for item in inner.split_whitespace() {
        let Some((status, action)) = item.split_once('=') else {
            warnings.push(format!("line {no}: bad action {item:?}"));
            continue;
        };
        let (negated, status) = match status.strip_prefix('!') {
            Some(s) => (true, s),
            None => (false, status),
        };
        if !STATUSES.contains(&status.to_ascii_lowercase().as_str())
            || !ACTIONS.contains(&action.to_ascii_lowercase().as_str())
        {
            warnings.push(format!("line {no}: unknown status or action in {item:?}"));
        }
        out.push(Action {
            status: status.to_string(),
            negated,
            action: action.to_string(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_attach_to_previous_source() {
        let ns = parse("hosts: files mdns4_minimal [NOTFOUND=return !UNAVAIL=continue] dns # c\n");
        let db = ns.database("hosts").unwrap();
        assert_eq!(db.sources.len(), 3);
        assert_eq!(
            db.sources[1].actions,
            vec![
                Action {
                    status: "NOTFOUND".into(),
                    negated: false,
                    action: "return".into()
                },
                Action {
                    status: "UNAVAIL".into(),
                    negated: true,
                    action: "continue".into()
                }
            ]
        );
        assert!(ns.warnings.is_empty());
    }

    #[test]
    fn default_hosts_and_first_duplicate_wins() {
        assert_eq!(
            parse("passwd: files\n").hosts_sources(),
            vec!["files", "dns"]
        );
        let ns = parse("hosts: dns\nhosts: files\n");
        assert_eq!(ns.hosts_sources(), vec!["dns"]);
        assert_eq!(ns.warnings.len(), 1);
    }

    #[test]
    fn brackets_without_spaces() {
        let ns = parse("hosts: files[NOTFOUND=return]dns");
        let names: Vec<_> = ns
            .database("hosts")
            .unwrap()
            .sources
            .iter()
            .map(|s| s.name.clone())
            .collect();
        assert_eq!(names, vec!["files", "dns"]);
    }
}
