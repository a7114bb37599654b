//! The `res_send` stage: the nameservers glibc asks, in order, and how long it waits for each.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::PlanInput;
use crate::dnsconf::ResolvConf;

/// One nameserver with the wait glibc gives it per try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedServer {
    pub addr: IpAddr,
    /// IPv6 zone (`%eth0`), if any.
    pub scope: Option<String>,
    pub timeout_ms: u64,
}

/// `send_dg`'s wait for server `index` of `count`: `(timeout << index) / count` for every
/// server but the first, at least one second.
pub fn server_timeout(timeout_secs: u32, index: usize, count: usize) -> Duration {
    let shifted = u64::from(timeout_secs) << index.min(16);
    let secs = if index > 0 {
        shifted / count.max(1) as u64
    } else {
        shifted
    };
    Duration::from_secs(secs.max(1))
}

/// The nameservers glibc asks (at most three; 127.0.0.1 when none), each with its wait.
pub(super) fn servers(
    input: &PlanInput<'_>,
    rc: &ResolvConf,
    notes: &mut Vec<String>,
) -> Vec<PlannedServer> {
    let mut addrs: Vec<(IpAddr, Option<String>)> = rc
        .nameservers
        .iter()
        .filter_map(|n| n.addr.map(|a| (a, n.scope.clone())))
        .take(crate::dnsconf::resolv::MAX_NAMESERVERS)
        .collect();
    if addrs.is_empty() {
        if input.resolv.is_some() {
            notes.push("no usable nameserver line: glibc asks 127.0.0.1".into());
        }
        addrs.push((IpAddr::V4(Ipv4Addr::LOCALHOST), None));
    }
    let skipped = rc.nameservers.iter().filter(|n| n.addr.is_some()).count();
    if skipped > crate::dnsconf::resolv::MAX_NAMESERVERS {
        notes.push(format!(
            "{skipped} nameservers listed: glibc asks only the first {}",
            crate::dnsconf::resolv::MAX_NAMESERVERS
        ));
    }
    let count = addrs.len();
    addrs
        .into_iter()
        .enumerate()
        .map(|(i, (addr, scope))| PlannedServer {
            addr,
            scope,
            timeout_ms: server_timeout(rc.options.timeout.max(1), i, count).as_millis() as u64,
        })
        .collect()
}
