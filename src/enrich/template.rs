//! Prompt templates: named slots filled by the enricher.

use crate::error::{Error, Result};

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
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) for an unknown slot, an unclosed `{`, a lone `}`, or a template
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

    pub(super) fn render(
        &self,
        instructions: &str,
        context: &str,
        question: &str,
        citations: &str,
    ) -> String {
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
