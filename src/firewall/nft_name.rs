//! Names netlens may hand to `nft` unquoted. nft joins its arguments into one command line and
//! parses it (1.0.6 takes no quoted table name), and tables and chains are named by whoever
//! made them, a container root included: only a plain identifier is ever passed.

/// A name as `nft` accepts it unquoted: a letter or `_` first, then letters, digits, `_`, `-`,
/// `.`, `/`; at most 64 bytes. `x; flush ruleset` is not one.
pub fn is_plain(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && name.len() <= 64 && chars.all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
}

#[cfg(test)]
mod tests {
    use super::is_plain;

    #[test]
    fn plain_names_only() {
        for ok in ["filter", "kube-proxy", "_x.1", "a/b"] {
            assert!(is_plain(ok), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in [
            "x; flush ruleset",
            "a b",
            "-j",
            "",
            "\"x\"",
            "1abc",
            "a\nb",
            &long,
        ] {
            assert!(!is_plain(bad), "{bad:?}");
        }
    }
}
