//! [`wasted_queries`] (counted) is what the list of [`candidates`] gave
//! ([`wasted_queries_listed`]): seeded search lists of up to 8 domains (plain, with leading or
//! trailing dots, the root as `.` or `..`, empty), every ndots from 0 to 15, `no-tld-query`
//! on and off.

use super::{wasted_queries, wasted_queries_listed};
use crate::test_rng::Rng;

#[test]
fn counted_waste_is_the_listed_waste() {
    let mut rng = Rng(0x00d0_75ed);
    let domains = [
        "svc.cluster.local",
        ".example.org",
        "corp.",
        ".",
        "..",
        "",
        "a",
        ".b.",
    ];
    let mut wasted = 0;
    for _ in 0..3000 {
        let search: Vec<String> = (0..rng.below(9))
            .map(|_| domains[rng.below(domains.len())].to_string())
            .collect();
        let ndots = rng.below(16) as u8;
        let no_tld = rng.below(2) == 0;
        let (a, b) = (
            wasted_queries(&search, ndots, no_tld),
            wasted_queries_listed(&search, ndots, no_tld),
        );
        assert_eq!(
            a, b,
            "search {search:?}, ndots {ndots}, no-tld-query {no_tld}"
        );
        wasted += usize::from(a > 0);
    }
    assert!(wasted > 1000, "lists with waste: {wasted}");
}
