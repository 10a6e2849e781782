//! A per-integration request limiter: never more than `rps` requests in any one-second
//! window, sent evenly spaced rather than in bursts, plus a shared pause when Notion
//! answers 429.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;
use tokio::time::Instant;

/// Sliding-window limiter shared by every request of one sync.
#[derive(Debug)]
pub struct RateLimiter {
    rps: usize,
    state: Mutex<LimiterState>,
}

#[derive(Debug)]
struct LimiterState {
    sent: VecDeque<Instant>,
    paused_until: Option<Instant>,
    /// When the next request is due on the even schedule.
    next_at: Option<Instant>,
}

/// A window slightly longer than a second, so that delays between our send and Notion's
/// receipt (scheduling, connection reuse) never land `rps + 1` requests inside one of its
/// seconds. It costs under 5% of throughput.
const WINDOW: Duration = Duration::from_millis(1_050);

impl RateLimiter {
    /// A limiter allowing `rps` requests per second (at least 1).
    pub fn new(rps: u32) -> Self {
        Self {
            rps: rps.max(1) as usize,
            state: Mutex::new(LimiterState {
                sent: VecDeque::new(),
                paused_until: None,
                next_at: None,
            }),
        }
    }

    /// A limiter that remembers the requests an earlier invocation of the same integration
    /// sent (`sent`, epoch milliseconds, as [`RateLimiter::recent`] gave them), so that a
    /// continuation or the next run cannot burst past the limit at the boundary, and waits
    /// no longer than those requests require. Requests older than the window are ignored;
    /// one stamped in the future (another machine's clock) counts as sent now.
    pub fn resuming(rps: u32, sent: &[i64], now_ms: i64) -> Self {
        let limiter = Self::new(rps);
        let window_ms = WINDOW.as_millis() as i64;
        let mut ages: Vec<u64> = sent
            .iter()
            .map(|t| (now_ms - t).max(0))
            .filter(|age| *age < window_ms)
            .map(|age| age as u64)
            .collect();
        // Oldest first; only the newest `rps` matter.
        ages.sort_unstable_by(|a, b| b.cmp(a));
        let skip = ages.len().saturating_sub(limiter.rps);
        let now = Instant::now();
        let spacing = limiter.spacing();
        {
            let mut state = limiter.lock();
            state.sent.extend(
                ages.into_iter()
                    .skip(skip)
                    .map(|age| now.checked_sub(Duration::from_millis(age)).unwrap_or(now)),
            );
            state.next_at = state.sent.back().map(|last| *last + spacing);
        }
        limiter
    }

    /// The send times still inside the window, as epoch milliseconds (`now_ms` is now), for
    /// the next invocation's [`RateLimiter::resuming`].
    pub fn recent(&self, now_ms: i64) -> Vec<i64> {
        let now = Instant::now();
        self.lock()
            .sent
            .iter()
            .map(|t| now.duration_since(*t))
            .filter(|age| *age < WINDOW)
            .map(|age| now_ms - age.as_millis() as i64)
            .collect()
    }

    /// The least time between two requests.
    fn spacing(&self) -> Duration {
        WINDOW / self.rps as u32
    }

    fn lock(&self) -> MutexGuard<'_, LimiterState> {
        // The state stays consistent even if a holder panicked: every update is one push/pop.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until one more request may be sent, and records it as sent.
    pub async fn acquire(&self) {
        // Without a bound the wait always ends in a send.
        let _ = self.acquire_within(Duration::MAX).await;
    }

    /// [`RateLimiter::acquire`], unless a pause ([`RateLimiter::pause`]) holds requests back
    /// for longer than `max_wait`: then nothing is sent and the pause left is returned.
    pub async fn acquire_within(&self, max_wait: Duration) -> Result<(), Duration> {
        loop {
            let wait = {
                let mut state = self.lock();
                let now = Instant::now();
                while state.sent.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    state.sent.pop_front();
                }
                // Evenly spaced: a burst of `rps` requests sent at once reaches Notion spread
                // over its processing time, and the next second's burst would then overlap
                // the tail of the last one in Notion's own window (a 429 and a pause).
                // The schedule advances by exactly one spacing per request, so timer wake-ups
                // a little late (tokio's timer has millisecond resolution) do not slow the
                // rate; after a quiet spell it restarts from now.
                let spacing = self.spacing();
                match state.paused_until {
                    Some(until) if until > now && until - now > max_wait => return Err(until - now),
                    Some(until) if until > now => Some(until - now),
                    _ if state.sent.len() >= self.rps => state.sent.front().map(|t| WINDOW - now.duration_since(*t)),
                    _ if state.next_at.is_some_and(|t| t > now) => state.next_at.map(|t| t - now),
                    _ => {
                        state.sent.push_back(now);
                        let on_schedule = state.next_at.filter(|t| now.duration_since(*t) <= spacing);
                        state.next_at = Some(on_schedule.unwrap_or(now) + spacing);
                        None
                    }
                }
            };
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => return Ok(()),
            }
        }
    }

    /// Holds every request back for `delay` (Notion's `Retry-After`).
    pub async fn pause(&self, delay: Duration) {
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

    #[tokio::test(start_paused = true)]
    async fn a_pause_longer_than_the_caller_waits_sends_nothing_and_says_how_long() {
        let limiter = RateLimiter::new(3);
        limiter.pause(Duration::from_secs(90)).await;
        let start = Instant::now();
        let left = limiter.acquire_within(Duration::from_secs(30)).await.unwrap_err();
        assert_eq!(left, Duration::from_secs(90));
        assert_eq!(start.elapsed(), Duration::ZERO, "it did not wait");
        assert!(limiter.recent(0).is_empty(), "nothing counted as sent");
        // A caller willing to wait longer waits the pause out.
        limiter.acquire_within(Duration::from_secs(120)).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(90));
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_rps_in_a_window() {
        let limiter = RateLimiter::new(3);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..10 {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        for (i, t) in times.iter().enumerate().skip(3) {
            assert!(*t - times[i - 3] >= Duration::from_secs(1), "{times:?}");
        }
        assert!(
            times[9] < Duration::from_millis(3_200),
            "no slower than needed: {times:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn resuming_waits_only_as_long_as_earlier_requests_require() {
        let now_ms = 1_700_000_000_000;
        // Three requests 400 ms ago fill a 3 rps window: the next waits until they age out.
        let limiter = RateLimiter::resuming(3, &[now_ms - 400, now_ms - 400, now_ms - 400], now_ms);
        let start = Instant::now();
        limiter.acquire().await;
        let waited = start.elapsed();
        assert!(waited >= WINDOW - Duration::from_millis(400), "{waited:?}");
        assert!(waited <= WINDOW - Duration::from_millis(390), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn resuming_after_a_quiet_window_starts_at_once() {
        let now_ms = 1_700_000_000_000;
        let old = [now_ms - 5_000, now_ms - 2_000, now_ms - 1_100];
        let limiter = RateLimiter::resuming(3, &old, now_ms);
        let start = Instant::now();
        limiter.acquire().await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn requests_are_evenly_spaced_not_bursts() {
        let limiter = RateLimiter::new(300);
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..600 {
            limiter.acquire().await;
            times.push(start.elapsed());
        }
        let spacing = WINDOW / 300;
        // About one spacing apart (the timer's millisecond resolution moves single sends).
        let tick = Duration::from_millis(1);
        assert!(
            times.windows(2).all(|w| w[1] - w[0] + tick >= spacing),
            "about {spacing:?} apart"
        );
        // The full rate all the same: 600 requests in two windows.
        assert!(times[599] < 2 * WINDOW, "{:?}", times[599]);
        // At most 30 in any 100 ms, where a burst would send 300.
        let most = times
            .iter()
            .map(|t| {
                times
                    .iter()
                    .filter(|u| **u >= *t && **u < *t + Duration::from_millis(100))
                    .count()
            })
            .max()
            .unwrap();
        assert!(most <= 30, "{most}");
    }

    #[tokio::test(start_paused = true)]
    async fn future_stamps_count_as_now_and_only_the_newest_rps_matter() {
        let now_ms = 1_700_000_000_000;
        let sent: Vec<i64> = (0..10).map(|i| now_ms - 500 + i * 100).collect(); // up to 400 ms ahead
        let limiter = RateLimiter::resuming(2, &sent, now_ms);
        assert_eq!(limiter.recent(now_ms), vec![now_ms, now_ms]);
        let start = Instant::now();
        limiter.acquire().await;
        assert!(start.elapsed() >= WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn recent_hands_over_what_resuming_takes() {
        let limiter = RateLimiter::new(5);
        let start = Instant::now();
        let mut sent = Vec::new();
        for _ in 0..4 {
            limiter.acquire().await;
            sent.push(start.elapsed());
        }
        let elapsed = start.elapsed();
        let now_ms = 1_700_000_000_000;
        let recent = limiter.recent(now_ms);
        let expected: Vec<i64> = sent
            .iter()
            .map(|t| now_ms - (elapsed - *t).as_millis() as i64)
            .collect();
        assert_eq!(recent, expected);
        tokio::time::advance(WINDOW).await;
        assert!(limiter.recent(now_ms).is_empty(), "aged out");
        // A new invocation started at once after `recent` was taken: one more request fits
        // the window (after the spacing), then it waits for the oldest to age out.
        let next = RateLimiter::resuming(5, &recent, now_ms);
        let start = Instant::now();
        next.acquire().await;
        assert_eq!(start.elapsed(), WINDOW / 5 - (elapsed - sent[3]));
        next.acquire().await;
        assert!(start.elapsed() >= WINDOW - elapsed, "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_everything_back() {
        let limiter = RateLimiter::new(100);
        limiter.pause(Duration::from_secs(2)).await;
        let start = Instant::now();
        limiter.acquire().await;
        assert!(start.elapsed() >= Duration::from_secs(2));
    }
}
