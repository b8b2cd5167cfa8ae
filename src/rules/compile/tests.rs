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
fn context_words_only_match_whole_tokens() {
    let hir = word_hir("id").unwrap_or_else(|| panic!("word"));
    let p = compile_pattern(&hir, 0).unwrap_or_else(|e| panic!("{e}"));
    let text = "id did userId ID x-Id idea idNumber id_no";
    let starts: Vec<usize> = p
        .regex
        .find_iter(text)
        .map(|m| word_start(text, "id", m.end()))
        .collect();
    // "id" at 0, "ID" at 14, "Id" at 19, "id" before a camel hump at 27 and before `_` at
    // 36; never inside "did" or "userId", nor at the start of "idea".
    assert_eq!(starts, vec![0, 14, 19, 27, 36]);
    // At the end of the text the match holds no character after the word.
    assert_eq!(word_start("x id", "id", 4), 2);
    assert_eq!(word_start("x ID.", "id", 5), 2);
}

#[test]
fn value_group_is_found() {
    let hir = parse_pattern(r"pw=(?P<value>\S+)").unwrap_or_else(|e| panic!("{e}"));
    let p = compile_pattern(&hir, 3).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.value_group, Some(1));
    assert_eq!(p.rule, 3);
}
