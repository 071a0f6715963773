//! Sheet names as Excel takes them: 1–31 characters, none of `[]:*?/\`, not starting or ending
//! with an apostrophe, unique whatever their case.

const MAX_CHARS: usize = 31;

/// `chart`'s sheet name, different from each of `taken`.
pub(crate) fn sheet_name(chart: &str, taken: &[String]) -> String {
    let clean: String = chart
        .chars()
        .map(|c| {
            if "[]:*?/\\".contains(c) || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Cut first: a cut may end on an apostrophe, which Excel refuses at either end.
    let cut: String = clean.chars().take(MAX_CHARS).collect();
    let clean = cut.trim_matches(|c: char| c == '\'' || c.is_whitespace());
    let base = if clean.is_empty() || clean.eq_ignore_ascii_case("history") {
        "Sheet".to_owned()
    } else {
        clean.to_owned()
    };
    let free = |name: &str| {
        !taken
            .iter()
            .any(|t| t.to_lowercase() == name.to_lowercase())
    };
    if free(&base) {
        return base;
    }
    (2..)
        .map(|n| {
            let suffix = format!(" ({n})");
            let keep = MAX_CHARS - suffix.chars().count();
            format!("{}{suffix}", base.chars().take(keep).collect::<String>())
        })
        .find(|name| free(name))
        .unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cleaned_cut_and_made_unique() {
        assert_eq!(sheet_name("GMV [daily]: 1/2", &[]), "GMV _daily__ 1_2");
        let long = "销".repeat(40);
        assert_eq!(sheet_name(&long, &[]).chars().count(), 31);
        let taken = vec!["gmv".to_owned()];
        assert_eq!(sheet_name("GMV", &taken), "GMV (2)");
        let taken = vec![long.chars().take(31).collect::<String>()];
        let second = sheet_name(&long, &taken);
        assert!(second.ends_with(" (2)") && second.chars().count() == 31);
        assert_eq!(sheet_name("'''", &[]), "Sheet");
        let apostrophe_at_31 = format!("{}'s share", "x".repeat(30));
        assert_eq!(sheet_name(&apostrophe_at_31, &[]), "x".repeat(30));
        assert_eq!(sheet_name("History", &[]), "Sheet");
    }
}
