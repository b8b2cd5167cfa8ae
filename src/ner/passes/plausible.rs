//! Plausibility: model guesses that the text around them contradicts, cut or dropped before
//! any other pass builds on them (a name found once is looked for again, so an eponym kept
//! here would be redacted everywhere). Technical prose is where the model errs: gene and
//! compound codes, SNP ids, acronyms and eponyms look like identifiers, addresses and names.

use crate::redact::Span;
use crate::validate;

use super::super::candidate::{Candidate, Target, line_around, numbers_only};
use super::super::decode::Kind;
use super::super::lexicon::{L, Lexicon};
use super::{Ctx, Work};

/// A model person or place that starts with a capital but holds lower-case words other than
/// particles ("de", "of"): two words, the second in lower case, are a term ("Candida
/// albicans", "Aberrant luminal") and give nothing; otherwise each run of capitalised words is
/// a name of its own ("Mill Village by helicopter" gives "Mill Village"; "Garcia songwriter
/// Samantha Berg" gives "Garcia" and "Samantha Berg"). Others pass unchanged.
pub(super) fn capitalised_runs(ctx: &Ctx<'_>, work: &mut Work) {
    let out = std::mem::take(&mut work.out);
    for c in out {
        let pieces = runs(ctx.lexicon, ctx.text, c);
        // A name cut in two is two candidates: the second is new.
        for (n, mut piece) in pieces.into_iter().enumerate() {
            if n > 0 {
                piece.id = 0;
            }
            work.out.push(piece);
        }
    }
}

fn runs(lexicon: &Lexicon, text: &str, c: Candidate) -> Vec<Candidate> {
    if !matches!(
        c.kind,
        Target::Model(Kind::Person) | Target::Model(Kind::Location)
    ) {
        return vec![c];
    }
    let value = text.get(c.span.range()).unwrap_or_default();
    let words: Vec<(usize, &str)> = value
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - value.as_ptr() as usize, w))
        .collect();
    let lower = |w: &str| w.starts_with(char::is_lowercase) && !lexicon.has(L::NameParticles, w);
    if !value.starts_with(char::is_uppercase) || !words.iter().skip(1).any(|(_, w)| lower(w)) {
        return vec![c];
    }
    if words.len() == 2 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut run: Option<(usize, usize)> = None;
    let mut close = |run: &mut Option<(usize, usize)>| {
        if let Some((start, end)) = run.take() {
            out.push(Candidate {
                span: Span::new(c.span.start + start, c.span.start + end),
                ..c
            });
        }
    };
    for &(at, w) in &words {
        if w.starts_with(char::is_uppercase) {
            let start = run.map_or(at, |(s, _)| s);
            run = Some((start, at + w.len()));
        } else if lower(w) || run.is_none() {
            close(&mut run);
        }
        // A particle inside a run is kept only if a capitalised word follows it.
    }
    close(&mut run);
    out
}

/// The probe of the `name_particles` list: a model name at `span` is kept whole.
pub(super) fn name_kept_whole(lexicon: &Lexicon, text: &str, span: Span) -> bool {
    let c = Candidate::new(
        span,
        Target::Model(Kind::Person),
        0.8,
        super::super::candidate::Source::Model,
    );
    let pieces = runs(lexicon, text, c);
    pieces.len() == 1 && pieces.first().is_some_and(|p| p.span == span)
}

/// Keeps the candidates of `kind` that `keep` accepts.
fn retain_kind(
    work: &mut Work,
    kind: impl Fn(&Candidate) -> bool,
    keep: impl Fn(&Candidate) -> bool,
) {
    work.out.retain(|c| !kind(c) || keep(c));
}

/// An identifier (tax id, bank account, routing number, government id, passport, driver's
/// licence) needs a word naming an identifier next to it ("passport", "licence", "account",
/// "ID", …): without one, a code is as likely a product, gene or compound. A number must
/// also stand alone: a piece of a longer number (`19045.4291` in the version
/// `10.0.19045.4291`) is no identifier, nor a piece of a UUID or a hex digest.
pub(super) fn identifiers(ctx: &Ctx<'_>, work: &mut Work) {
    retain_kind(
        work,
        |c| {
            matches!(
                c.kind,
                Target::Model(
                    Kind::TaxId
                        | Kind::BankAccount
                        | Kind::RoutingNumber
                        | Kind::GovernmentId
                        | Kind::Passport
                        | Kind::DriversLicense,
                )
            )
        },
        |c| {
            let value = ctx.text.get(c.span.range()).unwrap_or_default();
            let numeric = value.starts_with(|ch: char| ch.is_ascii_digit());
            names_an_identifier(ctx.lexicon, ctx.text, c.span)
                && (!numeric || validate::stands_alone(ctx.text, c.span.start, c.span.end))
                && !is_version(ctx.lexicon, ctx.text, c.span)
                && !in_hex_token(ctx.text, c.span)
        },
    );
}

/// An address of one word is no code that starts with a letter and holds a digit ("T6SS",
/// "p53", "IL6R"); any other needs a score of 0.9. An address holds a digit or a capital
/// ("major road" is a description) and is no measure ([`is_numeric_range`]: "274.8",
/// "290-315", "4, 6, 7 and").
pub(super) fn addresses(ctx: &Ctx<'_>, work: &mut Work) {
    retain_kind(work, Candidate::is_address, |c| {
        let value = ctx.text.get(c.span.range()).unwrap_or_default();
        let one_word = !value.contains(char::is_whitespace);
        let code = value.starts_with(char::is_alphabetic)
            && value.contains(|ch: char| ch.is_ascii_digit());
        // An address names a number, a street, a town or a unit: all lower-case words with no
        // digit ("major road", "lung capillaries") are a description.
        let named = value.contains(|ch: char| ch.is_ascii_digit() || ch.is_uppercase());
        named
            && !is_numeric_range(ctx.lexicon, value)
            && (!one_word || (!code && c.score >= 0.9))
            && match labelled_code(value) {
                // A place and its postcode are an address (`Austin 78701`), and so is a part
                // of an address line (`…, Mumbai, Maharashtra 400043`).
                Some((Code::Long, first)) => {
                    !ctx.gazetteers.places(first).is_empty()
                        || ctx.lexicon.has(L::UnitWords, first.trim_end_matches('.'))
                        || continues_a_line(ctx.text, c.span.start)
                }
                // A unit is an address (`flat 3B`), a seat or a gate is not.
                Some((Code::Lettered, first)) => {
                    ctx.lexicon.has(L::UnitWords, first.trim_end_matches('.'))
                }
                None => true,
            }
    });
}

/// A number of digits and dots (two dots at least), or a piece of one, right after a word of
/// the `version_words` list (`driver 27.20.100.9316`, `build 10.0.22631.3007`): a version,
/// not a phone number or an identifier.
pub(super) fn is_version(lexicon: &Lexicon, text: &str, span: Span) -> bool {
    let bytes = text.as_bytes();
    let is_part = |b: &u8| b.is_ascii_digit() || *b == b'.';
    // The whole dotted number the span is part of.
    let mut start = span.start;
    while start > 0 && bytes.get(start - 1).is_some_and(is_part) {
        start -= 1;
    }
    let mut end = span.end;
    while bytes.get(end).is_some_and(is_part) {
        end += 1;
    }
    let number = text
        .get(start..end)
        .unwrap_or_default()
        .trim_end_matches('.');
    let dotted = number.bytes().filter(|&b| b == b'.').count() >= 2
        && number.bytes().all(|b| is_part(&b))
        && number.starts_with(|c: char| c.is_ascii_digit());
    if !dotted {
        return false;
    }
    let before = text
        .get(..start)
        .unwrap_or_default()
        .trim_end_matches([' ', ':', '\t']);
    let word = before
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '-'))
        .next()
        .unwrap_or_default();
    !word.is_empty() && lexicon.has(L::VersionWords, word)
}

/// Is `span` (a part of) a UUID or a hexadecimal digest (`7c9e6679-7425-40de-…`,
/// `4bf92f3577b34da6…`): the token around it, letters, digits and hyphens, is hex digits in
/// the 8-4-4-4-12 groups of a UUID, or sixteen hex digits or more with a letter and a digit.
fn in_hex_token(text: &str, span: Span) -> bool {
    let bytes = text.as_bytes();
    let part = |b: &u8| b.is_ascii_alphanumeric() || *b == b'-';
    let mut start = span.start;
    while start > 0 && bytes.get(start - 1).is_some_and(part) {
        start -= 1;
    }
    let mut end = span.end;
    while bytes.get(end).is_some_and(part) {
        end += 1;
    }
    let token = text.get(start..end).unwrap_or_default();
    let groups: Vec<&str> = token.split('-').collect();
    let hex = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid = groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12]) && groups.iter().all(|g| hex(g));
    let digest = groups.len() == 1
        && token.len() >= 16
        && hex(token)
        && token.bytes().any(|b| b.is_ascii_digit())
        && token.bytes().any(|b| b.is_ascii_alphabetic());
    uuid || digest
}

/// The two shapes of a word with a code after it.
enum Code {
    /// A number of five digits or more after a word (`Fehler 30007`, `ticket 448210`): house
    /// numbers run to four.
    Long,
    /// A number with a letter after a lower-case word (`seat 14C`, `gate 3B`): streets are
    /// capitalised.
    Lettered,
}

/// A word and a code after it (and only codes after that: `seat 14C, PNR`), which an
/// address line is not unless the word names a place or a unit; the shape and the word.
fn labelled_code(value: &str) -> Option<(Code, &str)> {
    let words: Vec<&str> = value
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let (&first, rest) = words.split_first()?;
    let &number = rest.first()?;
    // What follows the code may only be more codes (`seat 14C, PNR`), not a street or town.
    let codes_after = rest.iter().skip(1).all(|w| {
        w.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    });
    let word = first.chars().all(char::is_alphabetic);
    let digits = number.chars().filter(char::is_ascii_digit).count();
    let long_number = number.chars().all(|c| c.is_ascii_digit()) && digits >= 5;
    let lettered = digits > 0
        && number.chars().all(|c| c.is_ascii_alphanumeric())
        && number.ends_with(|c: char| c.is_ascii_alphabetic())
        && first.starts_with(char::is_lowercase);
    if !(word && codes_after) {
        return None;
    }
    if long_number {
        Some((Code::Long, first))
    } else if lettered {
        Some((Code::Lettered, first))
    } else {
        None
    }
}

/// Does the text before `at` end an earlier part of the same address line (`…, Mumbai, ` before
/// `Maharashtra 400043`)?
fn continues_a_line(text: &str, at: usize) -> bool {
    text.get(..at)
        .map(str::trim_end)
        .is_some_and(|before| before.ends_with(','))
}

/// A URL passes the `url` or `domain` validator ("SWI/SNF-Brg1" is a gene complex, "http://"
/// alone no address).
pub(super) fn urls(ctx: &Ctx<'_>, work: &mut Work) {
    retain_kind(
        work,
        |c| c.kind == Target::Model(Kind::Url),
        |c| {
            let value = ctx.text.get(c.span.range()).unwrap_or_default();
            validate::url(value) || validate::domain(value)
        },
    );
}

/// A phone passes the `phone` validator and stands alone, like the phone rules' candidates
/// ("36.87-69.63" in a confidence interval, "837-839" pages are no phones).
pub(super) fn phones(ctx: &Ctx<'_>, work: &mut Work) {
    retain_kind(
        work,
        |c| c.kind == Target::Model(Kind::Phone),
        |c| {
            let value = ctx.text.get(c.span.range()).unwrap_or_default();
            validate::phone(value)
                && validate::stands_alone(ctx.text, c.span.start, c.span.end)
                && !is_version(ctx.lexicon, ctx.text, c.span)
                && !named_other_number(ctx.lexicon, ctx.text, c.span)
        },
    );
}

/// True when one of the three words before `span` on its line names another kind of number
/// ("serial", "case", "Bestellung": the lexicon's `number_roles`).
pub(super) fn named_other_number(lexicon: &Lexicon, text: &str, span: Span) -> bool {
    let line_start = text
        .get(..span.start)
        .and_then(|b| b.rfind('\n'))
        .map_or(0, |i| i + 1);
    text.get(line_start..span.start)
        .unwrap_or_default()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .rev()
        .take(3)
        .any(|w| lexicon.has(L::NumberRoles, w))
}

/// A person starting with a lower-case letter ("miRNA", "vitro"), or with no capital at
/// all, must be a known given name ("ask maria" in chat); a person of one upper-case word
/// ("NHEJ") a given name; a one-word person that is not a known given name must be shaped
/// like a name ([`name_shaped`]) and no eponym ("Alzheimer's disease").
pub(super) fn people(ctx: &Ctx<'_>, work: &mut Work) {
    let gaz = ctx.gazetteers;
    retain_kind(work, Candidate::is_person, |c| {
        let value = ctx.text.get(c.span.range()).unwrap_or_default();
        let one_word = !value.contains(char::is_whitespace);
        let starts_lower = value
            .chars()
            .find(|ch| ch.is_alphabetic())
            .is_some_and(char::is_lowercase);
        let no_capital = !value.contains(char::is_uppercase);
        if starts_lower || no_capital {
            // "ask maria" in chat, not "miRNA", "mTOR" or `len` in code, nor a piece of a
            // compound word ("cherry-picked", "well-will").
            let bytes = ctx.text.as_bytes();
            let lower = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_lowercase);
            let compound = (bytes.get(c.span.end) == Some(&b'-') && lower(c.span.end + 1))
                || (c.span.start >= 2
                    && bytes.get(c.span.start - 1) == Some(&b'-')
                    && lower(c.span.start - 2));
            return no_capital && !compound && gaz.mentions_given_name(ctx.lexicon, value);
        }
        if !one_word {
            return true;
        }
        let given = gaz.is_given_name(value);
        let acronym = value.chars().filter(|ch| ch.is_alphabetic()).count() >= 2
            && !value.chars().any(char::is_lowercase);
        if acronym {
            return given;
        }
        given || (name_shaped(ctx.lexicon, value) && !is_eponym(ctx.lexicon, ctx.text, c.span))
    });
}

/// A place starting with a lower-case letter must be a gazetteer place; a one-word place is
/// no eponym ("Addison's disease").
pub(super) fn places(ctx: &Ctx<'_>, work: &mut Work) {
    retain_kind(
        work,
        |c| c.kind == Target::Model(Kind::Location),
        |c| {
            let value = ctx.text.get(c.span.range()).unwrap_or_default();
            let one_word = !value.contains(char::is_whitespace);
            let starts_lower = value
                .chars()
                .find(|ch| ch.is_alphabetic())
                .is_some_and(char::is_lowercase);
            if starts_lower {
                return ctx
                    .gazetteers
                    .places(value)
                    .iter()
                    .any(|h| h.span.len() == value.len());
            }
            !(one_word && is_eponym(ctx.lexicon, ctx.text, c.span))
        },
    );
}

/// Is a word naming an identifier within 60 bytes before `span` (in its sentence) or 30
/// after, on its line?
pub(super) fn names_an_identifier(lexicon: &Lexicon, text: &str, span: Span) -> bool {
    let (line_start, line_end) = line_around(text, span);
    // Nor in an earlier sentence: one ends at ". " after a word of four characters or more
    // ("No. 4471" does not end one).
    let sentence_start = text
        .get(line_start..span.start)
        .and_then(|before| {
            before.rmatch_indices(". ").find_map(|(i, _)| {
                let word = before
                    .get(..i)?
                    .rsplit(|c: char| !c.is_alphanumeric())
                    .next()?;
                (word.chars().count() >= 4).then_some(line_start + i + 2)
            })
        })
        .unwrap_or(line_start);
    let mut from = span.start.saturating_sub(60).max(sentence_start);
    while !text.is_char_boundary(from) {
        from += 1;
    }
    let mut to = (span.end + 30).min(line_end);
    while !text.is_char_boundary(to) {
        to -= 1;
    }
    let around = [
        text.get(from..span.start).unwrap_or_default(),
        text.get(span.end..to).unwrap_or_default(),
    ];
    around.iter().any(|part| {
        part.split(|ch: char| !(ch.is_alphanumeric() || ch == '\''))
            .any(|w| lexicon.has(L::IdentifierWords, w))
    })
}

/// Is one word shaped like a name? No digit, and each hyphenated part a capital followed by
/// lower-case letters, with a capital inside only after one of the lexicon's
/// `name_prefixes` ("McDonald", "O'Neill", "Weeks-Rivas"). Not "RhoA", "Lam6", "Golli-MBP",
/// "N-cadherin".
pub(crate) fn name_shaped(lexicon: &Lexicon, word: &str) -> bool {
    !word.contains(|c: char| c.is_ascii_digit())
        && word.split('-').all(|part| {
            let mut letters = part.chars();
            let Some(first) = letters.next() else {
                return false;
            };
            if !first.is_uppercase() {
                return false;
            }
            let rest = letters.as_str();
            if !rest.contains(char::is_uppercase) {
                return true;
            }
            lexicon.words(L::NamePrefixes).iter().any(|p| {
                part.strip_prefix(p.as_str()).is_some_and(|tail| {
                    let mut tail = tail.chars();
                    tail.next().is_some_and(char::is_uppercase) && !tail.any(char::is_uppercase)
                })
            })
        })
}

/// Does an eponym's noun follow `span` ("'s disease", " disease", "’s syndrome")?
pub(crate) fn is_eponym(lexicon: &Lexicon, text: &str, span: Span) -> bool {
    let rest = text.get(span.end..).unwrap_or_default();
    let rest = rest
        .strip_prefix("'s")
        .or_else(|| rest.strip_prefix("\u{2019}s"))
        .unwrap_or(rest);
    let Some(rest) = rest.strip_prefix([' ', '-']) else {
        return false;
    };
    let word: String = rest
        .chars()
        .take_while(|ch| ch.is_alphabetic())
        .collect::<String>()
        .to_lowercase();
    lexicon.has(L::EponymHeads, &word)
}

/// Numbers alone that read as a measure, not as a building number or a postcode: a decimal
/// ("274.8"), a range ("300-600", "10 to -35") or a list ("4, 6, 7 and").
pub(crate) fn is_numeric_range(lexicon: &Lexicon, value: &str) -> bool {
    if !numbers_only(value, |w| {
        lexicon.has(L::ListWords, w) || lexicon.has(L::RangeWords, w)
    }) {
        return false;
    }
    let bytes = value.as_bytes();
    let decimal = bytes
        .windows(3)
        .any(|w| matches!(w, [a, b'.' | b',', c] if a.is_ascii_digit() && c.is_ascii_digit()));
    let joined = value.contains(['-', '\u{2013}'])
        || lexicon
            .words(L::RangeWords)
            .iter()
            .any(|r| value.contains(&format!(" {r} ")))
        || value.contains(", ");
    decimal || joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        Lexicon::default()
    }

    #[test]
    fn measures_are_no_addresses() {
        let l = lexicon();
        for measure in ["274.8", "300-600", "10 to -35", "4, 6, 7 and", "12,5"] {
            assert!(is_numeric_range(&l, measure), "{measure}");
        }
        for part in ["4814", "62 Elm Road", "Apt. 4-5", "671 945"] {
            assert!(!is_numeric_range(&l, part), "{part}");
        }
    }

    proptest::proptest! {
        /// The checks on model guesses read the text around any span of any text without
        /// panicking (the spans fall on character boundaries, as the model's do).
        #[test]
        fn checks_on_guesses_never_panic(
            text in "[ a-zA-Z0-9'.\\-\n\u{2019}ÉéßÆ漢字]{0,80}",
            a in 0usize..90,
            b in 0usize..90,
        ) {
            let l = lexicon();
            let bounds: Vec<usize> =
                text.char_indices().map(|(i, _)| i).chain([text.len()]).collect();
            let start = bounds[a % bounds.len()];
            let end = bounds[b % bounds.len()].max(start);
            let span = Span::new(start, end);
            let _ = names_an_identifier(&l, &text, span);
            let _ = is_eponym(&l, &text, span);
            let _ = name_shaped(&l, &text[span.range()]);
            let _ = is_numeric_range(&l, &text[span.range()]);
            let _ = crate::validate::stands_alone(&text, start, end);
            for kind in [Kind::Person, Kind::Location] {
                let c = Candidate::new(span, Target::Model(kind), 0.7, super::super::super::candidate::Source::Model);
                for piece in runs(&l, &text, c) {
                    proptest::prop_assert!(piece.span.start >= start && piece.span.end <= end);
                    proptest::prop_assert!(text.get(piece.span.range()).is_some());
                }
            }
        }
    }

    #[test]
    fn words_shaped_like_names_and_codes_that_are_not() {
        let l = lexicon();
        for name in [
            "Westgard",
            "McDonald",
            "O'Neill",
            "D'Angelo",
            "Weeks-Rivas",
            "Ærø",
            "Éloïse",
        ] {
            assert!(name_shaped(&l, name), "{name}");
        }
        for code in [
            "RhoA",
            "Lam6",
            "Golli-MBP",
            "N-cadherin",
            "SIVsyk",
            "McÉÉ",
            "-",
        ] {
            assert!(!name_shaped(&l, code), "{code}");
        }
    }

    #[test]
    fn lower_case_words_split_names_and_two_word_terms_are_dropped() {
        let l = lexicon();
        let cut = |text: &str| -> Vec<String> {
            let c = Candidate::new(
                Span::new(0, text.len()),
                Target::Model(Kind::Person),
                0.8,
                super::super::super::candidate::Source::Model,
            );
            runs(&l, text, c)
                .iter()
                .map(|c| text[c.span.range()].to_string())
                .collect()
        };
        assert_eq!(cut("Mill Village by helicopter"), ["Mill Village"]);
        assert_eq!(
            cut("Garcia songwriter Samantha Bašić"),
            ["Garcia", "Samantha Bašić"]
        );
        assert_eq!(cut("Maria de la Cruz"), ["Maria de la Cruz"]);
        assert_eq!(cut("Isle of Man by ferry"), ["Isle of Man"]);
        assert!(cut("Candida albicans").is_empty());
        assert_eq!(cut("ana lima"), ["ana lima"]);
    }

    #[test]
    fn eponyms_and_identifier_words() {
        let l = lexicon();
        let text = "Alzheimer's disease, Cox regression, Parkinson\u{2019}s syndrome, Maria's car.";
        let at = |w: &str| {
            let start = text.find(w).expect("word");
            Span::new(start, start + w.len())
        };
        assert!(is_eponym(&l, text, at("Alzheimer")));
        assert!(is_eponym(&l, text, at("Cox")));
        assert!(is_eponym(&l, text, at("Parkinson")));
        assert!(!is_eponym(&l, text, at("Maria")));

        let text = "Passport: K4719305. The SNP rs4420638 and compound BX7791.\nID\nQ1234567 — ß";
        let at = |w: &str| {
            let start = text.find(w).expect("code");
            Span::new(start, start + w.len())
        };
        assert!(names_an_identifier(&l, text, at("K4719305")));
        assert!(!names_an_identifier(&l, text, at("rs4420638")));
        assert!(!names_an_identifier(&l, text, at("BX7791")));
        // The word must be on the code's line.
        assert!(!names_an_identifier(&l, text, at("Q1234567")));
    }
}
