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

mod media;
mod template;
mod turn;

use std::collections::HashSet;

use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::index::{Passage, PassageId};
use crate::redact::RedactedText;

pub use media::{Media, MediaKind};
pub use template::{DEFAULT_TEMPLATE, Template};
pub(crate) use turn::check_name as check_tool_name;
pub use turn::{RedactedCall, RedactedTool, Role, ToolCall, ToolSpec, Turn};

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

/// Where a numbered citation points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Citation {
    /// Its number in the prompt: `[1]` is 1.
    pub number: usize,
    /// The passage id.
    pub passage_id: PassageId,
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
    id: PassageId,
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

/// Tokens a chat API adds around each message (role, separators).
const TURN_OVERHEAD_TOKENS: usize = 4;

/// A prompt ready for a backend: built only from redacted or public text. Only [`enrich`]
/// makes one (checked at compile time):
///
/// ```compile_fail,E0451
/// let forged = promptveil::enrich::EnrichedPrompt {
///     text: String::from("Card 4111 1111 1111 1111"),
///     citations: Vec::new(),
///     tokens: 8,
///     dropped: 0,
/// };
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EnrichedPrompt {
    text: String,
    citations: Vec<Citation>,
    tokens: usize,
    question_tokens: usize,
    context_tokens: usize,
    dropped: usize,
    history: Vec<Turn>,
    history_dropped: usize,
    tools: Vec<RedactedTool>,
    media: Vec<Media>,
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

    /// Tokens of the question alone, as the counter counted them.
    pub fn question_tokens(&self) -> usize {
        self.question_tokens
    }

    /// Tokens of the retrieved passages alone, as they stand in the prompt (headings
    /// included; instructions, question and earlier turns not), as the counter counted them:
    /// what the routing's complexity score reads as the context's size.
    pub fn context_tokens(&self) -> usize {
        self.context_tokens
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
        let cost = |t: &Turn| {
            t.texts().map(|x| counter.count(x)).sum::<usize>()
                + t.media().iter().map(Media::tokens).sum::<usize>()
                + TURN_OVERHEAD_TOKENS
        };
        // System instructions are kept whole, whatever the budget: they say how to answer.
        let (system, turns): (Vec<Turn>, Vec<Turn>) =
            turns.into_iter().partition(|t| t.role == Role::System);
        let mut room = budget
            .saturating_sub(self.tokens)
            .saturating_sub(system.iter().map(cost).sum());
        let mut keep = turns.len();
        for turn in turns.iter().rev() {
            let c = cost(turn);
            if c > room {
                break;
            }
            room -= c;
            keep -= 1;
        }
        let mut kept: Vec<Turn> = turns.into_iter().skip(keep).collect();
        let total = keep + kept.len();
        // A conversation opens with the user: an answer or a tool's result whose question
        // was left out goes too (a result without its call is an error to both chat APIs).
        let leading = kept.iter().take_while(|t| t.role != Role::User).count();
        kept.drain(..leading);
        self.history_dropped = total - kept.len();
        let mut all = system;
        all.append(&mut kept);
        self.tokens += all.iter().map(cost).sum::<usize>();
        self.history = all;
        self
    }

    /// Adds the tools the model may call (redacted); their definitions count towards
    /// [`tokens`](Self::tokens) as their JSON text does.
    #[must_use]
    pub fn with_tools(
        mut self,
        tools: Vec<RedactedTool>,
        counter: &dyn TokenCounter,
    ) -> EnrichedPrompt {
        self.tokens += tools
            .iter()
            .map(|t| {
                counter.count(t.name())
                    + counter.count(t.description())
                    + counter.count(&t.parameters().to_string())
            })
            .sum::<usize>();
        self.tools = tools;
        self
    }

    /// The tools the model may call (redacted).
    pub fn tools(&self) -> &[RedactedTool] {
        &self.tools
    }

    /// Attaches images or recordings to the question, as they are (see [`Media`]: never
    /// redacted, confined to on-premises backends that take them); each counts towards
    /// [`tokens`](Self::tokens) as [`Media::tokens`] says.
    #[must_use]
    pub fn with_media(mut self, media: Vec<Media>) -> EnrichedPrompt {
        self.tokens += media.iter().map(Media::tokens).sum::<usize>();
        self.media = media;
        self
    }

    /// The images and recordings attached to the question.
    pub fn media(&self) -> &[Media] {
        &self.media
    }
}

/// Least tokens of a passage worth putting in when only its start fits.
const MIN_PARTIAL_TOKENS: usize = 24;

/// Builds the prompt: `passages` best first, within `budget` tokens in all. An empty
/// question without passages makes an empty prompt: a conversation that ends with a tool's
/// answer asks nothing new, and its turns go alone ([`EnrichedPrompt::with_history`]).
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
    if question.as_str().is_empty() && passages.is_empty() {
        // No new question (a conversation that ends with a tool's result): no user message
        // is added, and no template around nothing.
        return Ok(EnrichedPrompt {
            text: String::new(),
            citations: Vec::new(),
            tokens: 0,
            question_tokens: 0,
            context_tokens: 0,
            dropped: 0,
            history: Vec::new(),
            history_dropped: 0,
            tools: Vec::new(),
            media: Vec::new(),
        });
    }
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
        question_tokens: counter.count(question.as_str()),
        context_tokens: if blocks.is_empty() {
            0
        } else {
            counter.count(&blocks.join("\n\n"))
        },
        dropped,
        history: Vec::new(),
        history_dropped: 0,
        tools: Vec::new(),
        media: Vec::new(),
    })
}

#[cfg(test)]
mod tests;
