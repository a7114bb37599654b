//! Networking sysctls of the namespace the calling thread is in.
//!
//! Forwarding and rp_filter come from one netconf dump (see `netconf.rs`), conntrack fill from
//! ctnetlink (`conntrack.rs`). Only bridge-nf-call-* is read from `/proc/sys/net`, and only in
//! namespaces that have a bridge, the only place it acts: every `/proc/sys/net` lookup costs
//! time proportional to the number of namespaces on the host. Those files are resolved against
//! the namespace of the *thread* that opens them (unlike `/proc/self/net`, which follows the
//! process), so a collector thread that entered a namespace reads that namespace's values.

use std::fs;

use super::conntrack;
use super::netconf::{self, IFINDEX_ALL, IFINDEX_DEFAULT};
use crate::model::{Link, LinkKind, Sysctls};
use crate::netlink::NlSocket;

fn read_num<T: std::str::FromStr>(path: &str) -> Option<T> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

fn small(v: Option<i32>) -> Option<u8> {
    v.and_then(|v| u8::try_from(v).ok())
}

/// Facts about the machine, probed once per snapshot rather than in every namespace.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostProbe {
    /// nf_conntrack is loaded.
    pub conntrack_loaded: bool,
    /// ctnetlink can be asked without making the kernel load a module: it is loaded, built in,
    /// or this kernel cannot load modules at all.
    pub ctnetlink_present: bool,
}

impl HostProbe {
    /// Probes from the calling (main) thread.
    pub fn probe() -> Self {
        let release = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        let modules = std::path::Path::new("/lib/modules").join(&release);
        let builtin = fs::read_to_string(modules.join("modules.builtin"))
            .map(|b| b.contains("nf_conntrack_netlink.ko"))
            .unwrap_or(false);
        HostProbe {
            conntrack_loaded: std::path::Path::new("/proc/sys/net/netfilter/nf_conntrack_max")
                .exists(),
            ctnetlink_present: std::path::Path::new("/sys/module/nf_conntrack_netlink").exists()
                || builtin
                || !modules.exists(),
        }
    }
}

pub fn read_sysctls(sock: Option<&mut NlSocket>, links: &[Link], probe: HostProbe) -> Sysctls {
    let mut s = Sysctls::default();
    read_eventless(&mut s, links, probe);
    read_netconf(&mut s, sock, links);
    s
}

/// Reads again into `s` the sysctls no netlink event reports (bridge-nf-call-*, ARP
/// answering, conntrack counts), leaving the netconf ones (forwarding, rp_filter), whose
/// changes come as events, as they are: the live model's periodic refresh
/// (`partial_light.rs`), without a netconf dump per namespace (the host's names every link).
pub fn refresh_eventless(s: &mut Sysctls, links: &[Link], probe: HostProbe) {
    let fresh = Sysctls {
        ip_forward: s.ip_forward,
        ipv6_forwarding: s.ipv6_forwarding,
        rp_filter_all: s.rp_filter_all,
        rp_filter_default: s.rp_filter_default,
        rp_filter: std::mem::take(&mut s.rp_filter),
        ..Sysctls::default()
    };
    *s = fresh;
    read_eventless(s, links, probe);
}

fn read_eventless(s: &mut Sysctls, links: &[Link], probe: HostProbe) {
    if links.iter().any(|l| l.kind == LinkKind::Bridge) {
        s.bridge_nf_call_iptables = read_num("/proc/sys/net/bridge/bridge-nf-call-iptables");
        s.bridge_nf_call_ip6tables = read_num("/proc/sys/net/bridge/bridge-nf-call-ip6tables");
        read_arp(s, links);
    }
    if probe.conntrack_loaded && probe.ctnetlink_present {
        if let Ok(ct) = conntrack::stats() {
            s.conntrack_count = ct.count;
            s.conntrack_max = ct.max;
        }
    } else if probe.conntrack_loaded {
        // Asking ctnetlink would load nf_conntrack_netlink: a read-only tool must not change
        // the kernel, so take the slower files.
        s.conntrack_count = read_num("/proc/sys/net/netfilter/nf_conntrack_count");
        s.conntrack_max = read_num("/proc/sys/net/netfilter/nf_conntrack_max");
    }
    if probe.conntrack_loaded {
        s.conntrack_insert_failed = conntrack::insert_failed();
    }
}

fn read_netconf(s: &mut Sysctls, sock: Option<&mut NlSocket>, links: &[Link]) {
    let conf = sock.and_then(|sock| netconf::dump(sock).ok());
    match conf {
        Some(conf) => {
            let all = conf.v4.get(&IFINDEX_ALL);
            s.ip_forward = small(all.and_then(|e| e.forwarding));
            s.rp_filter_all = small(all.and_then(|e| e.rp_filter));
            s.rp_filter_default = small(conf.v4.get(&IFINDEX_DEFAULT).and_then(|e| e.rp_filter));
            s.ipv6_forwarding = small(conf.v6.get(&IFINDEX_ALL).and_then(|e| e.forwarding));
            for link in links {
                let index = i32::try_from(link.index).unwrap_or(0);
                if let Some(v) = small(conf.v4.get(&index).and_then(|e| e.rp_filter)) {
                    s.rp_filter.insert(link.name.clone(), v);
                }
            }
        }
        // No netlink socket: fall back to the files.
        None => {
            s.ip_forward = read_num("/proc/sys/net/ipv4/ip_forward");
            s.ipv6_forwarding = read_num("/proc/sys/net/ipv6/conf/all/forwarding");
            s.rp_filter_all = read_num("/proc/sys/net/ipv4/conf/all/rp_filter");
            s.rp_filter_default = read_num("/proc/sys/net/ipv4/conf/default/rp_filter");
        }
    }
}

/// ARP answering, which decides whether a frame crossing a bridge reaches an address the
/// bridge's namespace holds elsewhere. Read where a bridge is (not in netconf); the names
/// come from the kernel's own link list, and a name that is not a plain file name is skipped.
fn read_arp(s: &mut Sysctls, links: &[Link]) {
    s.arp_ignore_all = read_num("/proc/sys/net/ipv4/conf/all/arp_ignore");
    s.arp_filter_all = read_num("/proc/sys/net/ipv4/conf/all/arp_filter");
    for l in links.iter().filter(|l| l.kind == LinkKind::Bridge) {
        if l.name.is_empty() || l.name.contains('/') || l.name.starts_with('.') {
            continue;
        }
        let base = format!("/proc/sys/net/ipv4/conf/{}", l.name);
        if let Some(v) = read_num(&format!("{base}/arp_ignore")) {
            s.arp_ignore.insert(l.name.clone(), v);
        }
        if let Some(v) = read_num(&format!("{base}/arp_filter")) {
            s.arp_filter.insert(l.name.clone(), v);
        }
    }
}
