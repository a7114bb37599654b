//! The `res_search` stage: the fully qualified names the `dns` source asks for, from the name,
//! the search list, `ndots` and `no-tld-query`; and what that costs an external name.

use serde::{Deserialize, Serialize};

/// Why a candidate name is tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "domain")]
pub enum CandidateKind {
    /// Trailing dot: the name is absolute and tried only as is.
    Absolute,
    /// At least `ndots` dots: as is, before the search list.
    AsIsFirst,
    /// The name plus one search domain.
    Search(String),
    /// As is, after the search list.
    AsIsLast,
}

/// One name the `dns` source will ask for, fully qualified (ends with a dot).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub name: String,
    pub why: CandidateKind,
}

/// The names `res_search` tries for `name`, in order (see the module comment).
pub fn candidates(name: &str, search: &[String], ndots: u8, no_tld_query: bool) -> Vec<Candidate> {
    let dots = name.matches('.').count();
    let trailing_dot = name.ends_with('.');
    let mut out = Vec::new();
    let bare = name.strip_suffix('.').unwrap_or(name);
    let absolute = format!("{bare}.");
    if trailing_dot {
        out.push(Candidate {
            name: absolute,
            why: CandidateKind::Absolute,
        });
        return out;
    }
    let mut tried_as_is = false;
    if dots >= usize::from(ndots) {
        out.push(Candidate {
            name: absolute.clone(),
            why: CandidateKind::AsIsFirst,
        });
        tried_as_is = true;
    }
    let mut searched = false;
    let mut root_on_list = false;
    for domain in search {
        searched = true;
        // glibc strips one leading dot; what is left empty is the root ("name.").
        let d = domain.strip_prefix('.').unwrap_or(domain);
        let d = d.strip_suffix('.').unwrap_or(d);
        if d.is_empty() {
            root_on_list = true;
            out.push(Candidate {
                name: absolute.clone(),
                why: CandidateKind::Search(".".into()),
            });
        } else {
            out.push(Candidate {
                name: format!("{bare}.{d}."),
                why: CandidateKind::Search(d.to_string()),
            });
        }
    }
    // glibc: (dots || !searched || !RES_NOTLDQUERY) && !(tried_as_is || root_on_list).
    let tld_allowed = dots > 0 || !searched || !no_tld_query;
    if tld_allowed && !tried_as_is && !root_on_list {
        out.push(Candidate {
            name: absolute,
            why: CandidateKind::AsIsLast,
        });
    }
    out
}

/// How many queries an external two-label name (`example.com`) costs before its absolute
/// query, with A and AAAA sent for each candidate: the ndots amplification. Counted, not
/// listed: the doctor asks per namespace (a thousand pods), and [`candidates`] writes a name
/// per search domain. With one dot, the name goes as is first when `ndots` ≤ 1 (nothing
/// wasted); otherwise every search domain but the root ("example.com." itself) is a wasted
/// candidate before the as-is query, which is last whether or not `no-tld-query` allows it.
pub fn wasted_queries(search: &[String], ndots: u8, _no_tld_query: bool) -> usize {
    if ndots <= 1 {
        return 0;
    }
    search.iter().filter(|d| !is_root(d)).count() * 2
}

/// Whether a search domain is the root once glibc strips one leading and one trailing dot.
fn is_root(domain: &str) -> bool {
    let d = domain.strip_prefix('.').unwrap_or(domain);
    d.strip_suffix('.').unwrap_or(d).is_empty()
}

/// [`wasted_queries`] from the list of [`candidates`], as it was computed: the tests'
/// reference.
#[cfg(test)]
fn wasted_queries_listed(search: &[String], ndots: u8, no_tld_query: bool) -> usize {
    candidates("example.com", search, ndots, no_tld_query)
        .iter()
        .take_while(|c| !matches!(c.why, CandidateKind::AsIsFirst | CandidateKind::AsIsLast))
        .filter(|c| c.name != "example.com.")
        .count()
        * 2
}

#[cfg(test)]
#[path = "wasted_tests.rs"]
mod wasted_tests;
