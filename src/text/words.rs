//! Counted nouns, so no report says "1 errors" or "(1 steps)": every count printed with its
//! noun goes through [`plural`].

/// `n` and `word`, the word in the plural unless `n` is 1: `plural(1, "step")` is `1 step`,
/// `plural(3, "entry")` is `3 entries`, `plural(2, "address")` is `2 addresses`. A word with
/// an irregular plural (or one that has none, "information") is given as [`plural_of`].
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {}", noun(n, word))
}

/// The noun alone, for formats that put something between the count and the word.
pub fn noun(n: usize, word: &str) -> String {
    if n == 1 {
        return word.to_string();
    }
    let consonant_y = word.len() > 1
        && word.ends_with('y')
        && !word[..word.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    if consonant_y {
        format!("{}ies", &word[..word.len() - 1])
    } else if word.ends_with(['s', 'x']) || word.ends_with("sh") || word.ends_with("ch") {
        format!("{word}es")
    } else {
        format!("{word}s")
    }
}

/// `n` with `one` or `many`, for words the rule in [`noun`] does not fit.
pub fn plural_of(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_the_rest_plural() {
        assert_eq!(plural(1, "error"), "1 error");
        assert_eq!(plural(0, "error"), "0 errors");
        assert_eq!(plural(2, "packet"), "2 packets");
        assert_eq!(plural(1, "step"), "1 step");
        assert_eq!(plural(3, "entry"), "3 entries");
        assert_eq!(plural(2, "address"), "2 addresses");
        assert_eq!(plural(2, "key"), "2 keys");
        assert_eq!(plural(2, "query"), "2 queries");
        assert_eq!(plural_of(2, "information", "information"), "2 information");
    }
}
