//! Networking sysctls of the namespace the calling thread is in.
//!
//! `/proc/sys/net` is resolved against the network namespace of the task that opens the file
//! (the thread), unlike `/proc/self/net`, which follows the process. So a thread that entered
//! a namespace reads that namespace's values here.

use std::fs;

use crate::model::{Link, Sysctls};

fn read_num<T: std::str::FromStr>(path: &str) -> Option<T> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

pub fn read_sysctls(links: &[Link]) -> Sysctls {
    let mut s = Sysctls {
        ip_forward: read_num("/proc/sys/net/ipv4/ip_forward"),
        ipv6_forwarding: read_num("/proc/sys/net/ipv6/conf/all/forwarding"),
        rp_filter_all: read_num("/proc/sys/net/ipv4/conf/all/rp_filter"),
        rp_filter_default: read_num("/proc/sys/net/ipv4/conf/default/rp_filter"),
        bridge_nf_call_iptables: read_num("/proc/sys/net/bridge/bridge-nf-call-iptables"),
        bridge_nf_call_ip6tables: read_num("/proc/sys/net/bridge/bridge-nf-call-ip6tables"),
        conntrack_count: read_num("/proc/sys/net/netfilter/nf_conntrack_count"),
        conntrack_max: read_num("/proc/sys/net/netfilter/nf_conntrack_max"),
        ..Sysctls::default()
    };
    for link in links {
        // Names come from the kernel, but never let one walk out of the directory.
        if link.name.is_empty() || link.name.contains('/') || link.name.starts_with('.') {
            continue;
        }
        if let Some(v) = read_num(&format!("/proc/sys/net/ipv4/conf/{}/rp_filter", link.name)) {
            s.rp_filter.insert(link.name.clone(), v);
        }
    }
    s
}
