//! Enrichment: a redacted question and redacted passages into one prompt that fits a token
//! budget, with numbered citations.
//!
//! A [`Template`] has named slots — `{instructions}`, `{context}`, `{question}`,
//! `{citations}` — parsed once. [`enrich`] fills them: the best passages first, each under its
//! citation number (`[1]`, `[2]`, …), duplicates (same passage id, or the same text) dropped,
//! the last passage that does not fit cut at a sentence end when enough of it fits, and never a
//! token over the budget as the [`TokenCounter`] counts.
//!
//! Only redacted text goes in: the question is a [`RedactedText`], and a passage is either
//! redacted ([`ContextPassage::redacted`], with the same vault as the question so a person is
//! the same placeholder in both) or declared public ([`ContextPassage::public`], for an index
//! of public documents). So an [`EnrichedPrompt`] is proof that everything in it went through
//! the redactor or was declared public.
//!
//! ```
//! use promptveil::enrich::{enrich, ContextPassage, HeuristicCounter, Template};
//! use promptveil::index::{Hit, Passage};
//! use promptveil::redact::{Redactor, Vault};
//!
//! let redactor = Redactor::builder().default_rules().build()?;
//! let vault = Vault::new();
//! let question = redactor.redact("Can ana@example.com pay in instalments?", &vault);
//! let passage = Passage::new("billing.md#1", "billing.md", "Payment plans",
//!     "Plans run for at most twelve months.");
//! let context = vec![ContextPassage::public(&passage)];
//! let template = Template::default();
//! let prompt = enrich(&template, "Answer from the context.", question.text(), &context, 200, &HeuristicCounter)?;
//! assert!(prompt.text().contains("[1] Payment plans"));
//! assert!(prompt.text().contains("[EMAIL_1]"));
//! assert_eq!(prompt.citations()[0].passage_id, "billing.md#1");
//! # Ok::<(), promptveil::Error>(())
//! ```

use std::collections::HashSet;

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::index::Passage;
use crate::redact::RedactedText;

/// Counts tokens for budgets.
pub trait TokenCounter: Send + Sync {
    /// Tokens `text` takes.
    fn count(&self, text: &str) -> usize;
}

/// A fast estimate, no tokenizer: a token per four ASCII bytes and one per other character
/// (CJK text is about a token a character). Errs on the high side for English prose.
#[derive(Debug, Clone, Copy, Default)]
pub struct HeuristicCounter;

impl TokenCounter for HeuristicCounter {
    fn count(&self, text: &str) -> usize {
        let (ascii, other) = text.chars().fold((0_usize, 0_usize), |(a, o), c| {
            if c.is_ascii() { (a + 1, o) } else { (a, o + 1) }
        });
        ascii.div_ceil(4) + other
    }
}

/// A slot of a [`Template`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Instructions,
    Context,
    Question,
    Citations,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Slot(Slot),
}

/// A prompt template with named slots, parsed once. `{{` and `}}` are literal braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// The template used when none is given.
pub const DEFAULT_TEMPLATE: &str =
    "{instructions}\n\nContext:\n{context}\n\nQuestion: {question}\n";

impl Default for Template {
    fn default() -> Template {
        Template::parse(DEFAULT_TEMPLATE).unwrap_or(Template {
            pieces: vec![Piece::Slot(Slot::Question)],
        })
    }
}

impl Template {
    /// Parses a template.
    ///
    /// ```
    /// use promptveil::enrich::Template;
    ///
    /// assert!(Template::parse("{instructions}\n{context}\nQ: {question}\nSources:\n{citations}").is_ok());
    /// assert!(Template::parse("no question slot").is_err());
    /// assert!(Template::parse("{question} {typo}").is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`] for an unknown slot, an unclosed `{`, a lone `}`, or a template
    /// without `{question}`.
    pub fn parse(source: &str) -> Result<Template> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = source.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().map(|&(_, n)| n) == Some('{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek().map(|&(_, n)| n) == Some('}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let rest = source.get(at + 1..).unwrap_or_default();
                    let Some(end) = rest.find('}') else {
                        return Err(Error::config(format!(
                            "template: `{{` at byte {at} is never closed"
                        )));
                    };
                    let name = rest.get(..end).unwrap_or_default();
                    let slot = match name {
                        "instructions" => Slot::Instructions,
                        "context" => Slot::Context,
                        "question" => Slot::Question,
                        "citations" => Slot::Citations,
                        other => {
                            return Err(Error::config(format!(
                                "template: unknown slot `{{{other}}}` (instructions, context, question, citations)"
                            )));
                        }
                    };
                    for _ in 0..name.chars().count() + 1 {
                        chars.next();
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Slot(slot));
                }
                '}' => {
                    return Err(Error::config(format!(
                        "template: `}}` at byte {at} closes nothing (write `}}}}` for a brace)"
                    )));
                }
                other => text.push(other),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        if !pieces.contains(&Piece::Slot(Slot::Question)) {
            return Err(Error::config("template: no `{question}` slot"));
        }
        Ok(Template { pieces })
    }

    fn render(&self, instructions: &str, context: &str, question: &str, citations: &str) -> String {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::Slot(Slot::Instructions) => out.push_str(instructions),
                Piece::Slot(Slot::Context) => out.push_str(context),
                Piece::Slot(Slot::Question) => out.push_str(question),
                Piece::Slot(Slot::Citations) => out.push_str(citations),
            }
        }
        out
    }
}

/// Where a numbered citation points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Citation {
    /// Its number in the prompt: `[1]` is 1.
    pub number: usize,
    /// The passage id.
    pub passage_id: String,
    /// The source file.
    pub source: String,
    /// The title shown.
    pub title: String,
    /// Byte range of the passage in its document.
    pub range: std::ops::Range<usize>,
    /// True when only the start of the passage fitted the budget.
    pub truncated: bool,
}

#[derive(Clone)]
enum PassageText {
    Redacted(RedactedText),
    Public(String),
}

/// A passage ready to go into a prompt: redacted, or declared public.
#[derive(Clone)]
pub struct ContextPassage {
    id: String,
    source: String,
    title: String,
    range: std::ops::Range<usize>,
    text: PassageText,
}

impl std::fmt::Debug for ContextPassage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextPassage")
            .field("id", &self.id)
            .field("public", &matches!(self.text, PassageText::Public(_)))
            .finish_non_exhaustive()
    }
}

impl ContextPassage {
    /// A passage whose text went through the redactor (with the question's vault). The title
    /// is not shown: it was not redacted.
    pub fn redacted(passage: &Passage, text: RedactedText) -> ContextPassage {
        ContextPassage {
            id: passage.id.clone(),
            source: passage.source.clone(),
            title: String::new(),
            range: passage.range.clone(),
            text: PassageText::Redacted(text),
        }
    }

    /// A passage of an index declared public: its title and text go in as they are.
    pub fn public(passage: &Passage) -> ContextPassage {
        ContextPassage {
            id: passage.id.clone(),
            source: passage.source.clone(),
            title: passage.title.clone(),
            range: passage.range.clone(),
            text: PassageText::Public(passage.text.clone()),
        }
    }

    fn text(&self) -> &str {
        match &self.text {
            PassageText::Redacted(t) => t.as_str(),
            PassageText::Public(t) => t,
        }
    }
}

/// Who said a turn of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The person asking (the caller's user).
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// `user` or `assistant`, as chat APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// An earlier turn of the conversation, redacted: made only from a [`RedactedText`] (redact
/// every turn with the question's vault, so a person is the same placeholder throughout).
#[derive(Clone, PartialEq, Eq)]
pub struct Turn {
    role: Role,
    text: String,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("role", &self.role)
            .field("len", &self.text.len())
            .finish()
    }
}

impl Turn {
    /// A turn said by `role`.
    pub fn new(role: Role, text: &RedactedText) -> Turn {
        Turn {
            role,
            text: text.as_str().to_string(),
        }
    }

    /// Who said it.
    pub fn role(&self) -> Role {
        self.role
    }

    /// What was said (redacted).
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// Tokens a chat API adds around each message (role, separators).
const TURN_OVERHEAD_TOKENS: usize = 4;

/// A prompt ready for a backend: built only from redacted or public text.
#[derive(Clone, PartialEq, Eq)]
pub struct EnrichedPrompt {
    text: String,
    citations: Vec<Citation>,
    tokens: usize,
    dropped: usize,
    history: Vec<Turn>,
    history_dropped: usize,
}

impl std::fmt::Debug for EnrichedPrompt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnrichedPrompt")
            .field("len", &self.text.len())
            .field("tokens", &self.tokens)
            .field("citations", &self.citations.len())
            .field("history", &self.history.len())
            .finish_non_exhaustive()
    }
}

impl EnrichedPrompt {
    /// The prompt text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The citations, in number order.
    pub fn citations(&self) -> &[Citation] {
        &self.citations
    }

    /// Tokens of the prompt, as the counter counted them.
    pub fn tokens(&self) -> usize {
        self.tokens
    }

    /// Passages left out: duplicates, and those the budget had no room for.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The earlier turns sent before the prompt, oldest first.
    pub fn history(&self) -> &[Turn] {
        &self.history
    }

    /// Earlier turns left out for the budget (the oldest go first).
    pub fn history_dropped(&self) -> usize {
        self.history_dropped
    }

    /// Adds the conversation so far (oldest first) before the prompt, within `budget` tokens
    /// in all: the question and its context keep their room, and the most recent turns fill
    /// what is left; older turns are left out, and so is an assistant turn that would open
    /// the conversation (chat APIs start with the user). [`tokens`](Self::tokens) then
    /// counts the turns kept.
    ///
    /// ```
    /// use promptveil::enrich::{enrich, HeuristicCounter, Role, Template, Turn};
    /// use promptveil::redact::{Redactor, Vault};
    ///
    /// let redactor = Redactor::builder().default_rules().build()?;
    /// let vault = Vault::new(); // one vault for the whole conversation
    /// let earlier = [
    ///     Turn::new(Role::User, redactor.redact("I am ana@example.com.", &vault).text()),
    ///     Turn::new(Role::Assistant, redactor.redact("Hello ana@example.com!", &vault).text()),
    /// ];
    /// let q = redactor.redact("Which e-mail do you have for me?", &vault);
    /// let prompt = enrich(&Template::default(), "", q.text(), &[], 200, &HeuristicCounter)?
    ///     .with_history(earlier.to_vec(), 200, &HeuristicCounter);
    /// assert_eq!(prompt.history()[1].text(), "Hello [EMAIL_1]!");
    /// assert!(prompt.tokens() <= 200);
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    #[must_use]
    pub fn with_history(
        mut self,
        turns: Vec<Turn>,
        budget: usize,
        counter: &dyn TokenCounter,
    ) -> EnrichedPrompt {
        let mut room = budget.saturating_sub(self.tokens);
        let mut keep = turns.len();
        for turn in turns.iter().rev() {
            let cost = counter.count(&turn.text) + TURN_OVERHEAD_TOKENS;
            if cost > room {
                break;
            }
            room -= cost;
            keep -= 1;
        }
        let mut kept: Vec<Turn> = turns.into_iter().skip(keep).collect();
        let total = keep + kept.len();
        let leading = kept
            .iter()
            .take_while(|t| t.role == Role::Assistant)
            .count();
        kept.drain(..leading);
        self.tokens += kept
            .iter()
            .map(|t| counter.count(&t.text) + TURN_OVERHEAD_TOKENS)
            .sum::<usize>();
        self.history_dropped = total - kept.len();
        self.history = kept;
        self
    }
}

/// Least tokens of a passage worth putting in when only its start fits.
const MIN_PARTIAL_TOKENS: usize = 24;

/// Builds the prompt: `passages` best first, within `budget` tokens in all.
///
/// ```
/// use promptveil::enrich::{ContextPassage, HeuristicCounter, Template, enrich};
/// use promptveil::index::Passage;
/// use promptveil::redact::{Redactor, Vault};
///
/// let redactor = Redactor::builder().default_rules().build()?;
/// let vault = Vault::new(); // one vault for the question and its passages
/// let question = redactor.redact("Can ana@example.com pay in instalments?", &vault);
/// let doc = Passage::new("billing.md#1", "billing.md", "Payment plans",
///     "Plans run for at most twelve months; write to billing@clinic.example.");
/// let context = [ContextPassage::redacted(&doc, redactor.redact(&doc.text, &vault).into_parts().0)];
///
/// let prompt = enrich(&Template::default(), "Answer from the context.", question.text(),
///                     &context, 200, &HeuristicCounter)?;
/// assert!(prompt.text().contains("Question: Can [EMAIL_1] pay in instalments?"));
/// assert!(prompt.text().contains("write to [EMAIL_2]"));
/// assert_eq!(prompt.citations()[0].passage_id, "billing.md#1");
/// assert!(prompt.tokens() <= 200);
/// # Ok::<(), promptveil::Error>(())
/// ```
///
/// # Errors
///
/// [`ErrorKind::Config`] when the template with the instructions and question alone exceeds the
/// budget (no context can fit and the question cannot be cut).
pub fn enrich(
    template: &Template,
    instructions: &str,
    question: &RedactedText,
    passages: &[ContextPassage],
    budget: usize,
    counter: &dyn TokenCounter,
) -> Result<EnrichedPrompt> {
    let bare = template.render(instructions, "", question.as_str(), "");
    let fixed = counter.count(&bare);
    if fixed > budget {
        return Err(Error::new(
            ErrorKind::Config,
            format!("the prompt needs {fixed} tokens without context; the budget is {budget}"),
        ));
    }
    let mut seen_ids = HashSet::new();
    let mut seen_texts = HashSet::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut citations: Vec<Citation> = Vec::new();
    let mut dropped = 0;
    let render = |blocks: &[String], citations: &[Citation]| {
        let context = blocks.join("\n\n");
        let cites = citations
            .iter()
            .map(|c| format!("[{}] {} ({})", c.number, c.passage_id, c.source))
            .collect::<Vec<_>>()
            .join("\n");
        template.render(instructions, &context, question.as_str(), &cites)
    };
    for p in passages {
        let normalised: String = p.text().split_whitespace().collect::<Vec<_>>().join(" ");
        if !seen_ids.insert(p.id.clone()) || !seen_texts.insert(normalised) {
            dropped += 1;
            continue;
        }
        let number = citations.len() + 1;
        let head = if p.title.is_empty() {
            format!("[{number}]")
        } else {
            format!("[{number}] {}", p.title)
        };
        let citation = Citation {
            number,
            passage_id: p.id.clone(),
            source: p.source.clone(),
            title: p.title.clone(),
            range: p.range.clone(),
            truncated: false,
        };
        let mut try_blocks = blocks.clone();
        try_blocks.push(format!("{head}\n{}", p.text()));
        let mut try_cites = citations.clone();
        try_cites.push(citation.clone());
        if counter.count(&render(&try_blocks, &try_cites)) <= budget {
            blocks = try_blocks;
            citations = try_cites;
            continue;
        }
        // Only part fits: the longest start ending at a sentence end that keeps the budget.
        let text = p.text();
        let ends: Vec<usize> = text
            .match_indices(['.', '!', '?', '\n'])
            .map(|(i, m)| i + m.len())
            .collect();
        // A longer start never takes fewer tokens, so the longest start that fits is found
        // by bisection over the sentence ends (a few renders, not one per sentence); each
        // candidate is still checked against the budget as rendered.
        let attempt = |end: usize| {
            let part = text.get(..end).unwrap_or_default().trim_end();
            let mut b = blocks.clone();
            b.push(format!("{head}\n{part} …"));
            let mut c = citations.clone();
            c.push(Citation {
                truncated: true,
                ..citation.clone()
            });
            let fits = counter.count(&render(&b, &c)) <= budget;
            fits.then_some((b, c))
        };
        let long_enough = |end: usize| {
            counter.count(text.get(..end).unwrap_or_default().trim_end()) >= MIN_PARTIAL_TOKENS
        };
        // Ends [lo, hi) are long enough; find the last one that fits.
        let lo = ends.partition_point(|&end| !long_enough(end));
        let (mut a, mut b) = (lo, ends.len());
        let mut best = None;
        while a < b {
            let mid = a + (b - a) / 2;
            match ends.get(mid).and_then(|&end| attempt(end)) {
                Some(found) => {
                    best = Some(found);
                    a = mid + 1;
                }
                None => b = mid,
            }
        }
        match best {
            Some((b, c)) => {
                blocks = b;
                citations = c;
            }
            None => dropped += 1,
        }
    }
    let text = render(&blocks, &citations);
    let tokens = counter.count(&text);
    Ok(EnrichedPrompt {
        text,
        citations,
        tokens,
        dropped,
        history: Vec::new(),
        history_dropped: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::{Redactor, Vault};

    fn passage(id: &str, title: &str, text: &str) -> ContextPassage {
        ContextPassage::public(&Passage::new(id, id, title, text))
    }

    #[test]
    fn a_cut_passage_keeps_the_most_sentences_the_budget_allows() {
        let r = Redactor::builder().default_rules().build().expect("rules");
        let q = r.redact("What does the policy say?", &Vault::new());
        let text: String = (1..=40)
            .map(|i| format!("Sentence number {i} of the policy says something useful. "))
            .collect();
        let ctx = [passage("policy.md#0", "Policy", &text)];
        let mut last = 0;
        for budget in (120..700).step_by(7) {
            let p = enrich(
                &Template::default(),
                "",
                q.text(),
                &ctx,
                budget,
                &HeuristicCounter,
            )
            .expect("fits");
            assert!(p.tokens() <= budget, "{budget}");
            let kept = (1..=40)
                .filter(|i| p.text().contains(&format!("number {i} of")))
                .count();
            // More budget never keeps fewer sentences, and one more sentence would not fit.
            assert!(kept >= last, "{budget}: {kept} < {last}");
            last = kept;
            if (1..40).contains(&kept) {
                let more = format!("number {} of", kept + 1);
                assert!(!p.text().contains(&more));
                let one_more: usize = HeuristicCounter.count(&format!(
                    "Sentence number {} of the policy says something useful.",
                    kept + 1
                ));
                assert!(
                    p.tokens() + one_more > budget - 2,
                    "{budget}: room for one more"
                );
            }
        }
        assert!(last > 30);
    }

    #[test]
    fn history_keeps_the_latest_turns_that_fit_and_opens_with_the_user() {
        let r = Redactor::builder().default_rules().build().expect("rules");
        let vault = Vault::new();
        let turn = |role, text: &str| Turn::new(role, r.redact(text, &vault).text());
        let q = r.redact("And on Sunday?", &vault);
        let bare = enrich(
            &Template::default(),
            "",
            q.text(),
            &[],
            1000,
            &HeuristicCounter,
        )
        .expect("fits");
        // Each turn: 40 ASCII bytes = 10 tokens + 4 overhead.
        let turns = vec![
            turn(Role::User, "Is the clinic open on Saturday mornings?"),
            turn(Role::Assistant, "Yes, from eight until noon on Saturdays."),
            turn(Role::User, "Do I need to book a slot beforehand???"),
            turn(Role::Assistant, "No, walk-ins are welcome on Saturday..."),
        ];
        let all = bare
            .clone()
            .with_history(turns.clone(), 1000, &HeuristicCounter);
        assert_eq!(all.history().len(), 4);
        assert_eq!(all.tokens(), bare.tokens() + 4 * 14);

        // Room for three: the oldest goes, and the assistant turn that would open is dropped.
        let three =
            bare.clone()
                .with_history(turns.clone(), bare.tokens() + 3 * 14, &HeuristicCounter);
        assert_eq!(three.history().len(), 2);
        assert_eq!(three.history()[0].role(), Role::User);
        assert_eq!(three.history_dropped(), 2);
        assert!(three.tokens() <= bare.tokens() + 3 * 14);

        // No room: no history, the prompt unchanged.
        let none = bare
            .clone()
            .with_history(turns, bare.tokens(), &HeuristicCounter);
        assert!(none.history().is_empty());
        assert_eq!(none.text(), bare.text());
        assert_eq!(none.tokens(), bare.tokens());
    }

    fn question(text: &str) -> RedactedText {
        let r = Redactor::builder().default_rules().build().expect("rules");
        r.redact(text, &Vault::new()).into_parts().0
    }

    #[test]
    fn templates_parse_slots_and_escapes_and_reject_mistakes() {
        let t = Template::parse("Q: {question} {{literal}}").expect("parses");
        assert_eq!(t.render("", "", "why?", ""), "Q: why? {literal}");
        for bad in [
            "{question",
            "{nope} {question}",
            "only text",
            "{question} }",
        ] {
            let err = Template::parse(bad).expect_err(bad);
            assert_eq!(err.kind(), ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn packing_keeps_order_drops_duplicates_and_never_exceeds_the_budget() {
        let long = "The clinic opens at nine. ".repeat(30);
        let passages = vec![
            passage("a#0", "Hours", "Open from 07:30 to 19:00 on weekdays."),
            passage("a#0", "Hours", "Open from 07:30 to 19:00 on weekdays."),
            passage(
                "b#0",
                "Hours copy",
                "Open  from 07:30 to 19:00\non weekdays.",
            ),
            passage("c#0", "Long", &long),
            passage("d#0", "Parking", "Twelve spaces behind the building."),
        ];
        let q = question("When can I come?");
        for budget in [40, 80, 120, 200, 400] {
            let p = enrich(
                &Template::default(),
                "Answer briefly.",
                &q,
                &passages,
                budget,
                &HeuristicCounter,
            )
            .expect("fits");
            assert!(p.tokens() <= budget, "{budget}: {}", p.tokens());
            assert_eq!(p.tokens(), HeuristicCounter.count(p.text()));
            // Numbers are 1, 2, ... in order of relevance.
            for (i, c) in p.citations().iter().enumerate() {
                assert_eq!(c.number, i + 1);
                assert!(p.text().contains(&format!("[{}]", c.number)));
            }
            assert!(
                p.citations().iter().all(|c| c.passage_id != "b#0"),
                "duplicate text kept"
            );
        }
        let roomy = enrich(
            &Template::default(),
            "",
            &q,
            &passages,
            400,
            &HeuristicCounter,
        )
        .expect("fits");
        let ids: Vec<&str> = roomy
            .citations()
            .iter()
            .map(|c| c.passage_id.as_str())
            .collect();
        assert_eq!(ids, ["a#0", "c#0", "d#0"]);
        // With less room, the long passage is cut at a sentence end and marked.
        let tight = enrich(
            &Template::default(),
            "",
            &q,
            &passages,
            120,
            &HeuristicCounter,
        )
        .expect("fits");
        let long_cite = tight
            .citations()
            .iter()
            .find(|c| c.passage_id == "c#0")
            .expect("partly in");
        assert!(long_cite.truncated);
        assert!(tight.text().contains("nine. …"));
    }

    #[test]
    fn a_question_larger_than_the_budget_is_an_error() {
        let q = question(&"word ".repeat(100));
        let err =
            enrich(&Template::default(), "", &q, &[], 20, &HeuristicCounter).expect_err("too long");
        assert_eq!(err.kind(), ErrorKind::Config);
    }

    #[test]
    fn redacted_passages_show_placeholders_and_no_title() {
        let r = Redactor::builder().default_rules().build().expect("rules");
        let vault = Vault::new();
        let q = r
            .redact("Mail ana@example.com about it", &vault)
            .into_parts()
            .0;
        let source = Passage::new(
            "crm#0",
            "crm",
            "Ana's file",
            "ana@example.com asked for a plan.",
        );
        let red = r.redact(&source.text, &vault).into_parts().0;
        let p = enrich(
            &Template::parse("{context}\n{question}\n{citations}").expect("template"),
            "",
            &q,
            &[ContextPassage::redacted(&source, red)],
            200,
            &HeuristicCounter,
        )
        .expect("fits");
        assert!(!p.text().contains("ana@example.com"));
        assert!(!p.text().contains("Ana's file"));
        // The same vault: the same placeholder in question and context.
        assert_eq!(p.text().matches("[EMAIL_1]").count(), 2, "{}", p.text());
        assert!(p.text().contains("[1] crm#0 (crm)"));
    }

    #[test]
    fn the_heuristic_counts_non_ascii_characters_one_each() {
        assert_eq!(HeuristicCounter.count("abcd"), 1);
        assert_eq!(HeuristicCounter.count("abcde"), 2);
        assert_eq!(HeuristicCounter.count("東京都"), 3);
        assert_eq!(HeuristicCounter.count(""), 0);
    }
}
