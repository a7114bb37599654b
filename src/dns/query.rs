//! What the user asks for: a name (checked the way a resolver would refuse it) and a query
//! type. Pure.

use std::str::FromStr;

use hickory_proto::rr::RecordType;

use super::DnsError;

/// The longest name in presentation form without its trailing dot (RFC 1035: 255 octets on
/// the wire, which leaves 253 characters).
pub const MAX_NAME_LEN: usize = 253;
/// The longest label (RFC 1035).
pub const MAX_LABEL_LEN: usize = 63;

/// What is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryType {
    /// A and AAAA together, as `getaddrinfo(AF_UNSPEC)` does: the default, and what almost
    /// every program asks.
    Addresses,
    /// One record type. A and AAAA still go through nsswitch (`gethostbyname2`); any other
    /// type is what `res_search` does for a program that asks for it (MX for a mailer, SRV…),
    /// which never reads nsswitch.conf or /etc/hosts.
    One(RecordType),
}

impl QueryType {
    /// `A`, `aaaa`, `MX`, … (case-insensitive); `A+AAAA` or `ADDR` for both address types.
    pub fn parse(text: &str) -> Result<QueryType, DnsError> {
        let upper = text.trim().to_ascii_uppercase();
        if upper == "A+AAAA" || upper == "ADDR" {
            return Ok(QueryType::Addresses);
        }
        let bad = || DnsError::BadType {
            given: text.to_string(),
        };
        let rt = RecordType::from_str(&upper).map_err(|_| bad())?;
        // Zone transfers and pseudo types are not lookups a resolver makes.
        if matches!(
            rt,
            RecordType::AXFR | RecordType::IXFR | RecordType::OPT | RecordType::ZERO
        ) {
            return Err(bad());
        }
        Ok(QueryType::One(rt))
    }

    /// The record types sent for each candidate name, in the order glibc sends them.
    pub fn record_types(self) -> Vec<RecordType> {
        match self {
            QueryType::Addresses => vec![RecordType::A, RecordType::AAAA],
            QueryType::One(rt) => vec![rt],
        }
    }

    /// Whether nsswitch's `hosts:` line (and so /etc/hosts) takes part.
    pub fn uses_nsswitch(self) -> bool {
        match self {
            QueryType::Addresses => true,
            QueryType::One(rt) => matches!(rt, RecordType::A | RecordType::AAAA),
        }
    }

    pub fn wants_v4(self) -> bool {
        matches!(self, QueryType::Addresses | QueryType::One(RecordType::A))
    }

    pub fn wants_v6(self) -> bool {
        matches!(
            self,
            QueryType::Addresses | QueryType::One(RecordType::AAAA)
        )
    }

    /// `A+AAAA`, `A`, `MX`, …
    pub fn label(self) -> String {
        match self {
            QueryType::Addresses => "A+AAAA".into(),
            QueryType::One(rt) => rt.to_string(),
        }
    }
}

/// Checks `name` as a host name a resolver would send: labels of 1–63 characters, 253 in
/// all, no blanks or control characters. Underscores and other punctuation are allowed
/// (`_sip._tcp.example.`): DNS carries them and glibc's getaddrinfo does not refuse them.
pub fn validate_name(name: &str) -> Result<(), DnsError> {
    let bad = |reason: &'static str| DnsError::BadName {
        name: name.to_string(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("empty"));
    }
    if name == "." {
        return Err(bad("the root is not a host name"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        return Err(bad(
            "blanks, control or non-ASCII characters (use the xn-- form of an IDN)",
        ));
    }
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.len() > MAX_NAME_LEN {
        return Err(bad("longer than 253 characters"));
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(bad("empty label (two dots in a row, or a leading dot)"));
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(bad("a label longer than 63 characters"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types() {
        assert_eq!(QueryType::parse("aaaa").unwrap().label(), "AAAA");
        assert_eq!(QueryType::parse("A+AAAA").unwrap(), QueryType::Addresses);
        assert!(QueryType::parse("MX").unwrap().record_types() == vec![RecordType::MX]);
        assert!(!QueryType::parse("MX").unwrap().uses_nsswitch());
        assert!(QueryType::parse("A").unwrap().uses_nsswitch());
        for bad in ["", "BOGUS", "AXFR", "A AAAA", "ANYTHING"] {
            assert!(QueryType::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        for good in ["web", "web.corp.example.", "_sip._tcp.example", "a-b.c"] {
            assert!(validate_name(good).is_ok(), "{good}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = ["abcdefghi"; 26].join(".");
        for bad in [
            "",
            ".",
            "a..b",
            ".a",
            "a b",
            "caf\u{e9}.fr",
            long_label.as_str(),
            long_name.as_str(),
        ] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
    }
}
