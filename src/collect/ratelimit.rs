//! One rate controller per service and region: a token bucket whose rate adapts to the API (AIMD).
//!
//! It starts at `--rate` with a burst matching the service's documented bucket (EC2's Describe calls:
//! 100 tokens refilling at 20/s), halves its rate on a throttling answer — once per
//! [`CUT_WINDOW`], since the calls of one burst are throttled together — and climbs back linearly,
//! by the configured rate every [`RECOVERY`], while answers succeed. Throttling answers are retried
//! here and only here (the providers' clients retry only calls that received no answer), so the two
//! layers never compound. It also counts what it saw, for the end of the scan and the manifest.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Throttling answers within this time of a cut are the same congestion: the rate is halved once.
pub const CUT_WINDOW: Duration = Duration::from_millis(500);
/// Time for the rate to climb by the configured rate (from half of it back to it: half of this).
pub const RECOVERY: Duration = Duration::from_secs(2);
/// The lowest rate, as a fraction of the configured one.
const FLOOR: f64 = 1.0 / 64.0;

/// What the controller of one service and region saw during a scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateStats {
    /// Requests sent (first attempts and retries).
    pub requests: u64,
    /// Answers classified as throttling.
    pub throttles: u64,
    /// Requests that were retries of an earlier attempt.
    pub retries: u64,
    /// The lowest rate the controller went down to (requests per second).
    pub lowest_rate: f64,
    /// The rate at the end of the scan.
    pub final_rate: f64,
    /// Requests sent per second between the first request and the last answer.
    pub effective_rate: f64,
}

#[derive(Debug)]
struct State {
    rate: f64,
    tokens: f64,
    refilled_at: Instant,
    /// When the rate was last halved, if it was.
    cut_at: Option<Instant>,
    /// When the rate last grew (or was cut): growth is counted from here.
    grown_at: Instant,
    stats: RateStats,
    first_request: Option<Instant>,
    last_answer: Option<Instant>,
}

/// Lets requests through at an adaptive rate, with bursts up to the service's bucket.
#[derive(Debug)]
pub struct RateController {
    ceiling: f64,
    burst: f64,
    state: Mutex<State>,
}

impl RateController {
    /// A controller starting at `rate` requests per second with a bucket of `burst` tokens.
    pub fn new(rate: f64, burst: f64) -> Self {
        let rate = rate.max(0.001);
        let burst = burst.max(1.0);
        let now = Instant::now();
        Self {
            ceiling: rate,
            burst,
            state: Mutex::new(State {
                rate,
                tokens: burst,
                refilled_at: now,
                cut_at: None,
                grown_at: now,
                stats: RateStats {
                    lowest_rate: rate,
                    ..RateStats::default()
                },
                first_request: None,
                last_answer: None,
            }),
        }
    }

    /// Waits until a request may be sent (`retry`: it repeats an earlier attempt).
    pub async fn acquire(&self, retry: bool) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                let elapsed = now.duration_since(s.refilled_at).as_secs_f64();
                s.tokens = (s.tokens + elapsed * s.rate).min(self.burst);
                s.refilled_at = now;
                if s.tokens >= 1.0 {
                    s.tokens -= 1.0;
                    s.stats.requests += 1;
                    s.stats.retries += u64::from(retry);
                    s.first_request.get_or_insert(now);
                    return;
                }
                Duration::from_secs_f64((1.0 - s.tokens) / s.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// A throttling answer: halve the rate (once per congestion) and empty the bucket, so the retries
    /// and the calls queued behind them go at the new rate instead of bursting again.
    pub async fn throttled(&self) {
        let mut s = self.state.lock().await;
        let now = Instant::now();
        s.stats.throttles += 1;
        s.last_answer = Some(now);
        if s.cut_at.is_some_and(|t| now.duration_since(t) < CUT_WINDOW) {
            return;
        }
        s.rate = (s.rate / 2.0).max(self.ceiling * FLOOR);
        s.tokens = 0.0;
        s.refilled_at = now;
        s.cut_at = Some(now);
        s.grown_at = now;
        s.stats.lowest_rate = s.stats.lowest_rate.min(s.rate);
    }

    /// Any other answer: the rate climbs back toward the configured one.
    pub async fn answered(&self) {
        let mut s = self.state.lock().await;
        let now = Instant::now();
        s.last_answer = Some(now);
        if s.rate < self.ceiling {
            let climbed = now.duration_since(s.grown_at).as_secs_f64() / RECOVERY.as_secs_f64();
            s.rate = (s.rate + self.ceiling * climbed).min(self.ceiling);
        }
        s.grown_at = now;
    }

    /// The rate now (requests per second).
    pub async fn rate(&self) -> f64 {
        self.state.lock().await.rate
    }

    /// What the controller saw so far.
    pub async fn stats(&self) -> RateStats {
        let s = self.state.lock().await;
        let mut stats = s.stats.clone();
        stats.final_rate = s.rate;
        stats.effective_rate = match (s.first_request, s.last_answer) {
            (Some(a), Some(b)) if b > a => {
                stats.requests as f64 / b.duration_since(a).as_secs_f64()
            }
            _ => 0.0,
        };
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_paces() {
        let b = RateController::new(10.0, 5.0);
        let start = Instant::now();
        for _ in 0..5 {
            b.acquire(false).await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "the burst is immediate"
        );
        for _ in 0..10 {
            b.acquire(false).await;
        }
        let e = start.elapsed();
        assert!(
            e >= Duration::from_millis(950) && e <= Duration::from_millis(1100),
            "{e:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn halves_once_per_congestion_and_climbs_back_within_seconds() {
        let c = RateController::new(20.0, 100.0);
        c.acquire(false).await;
        // A burst throttled together: one cut.
        for _ in 0..5 {
            c.throttled().await;
        }
        assert_eq!(c.rate().await, 10.0);
        // Throttled again after the window: another cut; the bucket is empty, so the next request
        // waits for a token at the lower rate.
        tokio::time::advance(CUT_WINDOW).await;
        c.throttled().await;
        assert_eq!(c.rate().await, 5.0);
        let before = Instant::now();
        c.acquire(true).await;
        let waited = before.elapsed();
        assert!(waited >= Duration::from_millis(190), "{waited:?}");
        // Answers succeed: back at the configured rate within RECOVERY.
        for _ in 0..40 {
            tokio::time::advance(RECOVERY / 40).await;
            c.answered().await;
        }
        assert_eq!(c.rate().await, 20.0);
        let s = c.stats().await;
        assert_eq!((s.requests, s.throttles, s.retries), (2, 6, 1));
        assert_eq!((s.lowest_rate, s.final_rate), (5.0, 20.0));
    }

    #[tokio::test(start_paused = true)]
    async fn never_stops() {
        let c = RateController::new(20.0, 1.0);
        for _ in 0..50 {
            tokio::time::advance(CUT_WINDOW).await;
            c.throttled().await;
        }
        assert!(c.rate().await >= 20.0 / 64.0);
    }
}
