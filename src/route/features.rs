//! Cheap, named features of a prompt's text, which a learned router weighs
//! ([`LearnedRouter`](super::LearnedRouter)). Each is a number a reviewer can read back from
//! the text: its length, how much arithmetic it holds, whether it asks to compute or to
//! choose, whether its answer choices are numbers. None reads a value: the router sees the
//! redacted question.

/// The features, in the order [`features`] returns them; a router file names them in this
/// order and is refused when its names differ.
pub const FEATURE_NAMES: [&str; FEATURE_COUNT] = [
    "chars",
    "words",
    "numbers",
    "digit_share",
    "operators",
    "formula_marks",
    "compute_verb",
    "choice_form",
    "units",
    "lines",
    "sentences",
    "has_choices",
    "numeric_choices",
    "choice_length",
    "choices",
    "none_of_the_above",
    "reasoning_cue",
    "comparison_cue",
    "planning_cue",
    "code",
    "long_answer",
    "extra_questions",
    "plain_chars",
    "plain_numbers",
    "prompt_chars",
];

/// How many features there are.
pub const FEATURE_COUNT: usize = 25;

/// Words that ask for a computed answer.
const COMPUTE: &[&str] = &[
    "calculate",
    "compute",
    "find",
    "determine",
    "how many",
    "how much",
    "what is the value",
    "estimate",
    "solve",
    "evaluate",
    "simplify",
];
/// Words that ask to pick among statements.
const CHOICE: &[&str] = &[
    "which of the following",
    "which one",
    "true or false",
    "statement 1",
    "all of the following",
    "except",
];
/// Unit symbols, matched as whole words.
const UNITS: &[&str] = &[
    "kg", "g", "mg", "m", "cm", "mm", "km", "s", "ms", "m/s", "mol", "j", "kj", "k", "hz", "v",
    "a", "w", "kw", "ev", "atm", "pa", "kpa", "n", "l", "ml", "°c", "°f", "%",
];
// The hand-set score's cue lists (`complexity.rs`): one list per cue, read by both.
use super::complexity::{COMPARISON, LONG_ANSWER, PLANNING, REASONING};

/// Bumped when a feature is computed otherwise in a way the word lists do not show.
const FEATURES_REVISION: u32 = 1;

/// Digest of what the features are: their names, [`FEATURES_REVISION`] and every word list
/// (the hand-set score's cue lists among them). A router records it and is refused where the
/// features differ: weights fitted to other features would score silently wrong.
pub(super) fn features_digest() -> String {
    let mut text = format!("{FEATURES_REVISION}\n{}\n", FEATURE_NAMES.join(","));
    for list in [
        COMPUTE,
        CHOICE,
        UNITS,
        REASONING,
        COMPARISON,
        PLANNING,
        LONG_ANSWER,
    ] {
        text.push_str(&list.join("\u{1f}"));
        text.push('\n');
    }
    crate::digest::of([text.as_bytes()])
}

fn count_cues(lower: &str, list: &[&str]) -> usize {
    list.iter().filter(|c| lower.contains(*c)).count()
}

/// The question and its answer choices, when the prompt lists them as lettered lines
/// (`A. …`, `B) …`, after an optional `Options:` line).
fn split_choices(text: &str) -> (&str, Vec<&str>) {
    let mut choices = Vec::new();
    let mut question_end = text.len();
    let mut options_line = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let lettered = t.len() > 2 && {
            let b = t.as_bytes();
            b.first().is_some_and(u8::is_ascii_uppercase)
                && matches!(b.get(1), Some(b'.') | Some(b')'))
                && b.get(2) == Some(&b' ')
        };
        if lettered {
            if choices.is_empty() {
                question_end = options_line.unwrap_or(offset);
            }
            choices.push(t.get(3..).unwrap_or("").trim());
        } else if t.eq_ignore_ascii_case("options:") && choices.is_empty() {
            options_line = Some(offset);
        }
        offset += line.len();
    }
    if choices.len() < 2 {
        return (text, Vec::new());
    }
    (text.get(..question_end).unwrap_or(text), choices)
}

/// Numbers written with digits (`3`, `4.5`, `1,000`), counted once each.
fn numbers(text: &str) -> usize {
    let mut n = 0;
    let mut in_number = false;
    for c in text.chars() {
        let digit = c.is_ascii_digit();
        if digit && !in_number {
            n += 1;
        }
        in_number = digit || (in_number && (c == '.' || c == ','));
    }
    n
}

/// A choice that is a quantity: digits, with at most a short unit or sign around them.
fn numeric_choice(choice: &str) -> bool {
    choice.len() <= 30
        && choice.chars().any(|c| c.is_ascii_digit())
        && choice.split_whitespace().count() <= 4
}

fn ln1p(x: usize) -> f32 {
    (x as f32).ln_1p()
}

fn flag(b: bool) -> f32 {
    if b { 1.0 } else { 0.0 }
}

/// The features of `text`, in [`FEATURE_NAMES`] order.
///
/// ```
/// use promptveil::route::{FEATURE_NAMES, features};
///
/// let f = features("Calculate the speed of a 3 kg cart after 12 s.\nA. 4 m/s\nB. 6 m/s\nC. 9 m/s");
/// let get = |name: &str| f[FEATURE_NAMES.iter().position(|n| *n == name).unwrap()];
/// assert_eq!(get("compute_verb"), 1.0);
/// assert_eq!(get("has_choices"), 1.0);
/// assert_eq!(get("numeric_choices"), 1.0);
/// assert!(get("units") > 0.0);
/// ```
pub fn features(text: &str) -> [f32; FEATURE_COUNT] {
    let (question, choices) = split_choices(text);
    let lower = format!(" {} ", question.to_lowercase());
    let words: Vec<&str> = question.split_whitespace().collect();
    let chars = question.chars().count();
    let digits = question.chars().filter(char::is_ascii_digit).count();
    let nums = numbers(question);
    let operators = question
        .chars()
        .filter(|c| matches!(c, '=' | '+' | '^' | '*' | '/' | '<' | '>' | '×' | '÷' | '√'))
        .count();
    let formula = question.matches('$').count() + question.matches('\\').count();
    let units = words
        .iter()
        .filter(|w| {
            let w = w.trim_end_matches([',', '.', ';', ')', '?']).to_lowercase();
            UNITS.contains(&w.as_str())
        })
        .count();
    let sentences = question
        .split_inclusive(['.', '?', '!'])
        .filter(|s| s.trim().len() > 1)
        .count();
    let has_choices = !choices.is_empty();
    let numeric_choices = if has_choices {
        choices.iter().filter(|c| numeric_choice(c)).count() as f32 / choices.len() as f32
    } else {
        0.0
    };
    let choice_length = if has_choices {
        choices.iter().map(|c| c.chars().count()).sum::<usize>() / choices.len()
    } else {
        0
    };
    let none_of = choices.iter().any(|c| {
        let c = c.to_lowercase();
        c.starts_with("none of") || c.starts_with("all of the above")
    });
    let code = question.contains("```")
        || question.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with("def ") || t.starts_with("fn ") || (t.ends_with(';') && t.contains('('))
        });
    let questions = question.matches('?').count();
    // Length and numbers again, for prompts without choices: a word problem grows harder with
    // its length in a way a multiple-choice question does not.
    let plain = !has_choices;
    [
        ln1p(chars),
        ln1p(words.len()),
        ln1p(nums),
        if chars == 0 {
            0.0
        } else {
            digits as f32 / chars as f32
        },
        ln1p(operators),
        ln1p(formula),
        flag(count_cues(&lower, COMPUTE) > 0),
        flag(count_cues(&lower, CHOICE) > 0),
        ln1p(units),
        ln1p(text.lines().count()),
        ln1p(sentences),
        flag(has_choices),
        numeric_choices,
        ln1p(choice_length),
        choices.len() as f32 / 10.0,
        flag(none_of),
        count_cues(&lower, REASONING).min(3) as f32,
        count_cues(&lower, COMPARISON).min(3) as f32,
        count_cues(&lower, PLANNING).min(3) as f32,
        flag(code),
        flag(count_cues(&lower, LONG_ANSWER) > 0),
        questions.saturating_sub(1).min(4) as f32,
        if plain { ln1p(chars) } else { 0.0 },
        if plain { ln1p(nums) } else { 0.0 },
        ln1p(text.chars().count()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(f: &[f32; FEATURE_COUNT], name: &str) -> f32 {
        f[FEATURE_NAMES.iter().position(|n| *n == name).expect("name")]
    }

    #[test]
    fn choices_are_split_from_the_question() {
        let (q, c) = split_choices("Pick one.\nOptions:\nA. red\nB. blue\nC. 12 kg");
        assert_eq!(q, "Pick one.\n");
        assert_eq!(c, ["red", "blue", "12 kg"]);
        // One lettered line is no list of choices.
        let (q, c) = split_choices("A. Smith wrote to us.");
        assert_eq!(q, "A. Smith wrote to us.");
        assert!(c.is_empty());
    }

    #[test]
    fn word_problems_and_choices_read_apart() {
        let f = features("Tom has 3 boxes of 12 eggs and sells 20. How many are left?");
        assert_eq!(get(&f, "has_choices"), 0.0);
        assert_eq!(get(&f, "compute_verb"), 1.0);
        assert_eq!(get(&f, "numbers"), 3f32.ln_1p());
        assert_eq!(get(&f, "plain_numbers"), get(&f, "numbers"));
        let f =
            features("Which of the following is a mammal?\nA. Trout\nB. Whale\nC. None of these");
        assert_eq!(get(&f, "choice_form"), 1.0);
        assert_eq!(get(&f, "none_of_the_above"), 1.0);
        assert_eq!(get(&f, "numeric_choices"), 0.0);
        assert_eq!(get(&f, "plain_chars"), 0.0);
    }

    #[test]
    fn any_text_gives_finite_features() {
        for text in [
            "",
            "\n\n",
            "A. B.",
            "$$\\frac{1}{2}$$",
            &"9".repeat(10_000),
            "é😀 A) x\nB) y",
        ] {
            assert!(features(text).iter().all(|x| x.is_finite()), "{text:?}");
        }
    }
}
