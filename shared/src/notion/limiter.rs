//! A per-integration request limiter for Notion's per-connection limit as "Request limits"
//! documents it now: a fixed budget of requests per 60-second window, spent at any pace.
//!
//! - **Counted on arrival.** Notion counts a request when it arrives, which is somewhere
//!   between our decision to send it and our receipt of its answer; on a machine starved of
//!   CPU that gap grows and requests sent apart can arrive together. So a request holds its
//!   place in the budget from the moment it is let go until one window after its answer
//!   came back (or it was abandoned). Any window of Notion's then holds at most `budget`
//!   arrivals however late they were, because every request that arrived in it was still
//!   holding its place at the window's end.
//! - **Two paces.** A targeted run ([`Pace::Burst`]) spends the whole budget at once, so a
//!   webhook's few requests go out together. A full crawl ([`Pace::Sustained`]) keeps 5% of
//!   the budget in hand and sends evenly spaced at that rate, so it never stalls for the
//!   rest of a window after a burst and leaves room for what Notion counts that we cannot
//!   see (a request that timed out on our side but arrived).
//! - **A shared pause** when Notion answers 429 (`Retry-After`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

pub use crate::domain::request_limits::{Pace, RequestLimits};

/// The limiter shared by every request of one run's invocation.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RequestLimits,
    pace: Pace,
    state: Mutex<LimiterState>,
    /// Woken whenever a request's answer comes back (its place starts ageing out).
    answered: Notify,
}

#[derive(Debug, Default)]
struct LimiterState {
    /// Requests let go whose answer has not come back yet.
    in_flight: usize,
    /// When each answered request's answer came back, oldest first.
    answered: VecDeque<Instant>,
    paused_until: Option<Instant>,
    /// When the next request is due on the even schedule (sustained pace).
    next_at: Option<Instant>,
}

/// A request's place in the budget, held while it is in flight. Dropping it (the answer came
/// back, or the request was abandoned) starts its window-long release.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<RateLimiter>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut state = self.limiter.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        state.answered.push_back(Instant::now());
        drop(state);
        self.limiter.answered.notify_waiters();
    }
}

impl RateLimiter {
    /// A limiter spending `limits` at `pace`.
    pub fn new(limits: RequestLimits, pace: Pace) -> Self {
        Self {
            limits: limits.for_pace(pace),
            pace,
            state: Mutex::new(LimiterState::default()),
            answered: Notify::new(),
        }
    }

    /// A limiter that remembers the requests an earlier invocation of the same integration
    /// had answered (`answered`, epoch milliseconds, as [`RateLimiter::recent`] gave them),
    /// so that a continuation or the next run cannot go past the budget at the boundary, and
    /// waits no longer than those requests require. Times older than the window are ignored;
    /// one in the future (another machine's clock) counts as now.
    pub fn resuming(limits: RequestLimits, pace: Pace, answered: &[i64], now_ms: i64) -> Self {
        let limiter = Self::new(limits, pace);
        let window_ms = limiter.limits.window.as_millis() as i64;
        let mut ages: Vec<u64> = answered
            .iter()
            .map(|t| (now_ms - t).max(0))
            .filter(|age| *age < window_ms)
            .map(|age| age as u64)
            .collect();
        // Oldest first; only the newest `budget` matter (Burst's, the larger, so that a
        // sustained run after a burst waits for what the burst spent).
        ages.sort_unstable_by(|a, b| b.cmp(a));
        let skip = ages.len().saturating_sub(limits.budget as usize);
        let now = Instant::now();
        {
            let mut state = limiter.lock();
            state.answered.extend(
                ages.into_iter()
                    .skip(skip)
                    .map(|age| now.checked_sub(Duration::from_millis(age)).unwrap_or(now)),
            );
            let spacing = limiter.spacing();
            state.next_at = state.answered.back().map(|last| *last + spacing);
        }
        limiter
    }

    /// The answer times still inside the window, as epoch milliseconds (`now_ms` is now),
    /// for the next invocation's [`RateLimiter::resuming`]; a request still in flight counts
    /// as answered now.
    pub fn recent(&self, now_ms: i64) -> Vec<i64> {
        let now = Instant::now();
        let state = self.lock();
        let mut times: Vec<i64> = state
            .answered
            .iter()
            .map(|t| now.duration_since(*t))
            .filter(|age| *age < self.limits.window)
            .map(|age| now_ms - age.as_millis() as i64)
            .collect();
        times.extend(std::iter::repeat_n(now_ms, state.in_flight));
        times
    }

    /// The least time between two requests at a sustained pace; none in a burst.
    fn spacing(&self) -> Duration {
        match self.pace {
            Pace::Burst => Duration::ZERO,
            Pace::Sustained => self.limits.window / self.limits.budget,
        }
    }

    fn lock(&self) -> MutexGuard<'_, LimiterState> {
        // The state stays consistent even if a holder panicked: every update is one step.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until one more request may be sent, and holds its place until the permit is
    /// dropped.
    pub async fn acquire(self: &Arc<Self>) -> Permit {
        match self.acquire_within(Duration::MAX).await {
            Ok(permit) => permit,
            Err(_) => unreachable!("without a bound the wait always ends in a send"),
        }
    }

    /// [`RateLimiter::acquire`], unless the wait (a pause after a 429, or the budget's
    /// window) would be longer than `max_wait`: then nothing is sent and the wait left is
    /// returned.
    pub async fn acquire_within(self: &Arc<Self>, max_wait: Duration) -> Result<Permit, Duration> {
        loop {
            let answered = self.answered.notified();
            tokio::pin!(answered);
            // Registered before the state is read, so an answer in between still wakes us.
            answered.as_mut().enable();
            let wait = {
                let mut state = self.lock();
                let now = Instant::now();
                let window = self.limits.window;
                while state.answered.front().is_some_and(|t| now.duration_since(*t) >= window) {
                    state.answered.pop_front();
                }
                let held = state.in_flight + state.answered.len();
                let spacing = self.spacing();
                let wait = match state.paused_until {
                    Some(until) if until > now => Some(until - now),
                    _ if held >= self.limits.budget as usize => {
                        // The oldest answered place frees first; with every place in
                        // flight, the next answer starts the clock.
                        state.answered.front().map(|t| window - now.duration_since(*t))
                    }
                    _ if state.next_at.is_some_and(|t| t > now) => state.next_at.map(|t| t - now),
                    _ => {
                        state.in_flight += 1;
                        // The schedule advances by exactly one spacing per request, so timer
                        // wake-ups a little late do not slow the rate; after a quiet spell
                        // it restarts from now.
                        let on_schedule = state.next_at.filter(|t| now.duration_since(*t) <= spacing);
                        state.next_at = Some(on_schedule.unwrap_or(now) + spacing);
                        return Ok(Permit { limiter: self.clone() });
                    }
                };
                if let Some(w) = wait.filter(|w| *w > max_wait) {
                    return Err(w);
                }
                wait
            };
            match wait {
                Some(d) => {
                    tokio::select! {
                        _ = tokio::time::sleep(d) => {}
                        _ = &mut answered => {}
                    }
                }
                None => answered.await,
            }
        }
    }

    /// Holds every request back for `delay` (Notion's `Retry-After`).
    pub fn pause(&self, delay: Duration) {
        let mut state = self.lock();
        let until = Instant::now() + delay;
        if state.paused_until.is_none_or(|p| p < until) {
            state.paused_until = Some(until);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(rps: u32, window_secs: u32, pace: Pace) -> Arc<RateLimiter> {
        Arc::new(RateLimiter::new(RequestLimits::new(rps, None, window_secs), pace))
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_spends_the_whole_budget_at_once_then_waits_a_window_after_the_answers() {
        let limiter = limiter(5, 2, Pace::Burst);
        let start = Instant::now();
        let mut permits = Vec::new();
        for _ in 0..10 {
            permits.push(limiter.acquire().await);
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "ten requests at once");
        // All ten answered 300 ms later: the eleventh goes one window after that.
        tokio::time::advance(Duration::from_millis(300)).await;
        permits.clear();
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::from_millis(2_300));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_still_in_flight_holds_its_place_however_long_it_takes() {
        let limiter = limiter(1, 1, Pace::Burst);
        let slow = limiter.acquire().await;
        let waiting = {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                drop(limiter.acquire().await);
                start.elapsed()
            })
        };
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(!waiting.is_finished(), "nothing goes while the only place is in flight");
        drop(slow);
        assert_eq!(
            waiting.await.unwrap(),
            Duration::from_secs(6),
            "one window after the answer"
        );
    }

    /// Requests whose arrival at Notion lands anywhere between their send and their answer
    /// (a starved process: late sends, slow answers) never put more than the budget into
    /// any window of Notion's, whatever the window's phase.
    #[tokio::test(start_paused = true)]
    async fn arrivals_never_exceed_the_budget_in_any_window_whatever_the_delays() {
        use rand::{RngExt, SeedableRng};
        for (pace, seed) in [(Pace::Burst, 1), (Pace::Sustained, 2), (Pace::Burst, 3)] {
            let limiter = limiter(4, 3, pace);
            let budget = limiter.limits.budget as usize;
            let arrivals = Arc::new(Mutex::new(Vec::new()));
            let mut tasks = Vec::new();
            for worker in 0..6u64 {
                let (limiter, arrivals) = (limiter.clone(), arrivals.clone());
                tasks.push(tokio::spawn(async move {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(seed * 100 + worker);
                    for _ in 0..25 {
                        let permit = limiter.acquire().await;
                        let sent = Instant::now();
                        let latency = Duration::from_millis(rng.random_range(0..2_500));
                        let arrival = latency.mul_f64(rng.random_range(0.0..=1.0));
                        tokio::time::sleep(latency).await;
                        arrivals.lock().unwrap().push(sent + arrival);
                        drop(permit);
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            let mut times = arrivals.lock().unwrap().clone();
            times.sort();
            assert_eq!(times.len(), 150);
            let window = limiter.limits.window;
            let most = (0..times.len())
                .map(|i| times[i..].iter().take_while(|t| **t - times[i] < window).count())
                .max()
                .unwrap();
            assert!(
                most <= budget,
                "{pace:?}: {most} arrivals in one window, budget {budget}"
            );
            assert!(most >= budget / 2, "{pace:?}: the budget was used ({most})");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_sustained_crawl_is_evenly_spaced_at_ninety_five_percent() {
        let limiter = limiter(300, 1, Pace::Sustained);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..570 {
            drop(limiter.acquire().await);
            times.push(start.elapsed());
        }
        let spacing = Duration::from_secs(1) / 285;
        let tick = Duration::from_millis(1);
        assert!(
            times.windows(2).all(|w| w[1] - w[0] + tick >= spacing),
            "about {spacing:?} apart"
        );
        // The full sustained rate all the same: 570 requests in two seconds.
        assert!(times[569] < Duration::from_secs(2), "{:?}", times[569]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_or_a_window_longer_than_the_caller_waits_sends_nothing_and_says_how_long() {
        let limiter = limiter(3, 60, Pace::Burst);
        limiter.pause(Duration::from_secs(90));
        let start = Instant::now();
        let left = limiter.acquire_within(Duration::from_secs(30)).await.unwrap_err();
        assert_eq!(left, Duration::from_secs(90));
        assert_eq!(start.elapsed(), Duration::ZERO, "it did not wait");
        assert!(limiter.recent(0).is_empty(), "nothing counted as sent");
        // A caller willing to wait longer waits the pause out.
        drop(limiter.acquire_within(Duration::from_secs(120)).await.unwrap());
        assert_eq!(start.elapsed(), Duration::from_secs(90));
        // The budget spent: the wait is the window's.
        for _ in 1..180 {
            drop(limiter.acquire().await);
        }
        let left = limiter.acquire_within(Duration::from_secs(30)).await.unwrap_err();
        assert_eq!(left, Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn recent_hands_over_what_resuming_takes() {
        let limits = RequestLimits::new(5, None, 1);
        let limiter = Arc::new(RateLimiter::new(limits, Pace::Burst));
        let start = Instant::now();
        let mut answered = Vec::new();
        for _ in 0..4 {
            drop(limiter.acquire().await);
            answered.push(start.elapsed());
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        let in_flight = limiter.acquire().await;
        let elapsed = start.elapsed();
        let now_ms = 1_700_000_000_000;
        let recent = limiter.recent(now_ms);
        let mut expected: Vec<i64> = answered
            .iter()
            .map(|t| now_ms - (elapsed - *t).as_millis() as i64)
            .collect();
        expected.push(now_ms);
        assert_eq!(recent, expected, "the one in flight counts as answered now");
        drop(in_flight);
        // A new invocation at once: the budget is spent until the oldest ages out.
        let next = Arc::new(RateLimiter::resuming(limits, Pace::Burst, &recent, now_ms));
        let start = Instant::now();
        drop(next.acquire().await);
        assert_eq!(start.elapsed(), Duration::from_secs(1) - (elapsed - answered[0]));
    }

    #[tokio::test(start_paused = true)]
    async fn resuming_ignores_old_times_counts_future_ones_as_now_and_keeps_the_newest_budget() {
        let now_ms = 1_700_000_000_000;
        let limits = RequestLimits::new(2, None, 1);
        let old = [now_ms - 5_000, now_ms - 2_000, now_ms - 1_100];
        let quiet = Arc::new(RateLimiter::resuming(limits, Pace::Burst, &old, now_ms));
        let start = Instant::now();
        drop(quiet.acquire().await);
        assert_eq!(start.elapsed(), Duration::ZERO);
        let ahead: Vec<i64> = (0..10).map(|i| now_ms - 500 + i * 100).collect(); // up to 400 ms ahead
        let limiter = Arc::new(RateLimiter::resuming(limits, Pace::Burst, &ahead, now_ms));
        assert_eq!(limiter.recent(now_ms), vec![now_ms, now_ms]);
        let start = Instant::now();
        drop(limiter.acquire().await);
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_everything_back() {
        let limiter = limiter(100, 60, Pace::Sustained);
        limiter.pause(Duration::from_secs(2));
        let start = Instant::now();
        drop(limiter.acquire().await);
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
