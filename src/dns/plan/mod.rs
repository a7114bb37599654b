//! The resolution plan: from a namespace's parsed nsswitch.conf, resolv.conf and hosts, and
//! the name asked for, the steps glibc takes, in order. Pure: no I/O, no clock.
//!
//! What glibc does (2.26 and later; `nss/nsswitch.c`, `resolv/res_query.c`,
//! `resolv/res_send.c`), and so what is modelled:
//! - `getaddrinfo` walks the `hosts:` sources in order. After each one, the status it returned
//!   (SUCCESS, NOTFOUND, UNAVAIL, TRYAGAIN) picks an action: `return` stops, `continue` goes on.
//!   Defaults: SUCCESS=return, everything else continue. `[NOTFOUND=return]` after a source
//!   changes that for the source it follows. No `hosts:` line means `files dns`.
//! - the `dns` source runs `res_search`: a name with a trailing dot is tried as is and only as
//!   is; a name with at least `ndots` dots is tried as is first; then (no trailing dot) each
//!   search domain in order (all of them: glibc ≥ 2.26 has no limit on the list); then, if the
//!   name was not tried as is and the list holds no root domain, as is last — unless
//!   `no-tld-query` and the name has no dot.
//! - each query goes to the nameservers in order, `attempts` rounds; the wait for server `i`
//!   of `n` is `(timeout << i) / n` seconds (at least 1; `timeout` for the first server) — a
//!   quirk of `send_dg` that makes later servers wait longer.
//! - without a `search`/`domain` line the search list is the domain part of the host name;
//!   without a usable `nameserver` line, the server is 127.0.0.1.
//!
//! One file per stage of a lookup, in the order glibc goes through them; this file puts them
//! together into a [`LookupPlan`]:
//! - `sources`: nsswitch — which `hosts:` sources, and when one stops the walk;
//! - `candidates`: `res_search` — the names the `dns` source asks for;
//! - `servers`: `res_send` — the nameservers asked and how long each is waited for.

mod candidates;
mod servers;
mod sources;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

use super::query::QueryType;
use crate::dnsconf::{Hosts, NsSwitch, ResolvConf};
pub use candidates::{candidates, wasted_queries, Candidate, CandidateKind};
use servers::servers;
pub use servers::{server_timeout, PlannedServer};
use sources::sources;
pub use sources::{stops_after, NssStatus, PlannedSource, SourceKind};

/// Everything glibc would do for one lookup, before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupPlan {
    pub name: String,
    pub qtype: String,
    /// The `hosts:` sources in order; empty when the type bypasses nsswitch (MX, SRV, …).
    pub sources: Vec<PlannedSource>,
    /// Where the order came from: `nsswitch.conf line N`, or glibc's default.
    pub sources_from: String,
    pub candidates: Vec<Candidate>,
    pub servers: Vec<PlannedServer>,
    pub search: Vec<String>,
    pub ndots: u8,
    pub attempts: u32,
    pub timeout_secs: u32,
    /// What netlens assumed or could not model, for the reader.
    pub notes: Vec<String>,
}

/// The parsed files a plan is made from; a missing file is `None`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanInput<'a> {
    pub resolv: Option<&'a ResolvConf>,
    pub nsswitch: Option<&'a NsSwitch>,
    pub hosts: Option<&'a Hosts>,
    /// The host name processes there see (`gethostname`), for the default search domain.
    pub hostname: Option<&'a str>,
}

/// Builds the plan for `name` (already validated) and `qtype`.
pub fn plan(input: &PlanInput<'_>, name: &str, qtype: QueryType) -> LookupPlan {
    let mut notes = Vec::new();
    let default_rc = ResolvConf::default();
    let rc = input.resolv.unwrap_or_else(|| {
        notes.push(
            "no resolv.conf: glibc uses its defaults (127.0.0.1, ndots:1, timeout:5, attempts:2)"
                .into(),
        );
        &default_rc
    });

    let (sources, sources_from) = sources(input, qtype, &mut notes);

    let mut search = rc.search.clone();
    if search.is_empty() {
        // res_init: no search/domain line → the host name's domain part.
        if let Some((_, domain)) = input.hostname.and_then(|h| h.split_once('.')) {
            if !domain.is_empty() {
                notes.push(format!(
                    "no search or domain line: glibc searches the host name's domain {domain}"
                ));
                search.push(domain.to_string());
            }
        }
    }
    let no_tld_query = rc.options.other.iter().any(|o| o == "no-tld-query");
    let ndots = rc.options.ndots;
    let candidates = candidates(name, &search, ndots, no_tld_query);

    let servers = servers(input, rc, &mut notes);
    if rc.options.rotate {
        notes.push(
            "options rotate: glibc starts each lookup at a different server; shown in file order"
                .into(),
        );
    }
    if rc.options.use_vc {
        notes.push("options use-vc: glibc would use TCP; netlens sends UDP first".into());
    }

    LookupPlan {
        name: name.to_string(),
        qtype: qtype.label(),
        sources,
        sources_from,
        candidates,
        servers,
        search,
        ndots,
        attempts: rc.options.attempts.max(1),
        timeout_secs: rc.options.timeout.max(1),
        notes,
    }
}
