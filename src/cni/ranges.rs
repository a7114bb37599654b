//! host-local's ranges, canonicalised as its `Range.Canonicalize` does: the subnet's network
//! address, `rangeStart` defaulting to the first address after it, `rangeEnd` to the last one
//! (the broadcast address excluded for IPv4), the gateway to the first address. The allocator
//! never hands out the gateway, so a range's size leaves it out when it falls inside.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::config::RangeSpec;
use crate::model::{ip_number, within, IpamRange};

fn from_number(n: u128, v4: bool) -> IpAddr {
    if v4 {
        IpAddr::V4(Ipv4Addr::from(n as u32))
    } else {
        IpAddr::V6(Ipv6Addr::from(n))
    }
}

fn parse_ip(what: &str, text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("{what} {text:?} is not an IP address"))
}

/// The range host-local would use for `spec` (range set `set`).
pub fn canonical(spec: &RangeSpec, set: u32) -> Result<IpamRange, String> {
    let given: IpNet = spec
        .subnet
        .trim()
        .parse()
        .map_err(|_| format!("subnet {:?} is not a CIDR", spec.subnet))?;
    let subnet = given.trunc();
    let v4 = matches!(subnet, IpNet::V4(_));
    let bits = if v4 { 32 } else { 128 };
    // host-local refuses subnets with fewer than two host bits: nothing left to hand out.
    if subnet.prefix_len() > bits - 2 {
        return Err(format!("subnet {subnet} is too small to allocate from"));
    }
    let network = ip_number(subnet.network());
    let last = ip_number(subnet.broadcast()) - u128::from(v4);
    let family = |ip: IpAddr| ip.is_ipv4() == v4;
    let inside = |what: &str, ip: IpAddr| -> Result<IpAddr, String> {
        if family(ip) && subnet.contains(&ip) {
            Ok(ip)
        } else {
            Err(format!("{what} {ip} is outside subnet {subnet}"))
        }
    };
    let start = match &spec.range_start {
        Some(t) => inside("rangeStart", parse_ip("rangeStart", t)?)?,
        None => from_number(network + 1, v4),
    };
    let end = match &spec.range_end {
        Some(t) => inside("rangeEnd", parse_ip("rangeEnd", t)?)?,
        None => from_number(last, v4),
    };
    if ip_number(start) > ip_number(end) {
        return Err(format!("rangeStart {start} is after rangeEnd {end}"));
    }
    let gateway = match &spec.gateway {
        Some(t) => Some(parse_ip("gateway", t)?),
        None => Some(from_number(network + 1, v4)),
    };
    let mut size = ip_number(end) - ip_number(start) + 1;
    if gateway.is_some_and(|g| within(g, start, end)) {
        size -= 1;
    }
    Ok(IpamRange {
        set,
        subnet,
        range_start: start,
        range_end: end,
        gateway,
        size: u64::try_from(size).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(subnet: &str) -> RangeSpec {
        RangeSpec {
            subnet: subnet.into(),
            ..RangeSpec::default()
        }
    }

    #[test]
    fn defaults_follow_host_local() {
        let r = canonical(&spec("10.85.0.7/16"), 0).unwrap();
        assert_eq!(r.subnet.to_string(), "10.85.0.0/16");
        assert_eq!(r.range_start.to_string(), "10.85.0.1");
        assert_eq!(r.range_end.to_string(), "10.85.255.254");
        assert_eq!(r.gateway.unwrap().to_string(), "10.85.0.1");
        assert_eq!(r.size, 65_533);
        let r = canonical(&spec("10.0.0.0/30"), 0).unwrap();
        assert_eq!(r.size, 1, "only .2: .1 is the gateway, .3 the broadcast");
        assert!(canonical(&spec("10.0.0.0/31"), 0).is_err());
        let r = canonical(&spec("1100:200::/24"), 1).unwrap();
        assert_eq!(r.size, u64::MAX);
        let r = canonical(&spec("fd00::/120"), 1).unwrap();
        assert_eq!(
            (r.range_end.to_string().as_str(), r.size),
            ("fd00::ff", 254)
        );
    }

    #[test]
    fn explicit_range() {
        let r = canonical(
            &RangeSpec {
                subnet: "10.9.0.0/29".into(),
                range_start: Some("10.9.0.2".into()),
                range_end: Some("10.9.0.3".into()),
                gateway: None,
            },
            0,
        )
        .unwrap();
        assert_eq!(r.size, 2);
        let bad = RangeSpec {
            subnet: "10.9.0.0/29".into(),
            range_start: Some("10.9.1.2".into()),
            ..RangeSpec::default()
        };
        assert_eq!(
            canonical(&bad, 0).unwrap_err(),
            "rangeStart 10.9.1.2 is outside subnet 10.9.0.0/29"
        );
    }
}
