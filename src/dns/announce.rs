//! Saying what a lookup is waiting for while it waits: a [`Transport`] around the real one
//! that tells a callback, before each exchange, which server it asks and for how long, and
//! after it that the wait is over. A dead nameserver costs seconds per try; without this the
//! command says nothing for all of them. What is done with the words (a line on stderr) is
//! the caller's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::rr::RecordType;

use super::exchange::{Sent, Transport};
use super::plan::PlannedServer;

/// The callback: `Some(what)` before a wait, `None` after it.
pub type AnnounceFn = dyn Fn(Option<&str>) + Send + Sync;

/// Told `Some(what)` before a wait and `None` after it.
#[derive(Clone)]
pub struct Announce(pub Arc<AnnounceFn>);

impl std::fmt::Debug for Announce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Announce")
    }
}

/// The transport that announces (see the module doc).
pub struct Announcing<'a> {
    pub inner: &'a mut dyn Transport,
    /// The resolver's `attempts`, for "attempt 1 of 2".
    pub attempts: u32,
    pub to: Announce,
    /// Exchanges so far per server and name: the attempt number.
    tries: HashMap<(String, String), u32>,
}

impl<'a> Announcing<'a> {
    pub fn new(inner: &'a mut dyn Transport, attempts: u32, to: Announce) -> Self {
        Announcing {
            inner,
            attempts,
            to,
            tries: HashMap::new(),
        }
    }
}

/// `waiting for 10.0.0.53:53 (timeout 5 s, attempt 1 of 2)…`.
pub fn words(server: &str, wait: Duration, attempt: u32, attempts: u32) -> String {
    let ms = wait.as_millis();
    let secs = if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", wait.as_secs_f64())
    };
    if attempt <= attempts {
        format!("waiting for {server} (timeout {secs}, attempt {attempt} of {attempts})…")
    } else {
        format!("waiting for {server} (timeout {secs})…")
    }
}

impl Transport for Announcing<'_> {
    fn exchange(
        &mut self,
        server: &PlannedServer,
        name: &str,
        types: &[RecordType],
        wait: Duration,
    ) -> Vec<Sent> {
        let n = self
            .tries
            .entry((server.addr.to_string(), name.to_string()))
            .or_insert(0);
        *n += 1;
        let addr = std::net::SocketAddr::new(server.addr, 53);
        (self.to.0)(Some(&words(&addr.to_string(), wait, *n, self.attempts)));
        let sent = self.inner.exchange(server, name, types, wait);
        (self.to.0)(None);
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_server_timeout_and_attempt() {
        assert_eq!(
            words("10.0.0.53:53", Duration::from_secs(5), 1, 2),
            "waiting for 10.0.0.53:53 (timeout 5 s, attempt 1 of 2)…"
        );
        assert_eq!(
            words("[fd00::53]:53", Duration::from_millis(1500), 3, 2),
            "waiting for [fd00::53]:53 (timeout 1.5 s)…"
        );
    }
}
