//! Words for numbers: "1 voluntary context switch", "2 voluntary context switches", "once",
//! "3 times", "a, b and c". Every count a demo prints goes through here, so none says "1 …
//! switches" or "faulted 1 times".

use std::fmt::Display;

/// The plural of an English noun: `switch` → `switches`, `entry` → `entries`, `child` →
/// `children`. A phrase is pluralised by its last word (`context switch` → `context switches`).
pub fn plural(noun: &str) -> String {
    let (head, last) = match noun.rfind(' ') {
        Some(i) => noun.split_at(i + 1),
        None => ("", noun),
    };
    let irregular = [
        ("child", "children"),
        ("person", "people"),
        ("was", "were"),
        ("is", "are"),
        ("has", "have"),
    ];
    if let Some((_, p)) = irregular.iter().find(|(s, _)| *s == last) {
        return format!("{head}{p}");
    }
    let vowel_before_y = last
        .strip_suffix('y')
        .and_then(|stem| stem.chars().last())
        .is_some_and(|c| "aeiou".contains(c));
    let plural = if ["s", "sh", "ch", "x", "z"]
        .iter()
        .any(|e| last.ends_with(e))
    {
        format!("{last}es")
    } else if last.ends_with('y') && !vowel_before_y {
        format!("{}ies", &last[..last.len() - 1])
    } else {
        format!("{last}s")
    };
    format!("{head}{plural}")
}

/// `n` and the noun, singular for 1 and plural otherwise: `count(1, "page")` = `1 page`,
/// `count(0, "page")` = `0 pages`.
pub fn count(n: impl Into<u128>, noun: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {}", plural(noun))
    }
}

/// The noun alone, singular for 1 and plural otherwise (for a count printed elsewhere).
pub fn noun(n: impl Into<u128>, noun: &str) -> String {
    if n.into() == 1 {
        noun.to_string()
    } else {
        plural(noun)
    }
}

/// How often: `once`, `twice`, `3 times` (and `never` for 0).
pub fn times(n: impl Into<u128>) -> String {
    match n.into() {
        0 => "never".into(),
        1 => "once".into(),
        2 => "twice".into(),
        n => format!("{n} times"),
    }
}

/// A list in prose: `a`, `a and b`, `a, b and c`; `none` for an empty list.
pub fn list<T: Display>(items: impl IntoIterator<Item = T>) -> String {
    let items: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    match items.as_slice() {
        [] => "none".into(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals_follow_english() {
        assert_eq!(plural("page"), "pages");
        assert_eq!(
            plural("voluntary context switch"),
            "voluntary context switches"
        );
        assert_eq!(plural("process"), "processes");
        assert_eq!(plural("entry"), "entries");
        assert_eq!(plural("day"), "days");
        assert_eq!(plural("child"), "children");
        assert_eq!(plural("box"), "boxes");
    }

    #[test]
    fn counts_agree_with_their_number() {
        assert_eq!(
            count(1u32, "voluntary context switch"),
            "1 voluntary context switch"
        );
        assert_eq!(
            count(2u32, "voluntary context switch"),
            "2 voluntary context switches"
        );
        assert_eq!(count(0u64, "minor fault"), "0 minor faults");
        assert_eq!(noun(1u8, "retry"), "retry");
        assert_eq!(noun(3u8, "retry"), "retries");
        assert_eq!(times(0u8), "never");
        assert_eq!(times(1u8), "once");
        assert_eq!(times(2u8), "twice");
        assert_eq!(times(7u8), "7 times");
    }

    #[test]
    fn lists_read_as_prose() {
        assert_eq!(list(Vec::<String>::new()), "none");
        assert_eq!(list(["a"]), "a");
        assert_eq!(list(["a", "b"]), "a and b");
        assert_eq!(list([1, 2, 3]), "1, 2 and 3");
    }
}
