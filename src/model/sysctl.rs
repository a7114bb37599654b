use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Networking sysctls of one namespace. `None` means the file was absent (module not loaded,
/// IPv6 disabled) or unreadable, which is itself worth knowing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sysctls {
    /// net.ipv4.ip_forward
    pub ip_forward: Option<u8>,
    /// net.ipv6.conf.all.forwarding
    pub ipv6_forwarding: Option<u8>,
    /// net.ipv4.conf.all.rp_filter; the effective value on an interface is max(all, iface).
    pub rp_filter_all: Option<u8>,
    pub rp_filter_default: Option<u8>,
    /// net.ipv4.conf.IFACE.rp_filter for each link.
    #[serde(default)]
    pub rp_filter: BTreeMap<String, u8>,
    /// net.bridge.bridge-nf-call-iptables: read only in namespaces that have a bridge (the only
    /// place it acts), and present only while br_netfilter is loaded.
    pub bridge_nf_call_iptables: Option<u8>,
    pub bridge_nf_call_ip6tables: Option<u8>,
    /// net.ipv4.conf.all.arp_ignore / arp_filter: whether a namespace answers ARP for an
    /// address it holds on another interface (0: it does, the kernel's default). The
    /// effective arp_ignore of an interface is max(all, iface); arp_filter is all OR iface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arp_ignore_all: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arp_filter_all: Option<u8>,
    /// net.ipv4.conf.BRIDGE.arp_ignore / arp_filter, read for bridges only (each file read
    /// costs time on a host with many namespaces).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arp_ignore: BTreeMap<String, u8>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub arp_filter: BTreeMap<String, u8>,
    /// net.netfilter.nf_conntrack_count / _max: present only while conntrack is loaded.
    pub conntrack_count: Option<u64>,
    pub conntrack_max: Option<u64>,
    /// Sum over CPUs of conntrack's `insert_failed` counter (`/proc/net/stat/nf_conntrack`):
    /// rises when two packets of one new flow race (the DNS A/AAAA 5-second delay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conntrack_insert_failed: Option<u64>,
}

impl Sysctls {
    /// Whether a frame arriving on `iface` gets an ARP reply for an address the namespace
    /// holds on another interface: arp_ignore 0 and arp_filter off there (unknown values are
    /// taken as the kernel's defaults, which answer).
    pub fn answers_arp_for_other_links(&self, iface: &str) -> bool {
        let ignore = self
            .arp_ignore_all
            .unwrap_or(0)
            .max(self.arp_ignore.get(iface).copied().unwrap_or(0));
        let filter =
            self.arp_filter_all.unwrap_or(0) | self.arp_filter.get(iface).copied().unwrap_or(0);
        ignore == 0 && filter == 0
    }
}
