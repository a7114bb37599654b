//! The doctor's findings and the change marks on the picture. Each line says what it is about
//! (a namespace, a link, a router's filter and NAT); each finding lands on the lines of the
//! most precise object it names, so an engineer sees the problem where it is: an address's
//! link, else its first link the picture draws, else the firewall/sysctl line of a router's
//! box, else the namespace's own line. Every line then gets a gutter of two marks — severity
//! and change, in separate columns, drawn first so no width cuts them off — and the finding's
//! title at its end.

use std::collections::{HashMap, HashSet};

use crate::diagnose::{Finding, Severity};
use crate::model::Snapshot;

use super::lines::{seg, Tone, TopoLine};

/// What a line of the picture is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum About {
    /// The line standing for a namespace: its box's title, its line on a bus or among the
    /// isolated.
    Ns(String),
    /// A link of a namespace, by name.
    Link(String, String),
    /// The forwarding, FORWARD policy and NAT lines of a namespace's box.
    Filter(String),
}

/// What the picture marks: the doctor's findings and the namespaces changed since the
/// baseline (empty while change marks are off).
#[derive(Debug, Clone, Copy)]
pub struct Notes<'a> {
    pub findings: &'a [Finding],
    pub changed: &'a HashSet<String>,
}

/// The findings of a snapshot by where they may land.
pub(super) struct Placed<'a> {
    notes: Notes<'a>,
    /// Per finding, the places it may land on, most precise first; it lands on every line of
    /// the first place any line is about.
    tiers: Vec<Vec<Vec<About>>>,
    /// Namespaces a warning or error may land in (its own, or one of its links'): never
    /// folded away.
    serious: HashSet<&'a str>,
    /// Links (namespace, name) a warning or error names.
    serious_links: HashSet<(&'a str, &'a str)>,
}

impl<'a> Placed<'a> {
    pub(super) fn new(snap: &Snapshot, notes: Notes<'a>) -> Self {
        let holders = Holders::of(snap, notes.findings);
        let tiers: Vec<_> = notes.findings.iter().map(|f| tiers(&holders, f)).collect();
        let mut serious = HashSet::new();
        let mut serious_links = HashSet::new();
        for f in notes
            .findings
            .iter()
            .filter(|f| f.severity != Severity::Info)
        {
            serious.insert(f.namespace.as_str());
            for o in &f.objects {
                if o.kind == "link" {
                    serious_links.insert((o.namespace.as_str(), o.name.as_str()));
                }
                if matches!(o.kind.as_str(), "link" | "address") {
                    serious.insert(o.namespace.as_str());
                }
            }
        }
        Placed {
            notes,
            tiers,
            serious,
            serious_links,
        }
    }

    /// Whether link `link` of namespace `ns` is named by a warning or error.
    pub(super) fn keeps_link(&self, ns: &str, link: &str) -> bool {
        self.serious_links.contains(&(ns, link))
    }

    /// Whether change marks are on (some namespace changed and is marked).
    pub(super) fn marking_changes(&self) -> bool {
        !self.notes.changed.is_empty()
    }

    /// Whether namespace `ns` must be drawn even inside a folded group: a warning or error
    /// may land on it, or it changed.
    pub(super) fn keeps(&self, ns: &str) -> bool {
        self.serious.contains(ns) || self.notes.changed.contains(ns)
    }

    /// Info findings placed in namespace `ns`, to count what a fold hides.
    pub(super) fn infos(&self, ns: &str) -> usize {
        self.notes
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Info && f.namespace == ns)
            .count()
    }

    /// Marks `lines`: the gutter on every line, the findings' titles at the end of theirs.
    pub(super) fn apply(&self, lines: &mut [TopoLine]) {
        let mut at: HashMap<&About, Vec<usize>> = HashMap::new();
        for (i, l) in lines.iter().enumerate() {
            for a in &l.about {
                at.entry(a).or_default().push(i);
            }
        }
        let mut on_line: Vec<Vec<usize>> = vec![Vec::new(); lines.len()];
        for (fi, tiers) in self.tiers.iter().enumerate() {
            let hit = tiers.iter().find_map(|tier| {
                let mut hits: Vec<usize> = tier
                    .iter()
                    .flat_map(|a| at.get(a))
                    .flatten()
                    .copied()
                    .collect();
                hits.sort_unstable();
                hits.dedup();
                (!hits.is_empty()).then_some(hits)
            });
            for i in hit.into_iter().flatten() {
                on_line[i].push(fi);
            }
        }
        for (l, found) in lines.iter_mut().zip(on_line) {
            self.mark(l, &found);
        }
    }

    fn mark(&self, l: &mut TopoLine, found: &[usize]) {
        let worst = found.iter().map(|&i| self.notes.findings[i].severity).min();
        let changed =
            matches!(l.about.first(), Some(About::Ns(n)) if self.notes.changed.contains(n));
        let mut gutter = vec![match worst {
            Some(s) => seg(severity_mark(s).into(), severity_tone(s)),
            None => seg(" ".into(), Tone::Plain),
        }];
        gutter.push(if changed {
            seg("*".into(), Tone::Changed)
        } else {
            seg(" ".into(), Tone::Plain)
        });
        gutter.push(seg(" ".into(), Tone::Plain));
        gutter.append(&mut l.segs);
        l.segs = gutter;
        // The most severe first (the findings are sorted so), then how many more.
        if let Some(&first) = found.first() {
            let f = &self.notes.findings[first];
            let all: Vec<String> = found
                .iter()
                .map(|&i| {
                    let f = &self.notes.findings[i];
                    format!("{} {}", severity_mark(f.severity), f.title)
                })
                .collect();
            l.note = Some(seg(all.join(" · "), severity_tone(f.severity)));
            l.push(format!(" ◂ {}", f.title), severity_tone(f.severity));
            if found.len() > 1 {
                l.push(
                    format!(" (+{} more, Problems tab)", found.len() - 1),
                    Tone::Dim,
                );
            }
        }
    }
}

/// The gutter's mark for a severity; the legend says which is which.
pub fn severity_mark(s: Severity) -> &'static str {
    match s {
        Severity::Error => "✗",
        Severity::Warning => "!",
        Severity::Info => "i",
    }
}

fn severity_tone(s: Severity) -> Tone {
    match s {
        Severity::Error => Tone::Error,
        Severity::Warning => Tone::Warn,
        Severity::Info => Tone::Info,
    }
}

/// Which link holds an address and which links exist, by namespace: built once, and only
/// when a finding names an address (a look-up per finding was quadratic on a namespace with
/// thousands of links, each with a finding).
#[derive(Default)]
struct Holders<'s> {
    links: HashSet<(&'s str, &'s str)>,
    addrs: HashMap<(&'s str, std::net::IpAddr), &'s str>,
}

impl<'s> Holders<'s> {
    fn of(snap: &'s Snapshot, findings: &[Finding]) -> Self {
        let mut h = Holders::default();
        if !findings
            .iter()
            .any(|f| f.objects.iter().any(|o| o.kind == "address"))
        {
            return h;
        }
        for n in &snap.namespaces {
            for l in &n.links {
                h.links.insert((n.name.as_str(), l.name.as_str()));
            }
            for a in &n.addresses {
                h.addrs
                    .entry((n.name.as_str(), a.address))
                    .or_insert(a.ifname.as_str());
            }
        }
        h
    }

    /// The link an address object names: `LINK ADDR/LEN` names it, a bare `ADDR/LEN` is
    /// looked up among the namespace's addresses.
    fn link_of(&self, ns: &str, name: &str) -> Option<About> {
        let mut words = name.split_whitespace();
        let first = words.next()?;
        if words.next().is_some() && self.links.contains(&(ns, first)) {
            return Some(About::Link(ns.into(), first.into()));
        }
        let ip = first.split('/').next()?.parse().ok()?;
        let link = self.addrs.get(&(ns, ip))?;
        Some(About::Link(ns.into(), link.to_string()))
    }
}

/// Where finding `f` may land, most precise first: the links holding the addresses it names
/// (all of them: a duplicate address is on two lines), then each link it names, then the
/// filter lines of a namespace whose sysctl or firewall it names, then its namespace.
fn tiers(holders: &Holders, f: &Finding) -> Vec<Vec<About>> {
    let mut out = Vec::new();
    let addrs: Vec<About> = f
        .objects
        .iter()
        .filter(|o| o.kind == "address")
        .filter_map(|o| holders.link_of(&o.namespace, &o.name))
        .collect();
    if !addrs.is_empty() {
        out.push(addrs);
    }
    for o in f.objects.iter().filter(|o| o.kind == "link") {
        out.push(vec![About::Link(o.namespace.clone(), o.name.clone())]);
    }
    for o in &f.objects {
        if matches!(o.kind.as_str(), "sysctl" | "rule") {
            out.push(vec![About::Filter(o.namespace.clone())]);
        }
    }
    out.push(vec![About::Ns(f.namespace.clone())]);
    out
}
