//! The turns of a conversation and the tools a model may call, redacted.
//!
//! A conversation is what chat APIs send: system instructions, the user's and the model's
//! turns, the model's calls to tools and what the tools answered. Each turn that goes to a
//! backend is made from redacted text only — a [`RedactedText`] for words, a
//! [`JsonRedaction`] for a call's arguments or a tool's parameters — so a person named in a
//! tool's answer is the same placeholder in the question, the model's call and the result.

use serde::Serialize;

use super::Media;
use crate::error::{Error, Result};
use crate::redact::{JsonRedaction, RedactedText};

/// Who said a turn of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Role {
    /// The person asking (the caller's user).
    User,
    /// The model.
    Assistant,
    /// Instructions for the model (OpenAI's `system` and `developer` messages, Anthropic's
    /// `system` field): sent as system instructions, never as something the user said.
    System,
    /// A tool's answer to one of the model's calls.
    Tool,
}

impl Role {
    /// `user`, `assistant`, `system` or `tool`, as chat APIs spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::System => "system",
            Role::Tool => "tool",
        }
    }
}

/// A tool the model may call, as the caller defines it: a name, what it does, and the JSON
/// Schema of its arguments. In clear; the pipeline redacts the description and the schema's
/// strings before they leave (see [`RedactedTool`]).
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct ToolSpec {
    /// The name the model calls it by: letters, digits, `_` and `-`, at most 64.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON Schema of its arguments (an object schema).
    pub parameters: serde_json::Value,
}

impl std::fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.name)
            .field("description_len", &self.description.len())
            .finish_non_exhaustive()
    }
}

impl ToolSpec {
    /// A tool named `name`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when the name is not 1 to 64 letters,
    /// digits, `_` or `-` (what both chat APIs accept), or the parameters are not a JSON
    /// object.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: serde_json::Value,
    ) -> Result<ToolSpec> {
        let name = name.into();
        check_name(&name)?;
        if !parameters.is_object() {
            return Err(Error::config(format!(
                "the parameters of tool `{name}` must be a JSON Schema object"
            )));
        }
        Ok(ToolSpec {
            name,
            description: description.into(),
            parameters,
        })
    }
}

/// Tool names are identifiers, never values: checked, never redacted.
pub(crate) fn check_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(Error::config(format!(
            "`{}` is not a tool name: 1 to 64 letters, digits, `_` or `-`",
            name.chars().take(64).collect::<String>()
        )))
    }
}

/// A tool definition as it is sent: its description and schema redacted with the request's
/// vault. Only redacted parts make one (checked at compile time):
///
/// ```compile_fail,E0308
/// use promptveil::enrich::RedactedTool;
/// let tool = RedactedTool::new("lookup", "Find ana@example.com", &serde_json::json!({}));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedTool {
    name: String,
    description: String,
    parameters: serde_json::Value,
}

impl std::fmt::Debug for RedactedTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedactedTool")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl RedactedTool {
    /// The tool `name` with its redacted description and parameters.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when `name` is not a tool name.
    pub fn new(
        name: &str,
        description: &RedactedText,
        parameters: &JsonRedaction,
    ) -> Result<RedactedTool> {
        check_name(name)?;
        Ok(RedactedTool {
            name: name.to_string(),
            description: description.as_str().to_string(),
            parameters: parameters.value().clone(),
        })
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What it does (redacted).
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The JSON Schema of its arguments (its strings redacted).
    pub fn parameters(&self) -> &serde_json::Value {
        &self.parameters
    }
}

/// A call of a tool by the model: in a backend's answer (placeholders in its arguments), in
/// the pipeline's output (restored), or earlier in a conversation.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ToolCall {
    /// The call's id, which the tool's answer names.
    pub id: String,
    /// The tool called.
    pub name: String,
    /// The arguments, as the JSON text the model wrote.
    pub arguments: String,
}

impl std::fmt::Debug for ToolCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolCall")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("arguments_len", &self.arguments.len())
            .finish()
    }
}

impl ToolCall {
    /// A call `id` of `name` with `arguments` (JSON text).
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    /// The arguments as JSON; an empty text is `{}`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Json`](crate::ErrorKind::Json) when they are not JSON (the message names
    /// the tool, never the text).
    pub fn arguments_json(&self) -> Result<serde_json::Value> {
        if self.arguments.trim().is_empty() {
            return Ok(serde_json::Value::Object(serde_json::Map::new()));
        }
        serde_json::from_str(&self.arguments).map_err(|e| {
            Error::new(
                crate::ErrorKind::Json,
                format!("the arguments of a call of `{}` are not JSON", self.name),
            )
            .with_source(e)
        })
    }
}

/// An earlier call of a tool, its arguments redacted: made only from a [`JsonRedaction`].
#[derive(Clone, PartialEq, Eq)]
pub struct RedactedCall(ToolCall);

impl std::fmt::Debug for RedactedCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl RedactedCall {
    /// The call `id` of `name`, with its redacted arguments.
    pub fn new(id: &str, name: &str, arguments: &JsonRedaction) -> RedactedCall {
        RedactedCall(ToolCall::new(id, name, arguments.value().to_string()))
    }

    /// The call (arguments redacted).
    pub fn call(&self) -> &ToolCall {
        &self.0
    }
}

/// An earlier turn of the conversation, redacted: made only from a [`RedactedText`] (redact
/// every turn with the question's vault, so a person is the same placeholder throughout).
/// Raw text cannot ride along in the history (checked at compile time):
///
/// ```compile_fail,E0308
/// use promptveil::enrich::{Role, Turn};
/// let turn = Turn::new(Role::User, "my card is 4111 1111 1111 1111");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Turn {
    pub(super) role: Role,
    pub(super) text: String,
    calls: Vec<ToolCall>,
    call_id: Option<String>,
    media: Vec<Media>,
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Turn")
            .field("role", &self.role)
            .field("len", &self.text.len())
            .field("calls", &self.calls.len())
            .field("media", &self.media.len())
            .finish()
    }
}

impl Turn {
    /// A turn said by `role`.
    pub fn new(role: Role, text: &RedactedText) -> Turn {
        Turn {
            role,
            text: text.as_str().to_string(),
            calls: Vec::new(),
            call_id: None,
            media: Vec::new(),
        }
    }

    /// The model's turn that called tools (`text` may be empty).
    pub fn assistant_calls(text: &RedactedText, calls: Vec<RedactedCall>) -> Turn {
        Turn {
            role: Role::Assistant,
            text: text.as_str().to_string(),
            calls: calls.into_iter().map(|c| c.0).collect(),
            call_id: None,
            media: Vec::new(),
        }
    }

    /// A tool's answer to the call `call_id`.
    pub fn tool_result(call_id: &str, text: &RedactedText) -> Turn {
        Turn {
            role: Role::Tool,
            text: text.as_str().to_string(),
            calls: Vec::new(),
            call_id: Some(call_id.to_string()),
            media: Vec::new(),
        }
    }

    /// The turn with images or recordings attached, as they are: media is never redacted,
    /// and a request carrying any goes only to an on-premises backend that takes it (see
    /// [`Media`]).
    #[must_use]
    pub fn with_media(mut self, media: Vec<Media>) -> Turn {
        self.media = media;
        self
    }

    /// The images and recordings attached to the turn.
    pub fn media(&self) -> &[Media] {
        &self.media
    }

    /// Who said it.
    pub fn role(&self) -> Role {
        self.role
    }

    /// What was said (redacted).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The tools the model called in this turn (arguments redacted).
    pub fn calls(&self) -> &[ToolCall] {
        &self.calls
    }

    /// For a tool's answer, the id of the call it answers.
    pub fn call_id(&self) -> Option<&str> {
        self.call_id.as_deref()
    }

    /// Every text the turn carries: its words, then its calls' arguments.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.text.as_str()).chain(self.calls.iter().map(|c| c.arguments.as_str()))
    }
}
