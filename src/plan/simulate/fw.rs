//! The simulator's steps on iptables rules and chains (see [`super::simulate`]).
//!
//! An iptables step's rule is turned into the line `iptables-save` would print for it and read
//! back with the snapshot's own parser, so the firewall model holds it exactly as after a real
//! save; a delete removes only a rule iptables would match, so a delete written differently
//! from the rule it aims at changes nothing here, as it changes nothing in the kernel.

use super::unmodelled;
use crate::firewall::iptables_save::{parse, rule_words};
use crate::firewall::{IpFamily, XtChain, XtRule, XtSource, XtTable};
use crate::model::Namespace;

/// Core options as iptables-save orders them: before every match, in this order.
const CORE: [(&str, &[&str]); 5] = [
    ("-s", &["-s", "--source", "--src"]),
    ("-d", &["-d", "--destination", "--dst"]),
    ("-i", &["-i", "--in-interface"]),
    ("-o", &["-o", "--out-interface"]),
    ("-p", &["-p", "--protocol"]),
];

/// A rule's words as `iptables-save` would print them: core options first in its order,
/// addresses with their mask, the implicit `-m tcp`/`-m udp` of a port match, then the other
/// matches in order, then the target.
pub fn save_words(words: &[String]) -> Vec<String> {
    let mut core: [Option<(bool, String)>; 5] = Default::default();
    let mut rest: Vec<String> = Vec::new();
    let mut target: Vec<String> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        let neg = words[i] == "!";
        let w = if neg {
            words.get(i + 1)
        } else {
            Some(&words[i])
        };
        let Some(w) = w else {
            rest.push(words[i].clone());
            break;
        };
        let at = i + usize::from(neg);
        if !target.is_empty() {
            target.push(words[i].clone());
            i += 1;
            continue;
        }
        if let Some(slot) = CORE
            .iter()
            .position(|(_, names)| names.contains(&w.as_str()))
        {
            if let Some(v) = words.get(at + 1) {
                let v = match slot {
                    0 | 1 => with_mask(v),
                    4 => v.to_ascii_lowercase(),
                    _ => v.clone(),
                };
                core[slot] = Some((neg, v));
                i = at + 2;
                continue;
            }
        }
        if matches!(w.as_str(), "-j" | "--jump" | "-g" | "--goto") && !neg {
            target.push(
                if w.starts_with("-g") || w == "--goto" {
                    "-g"
                } else {
                    "-j"
                }
                .into(),
            );
            i += 1;
            continue;
        }
        rest.push(words[i].clone());
        i += 1;
    }
    let proto = core[4].as_ref().filter(|(n, _)| !n).map(|(_, p)| p.clone());
    if let Some(p) = proto.filter(|p| p == "tcp" || p == "udp") {
        let ports = rest
            .iter()
            .any(|w| matches!(w.as_str(), "--dport" | "--sport" | "--syn" | "--tcp-flags"));
        let explicit = rest.windows(2).any(|x| x[0] == "-m" && x[1] == p);
        if ports && !explicit {
            rest.splice(0..0, ["-m".to_string(), p]);
        }
    }
    let mut out = Vec::new();
    for (slot, c) in core.into_iter().enumerate() {
        if let Some((neg, v)) = c {
            if neg {
                out.push("!".into());
            }
            out.push(CORE[slot].0.into());
            out.push(v);
        }
    }
    out.extend(rest);
    out.extend(target);
    out
}

fn with_mask(v: &str) -> String {
    if v.contains('/') {
        return v.to_string();
    }
    match v.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => format!("{v}/32"),
        Ok(std::net::IpAddr::V6(_)) => format!("{v}/128"),
        Err(_) => v.to_string(),
    }
}

/// One word as iptables-save quotes it.
fn quoted(w: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:,=+@%!".contains(c);
    if !w.is_empty() && w.chars().all(plain) {
        return w.to_string();
    }
    let mut s = String::from("\"");
    for c in w.chars() {
        if c == '"' || c == '\\' {
            s.push('\\');
        }
        s.push(c);
    }
    s.push('"');
    s
}

/// A saved rule's words after `-A CHAIN` (and any leading counters).
fn words_after_chain(raw: &str) -> Vec<String> {
    let w = rule_words(raw);
    match w.iter().position(|x| x == "-A") {
        Some(p) => w[p + 2.min(w.len() - p)..].to_vec(),
        None => w,
    }
}

fn builtin(table: &str) -> &'static [&'static str] {
    match table {
        "filter" => &["INPUT", "FORWARD", "OUTPUT"],
        "nat" => &["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"],
        "mangle" => &["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"],
        "raw" => &["PREROUTING", "OUTPUT"],
        _ => &[],
    }
}

/// The rule as the parser reads the line iptables-save would print for it.
fn saved_rule(table: &str, chain: &str, words: &[String]) -> Result<XtRule, String> {
    let line: Vec<String> = save_words(words).iter().map(|w| quoted(w)).collect();
    let text = format!(
        "*{table}\n:{chain} - [0:0]\n-A {chain} {}\nCOMMIT\n",
        line.join(" ")
    );
    let (tables, warnings) = parse(&text, IpFamily::V4, XtSource::Nft);
    if let Some(w) = warnings.first() {
        return Err(unmodelled(&format!("a rule that does not read back ({w})")));
    }
    tables
        .into_iter()
        .flat_map(|t| t.chains)
        .flat_map(|c| c.rules)
        .next()
        .ok_or_else(|| unmodelled("a rule that does not read back"))
}

/// `iptables -t TABLE -A|-I CHAIN [POSITION] RULE`.
pub fn add_rule(
    n: &mut Namespace,
    table: &str,
    chain: &str,
    position: Option<u32>,
    words: &[String],
) -> Result<(), String> {
    let rule = saved_rule(table, chain, words)?;
    let fw = n
        .firewall
        .as_mut()
        .ok_or_else(|| unmodelled(&format!("the firewall of {}, not read,", n.name)))?;
    let v4 = |t: &XtTable| t.family == IpFamily::V4;
    let at = fw
        .iptables
        .iter()
        .position(|t| v4(t) && t.name == table && t.chains.iter().any(|c| c.name == chain))
        .or_else(|| fw.iptables.iter().position(|t| v4(t) && t.name == table));
    let at = match at {
        Some(i) => i,
        None if !builtin(table).is_empty() => {
            let source = fw
                .iptables
                .iter()
                .find(|t| v4(t))
                .map_or(XtSource::Nft, |t| t.source);
            fw.iptables.push(XtTable {
                family: IpFamily::V4,
                source,
                name: table.into(),
                chains: Vec::new(),
            });
            fw.iptables.len() - 1
        }
        None => return Err(format!("no iptables table {table}")),
    };
    let t = &mut fw.iptables[at];
    if !t.chains.iter().any(|c| c.name == chain) {
        if !builtin(table).contains(&chain) {
            return Err(format!("no chain {chain} in table {table}"));
        }
        t.chains.push(XtChain {
            name: chain.into(),
            policy: Some("ACCEPT".into()),
            packets: 0,
            bytes: 0,
            rules: Vec::new(),
        });
    }
    let c = t
        .chains
        .iter_mut()
        .find(|c| c.name == chain)
        .expect("made above");
    let pos = position.map_or(c.rules.len(), |p| {
        (p.max(1) as usize - 1).min(c.rules.len())
    });
    c.rules.insert(pos, rule);
    Ok(())
}

/// `iptables -t TABLE -D CHAIN RULE`: removes the first rule iptables would match, if any.
pub fn del_rule(
    n: &mut Namespace,
    table: &str,
    chain: &str,
    words: &[String],
) -> Result<(), String> {
    let want = save_words(words);
    let fw = n
        .firewall
        .as_mut()
        .ok_or_else(|| unmodelled(&format!("the firewall of {}, not read,", n.name)))?;
    for t in fw
        .iptables
        .iter_mut()
        .filter(|t| t.family == IpFamily::V4 && t.name == table)
    {
        for c in t.chains.iter_mut().filter(|c| c.name == chain) {
            let hit = c
                .rules
                .iter()
                .position(|r| save_words(&words_after_chain(&r.raw)) == want);
            if let Some(i) = hit {
                c.rules.remove(i);
                return Ok(());
            }
        }
    }
    Ok(())
}

/// `iptables -t TABLE -N CHAIN`: an empty user chain (the inverse of a chain removal puts its
/// rules back with the rule steps that follow).
pub fn add_chain(n: &mut Namespace, table: &str, chain: &str) -> Result<(), String> {
    let fw = n
        .firewall
        .as_mut()
        .ok_or_else(|| unmodelled(&format!("the firewall of {}, not read,", n.name)))?;
    let t = fw
        .iptables
        .iter_mut()
        .find(|t| t.family == IpFamily::V4 && t.name == table)
        .ok_or_else(|| unmodelled(&format!("a chain in table {table}, not read,")))?;
    if !t.chains.iter().any(|c| c.name == chain) {
        t.chains.push(XtChain {
            name: chain.into(),
            policy: None,
            packets: 0,
            bytes: 0,
            rules: Vec::new(),
        });
    }
    Ok(())
}

/// `iptables -t TABLE -F CHAIN; -X CHAIN`: refused, as by the kernel, while a rule jumps to it.
pub fn del_chain(n: &mut Namespace, table: &str, chain: &str) -> Result<(), String> {
    let fw = n
        .firewall
        .as_mut()
        .ok_or_else(|| unmodelled(&format!("the firewall of {}, not read,", n.name)))?;
    for t in fw
        .iptables
        .iter_mut()
        .filter(|t| t.family == IpFamily::V4 && t.name == table)
    {
        let jumped = t
            .chains
            .iter()
            .flat_map(|c| &c.rules)
            .any(|r| r.target.as_deref() == Some(chain));
        if jumped {
            return Err(format!("a rule in {table} still jumps to {chain}"));
        }
        t.chains.retain(|c| c.name != chain);
    }
    Ok(())
}
