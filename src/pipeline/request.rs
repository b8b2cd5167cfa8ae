//! What a caller asks: a prompt, its conversation so far, and per-request settings.

use crate::enrich::Role;

/// One prompt to answer, with its per-request settings. Its `Debug` shows lengths, never the
/// prompt.
#[derive(Clone)]
#[non_exhaustive]
pub struct PromptRequest {
    pub(super) prompt: String,
    pub(super) history: Vec<(Role, String)>,
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
}

impl std::fmt::Debug for PromptRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptRequest")
            .field("prompt_len", &self.prompt.len())
            .field("history", &self.history.len())
            .field("max_tokens", &self.max_tokens)
            .field("temperature", &self.temperature)
            .field("max_cost", &self.max_cost)
            .field("max_latency_ms", &self.max_latency_ms)
            .field("top_k", &self.top_k)
            .field("tags", &self.tags)
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
            max_tokens: None,
            temperature: None,
            max_cost: None,
            max_latency_ms: None,
            top_k: None,
            tags: Vec::new(),
        }
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
        self.history = turns.into_iter().map(|(r, t)| (r, t.into())).collect();
        self
    }
}
