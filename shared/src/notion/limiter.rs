//! A per-integration request limiter: never more than `rps` requests in any one-second
//! window, plus a shared pause when Notion answers 429.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::Mutex;
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
            }),
        }
    }

    /// A limiter that starts as if `rps` requests had just been sent: an invocation that
    /// follows another (a continuation, the next sync) cannot burst past the limit at the
    /// boundary, at the cost of one window's wait at its start.
    pub fn primed(rps: u32) -> Self {
        let limiter = Self::new(rps);
        let now = Instant::now();
        if let Ok(mut state) = limiter.state.try_lock() {
            state.sent.extend(std::iter::repeat_n(now, limiter.rps));
        }
        limiter
    }

    /// Waits until one more request may be sent, and records it as sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                while state.sent.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
                    state.sent.pop_front();
                }
                match state.paused_until {
                    Some(until) if until > now => Some(until - now),
                    _ if state.sent.len() >= self.rps => state.sent.front().map(|t| WINDOW - now.duration_since(*t)),
                    _ => {
                        state.sent.push_back(now);
                        None
                    }
                }
            };
            match wait {
                Some(d) => tokio::time::sleep(d).await,
                None => return,
            }
        }
    }

    /// Holds every request back for `delay` (Notion's `Retry-After`).
    pub async fn pause(&self, delay: Duration) {
        let mut state = self.state.lock().await;
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
    async fn primed_limiter_waits_one_window_first() {
        let limiter = RateLimiter::primed(3);
        let start = Instant::now();
        limiter.acquire().await;
        assert!(start.elapsed() >= WINDOW);
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
