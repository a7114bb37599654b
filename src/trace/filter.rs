//! Capture filters in tcpdump's words: `host`, `net`, `port`, `portrange`, optionally after
//! `src` or `dst`; the protocols `tcp udp icmp icmp6 arp ip ip6 vlan vxlan`; joined by `and`,
//! `or`, `not` (or `&& || !`) and parentheses; two primitives side by side mean `and`, so
//! `tcp port 80` reads as tcpdump's does.
//!
//! One difference, on purpose: a primitive matches any layer of the frame, so `host 10.244.1.2`
//! also finds a pod's packets inside the VXLAN frames of an overlay. tcpdump would look at the
//! outer header only.

use std::net::IpAddr;

use ipnet::IpNet;

use super::decode::{Decoded, Layer};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    Src,
    Dst,
    Either,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Proto {
    Tcp,
    Udp,
    Icmp,
    Icmp6,
    Arp,
    Ip,
    Ip6,
    Vlan,
    Vxlan,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Host(Dir, IpAddr),
    Net(Dir, IpNet),
    Port(Dir, u16, u16),
    Proto(Proto),
    Not(Box<Filter>),
    /// All of them (n-ary, so a long `a and b and c …` is flat, not thousands deep).
    And(Vec<Filter>),
    /// Any of them.
    Or(Vec<Filter>),
}

/// How deep parentheses and `not` may nest. Parsing, matching and dropping a filter recurse
/// once per level; the cap keeps that far inside any thread's stack (the capture thread's
/// included), whatever a user types or a script passes. Real filters use two or three.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad capture filter: {0}")]
pub struct FilterError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, FilterError> {
    Err(FilterError(msg.into()))
}

impl Filter {
    /// Parses the words of a filter (`["tcp", "port", "80"]`, or one string split on spaces).
    /// An empty filter is `None`: everything matches.
    pub fn parse(words: &[String]) -> Result<Option<Filter>, FilterError> {
        let mut tokens: Vec<String> = Vec::new();
        for w in words {
            // `(`, `)` and `!` may be glued to a word: `(host`, `!arp`.
            let mut cur = String::new();
            for c in w.chars() {
                match c {
                    '(' | ')' | '!' => {
                        if !cur.is_empty() {
                            tokens.push(std::mem::take(&mut cur));
                        }
                        tokens.push(c.to_string());
                    }
                    c if c.is_whitespace() => {
                        if !cur.is_empty() {
                            tokens.push(std::mem::take(&mut cur));
                        }
                    }
                    c => cur.push(c),
                }
            }
            if !cur.is_empty() {
                tokens.push(cur);
            }
        }
        if tokens.is_empty() {
            return Ok(None);
        }
        let mut p = Parser {
            tokens,
            pos: 0,
            depth: 0,
        };
        let f = p.or()?;
        if let Some(t) = p.peek() {
            return err(format!("unexpected `{t}`"));
        }
        Ok(Some(f))
    }

    /// Whether a decoded frame matches.
    pub fn matches(&self, d: &Decoded) -> bool {
        match self {
            Filter::Not(f) => !f.matches(d),
            Filter::And(all) => all.iter().all(|f| f.matches(d)),
            Filter::Or(any) => any.iter().any(|f| f.matches(d)),
            Filter::Host(dir, ip) => addrs(d).any(|(s, t)| pick(*dir, s == *ip, t == *ip)),
            Filter::Net(dir, net) => {
                addrs(d).any(|(s, t)| pick(*dir, net.contains(&s), net.contains(&t)))
            }
            Filter::Port(dir, lo, hi) => d.layers.iter().any(|l| match l {
                Layer::Tcp { sport, dport, .. } | Layer::Udp { sport, dport, .. } => pick(
                    *dir,
                    (*lo..=*hi).contains(sport),
                    (*lo..=*hi).contains(dport),
                ),
                _ => false,
            }),
            Filter::Proto(p) => d.layers.iter().any(|l| {
                matches!(
                    (p, l),
                    (Proto::Tcp, Layer::Tcp { .. })
                        | (Proto::Udp, Layer::Udp { .. })
                        | (Proto::Icmp, Layer::Icmp { v6: false, .. })
                        | (Proto::Icmp6, Layer::Icmp { v6: true, .. })
                        | (Proto::Arp, Layer::Arp { .. })
                        | (Proto::Ip, Layer::Ip { version: 4, .. })
                        | (Proto::Ip6, Layer::Ip { version: 6, .. })
                        | (Proto::Vlan, Layer::Vlan { .. })
                        | (Proto::Vxlan, Layer::Vxlan { .. })
                )
            }),
        }
    }
}

fn pick(dir: Dir, src: bool, dst: bool) -> bool {
    match dir {
        Dir::Src => src,
        Dir::Dst => dst,
        Dir::Either => src || dst,
    }
}

/// (source, destination) of every IP layer and ARP message in the frame.
fn addrs(d: &Decoded) -> impl Iterator<Item = (IpAddr, IpAddr)> + '_ {
    d.layers.iter().filter_map(|l| match l {
        Layer::Ip { src, dst, .. } => Some((*src, *dst)),
        Layer::Arp {
            sender_ip,
            target_ip,
            ..
        } => Some((*sender_ip, *target_ip)),
        _ => None,
    })
}

struct Parser {
    tokens: Vec<String>,
    pos: usize,
    /// Parentheses and `not`s open around the current position.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn next(&mut self) -> Option<String> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Filter, FilterError> {
        let mut any = vec![self.and()?];
        while matches!(self.peek(), Some("or" | "||")) {
            self.pos += 1;
            any.push(self.and()?);
        }
        Ok(if any.len() == 1 {
            any.remove(0)
        } else {
            Filter::Or(any)
        })
    }

    fn and(&mut self) -> Result<Filter, FilterError> {
        let mut all = vec![self.not()?];
        loop {
            match self.peek() {
                Some("and" | "&&") => self.pos += 1,
                // Juxtaposition is `and` (`tcp port 80`), except before `or` or `)`.
                Some(t) if t != "or" && t != "||" && t != ")" => {}
                _ => break,
            }
            all.push(self.not()?);
        }
        Ok(if all.len() == 1 {
            all.remove(0)
        } else {
            Filter::And(all)
        })
    }

    /// One level deeper (a `(` or a `not`), refused past [`MAX_DEPTH`] before recursing.
    fn deeper(&mut self) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return err(format!(
                "filter nested too deeply (more than {MAX_DEPTH} levels of `(` and `not`)"
            ));
        }
        Ok(())
    }

    fn not(&mut self) -> Result<Filter, FilterError> {
        if matches!(self.peek(), Some("not" | "!")) {
            self.pos += 1;
            self.deeper()?;
            let f = Filter::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(f);
        }
        if self.peek() == Some("(") {
            self.pos += 1;
            self.deeper()?;
            let f = self.or()?;
            if self.next().as_deref() != Some(")") {
                return err("a `(` is not closed");
            }
            self.depth -= 1;
            return Ok(f);
        }
        self.primitive()
    }

    fn value(&mut self, after: &str) -> Result<String, FilterError> {
        match self.next() {
            Some(v) if !matches!(v.as_str(), "and" | "or" | "not" | "(" | ")") => Ok(v),
            _ => err(format!("`{after}` needs a value")),
        }
    }

    fn primitive(&mut self) -> Result<Filter, FilterError> {
        let Some(word) = self.next() else {
            return err("the filter ends where a condition should follow");
        };
        let (dir, word) = match word.as_str() {
            "src" => (Dir::Src, self.next().unwrap_or_default()),
            "dst" => (Dir::Dst, self.next().unwrap_or_default()),
            _ => (Dir::Either, word),
        };
        let proto = |p| Ok(Filter::Proto(p));
        match word.as_str() {
            "host" => {
                let v = self.value("host")?;
                match v.parse() {
                    Ok(ip) => Ok(Filter::Host(dir, ip)),
                    Err(_) => err(format!("`{v}` is not an IP address (names are not resolved)")),
                }
            }
            "net" => {
                let v = self.value("net")?;
                match v.parse::<IpNet>() {
                    // `net 10.1.2.3/8` means the network, as tcpdump reads it.
                    Ok(n) => Ok(Filter::Net(dir, n.trunc())),
                    Err(_) => err(format!("`{v}` is not a CIDR such as 10.244.0.0/16")),
                }
            }
            "port" => {
                let v = self.value("port")?;
                let p = port(&v)?;
                Ok(Filter::Port(dir, p, p))
            }
            "portrange" => {
                let v = self.value("portrange")?;
                let Some((a, b)) = v.split_once('-') else {
                    return err(format!("`{v}` is not a range such as 30000-32767"));
                };
                let (a, b) = (port(a)?, port(b)?);
                if a > b {
                    return err(format!("`{v}`: the range runs backwards"));
                }
                Ok(Filter::Port(dir, a, b))
            }
            _ if dir != Dir::Either => err(format!(
                "`src`/`dst` go before host, net, port or portrange, not `{word}`"
            )),
            "tcp" => proto(Proto::Tcp),
            "udp" => proto(Proto::Udp),
            "icmp" => proto(Proto::Icmp),
            "icmp6" => proto(Proto::Icmp6),
            "arp" => proto(Proto::Arp),
            "ip" => proto(Proto::Ip),
            "ip6" => proto(Proto::Ip6),
            "vlan" => proto(Proto::Vlan),
            "vxlan" => proto(Proto::Vxlan),
            "" => err("the filter ends where a condition should follow"),
            other => err(format!(
                "unknown word `{other}` (know: host net port portrange src dst tcp udp icmp icmp6 arp ip ip6 vlan vxlan and or not)"
            )),
        }
    }
}

fn port(v: &str) -> Result<u16, FilterError> {
    v.parse()
        .map_err(|_| FilterError(format!("`{v}` is not a port number (0-65535)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> Filter {
        Filter::parse(&[s.to_string()])
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .expect("non-empty")
    }

    fn d(layers: Vec<Layer>) -> Decoded {
        Decoded { layers }
    }

    fn ip(src: &str, dst: &str) -> Layer {
        Layer::Ip {
            version: 4,
            src: src.parse().expect("ip"),
            dst: dst.parse().expect("ip"),
            ttl: 64,
            protocol: 6,
            length: 60,
        }
    }

    fn tcp(sport: u16, dport: u16) -> Layer {
        Layer::Tcp {
            sport,
            dport,
            flags: "S".into(),
            seq: 1,
            ack: 0,
            payload: 0,
        }
    }

    #[test]
    fn tcpdump_words() {
        let web = d(vec![ip("10.0.0.1", "10.0.0.2"), tcp(40000, 80)]);
        assert!(f("tcp port 80").matches(&web));
        assert!(f("dst port 80 and src host 10.0.0.1").matches(&web));
        assert!(!f("src port 80").matches(&web));
        assert!(f("net 10.0.0.0/24").matches(&web));
        assert!(!f("dst net 10.0.1.0/24").matches(&web));
        assert!(f("udp or (tcp and not port 22)").matches(&web));
        assert!(!f("!tcp").matches(&web));
        assert!(f("portrange 30000-40000").matches(&web));
        assert!(f("host 10.0.0.2 && ip").matches(&web));
        assert!(!f("ip6 || icmp").matches(&web));
    }

    #[test]
    fn inner_packets_of_an_overlay_match_too() {
        let vx = d(vec![
            ip("192.168.1.11", "192.168.1.12"),
            Layer::Udp {
                sport: 50000,
                dport: 4789,
                payload: 100,
            },
            Layer::Vxlan { vni: 1 },
            ip("10.244.1.2", "10.244.2.2"),
            tcp(33000, 8080),
        ]);
        assert!(f("host 10.244.2.2").matches(&vx));
        assert!(f("vxlan and port 8080").matches(&vx));
        assert!(f("host 192.168.1.12").matches(&vx));
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        for (bad, says) in [
            ("host", "needs a value"),
            ("host web1", "not an IP address"),
            ("net 10.0.0.0/33", "not a CIDR"),
            ("port 70000", "not a port"),
            ("portrange 9-1", "backwards"),
            ("(tcp", "not closed"),
            ("tcp )", "unexpected"),
            ("src tcp", "go before"),
            ("frobnicate", "unknown word"),
            ("tcp and", "ends where"),
        ] {
            let e = Filter::parse(&[bad.to_string()]).expect_err(bad);
            assert!(e.0.contains(says), "{bad}: {e}");
        }
        assert_eq!(Filter::parse(&[]), Ok(None));
    }

    /// Issue 10 item 12: 10,000 nested `(` overflowed the stack. Refused with one line, on a
    /// thread with a small stack (the capture thread's is not bigger).
    #[test]
    fn deep_nesting_is_refused_and_long_filters_stay_flat() {
        let small = |f: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(f)
                .unwrap()
                .join()
                .expect("no overflow")
        };
        small(Box::new(|| {
            for deep in [
                format!("{}tcp{}", "(".repeat(10_000), ")".repeat(10_000)),
                format!("{}tcp", "! ".repeat(10_000)),
                format!("{}tcp", "not (".repeat(5_000)),
                "(".repeat(12_000),
            ] {
                let e = Filter::parse(&[deep]).expect_err("too deep");
                assert!(e.0.contains("nested too deeply"), "{e}");
                assert!(!e.to_string().contains('\n'));
            }
            let ok = format!("{}tcp{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
            assert!(Filter::parse(&[ok]).is_ok());
        }));
        // 100,000 conditions in a row: matched and dropped without recursing per condition.
        let long = vec!["tcp or udp and port 80"; 25_000].join(" or ");
        let f = Filter::parse(&[long]).unwrap().unwrap();
        small(Box::new(move || {
            let web = d(vec![ip("10.0.0.1", "10.0.0.2"), tcp(40000, 80)]);
            assert!(f.matches(&web));
            drop(f);
        }));
    }
}
