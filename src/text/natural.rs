//! Natural order for names people read: `svc-2` before `svc-10`, because a run of digits
//! compares as the number it spells. Used wherever namespaces are listed (discovery orders
//! the snapshot with it, so the JSON follows; the TUI sorts what it is given, so an older
//! saved snapshot lists the same way).

use std::cmp::Ordering;

/// Compares `a` and `b` run by run: digit runs by value (`007` = `7`), everything else byte
/// by byte (code point order for UTF-8). Names equal that way (`svc-07`, `svc-7`) fall back to
/// plain byte order, so this is a total order and sorting is deterministic.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (n, rest_x) = digits(x);
                let (m, rest_y) = digits(y);
                // Without leading zeros, a longer run is a bigger number; equal lengths compare
                // digit by digit. No parse: a run may be longer than any integer type.
                let (n, m) = (strip_zeros(n), strip_zeros(m));
                match n.len().cmp(&m.len()).then_with(|| n.cmp(m)) {
                    Ordering::Equal => (x, y) = (rest_x, rest_y),
                    o => return o,
                }
            }
            (Some(c), Some(d)) => match c.cmp(d) {
                Ordering::Equal => (x, y) = (&x[1..], &y[1..]),
                o => return o,
            },
        }
    }
}

/// The leading run of ASCII digits of `s`, and the rest.
fn digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|c| !c.is_ascii_digit())
        .unwrap_or(s.len());
    s.split_at(end)
}

fn strip_zeros(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| c != b'0').unwrap_or(s.len());
    &s[start..]
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use proptest::prelude::*;
    use std::cmp::Ordering;

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        v.sort_by(|a, b| natural_cmp(a, b));
        v
    }

    #[test]
    fn numbers_sort_by_value() {
        assert_eq!(
            sorted(&["svc-10", "svc-2", "svc-19", "svc-1", "svc-100", "svc-11"]),
            ["svc-1", "svc-2", "svc-10", "svc-11", "svc-19", "svc-100"]
        );
        assert_eq!(
            sorted(&["pod-b", "pod-a10", "pod-a9", "pod"]),
            ["pod", "pod-a9", "pod-a10", "pod-b"]
        );
        assert_eq!(
            sorted(&["ns2b", "ns2a", "ns10a"]),
            ["ns2a", "ns2b", "ns10a"]
        );
        // Equal by value: zeros decide, so the order is total.
        assert_eq!(sorted(&["x7", "x007", "x07"]), ["x007", "x07", "x7"]);
        // Longer than any integer.
        assert_eq!(
            natural_cmp("n99999999999999999999999", "n100000000000000000000000"),
            Ordering::Less
        );
    }

    proptest! {
        #[test]
        fn a_total_order(a in "[a-c0-2-]{0,8}", b in "[a-c0-2-]{0,8}", c in "[a-c0-2-]{0,8}") {
            prop_assert_eq!(natural_cmp(&a, &b), natural_cmp(&b, &a).reverse());
            prop_assert_eq!(natural_cmp(&a, &b) == Ordering::Equal, a == b);
            if natural_cmp(&a, &b) != Ordering::Greater && natural_cmp(&b, &c) != Ordering::Greater {
                prop_assert_ne!(natural_cmp(&a, &c), Ordering::Greater);
            }
        }

        #[test]
        fn the_number_decides_after_a_common_prefix(p in "[a-z-]{0,6}", n in 0u64..100_000, m in 0u64..100_000) {
            prop_assert_eq!(natural_cmp(&format!("{p}{n}"), &format!("{p}{m}")), n.cmp(&m));
        }
    }
}
