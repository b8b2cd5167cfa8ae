//! From tagged words to whole entities: BIO pieces joined into PERSON, ADDRESS, LOCATION and the
//! identifier types. Pure functions over spans, tested without the model.

use crate::redact::Span;

use super::lexicon::{L, Lexicon};

/// What the tagger can say a word is. The model's labels, less the BIO prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Piece {
    GivenName,
    Surname,
    Email,
    Phone,
    Url,
    TaxId,
    BankAccount,
    RoutingNumber,
    GovernmentId,
    Passport,
    DriversLicense,
    BuildingNumber,
    StreetName,
    SecondaryAddress,
    City,
    State,
    ZipCode,
}

impl Piece {
    pub(crate) const COUNT: usize = 17;
    pub(crate) const ALL: [Piece; Piece::COUNT] = [
        Piece::GivenName,
        Piece::Surname,
        Piece::Email,
        Piece::Phone,
        Piece::Url,
        Piece::TaxId,
        Piece::BankAccount,
        Piece::RoutingNumber,
        Piece::GovernmentId,
        Piece::Passport,
        Piece::DriversLicense,
        Piece::BuildingNumber,
        Piece::StreetName,
        Piece::SecondaryAddress,
        Piece::City,
        Piece::State,
        Piece::ZipCode,
    ];

    /// The piece for a model label without its `B-`/`I-` prefix.
    pub(crate) fn from_model_label(label: &str) -> Option<Piece> {
        Some(match label {
            "GIVEN_NAME" => Piece::GivenName,
            "SURNAME" => Piece::Surname,
            "EMAIL" => Piece::Email,
            "PHONE" => Piece::Phone,
            "URL" => Piece::Url,
            "TAX_ID" => Piece::TaxId,
            "BANK_ACCOUNT" => Piece::BankAccount,
            "ROUTING_NUMBER" => Piece::RoutingNumber,
            "GOVERNMENT_ID" => Piece::GovernmentId,
            "PASSPORT" => Piece::Passport,
            "DRIVERS_LICENSE" => Piece::DriversLicense,
            "BUILDING_NUMBER" => Piece::BuildingNumber,
            "STREET_NAME" => Piece::StreetName,
            "SECONDARY_ADDRESS" => Piece::SecondaryAddress,
            "CITY" => Piece::City,
            "STATE" => Piece::State,
            "ZIP_CODE" => Piece::ZipCode,
            _ => return None,
        })
    }

    fn family(self) -> Family {
        match self {
            Piece::GivenName | Piece::Surname => Family::Name,
            Piece::BuildingNumber
            | Piece::StreetName
            | Piece::SecondaryAddress
            | Piece::City
            | Piece::State
            | Piece::ZipCode => Family::Address,
            other => Family::Alone(other),
        }
    }

    /// A place name: a whole group of these alone is a LOCATION rather than an ADDRESS.
    fn is_place(self) -> bool {
        matches!(self, Piece::City | Piece::State)
    }
}

/// Pieces that join into one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Name,
    Address,
    Alone(Piece),
}

/// A word (as the tokenizer's pre-tokenizer splits: punctuation marks are words) with the
/// model's label for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct TaggedWord {
    /// Byte span in the whole text.
    pub(crate) span: Span,
    pub(crate) piece: Piece,
    /// The model said `B-` (begins an entity) rather than `I-`.
    pub(crate) begin: bool,
    /// Probability of the piece type, averaged over the word's tokens.
    pub(crate) score: f32,
}

/// What a group of pieces became.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Person,
    Address,
    Location,
    Email,
    Phone,
    Url,
    TaxId,
    BankAccount,
    RoutingNumber,
    GovernmentId,
    Passport,
    DriversLicense,
}

impl Kind {
    /// The entity type name the redactor uses (and names placeholders after).
    pub(crate) fn entity(self) -> &'static str {
        match self {
            Kind::Person => "PERSON",
            Kind::Address => "ADDRESS",
            Kind::Location => "LOCATION",
            Kind::Email => "EMAIL",
            Kind::Phone => "PHONE",
            Kind::Url => "URL",
            Kind::TaxId => "TAX_ID",
            Kind::BankAccount => "BANK_ACCOUNT",
            Kind::RoutingNumber => "ROUTING_NUMBER",
            Kind::GovernmentId => "GOVERNMENT_ID",
            Kind::Passport => "PASSPORT",
            Kind::DriversLicense => "DRIVERS_LICENSE",
        }
    }

    fn alone(piece: Piece) -> Kind {
        match piece {
            Piece::Email => Kind::Email,
            Piece::Phone => Kind::Phone,
            Piece::Url => Kind::Url,
            Piece::TaxId => Kind::TaxId,
            Piece::BankAccount => Kind::BankAccount,
            Piece::RoutingNumber => Kind::RoutingNumber,
            Piece::GovernmentId => Kind::GovernmentId,
            Piece::Passport => Kind::Passport,
            Piece::DriversLicense => Kind::DriversLicense,
            Piece::GivenName | Piece::Surname => Kind::Person,
            _ => Kind::Address,
        }
    }
}

/// A whole entity assembled from tagged words.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Entity {
    pub(crate) span: Span,
    pub(crate) kind: Kind,
    /// The mean of its words' scores.
    pub(crate) score: f32,
}

/// May two words of the same family, with `gap` between them, belong to one entity?
fn joins(
    lexicon: &Lexicon,
    family: Family,
    prev: &TaggedWord,
    next: &TaggedWord,
    text: &str,
) -> bool {
    let Some(gap) = text.get(prev.span.end..next.span.start) else {
        return false;
    };
    match family {
        Family::Name => {
            // A given name after a surname starts another person ("Ana Lima Rui Souza" is two).
            if next.piece == Piece::GivenName && prev.piece == Piece::Surname && next.begin {
                return false;
            }
            let prev_text = text.get(prev.span.range()).unwrap_or_default();
            gap.chars().all(|c| c == ' ' || c == '\t')
                || matches!(gap, "-" | "'" | "\u{2019}")
                // An initial: "Margaret S. Stouffer" has the words "S", ".", "Stouffer".
                || (prev_text == "." && gap == " ")
                || (prev_text.chars().count() == 1 && gap.is_empty())
                || is_initial_gap(gap)
        }
        Family::Address => {
            // Address lines run across commas, line breaks, quote marks of a quoted mail, the
            // odd period or `#`, and unit words the model leaves untagged ("Suite", "Apt.").
            let rest = strip_unit_words(lexicon, gap);
            let rest = skip_place_lines(&rest);
            rest.chars().count() <= 6
                && rest.chars().all(|c| {
                    c.is_whitespace() || matches!(c, ',' | '.' | '#' | '-' | '/' | '>' | '(' | ')')
                })
        }
        Family::Alone(_) => {
            (gap.is_empty() || gap.chars().all(|c| c == ' '))
                && !(next.begin && !gap.is_empty() && next.score > 0.5 && prev.score > 0.5)
        }
    }
}

/// An untagged middle initial between two name words: " S. " or " B ".
fn is_initial_gap(gap: &str) -> bool {
    let inner = gap.trim_matches([' ', '\t']);
    let mut chars = inner.chars();
    let (Some(first), rest) = (chars.next(), chars.as_str()) else {
        return false;
    };
    gap.starts_with([' ', '\t'])
        && gap.ends_with([' ', '\t'])
        && first.is_uppercase()
        && matches!(rest, "" | ".")
}

/// `gap` with unit words (the lexicon's `unit_words`) and the unit number after each removed
/// ("Apt. 5", "Suite 12B").
fn strip_unit_words(lexicon: &Lexicon, gap: &str) -> String {
    let mut out = String::with_capacity(gap.len());
    let mut after_unit = false;
    for part in gap.split_inclusive(|c: char| c.is_whitespace() || c == ',') {
        let word = part.trim_end_matches(|c: char| c.is_whitespace() || c == ',');
        let bare = word.trim_end_matches('.').to_lowercase();
        let tail = part.get(word.len()..).unwrap_or_default();
        if !bare.is_empty() && lexicon.has(L::UnitWords, &bare) {
            out.push_str(tail);
            after_unit = true;
        } else if (2..=3).contains(&word.len()) && word.chars().all(|c| c.is_ascii_uppercase()) {
            // A state or province code the model left untagged ("Portland, OR 97205").
            out.push_str(tail);
            after_unit = false;
        } else if after_unit
            && !word.is_empty()
            && word.chars().count() <= 6
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().all(|c| c.is_alphanumeric() || c == '-')
        {
            out.push_str(tail);
            after_unit = false;
        } else {
            out.push_str(part);
            after_unit = after_unit && word.is_empty();
        }
    }
    out
}

/// `gap` without the short lines of letters inside it: the town line of an address block
/// that the model left untagged ("68\n> Suite 377\n> HYVINKÄÄ\n> Finland").
fn skip_place_lines(gap: &str) -> String {
    let lines: Vec<&str> = gap.split('\n').collect();
    if lines.len() < 3 {
        return gap.to_string();
    }
    let inner = lines.get(1..lines.len() - 1).unwrap_or_default();
    let short_place = |line: &&str| {
        let t = line.trim_matches(|c: char| c.is_whitespace() || c == '>' || c == ',');
        !t.is_empty()
            && t.chars().count() <= 32
            && t.split_whitespace().count() <= 3
            && t.chars()
                .all(|c| c.is_alphabetic() || matches!(c, ' ' | '-' | '\'' | '.'))
    };
    if inner.len() <= 2 && inner.iter().all(short_place) {
        let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
            return gap.to_string();
        };
        return format!("{first}\n{last}");
    }
    gap.to_string()
}

/// How far before `start` a unit word ("Suite ", "Apt. ", "P.O. Box ": the lexicon's
/// `unit_words` and `unit_phrases`) or an intersection opener ("the corner of ":
/// `intersection_openers`) reaches, so the address span takes it in.
pub(crate) fn unit_prefix(lexicon: &Lexicon, text: &str, start: usize) -> usize {
    let before = text.get(..start).unwrap_or_default();
    let trimmed = before.trim_end_matches([' ', '\t']);
    if trimmed.len() == before.len() && !before.is_empty() {
        return start;
    }
    let openers = lexicon.words(L::IntersectionOpeners);
    let reach = openers
        .iter()
        .map(|o| o.chars().count())
        .max()
        .unwrap_or(0)
        .max(16);
    let lower_tail: String = trimmed
        .chars()
        .rev()
        .take(reach)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<String>()
        .to_lowercase();
    for opener in openers {
        if lower_tail.ends_with(opener.as_str()) {
            return trimmed.len() - opener.len();
        }
    }
    let word_start = trimmed
        .rfind(|c: char| c.is_whitespace() || c == ',' || c == '>')
        .map_or(0, |i| i + 1);
    let word = trimmed.get(word_start..).unwrap_or_default();
    let bare = word.trim_end_matches('.').to_lowercase();
    if lexicon.has(L::UnitWords, &bare) {
        // "P.O. Box": take the "P.O." before "Box" too.
        let earlier = trimmed.get(..word_start).unwrap_or_default().trim_end();
        let prev_start = earlier
            .rfind(|c: char| c.is_whitespace() || c == ',' || c == '>')
            .map_or(0, |i| i + 1);
        let prev = earlier.get(prev_start..).unwrap_or_default().to_lowercase();
        let phrase = format!("{} {bare}", prev.trim_end_matches('.'));
        if lexicon.has(L::UnitPhrases, &phrase) {
            return prev_start;
        }
        return word_start;
    }
    start
}

/// Joins tagged words (sorted by start, not overlapping) into entities.
///
/// Names: given names and surnames next to each other are one PERSON. Addresses: building
/// number, street, secondary unit, city, state and postal code next to each other (across
/// commas and line breaks) are one ADDRESS; a group of only cities and states is a LOCATION.
/// Everything else joins with its own kind across spaces.
pub(crate) fn assemble(lexicon: &Lexicon, text: &str, words: &[TaggedWord]) -> Vec<Entity> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(first) = words.get(i) {
        let family = first.piece.family();
        let mut j = i + 1;
        while let (Some(prev), Some(next)) = (words.get(j - 1), words.get(j)) {
            if next.piece.family() != family || !joins(lexicon, family, prev, next, text) {
                break;
            }
            j += 1;
        }
        let group = words.get(i..j).unwrap_or_default();
        i = j;
        let (Some(head), Some(tail)) = (group.first(), group.last()) else {
            continue;
        };
        let score = group.iter().map(|w| w.score).sum::<f32>() / group.len() as f32;
        let kind = match family {
            Family::Name => Kind::Person,
            Family::Address if group.iter().all(|w| w.piece.is_place()) => Kind::Location,
            Family::Address => Kind::Address,
            Family::Alone(p) => Kind::alone(p),
        };
        let start = if family == Family::Address {
            unit_prefix(lexicon, text, head.span.start)
        } else {
            head.span.start
        };
        let span = trim_punctuation(text, Span::new(start, tail.span.end));
        if !span.is_empty() {
            out.push(Entity { span, kind, score });
        }
    }
    out
}

/// Drops punctuation words at either end of a span (a tagged trailing comma, say), keeping a
/// period after a letter-initial or abbreviation ("Apt.", "S.").
fn trim_punctuation(text: &str, span: Span) -> Span {
    let Some(s) = text.get(span.range()) else {
        return span;
    };
    let leading = s.len() - s.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
    let body = s.trim_start_matches(|c: char| !c.is_alphanumeric());
    let mut trimmed = body.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '.');
    if trimmed.ends_with('.') {
        // Keep the period only after a short abbreviation-like word ("Apt.", "St.", "S.").
        let last_word = trimmed
            .trim_end_matches('.')
            .rsplit(|c: char| !c.is_alphanumeric())
            .next()
            .unwrap_or_default();
        let keep = last_word.chars().count() <= 4 && last_word.chars().all(char::is_alphabetic);
        if !keep {
            trimmed = trimmed.trim_end_matches('.');
        }
    }
    Span::new(span.start + leading, span.start + leading + trimmed.len())
}

/// Merges the words of overlapping windows: a word tagged in two windows keeps the higher
/// score. Sorts by position.
pub(crate) fn merge_windows(words: &mut Vec<TaggedWord>) {
    words.sort_by(|a, b| {
        a.span
            .start
            .cmp(&b.span.start)
            .then(b.score.total_cmp(&a.score))
    });
    words.dedup_by(|later, kept| later.span.start < kept.span.end);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(text: &str, needle: &str, from: usize, piece: Piece, begin: bool) -> TaggedWord {
        let start = text[from..].find(needle).map(|i| i + from).unwrap_or(0);
        TaggedWord {
            span: Span::new(start, start + needle.len()),
            piece,
            begin,
            score: 0.9,
        }
    }

    fn show(text: &str, e: &[Entity]) -> Vec<(String, &'static str)> {
        e.iter()
            .map(|e| (text[e.span.range()].to_string(), e.kind.entity()))
            .collect()
    }

    #[test]
    fn names_join_across_spaces_initials_and_hyphens() {
        let t = "Ask Margaret S. Stouffer and Jean-Luc Picard today.";
        let w = vec![
            word(t, "Margaret", 0, Piece::GivenName, true),
            word(t, "S", 10, Piece::GivenName, true),
            word(t, ".", 14, Piece::GivenName, false),
            word(t, "Stouffer", 0, Piece::Surname, true),
            word(t, "Jean", 0, Piece::GivenName, true),
            word(t, "-", 30, Piece::GivenName, false),
            word(t, "Luc", 0, Piece::GivenName, false),
            word(t, "Picard", 0, Piece::Surname, true),
        ];
        assert_eq!(
            show(t, &assemble(&Lexicon::default(), t, &w)),
            [
                ("Margaret S. Stouffer".to_string(), "PERSON"),
                ("Jean-Luc Picard".to_string(), "PERSON")
            ]
        );
    }

    #[test]
    fn a_comma_separates_people_and_a_given_name_after_a_surname_starts_another() {
        let t = "Ana Lima, Rui Souza Carla Dias";
        let w = vec![
            word(t, "Ana", 0, Piece::GivenName, true),
            word(t, "Lima", 0, Piece::Surname, true),
            word(t, "Rui", 0, Piece::GivenName, true),
            word(t, "Souza", 0, Piece::Surname, true),
            word(t, "Carla", 0, Piece::GivenName, true),
            word(t, "Dias", 0, Piece::Surname, true),
        ];
        let got = show(t, &assemble(&Lexicon::default(), t, &w));
        assert_eq!(got.len(), 3, "{got:?}");
    }

    #[test]
    fn address_lines_become_one_address_and_a_lone_city_a_location() {
        let t = "Ship to 12 Elm Road, Apt. 4\nSpringfield, IL 62704 or visit Oslo.";
        let w = vec![
            word(t, "12", 0, Piece::BuildingNumber, true),
            word(t, "Elm", 0, Piece::StreetName, true),
            word(t, "Road", 0, Piece::StreetName, false),
            word(t, "Apt", 0, Piece::SecondaryAddress, true),
            word(t, ".", 24, Piece::SecondaryAddress, false),
            word(t, "4", 25, Piece::SecondaryAddress, false),
            word(t, "Springfield", 0, Piece::City, true),
            word(t, "IL", 0, Piece::State, true),
            word(t, "62704", 0, Piece::ZipCode, true),
            word(t, "Oslo", 0, Piece::City, true),
        ];
        assert_eq!(
            show(t, &assemble(&Lexicon::default(), t, &w)),
            [
                (
                    "12 Elm Road, Apt. 4\nSpringfield, IL 62704".to_string(),
                    "ADDRESS"
                ),
                ("Oslo".to_string(), "LOCATION")
            ]
        );
    }

    #[test]
    fn unit_words_and_intersections_belong_to_the_address() {
        let t =
            "Send it to Suite 12 or to the corner of 5 Elm Road and Pine Street, or P.O. Box 77";
        let w = vec![
            word(t, "12", 0, Piece::SecondaryAddress, true),
            word(t, "5", 30, Piece::BuildingNumber, true),
            word(t, "Elm", 0, Piece::StreetName, true),
            word(t, "Road", 0, Piece::StreetName, false),
            word(t, "77", 0, Piece::SecondaryAddress, true),
        ];
        let got = show(t, &assemble(&Lexicon::default(), t, &w));
        assert_eq!(got[0].0, "Suite 12");
        assert_eq!(got[1].0, "the corner of 5 Elm Road");
        assert_eq!(got[2].0, "P.O. Box 77");
        let t = "12 Elm Road, Apt. 5B, Leeds";
        let w = vec![
            word(t, "12", 0, Piece::BuildingNumber, true),
            word(t, "Elm", 0, Piece::StreetName, true),
            word(t, "Road", 0, Piece::StreetName, false),
            word(t, "Leeds", 0, Piece::City, true),
        ];
        assert_eq!(
            show(t, &assemble(&Lexicon::default(), t, &w)),
            [(t.to_string(), "ADDRESS")]
        );
        let t = "12 Elm Road\nApt. 4\nLeeds";
        let w = vec![
            word(t, "12", 0, Piece::BuildingNumber, true),
            word(t, "Elm", 0, Piece::StreetName, true),
            word(t, "Road", 0, Piece::StreetName, false),
            word(t, "4", 5, Piece::SecondaryAddress, true),
            word(t, "Leeds", 0, Piece::City, true),
        ];
        assert_eq!(
            show(t, &assemble(&Lexicon::default(), t, &w)),
            [(t.to_string(), "ADDRESS")]
        );
        // An untagged town line inside the block is taken in.
        let t = "12 Elm Road\nSuite 4\nHAWKSHEAD\n40100";
        let w = vec![
            word(t, "12", 0, Piece::BuildingNumber, true),
            word(t, "Elm", 0, Piece::StreetName, true),
            word(t, "Road", 0, Piece::StreetName, false),
            word(t, "4", 5, Piece::SecondaryAddress, true),
            word(t, "40100", 0, Piece::ZipCode, true),
        ];
        assert_eq!(
            show(t, &assemble(&Lexicon::default(), t, &w)),
            [(t.to_string(), "ADDRESS")]
        );
    }

    #[test]
    fn an_untagged_initial_joins_a_name() {
        let t = "Ask Barbara M. Probst";
        let w = vec![
            word(t, "Barbara", 0, Piece::GivenName, true),
            word(t, "Probst", 0, Piece::Surname, true),
        ];
        assert_eq!(
            show(t, &assemble(&Lexicon::default(), t, &w)),
            [("Barbara M. Probst".to_string(), "PERSON")]
        );
    }

    #[test]
    fn trailing_punctuation_is_trimmed_but_abbreviations_keep_their_period() {
        let t = "x Main St. y 40 Road, z";
        assert_eq!(
            &t[trim_punctuation(t, Span::new(2, 10)).range()],
            "Main St."
        );
        assert_eq!(
            &t[trim_punctuation(t, Span::new(13, 21)).range()],
            "40 Road"
        );
    }

    #[test]
    fn overlapping_windows_keep_the_better_word() {
        let mut w = vec![
            TaggedWord {
                span: Span::new(5, 9),
                piece: Piece::City,
                begin: true,
                score: 0.6,
            },
            TaggedWord {
                span: Span::new(0, 4),
                piece: Piece::GivenName,
                begin: true,
                score: 0.9,
            },
            TaggedWord {
                span: Span::new(5, 9),
                piece: Piece::Surname,
                begin: true,
                score: 0.8,
            },
        ];
        merge_windows(&mut w);
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].piece, Piece::Surname);
    }
}
