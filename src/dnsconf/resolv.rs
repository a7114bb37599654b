//! `/etc/resolv.conf` parser following glibc's `res_init` semantics.
//!
//! What glibc does, and therefore what we model:
//! - a line is a keyword followed by a space or tab; lines starting with `#` or `;` are comments;
//!   unknown keywords are ignored (we add a warning so the user sees them);
//! - `nameserver`: at most 3 (MAXNS) are used; an address glibc cannot parse is skipped;
//! - `search` and `domain` overwrite each other: the last one in the file wins, and
//!   `domain X` means a search list of just `X`;
//! - `options ndots:N` is read with `atoi` and capped at 15; the value ends up in a 4-bit
//!   field, so a negative number wraps (`ndots:-1` → 15) and garbage reads as 0;
//!   `timeout` is capped at 30 and `attempts` at 5.
//!
//! musl differs: it reads lines through a 256-byte buffer and also stops at 3 nameservers;
//! glibc before 2.26 kept only 6 search domains. These limits become warnings.

use std::net::IpAddr;

pub use crate::model::dns_files::{Nameserver, ResolvConf, ResolvOptions, MAX_NAMESERVERS};

/// Search-list length kept by glibc < 2.26 (MAXDNSRCH).
pub const OLD_MAX_SEARCH: usize = 6;
/// glibc `RES_MAXNDOTS`.
pub const MAX_NDOTS: u8 = 15;
/// glibc `RES_MAXRETRANS` (seconds).
pub const MAX_TIMEOUT: u32 = 30;
/// glibc `RES_MAXRETRY`.
pub const MAX_ATTEMPTS: u32 = 5;
/// musl's line buffer; longer lines are cut.
pub const MUSL_LINE_MAX: usize = 256;

/// C `atoi`: optional leading whitespace and sign, then digits; stops at the first other
/// character; no digits gives 0. Saturates instead of overflowing.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// `keyword` followed by a space or tab, as glibc's `MATCH` macro requires.
fn keyword_arg<'a>(line: &'a str, keyword: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(keyword)?;
    match rest.as_bytes().first() {
        Some(b' ' | b'\t') => Some(rest),
        _ => None,
    }
}

/// Parses resolv.conf text. Never panics; problems go to `warnings`.
pub fn parse(text: &str) -> ResolvConf {
    let mut conf = ResolvConf::default();
    for (idx, line) in text.lines().enumerate() {
        let no = idx + 1;
        if line.len() >= MUSL_LINE_MAX {
            conf.warnings.push(format!(
                "line {no}: {} characters; musl reads only the first {} of a line",
                line.len(),
                MUSL_LINE_MAX - 1
            ));
        }
        if line.starts_with('#') || line.starts_with(';') || line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = keyword_arg(line, "nameserver") {
            // glibc cuts the value at the first `;`, `#` or blank.
            let value = rest
                .trim_start()
                .split([';', '#', ' ', '\t'])
                .next()
                .unwrap_or("");
            nameserver(&mut conf, no, value);
        } else if let Some(rest) = keyword_arg(line, "domain") {
            let value = rest.split_whitespace().next().unwrap_or("");
            if value.is_empty() {
                conf.warnings.push(format!("line {no}: empty domain"));
                continue;
            }
            conf.domain = Some(value.to_string());
            conf.search = vec![value.to_string()];
        } else if let Some(rest) = keyword_arg(line, "search") {
            let list: Vec<String> = rest.split_whitespace().map(str::to_string).collect();
            // glibc skips an empty `search` line instead of clearing the list.
            if list.is_empty() {
                conf.warnings
                    .push(format!("line {no}: empty search line ignored"));
                continue;
            }
            conf.search = list;
        } else if let Some(rest) = keyword_arg(line, "sortlist") {
            conf.sortlist = rest.split_whitespace().map(str::to_string).collect();
        } else if let Some(rest) = keyword_arg(line, "options") {
            for opt in rest.split_whitespace() {
                option(&mut conf, no, opt);
            }
        } else {
            let word = line.split_whitespace().next().unwrap_or("");
            conf.warnings
                .push(format!("line {no}: unknown keyword {word:?} ignored"));
        }
    }
    let usable = conf.nameservers.iter().filter(|n| n.addr.is_some()).count();
    if usable > MAX_NAMESERVERS {
        conf.warnings.push(format!(
            "{usable} nameservers: glibc and musl use only the first {MAX_NAMESERVERS}"
        ));
    }
    if conf.search.len() > OLD_MAX_SEARCH {
        conf.warnings.push(format!(
            "{} search domains: glibc < 2.26 uses only the first {OLD_MAX_SEARCH}",
            conf.search.len()
        ));
    }
    conf
}

fn nameserver(conf: &mut ResolvConf, no: usize, value: &str) {
    let (addr_text, scope) = match value.split_once('%') {
        Some((a, s)) => (a, Some(s.to_string())),
        None => (value, None),
    };
    let addr = addr_text.parse::<IpAddr>().ok();
    // A zone only makes sense on IPv6.
    let addr = match addr {
        Some(IpAddr::V4(_)) if scope.is_some() => None,
        other => other,
    };
    if addr.is_none() {
        conf.warnings.push(format!(
            "line {no}: nameserver {value:?} is not an IP address; glibc ignores it"
        ));
    }
    conf.nameservers.push(Nameserver {
        text: value.to_string(),
        addr,
        scope,
    });
}

fn option(conf: &mut ResolvConf, no: usize, opt: &str) {
    let opts = &mut conf.options;
    if let Some(v) = opt.strip_prefix("ndots:") {
        let n = atoi(v);
        opts.ndots = if n > i64::from(MAX_NDOTS) {
            conf.warnings
                .push(format!("line {no}: ndots:{v} capped at {MAX_NDOTS}"));
            MAX_NDOTS
        } else if n < 0 {
            // glibc stores it in `unsigned ndots:4`: the low 4 bits of the two's complement.
            let wrapped = (n & 0xf) as u8;
            conf.warnings.push(format!(
                "line {no}: negative ndots:{v}; glibc ends up with {wrapped}"
            ));
            wrapped
        } else {
            if !v.starts_with(|c: char| c.is_ascii_digit() || c == '+') {
                conf.warnings
                    .push(format!("line {no}: invalid ndots:{v}; glibc reads it as 0"));
            }
            // 0..=15 here, so the cast is exact.
            n as u8
        };
    } else if let Some(v) = opt.strip_prefix("timeout:") {
        opts.timeout = clamp_u32(atoi(v), MAX_TIMEOUT);
    } else if let Some(v) = opt.strip_prefix("attempts:") {
        opts.attempts = clamp_u32(atoi(v), MAX_ATTEMPTS);
    } else {
        match opt {
            "edns0" => opts.edns0 = true,
            "rotate" => opts.rotate = true,
            "use-vc" | "usevc" => opts.use_vc = true,
            "single-request" => opts.single_request = true,
            "single-request-reopen" => opts.single_request_reopen = true,
            other => opts.other.push(other.to_string()),
        }
    }
}

fn clamp_u32(n: i64, max: u32) -> u32 {
    u32::try_from(n.clamp(0, i64::from(max))).unwrap_or(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_of_search_and_domain_wins() {
        let c = parse("search a b\ndomain c\n");
        assert_eq!(c.search, vec!["c"]);
        let c = parse("domain c\nsearch a b\nsearch \n");
        assert_eq!(c.search, vec!["a", "b"]);
        assert_eq!(c.domain.as_deref(), Some("c"));
    }

    #[test]
    fn ndots_like_glibc() {
        assert_eq!(parse("").options.ndots, 1);
        assert_eq!(parse("options ndots:16").options.ndots, 15);
        assert_eq!(parse("options ndots:-1").options.ndots, 15);
        assert_eq!(parse("options ndots:invalid").options.ndots, 0);
        assert_eq!(parse("options ndots:3x").options.ndots, 3);
        assert_eq!(
            parse("options ndots:99999999999999999999999").options.ndots,
            15
        );
    }

    #[test]
    fn comments_and_keyword_needs_blank() {
        let c =
            parse("# x\n; y\nnameserver 1.1.1.1 # home\nnameserver\t9.9.9.9;x\nnameserverfoo\n");
        assert_eq!(
            c.effective_nameservers(),
            vec![
                "1.1.1.1".parse::<IpAddr>().unwrap(),
                "9.9.9.9".parse().unwrap()
            ]
        );
        assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    }

    #[test]
    fn limits_become_warnings() {
        let c = parse(
            "nameserver 1.1.1.1\nnameserver 1.1.1.2\nnameserver 1.1.1.3\nnameserver 1.1.1.4\n",
        );
        assert_eq!(c.nameservers.len(), 4);
        assert_eq!(c.effective_nameservers().len(), 3);
        assert!(c.warnings.iter().any(|w| w.contains("only the first 3")));
        let long = format!("search {}\n", "a".repeat(300));
        assert!(parse(&long).warnings.iter().any(|w| w.contains("musl")));
    }

    #[test]
    fn timeout_and_attempts_capped() {
        let o = parse("options timeout:99 attempts:9 rotate edns0 trust-ad").options;
        assert_eq!((o.timeout, o.attempts), (30, 5));
        assert!(o.rotate && o.edns0);
        assert_eq!(o.other, vec!["trust-ad"]);
    }
}
