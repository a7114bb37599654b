//! The simulator's sysctl steps (see [`super::simulate`]): only the sysctls the snapshot
//! records change; any other makes the simulation unknown.

use super::unmodelled;
use crate::model::Sysctls;

/// Sets the sysctl `key` (`net/ipv4/ip_forward`) the snapshot records; others are unknown.
pub fn set_sysctl(s: &mut Sysctls, key: &str, value: &str) -> Result<(), String> {
    let key = key.replace('.', "/");
    let small = || {
        value
            .trim()
            .parse::<u8>()
            .map_err(|_| format!("value {value:?}"))
    };
    let big = || {
        value
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("value {value:?}"))
    };
    match key.as_str() {
        "net/ipv4/ip_forward" | "net/ipv4/conf/all/forwarding" => s.ip_forward = Some(small()?),
        "net/ipv6/conf/all/forwarding" => s.ipv6_forwarding = Some(small()?),
        "net/ipv4/conf/all/rp_filter" => s.rp_filter_all = Some(small()?),
        "net/ipv4/conf/default/rp_filter" => s.rp_filter_default = Some(small()?),
        "net/bridge/bridge-nf-call-iptables" => s.bridge_nf_call_iptables = Some(small()?),
        "net/bridge/bridge-nf-call-ip6tables" => s.bridge_nf_call_ip6tables = Some(small()?),
        "net/netfilter/nf_conntrack_max" | "net/nf_conntrack_max" => s.conntrack_max = Some(big()?),
        k => match k
            .strip_prefix("net/ipv4/conf/")
            .and_then(|r| r.strip_suffix("/rp_filter"))
        {
            Some(iface) => {
                s.rp_filter.insert(iface.to_string(), small()?);
            }
            None => return Err(unmodelled(&format!("sysctl {key}"))),
        },
    }
    Ok(())
}
