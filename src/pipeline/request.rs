//! What a caller asks: a prompt, its conversation so far, and per-request settings.

use crate::enrich::{Media, MediaKind, Role, ToolCall, ToolSpec};

/// One message of a conversation as the caller has it, in clear (the assistant's turns as
/// they were shown, restored). Its `Debug` shows lengths, never the text.
#[derive(Clone, PartialEq)]
pub struct Message {
    pub(super) role: Role,
    pub(super) content: String,
    pub(super) calls: Vec<ToolCall>,
    pub(super) call_id: Option<String>,
    pub(super) media: Vec<Media>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("role", &self.role)
            .field("len", &self.content.len())
            .field("calls", &self.calls)
            .field("media", &self.media)
            .finish()
    }
}

impl Message {
    /// A message said by `role` (for a tool's answer, use [`tool_result`](Self::tool_result)).
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: content.into(),
            calls: Vec::new(),
            call_id: None,
            media: Vec::new(),
        }
    }

    /// The message with images or recordings attached (a user's message only: other roles
    /// are refused when the request is redacted). Media is never redacted: a request that
    /// carries any goes only to an on-premises backend that takes it (see [`Media`]).
    #[must_use]
    pub fn with_media(mut self, media: impl IntoIterator<Item = Media>) -> Message {
        self.media = media.into_iter().collect();
        self
    }

    /// The user's message.
    pub fn user(content: impl Into<String>) -> Message {
        Message::new(Role::User, content)
    }

    /// Instructions (a `system` or `developer` message): sent as system instructions.
    pub fn system(content: impl Into<String>) -> Message {
        Message::new(Role::System, content)
    }

    /// The model's answer.
    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new(Role::Assistant, content)
    }

    /// The model's turn that called tools, as the caller got it (arguments restored).
    pub fn assistant_calls(content: impl Into<String>, calls: Vec<ToolCall>) -> Message {
        Message {
            calls,
            ..Message::new(Role::Assistant, content)
        }
    }

    /// A tool's answer to the call `call_id` (JSON text is redacted as JSON).
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            call_id: Some(call_id.into()),
            ..Message::new(Role::Tool, content)
        }
    }
}

/// One prompt to answer, with its per-request settings. Its `Debug` shows lengths, never the
/// prompt.
#[derive(Clone)]
#[non_exhaustive]
pub struct PromptRequest {
    pub(super) prompt: String,
    pub(super) history: Vec<Message>,
    pub(super) tools: Vec<ToolSpec>,
    pub(super) media: Vec<Media>,
    /// Longest answer, in tokens; the pipeline's default when `None`.
    pub max_tokens: Option<usize>,
    /// Sampling temperature; the pipeline's default when `None`.
    pub temperature: Option<f32>,
    /// Most this request may cost (same unit as the backends' prices).
    pub max_cost: Option<f64>,
    /// Longest typical latency acceptable, in milliseconds.
    pub max_latency_ms: Option<u64>,
    /// Passages to retrieve; the pipeline's default when `None`; 0 skips retrieval.
    pub top_k: Option<usize>,
    /// Caller tags a custom policy may read.
    pub tags: Vec<String>,
    /// The one backend the request may go to, when the caller named one.
    pub(super) backend: Option<String>,
    /// The caller's id for the request, when it gave one.
    pub(super) request_id: Option<crate::audit::RequestId>,
}

impl std::fmt::Debug for PromptRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptRequest")
            .field("prompt_len", &self.prompt.len())
            .field("history", &self.history.len())
            .field("tools", &self.tools.len())
            .field("media", &self.media)
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("max_cost", &self.max_cost)
            .field("max_latency_ms", &self.max_latency_ms)
            .field("top_k", &self.top_k)
            .field("tags", &self.tags)
            .field("backend", &self.backend)
            .field("request_id", &self.request_id)
            .finish()
    }
}

impl PromptRequest {
    /// A request for `prompt` with the pipeline's defaults.
    ///
    /// ```
    /// use promptveil::pipeline::PromptRequest;
    ///
    /// let req = PromptRequest::new("Card 4111 1111 1111 1111, why charged twice?")
    ///     .with_max_tokens(200)
    ///     .with_budget(Some(0.01), None)
    ///     .with_tag("support");
    /// // Debug never shows the prompt.
    /// assert!(!format!("{req:?}").contains("4111"));
    /// ```
    pub fn new(prompt: impl Into<String>) -> PromptRequest {
        PromptRequest {
            prompt: prompt.into(),
            history: Vec::new(),
            tools: Vec::new(),
            media: Vec::new(),
            max_tokens: None,
            temperature: None,
            max_cost: None,
            max_latency_ms: None,
            top_k: None,
            tags: Vec::new(),
            backend: None,
            request_id: None,
        }
    }

    /// Sends the request to the backend named `name` only (a gateway's `model` naming a
    /// tier): admission still applies — a backend that must never receive what the request
    /// touched is refused, not chosen — and there is no fallback to another backend. A name
    /// the pipeline has no backend by is a configuration error.
    pub fn with_backend(mut self, name: impl Into<String>) -> PromptRequest {
        self.backend = Some(name.into());
        self
    }

    /// Uses `id` for the request (in the audit trail and the trace) instead of a fresh one: a
    /// gateway passes its caller's `x-request-id` on, as
    /// [`Pipeline::request_id_from`](super::Pipeline::request_id_from) checked it.
    pub fn with_request_id(mut self, id: crate::audit::RequestId) -> PromptRequest {
        self.request_id = Some(id);
        self
    }

    /// Sets the longest answer, in tokens.
    pub fn with_max_tokens(mut self, tokens: usize) -> PromptRequest {
        self.max_tokens = Some(tokens);
        self
    }

    /// Sets the sampling temperature.
    pub fn with_temperature(mut self, temperature: f32) -> PromptRequest {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the cost and latency budgets.
    pub fn with_budget(mut self, max_cost: Option<f64>, max_latency_ms: Option<u64>) -> Self {
        self.max_cost = max_cost;
        self.max_latency_ms = max_latency_ms;
        self
    }

    /// Sets how many passages to retrieve (0: none).
    pub fn with_top_k(mut self, k: usize) -> PromptRequest {
        self.top_k = Some(k);
        self
    }

    /// Adds a tag for the routing policy.
    pub fn with_tag(mut self, tag: impl Into<String>) -> PromptRequest {
        self.tags.push(tag.into());
        self
    }

    /// Sets the conversation so far, oldest first, as the caller has it (in clear: the
    /// assistant's turns as they were shown, restored). Every turn is redacted with this
    /// request's vault, so a value is the same placeholder in every turn and in the question;
    /// the turns count towards the routing's sensitivity and the token budget (the most
    /// recent kept, see [`EnrichedPrompt::with_history`](crate::enrich::EnrichedPrompt::with_history)), and go to the backend as messages
    /// of their own before the prompt.
    pub fn with_history(
        mut self,
        turns: impl IntoIterator<Item = (Role, impl Into<String>)>,
    ) -> PromptRequest {
        self.history = turns.into_iter().map(|(r, t)| Message::new(r, t)).collect();
        self
    }

    /// A request for a whole conversation, oldest message first, as chat APIs send it: the
    /// last message, when it is the user's, is the question; otherwise (the conversation
    /// ends with a tool's answer) nothing new is asked, nothing is retrieved, and the
    /// messages go alone. Every message is redacted with this request's vault, tool-call
    /// arguments and JSON tool answers as JSON, so a value is one placeholder across them
    /// all.
    ///
    /// ```
    /// use promptveil::enrich::ToolCall;
    /// use promptveil::pipeline::{Message, PromptRequest};
    ///
    /// let req = PromptRequest::conversation([
    ///     Message::system("You book meetings."),
    ///     Message::user("Book a call with ana@example.com"),
    ///     Message::assistant_calls("", vec![ToolCall::new("c1", "find_person", r#"{"email":"ana@example.com"}"#)]),
    ///     Message::tool_result("c1", r#"{"name":"Ana Lima","card":"4111 1111 1111 1111"}"#),
    /// ]);
    /// assert!(!format!("{req:?}").contains("ana@"));
    /// ```
    pub fn conversation(messages: impl IntoIterator<Item = Message>) -> PromptRequest {
        let mut history: Vec<Message> = messages.into_iter().collect();
        let (prompt, media) = match history.last() {
            Some(m) if m.role == Role::User && m.calls.is_empty() => history
                .pop()
                .map(|m| (m.content, m.media))
                .unwrap_or_default(),
            _ => (String::new(), Vec::new()),
        };
        PromptRequest {
            history,
            media,
            ..PromptRequest::new(prompt)
        }
    }

    /// The tools the model may call. Their descriptions and schemas are redacted with the
    /// request's vault; the request goes only to backends that can call tools
    /// ([`BackendProfile::tools`](crate::route::BackendProfile::tools)).
    pub fn with_tools(mut self, tools: impl IntoIterator<Item = ToolSpec>) -> PromptRequest {
        self.tools = tools.into_iter().collect();
        self
    }

    /// Attaches images or recordings to the question. Media is never redacted: the request
    /// then goes only to an on-premises backend whose profile takes every kind it carries
    /// ([`BackendProfile::media`](crate::route::BackendProfile::media)), and is routed and
    /// guarded as holding restricted data; with no such backend it is refused.
    pub fn with_media(mut self, media: impl IntoIterator<Item = Media>) -> PromptRequest {
        self.media = media.into_iter().collect();
        self
    }

    /// The kinds of media the request carries, in the question or in any message, sorted,
    /// each once.
    pub fn media_kinds(&self) -> Vec<MediaKind> {
        let mut kinds: Vec<MediaKind> = self
            .media
            .iter()
            .chain(self.history.iter().flat_map(|m| &m.media))
            .map(Media::kind)
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// True when the request carries tools or tool traffic: only backends that can call
    /// tools may take it.
    pub fn uses_tools(&self) -> bool {
        !self.tools.is_empty()
            || self
                .history
                .iter()
                .any(|m| m.role == Role::Tool || !m.calls.is_empty())
    }
}
