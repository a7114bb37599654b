//! Carrying out a [`LookupPlan`](super::plan::LookupPlan): the `hosts:` sources in order,
//! `res_search` over the candidate names, `res_send` over the servers — with glibc's stopping
//! rules — through a [`Transport`](super::exchange::Transport), so the logic is tested without
//! a network and run for real inside a namespace.
//!
//! `res_send` per candidate (glibc `resolv/res_send.c`): `attempts` rounds over the servers;
//! a NOERROR or NXDOMAIN reply ends it; SERVFAIL, REFUSED, NOTIMP, an ICMP port unreachable or
//! a send error move to the next server; a timeout too, but remembers that a server was
//! silent. With no final reply the error is ETIMEDOUT if any server timed out, else
//! ECONNREFUSED.
//!
//! `res_search` (`resolv/res_query.c`): a success returns; NXDOMAIN and no-data go on to the
//! next candidate; in the search list a timeout ends the list (the last as-is try still
//! runs) and ECONNREFUSED gives up at once. nss_dns maps ETIMEDOUT and ECONNREFUSED to
//! UNAVAIL, everything else that failed to NOTFOUND.
//!
//! What is where: `send.rs` one `res_send` over the servers, `search.rs` `res_search` over the
//! candidates, `walk.rs` the `hosts:` sources in order; here the time budget they share.

use std::time::Duration;

mod search;
mod send;
mod walk;

pub use search::search;
pub use walk::{walk, Walk};

/// Wall-clock time netlens spends waiting for nameservers in one `netlens dns`. glibc's
/// worst case is attempts (≤ 5) × servers (≤ 3) × up to 30 s per candidate, minutes for a
/// dead server; 12 s lets the default single-server case (5 s × 2 attempts) show in full.
pub const DEFAULT_MAX_TIME: Duration = Duration::from_secs(12);

/// Time spent against a cap. Counted from what each exchange reports, so a fake transport
/// drives it in tests.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub cap: Duration,
    pub spent: Duration,
}

impl Budget {
    pub fn new(cap: Duration) -> Self {
        Budget {
            cap,
            spent: Duration::ZERO,
        }
    }
    pub fn left(&self) -> Duration {
        self.cap.saturating_sub(self.spent)
    }
}

#[cfg(test)]
mod tests;
