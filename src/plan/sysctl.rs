//! Which sysctls a plan may set: a namespace's own network settings and nothing else.
//!
//! `/proc/sys/net` is per network namespace: written from a thread inside a namespace it
//! changes that namespace (the kernel shows a non-host namespace only its per-namespace
//! entries). Everything else under `/proc/sys` (`kernel/hostname`, `vm/…`, `fs/…`) is the
//! whole host's, whatever namespace the write comes from, so it is never netlens' to change.
//! Within `net/`, `core` is left out: besides `somaxconn` it holds host-wide knobs such as
//! `bpf_jit_enable`, which no fix needs.

/// The `net/` families a plan may write (netlens' fixes use ip_forward, conf/IF/rp_filter,
/// bridge-nf-call-iptables and nf_conntrack_max).
const FAMILIES: &[&str] = &["ipv4", "ipv6", "bridge", "netfilter"];

/// Longest value accepted (the longest real ones, port ranges and congestion-control lists,
/// are far shorter).
const MAX_VALUE: usize = 256;

/// A key in its one canonical spelling: the path under `/proc/sys` with slashes
/// (`net/ipv4/conf/eth0.100/rp_filter`), every component non-empty, not `.` or `..`, of
/// `[A-Za-z0-9_.-]`, starting `net/FAMILY/`.
pub fn key(key: &str) -> Result<(), String> {
    let components: Vec<&str> = key.split('/').collect();
    let clean = key.len() <= 255
        && components.iter().all(|c| {
            !c.is_empty()
                && *c != "."
                && *c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        });
    let family = clean
        && components.len() >= 3
        && components[0] == "net"
        && FAMILIES.contains(&components[1]);
    if family {
        return Ok(());
    }
    Err(format!(
        "sysctl key {key:?} is not a namespace's network sysctl: netlens sets only \
         net/{{{}}}/… keys, written with slashes under /proc/sys (e.g. net/ipv4/ip_forward)",
        FAMILIES.join(",")
    ))
}

/// A value as the kernel prints it back: numbers, words, lists separated by spaces, tabs,
/// commas or colons. Nothing a shell or a sysctl.d line would read as more than one value.
pub fn value(key: &str, value: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && value.len() <= MAX_VALUE
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" \t.,:_-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "sysctl value {value:?} for {key} is not a plain value (1 to {MAX_VALUE} letters, \
             digits, spaces, tabs and . , : _ -)"
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys() {
        for good in [
            "net/ipv4/ip_forward",
            "net/ipv4/conf/eth0.100/rp_filter",
            "net/bridge/bridge-nf-call-iptables",
            "net/netfilter/nf_conntrack_max",
        ] {
            super::key(good).unwrap();
        }
        for bad in [
            "kernel/hostname",
            "kernel.hostname",
            "net.ipv4.ip_forward",
            "net/../kernel/hostname",
            "net/ipv4/./ip_forward",
            "/proc/sys/net/ipv4/ip_forward",
            "net/ipv4/",
            "net/ipv4",
            "net/core/bpf_jit_enable",
            "net//ipv4/ip_forward",
            "net/ipv4/conf/a b/rp_filter",
        ] {
            assert!(super::key(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values() {
        for good in ["1", "32768\t60999", "cubic reno", "262144"] {
            super::value("k", good).unwrap();
        }
        for bad in ["", "1\n", "$(x)", "1;2", "a\u{1b}b", "1 # x"] {
            assert!(super::value("k", bad).is_err(), "{bad:?}");
        }
    }
}
