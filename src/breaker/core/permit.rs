//! What a call carries from admission to completion.

use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use super::CircuitBreaker;
use crate::breaker::error::{CallError, Open};
use crate::breaker::state::{Probes, State, Word};
use crate::classify::{Classify, DefaultClassifier, Outcome, Sample};
use crate::clock::saturating_nanos;

/// What a call carries from admission to completion: the state word that
/// admitted it (kind and generation, without probe counters) and, with
/// slow-call detection, its start time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawPermit {
    pub(super) word: u64,
    pub(super) start: u64,
}

impl RawPermit {
    /// The permit as two words, for callers that carry it opaquely (the
    /// balancer's endpoint gate).
    #[cfg(feature = "balance")]
    #[inline]
    pub(crate) fn into_words(self) -> [u64; 2] {
        [self.word, self.start]
    }

    /// A permit from [`into_words`](Self::into_words).
    #[cfg(feature = "balance")]
    #[inline]
    pub(crate) fn from_words([word, start]: [u64; 2]) -> Self {
        Self { word, start }
    }

    #[inline]
    pub(super) fn new(word: Word, start: u64) -> Self {
        let bare = Word {
            probes: Probes::default(),
            ..word
        };
        Self {
            word: bare.encode(),
            start,
        }
    }

    #[inline]
    pub(super) fn gen(self) -> u32 {
        Word::decode(self.word).gen
    }

    #[inline]
    pub(super) fn state(self) -> State {
        Word::decode(self.word).state
    }
}

impl CircuitBreaker {
    /// Records a sample the caller measured: slow-call detection judges
    /// its latency, not the breaker's clock.
    pub(crate) fn record_sample_raw(&self, raw: RawPermit, sample: Sample) {
        match sample.outcome() {
            // Without slow-call detection the latency decides nothing, and
            // the usual path (with its no-op fast path) applies.
            outcome if self.inner.slow_nanos.is_none() => self.record_raw(raw, outcome),
            outcome => self.record_slow(raw, outcome, Some(saturating_nanos(sample.latency()))),
        }
    }

    /// Asks to make one call and returns a permit that holds the breaker
    /// itself (a reference count, no allocation), so that it can move into
    /// a `'static` future or another thread.
    ///
    /// ```
    /// use seawall::breaker::CircuitBreaker;
    /// use seawall::classify::Outcome;
    ///
    /// let breaker = CircuitBreaker::builder().build()?;
    /// let permit = breaker.try_acquire_owned()?;
    /// std::thread::spawn(move || permit.record(Outcome::Success)).join().unwrap();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, Open> {
        self.acquire_raw().map(|raw| OwnedPermit {
            held: Held::new(self.clone(), raw),
        })
    }

    /// Runs `future` if the breaker admits it and records its outcome:
    /// `Ok` is a success, `Err` a failure. A refused call returns
    /// [`CallError::Open`] without polling `future`; dropping the returned
    /// future before it completes counts as a cancelled call (nothing
    /// recorded, a half-open probe slot given back). Nothing is allocated.
    ///
    /// ```
    /// use seawall::breaker::{CallError, CircuitBreaker};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let breaker = CircuitBreaker::builder().name("db").consecutive_failures(1).build()?;
    /// let reply = breaker.call(async { Ok::<_, std::io::Error>(42) }).await?;
    /// assert_eq!(reply, 42);
    ///
    /// let _ = breaker.call(async { Err::<u32, _>(std::io::Error::other("down")) }).await;
    /// match breaker.call(async { Ok::<_, std::io::Error>(1) }).await {
    ///     Err(CallError::Open(open)) => assert!(open.retry_after().is_some()),
    ///     other => panic!("expected a refusal, got {other:?}"),
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call<F, T, E>(&self, future: F) -> Result<T, CallError<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        self.call_with(DefaultClassifier, future).await
    }

    /// [`call`](CircuitBreaker::call) with a classifier deciding what the
    /// result counts as (an HTTP 5xx as a failure, say).
    ///
    /// ```
    /// use seawall::breaker::CircuitBreaker;
    /// use seawall::classify::Outcome;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let breaker = CircuitBreaker::builder().consecutive_failures(1).build()?;
    /// let status_is_health = |r: Result<&u16, &std::io::Error>| match r {
    ///     Ok(s) if *s >= 500 => Outcome::Failure,
    ///     Ok(_) => Outcome::Success,
    ///     Err(_) => Outcome::Failure,
    /// };
    /// let status = breaker.call_with(status_is_health, async { Ok(503) }).await?;
    /// assert_eq!(status, 503);
    /// assert!(!breaker.is_call_permitted());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn call_with<C, F, T, E>(&self, classifier: C, future: F) -> Result<T, CallError<E>>
    where
        C: Classify<T, E>,
        F: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(CallError::Open)?;
        // A panic while awaiting drops the permit: the call counts as
        // cancelled and its probe slot is freed.
        let result = future.await;
        permit.record(classifier.classify(result.as_ref()));
        result.map_err(CallError::Inner)
    }
}

/// Permission to make one call. Record its outcome with
/// [`record`](Permit::record); dropping it unrecorded counts as a cancelled
/// call (nothing is recorded, a half-open probe slot is given back).
///
/// ```
/// use seawall::breaker::CircuitBreaker;
/// use seawall::classify::Outcome;
/// let breaker = CircuitBreaker::builder().build()?;
/// let permit = breaker.try_acquire()?;
/// permit.record(Outcome::Success);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Permit<'a> {
    pub(super) held: Held<&'a CircuitBreaker>,
}

impl Permit<'_> {
    /// The state the call was admitted in.
    pub fn state(&self) -> State {
        self.held.state()
    }

    /// Records the call's outcome; its duration, where slow calls are
    /// detected, is measured with the breaker's clock.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        self.held.record(outcome);
    }

    /// Records an outcome with a latency the caller measured (as
    /// resilience4j's `onSuccess(duration)`); slow-call detection judges
    /// that latency instead of the breaker's clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use seawall::breaker::{CircuitBreaker, State};
    /// use seawall::classify::{Outcome, Sample};
    ///
    /// let breaker = CircuitBreaker::builder()
    ///     .count_window(2)
    ///     .minimum_number_of_calls(2)
    ///     .slow_call_duration_threshold(Duration::from_secs(1))
    ///     .build()?;
    /// for _ in 0..2 {
    ///     let slow = Sample::new(Outcome::Success, Duration::from_secs(3));
    ///     breaker.try_acquire()?.record_sample(slow);
    /// }
    /// assert_eq!(breaker.state(), State::Open);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn record_sample(mut self, sample: Sample) {
        self.held.record_sample(sample);
    }

    /// [`record_sample`](Permit::record_sample) with the parts.
    pub fn record_with_latency(self, outcome: Outcome, latency: Duration) {
        self.record_sample(Sample::new(outcome, latency));
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("raw", &self.held.raw)
            .finish()
    }
}

/// A [`Permit`] that holds its breaker instead of borrowing it: `'static`,
/// `Send`, so it can be taken in a service's `call` and moved into the
/// response future. Taking one clones the breaker's `Arc` (no allocation).
/// Dropped unrecorded, it counts as a cancelled call (nothing recorded, a
/// half-open probe slot given back).
///
/// ```
/// use seawall::breaker::{CircuitBreaker, OwnedPermit};
/// use seawall::classify::Outcome;
///
/// fn spawn_call(breaker: &CircuitBreaker) -> Result<std::thread::JoinHandle<()>, seawall::breaker::Open> {
///     let permit: OwnedPermit = breaker.try_acquire_owned()?;
///     Ok(std::thread::spawn(move || permit.record(Outcome::Success)))
/// }
/// let breaker = CircuitBreaker::builder().build()?;
/// spawn_call(&breaker)?.join().unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OwnedPermit {
    held: Held<CircuitBreaker>,
}

impl OwnedPermit {
    /// The state the call was admitted in.
    pub fn state(&self) -> State {
        self.held.state()
    }

    /// The breaker that admitted the call.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.held.breaker
    }

    /// Records the call's outcome (see [`Permit::record`]).
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        self.held.record(outcome);
    }

    /// Records an outcome with a latency the caller measured (see
    /// [`Permit::record_sample`]).
    #[inline]
    pub fn record_sample(mut self, sample: Sample) {
        self.held.record_sample(sample);
    }

    /// Classifies `result` and records the outcome.
    #[inline]
    pub fn record_result<C, T, E>(mut self, classifier: &C, result: Result<&T, &E>)
    where
        C: Classify<T, E>,
    {
        self.held.record_classified(classifier, result);
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("breaker", &self.held.breaker.name())
            .field("raw", &self.held.raw)
            .finish()
    }
}

/// A taken permit and the way to its breaker, which [`Permit`] (borrowed),
/// [`OwnedPermit`] (owned) and the services' response futures (striped or
/// `&'static` handles) share: recorded at most once; dropped unrecorded, it
/// counts as a cancelled call and gives a half-open probe slot back.
pub(crate) struct Held<B: Borrow<CircuitBreaker>> {
    breaker: B,
    raw: Option<RawPermit>,
}

impl<B: Borrow<CircuitBreaker>> Held<B> {
    #[inline]
    pub(crate) fn new(breaker: B, raw: RawPermit) -> Self {
        Self {
            breaker,
            raw: Some(raw),
        }
    }

    fn state(&self) -> State {
        self.raw.map_or(State::Closed, RawPermit::state)
    }

    #[inline]
    pub(crate) fn record(&mut self, outcome: Outcome) {
        if let Some(raw) = self.raw.take() {
            self.breaker.borrow().record_raw(raw, outcome);
        }
    }

    #[inline]
    fn record_sample(&mut self, sample: Sample) {
        if let Some(raw) = self.raw.take() {
            self.breaker.borrow().record_sample_raw(raw, sample);
        }
    }

    /// Classifies, then records: a classifier that panics leaves the
    /// permit here, and the drop gives a probe slot back.
    #[inline]
    pub(crate) fn record_classified<C, T, E>(&mut self, classifier: &C, result: Result<&T, &E>)
    where
        C: Classify<T, E>,
    {
        let outcome = classifier.classify(result);
        self.record(outcome);
    }
}

impl<B: Borrow<CircuitBreaker>> Drop for Held<B> {
    #[inline]
    fn drop(&mut self) {
        if let Some(raw) = self.raw.take() {
            self.breaker.borrow().release_raw(raw);
        }
    }
}

impl<B: Borrow<CircuitBreaker>> fmt::Debug for Held<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Held").field("raw", &self.raw).finish()
    }
}
