//! `/etc/hosts` parser: `address name [aliases...]`, `#` comments anywhere.

use std::net::IpAddr;

pub use crate::model::dns_files::{Hosts, HostsEntry};

/// Parses hosts text. Never panics; bad lines become warnings.
pub fn parse(text: &str) -> Hosts {
    let mut hosts = Hosts::default();
    for (idx, raw) in text.lines().enumerate() {
        let no = idx + 1;
        let line = raw.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        let Some(addr_text) = words.next() else {
            continue;
        };
        // glibc accepts an IPv6 zone (`fe80::1%eth0`); the address itself is what we keep.
        let bare = addr_text.split('%').next().unwrap_or(addr_text);
        let Ok(addr) = bare.parse::<IpAddr>() else {
            hosts
                .warnings
                .push(format!("line {no}: {addr_text:?} is not an IP address"));
            continue;
        };
        let names: Vec<String> = words.map(str::to_string).collect();
        if names.is_empty() {
            hosts
                .warnings
                .push(format!("line {no}: address {addr_text} without a name"));
            continue;
        }
        hosts.entries.push(HostsEntry {
            addr,
            names,
            line: no,
        });
    }
    hosts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_is_case_insensitive_and_in_order() {
        let h = parse("127.0.0.1 localhost\n::1 localhost ip6-localhost # x\n10.0.0.1 Web.Example web\nbogus line\n10.0.0.2\n");
        assert_eq!(
            h.lookup("LOCALHOST"),
            vec![
                "127.0.0.1".parse::<IpAddr>().unwrap(),
                "::1".parse().unwrap()
            ]
        );
        assert_eq!(
            h.lookup("web.example."),
            vec!["10.0.0.1".parse::<IpAddr>().unwrap()]
        );
        assert_eq!(h.warnings.len(), 2);
        assert_eq!(h.entries[2].line, 3);
    }
}
