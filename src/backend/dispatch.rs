//! The dispatcher: tries the backends of an approved chain in order, retrying transient
//! failures with jittered exponential backoff, and puts failing backends in cooldown.
//!
//! - Only the chain a [`RoutingPolicy`](crate::route::RoutingPolicy) approved is tried, in its
//!   order: a backend that is not in the chain is never called, whatever happens.
//! - A retryable error ([`BackendError::is_retryable`]: connect, timeout, 429, 5xx) is retried
//!   on the same backend up to [`DispatchConfig::retries`] times, waiting a random time up to
//!   `base × 2^attempt` (capped), and at least the `Retry-After` the backend asked for; any
//!   other error moves on to the next backend at once.
//! - After [`DispatchConfig::cooldown_after`] failed calls in a row a backend cools down for
//!   [`DispatchConfig::cooldown`]; [`Dispatcher::cooling_down`] lists such backends for the
//!   routing summary, and the dispatcher skips them in a chain too.
//! - [`Dispatcher::dispatch_stream`] walks the chain the same way for streamed answers; a
//!   backend counts as answering once its first event arrived, and no fallback happens after
//!   that.
//! - Cancelling the returned future (dropping it) cancels the call in flight; health is only
//!   updated when a call has finished, so a cancelled request leaves no trace.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::{BackendError, BackendRequest, BackendResponse, BackendStream, ModelBackend};
use crate::error::{Error, Result};
use crate::route::{BackendId, BackendProfile, RouteDecision};

/// Retry, backoff and cooldown settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DispatchConfig {
    /// Retries of a transient failure on the same backend. Default 2.
    pub retries: u32,
    /// First backoff step. Default 200 ms.
    pub base_backoff: Duration,
    /// Longest wait between two tries. Default 5 s.
    pub max_backoff: Duration,
    /// Failed calls in a row that put a backend in cooldown. Default 3.
    pub cooldown_after: u32,
    /// How long a cooldown lasts. Default 30 s.
    pub cooldown: Duration,
}

impl Default for DispatchConfig {
    fn default() -> DispatchConfig {
        DispatchConfig {
            retries: 2,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            cooldown_after: 3,
            cooldown: Duration::from_secs(30),
        }
    }
}

impl DispatchConfig {
    /// Sets the retries and the backoff steps.
    pub fn with_backoff(mut self, retries: u32, base: Duration, max: Duration) -> DispatchConfig {
        self.retries = retries;
        self.base_backoff = base;
        self.max_backoff = max.max(base);
        self
    }

    /// Sets when and for how long a failing backend cools down.
    pub fn with_cooldown(mut self, after: u32, cooldown: Duration) -> DispatchConfig {
        self.cooldown_after = after.max(1);
        self.cooldown = cooldown;
        self
    }
}

/// The wait before retry number `attempt` (0 for the first retry): uniformly random up to
/// `base × 2^attempt` capped at `max` ("full jitter"), and at least `retry_after`.
pub(crate) fn backoff(
    config: &DispatchConfig,
    attempt: u32,
    retry_after: Option<Duration>,
    random: u64,
) -> Duration {
    let ceiling = config
        .base_backoff
        .saturating_mul(1_u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX))
        .min(config.max_backoff);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    let jittered = Duration::from_nanos(if nanos == 0 { 0 } else { random % (nanos + 1) });
    jittered.max(retry_after.unwrap_or_default())
}

fn random_u64() -> u64 {
    let mut bytes = [0_u8; 8];
    // Without an entropy source the wait is the ceiling: still bounded, only less spread.
    if getrandom::fill(&mut bytes).is_err() {
        return u64::MAX;
    }
    u64::from_le_bytes(bytes)
}

/// One call to one backend.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Attempt {
    /// The backend called.
    pub backend: BackendId,
    /// How it failed, or `None` when it answered.
    pub error: Option<BackendError>,
    /// How long the call took.
    pub elapsed: Duration,
}

/// An answer and how it was obtained.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Dispatched {
    /// The backend that answered.
    pub backend: BackendId,
    /// Its answer.
    pub response: BackendResponse,
    /// Every call made, failed ones first.
    pub attempts: Vec<Attempt>,
}

/// Why no answer came: every backend of the chain failed, was cooling down, or the chain was
/// empty.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DispatchError {
    /// Every call made.
    pub attempts: Vec<Attempt>,
    /// Backends of the chain skipped because they were cooling down.
    pub skipped: Vec<BackendId>,
    /// Names in the chain that are no backend of this dispatcher: the policy named a backend
    /// that does not exist. Nothing was sent to them; the request fails rather than go
    /// elsewhere.
    pub unknown: Vec<BackendId>,
}

impl std::fmt::Display for DispatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.unknown.is_empty() {
            let names: Vec<&str> = self.unknown.iter().map(BackendId::as_str).collect();
            return write!(
                f,
                "the route names backends that do not exist: {}",
                names.join(", ")
            );
        }
        if self.attempts.is_empty() && self.skipped.is_empty() {
            return f.write_str("no backend was approved for this request");
        }
        write!(
            f,
            "every approved backend failed ({} calls",
            self.attempts.len()
        )?;
        if let Some((backend, last)) = self
            .attempts
            .last()
            .and_then(|a| Some((&a.backend, a.error.as_ref()?)))
        {
            write!(f, "; last: `{backend}`: {last}")?;
        }
        if !self.skipped.is_empty() {
            let names: Vec<&str> = self.skipped.iter().map(BackendId::as_str).collect();
            write!(f, "; cooling down: {}", names.join(", "))?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for DispatchError {}

#[derive(Debug, Default, Clone, Copy)]
struct Health {
    failures: u32,
    cooling_until: Option<Instant>,
}

/// The backends by name, their health, and the retry policy. Cheap to share behind an `Arc`.
#[derive(Debug)]
pub struct Dispatcher {
    backends: HashMap<BackendId, Arc<dyn ModelBackend>>,
    order: Vec<BackendId>,
    health: Mutex<HashMap<BackendId, Health>>,
    config: DispatchConfig,
}

impl Dispatcher {
    /// A dispatcher over `backends`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use promptveil::backend::{BackendError, BackendRequest, BackendResponse, ModelBackend};
    /// # use promptveil::route::{BackendProfile, Locality, Size};
    /// # #[derive(Debug)]
    /// # struct Fixed(BackendProfile, Option<u16>);
    /// # #[async_trait::async_trait]
    /// # impl ModelBackend for Fixed {
    /// #     fn profile(&self) -> &BackendProfile { &self.0 }
    /// #     async fn complete(&self, _: &BackendRequest) -> Result<BackendResponse, BackendError> {
    /// #         match self.1 {
    /// #             Some(code) => Err(BackendError::Status { code, kind: None, retry_after: None, should_retry: None }),
    /// #             None => Ok(BackendResponse::new("ok", "m")),
    /// #         }
    /// #     }
    /// # }
    /// # let profile = |n: &str| BackendProfile::new(n, Locality::OnPremises, Size::Small, 4096);
    /// # let prompt = promptveil::enrich::enrich(&Default::default(), "", promptveil::redact::Redactor::builder().default_rules().build()?.redact("hi", &Default::default()).text(), &[], 100, &promptveil::enrich::HeuristicCounter)?;
    /// use promptveil::backend::dispatch::{DispatchConfig, Dispatcher};
    /// use promptveil::route::{DefaultPolicy, RouteSummary, RoutingPolicy};
    /// use promptveil::Sensitivity;
    /// use std::time::Duration;
    ///
    /// // `down` answers 503; `up` answers. (`Fixed` is a stand-in backend.)
    /// let down: Arc<dyn ModelBackend> = Arc::new(Fixed(profile("down"), Some(503)));
    /// let up: Arc<dyn ModelBackend> = Arc::new(Fixed(profile("up"), None));
    /// let config = DispatchConfig::default()
    ///     .with_backoff(1, Duration::from_millis(1), Duration::from_millis(2));
    /// let dispatcher = Dispatcher::new(vec![down, up], config)?;
    /// let decision = DefaultPolicy::default()
    ///     .route(&RouteSummary::new(Sensitivity::Public, 10, 0.1), &dispatcher.profiles());
    /// assert_eq!(decision.chain(), ["down", "up"]); // both small, on premises: by name
    /// # let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("rt");
    /// let answer = rt.block_on(dispatcher.dispatch(&decision, &BackendRequest::new(prompt, 50, 0.0)))
    ///     .expect("`up` answers");
    /// assert_eq!(answer.backend, "up");
    /// assert_eq!(answer.attempts.len(), 3); // 503, retried once, then the next backend
    /// # Ok::<(), promptveil::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Config`](crate::ErrorKind::Config) when two backends share a name.
    pub fn new(backends: Vec<Arc<dyn ModelBackend>>, config: DispatchConfig) -> Result<Dispatcher> {
        let mut map = HashMap::new();
        let mut order = Vec::new();
        for b in backends {
            let name = b.profile().name.clone();
            if map.insert(name.clone(), b).is_some() {
                return Err(Error::config(format!("two backends are named `{name}`")));
            }
            order.push(name);
        }
        Ok(Dispatcher {
            backends: map,
            order,
            health: Mutex::new(HashMap::new()),
            config,
        })
    }

    /// The backends' profiles, in the order given.
    pub fn profiles(&self) -> Vec<BackendProfile> {
        self.order
            .iter()
            .filter_map(|n| self.backends.get(n).map(|b| b.profile().clone()))
            .collect()
    }

    /// Probes every backend at once ([`ModelBackend::probe`]), in the order given.
    pub async fn probe(&self) -> Vec<(BackendId, Result<(), BackendError>)> {
        let probes = self.order.iter().filter_map(|n| {
            let backend = self.backends.get(n)?;
            Some(async move { (n.clone(), backend.probe().await) })
        });
        futures_util::future::join_all(probes).await
    }

    /// The profile of the backend `name`, if there is one.
    pub fn profile(&self, name: &BackendId) -> Option<&BackendProfile> {
        self.backends.get(name).map(|b| b.profile())
    }

    /// Backends cooling down now.
    pub fn cooling_down(&self) -> Vec<BackendId> {
        let now = Instant::now();
        let health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        self.order
            .iter()
            .filter(|n| {
                health
                    .get(*n)
                    .and_then(|h| h.cooling_until)
                    .is_some_and(|t| t > now)
            })
            .cloned()
            .collect()
    }

    fn record(&self, name: &BackendId, ok: bool) {
        let mut health = self.health.lock().unwrap_or_else(|e| e.into_inner());
        let h = health.entry(name.clone()).or_default();
        if ok {
            *h = Health::default();
        } else {
            h.failures += 1;
            if h.failures >= self.config.cooldown_after {
                h.cooling_until = Some(Instant::now() + self.config.cooldown);
                h.failures = 0;
            }
        }
    }

    /// Sends `request` along the decision's chain.
    ///
    /// # Errors
    ///
    /// [`DispatchError`] with every call made when no backend of the chain answered.
    pub async fn dispatch(
        &self,
        decision: &RouteDecision,
        request: &BackendRequest,
    ) -> std::result::Result<Dispatched, DispatchError> {
        let (backend, response, attempts) = self
            .along_chain(decision, |b| async move { b.complete(request).await })
            .await?;
        Ok(Dispatched {
            backend,
            response,
            attempts,
        })
    }

    /// Opens a streamed answer along the decision's chain.
    ///
    /// A backend counts as answering once its first event arrived: an error before that
    /// (a refused connection, an error status, an `error` event first thing) is retried or
    /// falls back like any failed call; an error after it ends the stream, with no fallback —
    /// part of an answer has been shown.
    ///
    /// # Errors
    ///
    /// [`DispatchError`] with every call made when no backend of the chain began an answer.
    pub async fn dispatch_stream(
        &self,
        decision: &RouteDecision,
        request: &BackendRequest,
    ) -> std::result::Result<DispatchedStream, DispatchError> {
        let (backend, stream, attempts) = self
            .along_chain(decision, |b| async move {
                let mut stream = b.stream(request).await?;
                match stream.next().await {
                    Some(Ok(first)) => {
                        let rest: BackendStream =
                            Box::pin(futures_util::stream::iter([Ok(first)]).chain(stream));
                        Ok(rest)
                    }
                    Some(Err(e)) => Err(e),
                    None => Err(BackendError::Malformed {
                        detail: "the stream ended before any event".into(),
                    }),
                }
            })
            .await?;
        Ok(DispatchedStream {
            backend,
            stream,
            attempts,
        })
    }

    /// Calls `call` on each backend of the chain in order, with retries and cooldown, until one
    /// succeeds.
    async fn along_chain<'a, T, F, Fut>(
        &'a self,
        decision: &RouteDecision,
        mut call: F,
    ) -> std::result::Result<(BackendId, T, Vec<Attempt>), DispatchError>
    where
        F: FnMut(&'a Arc<dyn ModelBackend>) -> Fut,
        Fut: Future<Output = std::result::Result<T, BackendError>>,
    {
        let mut attempts = Vec::new();
        let mut skipped = Vec::new();
        // Fail closed: a chain naming a backend that does not exist is an error, not a name
        // to skip on the way to the next one.
        let unknown: Vec<BackendId> = decision
            .chain
            .iter()
            .filter(|n| !self.backends.contains_key(*n))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(DispatchError {
                attempts,
                skipped,
                unknown,
            });
        }
        let cooling = self.cooling_down();
        for name in &decision.chain {
            let Some(backend) = self.backends.get(name) else {
                continue;
            };
            if cooling.contains(name) {
                skipped.push(name.clone());
                continue;
            }
            let mut retry = 0;
            loop {
                let started = Instant::now();
                let result = call(backend).await;
                let elapsed = started.elapsed();
                match result {
                    Ok(answer) => {
                        self.record(name, true);
                        attempts.push(Attempt {
                            backend: name.clone(),
                            error: None,
                            elapsed,
                        });
                        return Ok((name.clone(), answer, attempts));
                    }
                    Err(e) => {
                        self.record(name, false);
                        let retry_after = match &e {
                            BackendError::Status { retry_after, .. } => *retry_after,
                            _ => None,
                        };
                        let again = e.is_retryable() && retry < self.config.retries;
                        attempts.push(Attempt {
                            backend: name.clone(),
                            error: Some(e),
                            elapsed,
                        });
                        if !again {
                            break;
                        }
                        let wait = backoff(&self.config, retry, retry_after, random_u64());
                        tokio::time::sleep(wait).await;
                        retry += 1;
                    }
                }
            }
        }
        Err(DispatchError {
            attempts,
            skipped,
            unknown: Vec::new(),
        })
    }
}

/// A streamed answer that began, and how it was obtained.
#[non_exhaustive]
pub struct DispatchedStream {
    /// The backend answering.
    pub backend: BackendId,
    /// Its answer: the first event has arrived.
    pub stream: BackendStream,
    /// Every call made, failed ones first.
    pub attempts: Vec<Attempt>,
}

impl std::fmt::Debug for DispatchedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DispatchedStream")
            .field("backend", &self.backend)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_jittered_and_honours_retry_after() {
        let c = DispatchConfig::default().with_backoff(
            5,
            Duration::from_millis(100),
            Duration::from_secs(1),
        );
        // The ceiling doubles: random = max gives the ceiling itself.
        assert_eq!(
            backoff(&c, 0, None, u64::MAX),
            Duration::from_nanos(u64::MAX % 100_000_001)
        );
        let ceilings: Vec<Duration> = (0..6)
            .map(|a| c.base_backoff.saturating_mul(1 << a).min(c.max_backoff))
            .collect();
        assert_eq!(ceilings[0], Duration::from_millis(100));
        assert_eq!(ceilings[3], Duration::from_millis(800));
        assert_eq!(ceilings[5], Duration::from_secs(1));
        for a in 0..6 {
            for r in [0, 1, 12345, u64::MAX / 3] {
                assert!(backoff(&c, a, None, r) <= ceilings[a as usize]);
            }
        }
        assert_eq!(backoff(&c, 0, None, 0), Duration::ZERO);
        // Retry-After wins when longer.
        assert_eq!(
            backoff(&c, 0, Some(Duration::from_secs(3)), 0),
            Duration::from_secs(3)
        );
        // Huge attempt numbers do not overflow.
        assert!(backoff(&c, 1000, None, u64::MAX) <= Duration::from_secs(1));
    }
}
