use super::*;

#[test]
fn word_boundaries_become_ascii() {
    let hir = parse_pattern(r"\bab\b").unwrap_or_else(|e| panic!("{e}"));
    let p = compile_pattern(&hir, 0).unwrap_or_else(|e| panic!("{e}"));
    // With an ASCII boundary, `é` is not a word character, so `ab` after it is a word.
    assert!(p.regex.is_match("éab"));
    assert!(!p.regex.is_match("xab"));
}

#[test]
fn rejects_pathological_patterns_quickly() {
    for bad in [
        "(a{1000}){1000}",
        "((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))))",
        "[a-z]{100000}",
        r"\w{50000}",
    ] {
        let result = parse_pattern(bad).and_then(|h| compile_pattern(&h, 0));
        assert!(result.is_err(), "{bad} was accepted");
    }
}

#[test]
fn rejects_empty_matching_and_reports_columns() {
    assert_eq!(
        parse_pattern("a*").err().as_deref(),
        Some("pattern can match empty text")
    );
    let err = parse_pattern("ab(c").err().unwrap_or_default();
    assert!(err.contains("column"), "{err}");
    assert!(parse_pattern("").is_err());
    assert!(parse_pattern(&"a".repeat(MAX_PATTERN_BYTES + 1)).is_err());
}

#[test]
fn context_words_only_start_tokens() {
    let hir = word_hir("id").unwrap_or_else(|| panic!("word"));
    let p = compile_pattern(&hir, 0).unwrap_or_else(|e| panic!("{e}"));
    let ends: Vec<usize> = p
        .regex
        .find_iter("id did userId ID x-Id")
        .map(|m| m.end())
        .collect();
    // "id" at 0..2, "ID" at 14..16, "x-Id" ends at 21; never inside "did" or "userId".
    assert_eq!(ends, vec![2, 16, 21]);
}

#[test]
fn value_group_is_found() {
    let hir = parse_pattern(r"pw=(?P<value>\S+)").unwrap_or_else(|e| panic!("{e}"));
    let p = compile_pattern(&hir, 3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.value_group, Some(1));
    assert_eq!(p.rule, 3);
}
