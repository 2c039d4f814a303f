//! A token bucket per service and region: steady politeness toward the API's request rate limits,
//! with the SDK's adaptive retry handling whatever throttling still happens.

use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// Lets `rate` requests per second through on average, with bursts up to `burst`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64) -> Self {
        let burst = burst.max(1.0);
        Self {
            rate: rate.max(0.001),
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut s = self.state.lock().await;
                let now = Instant::now();
                s.0 = (s.0 + now.duration_since(s.1).as_secs_f64() * self.rate).min(self.burst);
                s.1 = now;
                if s.0 >= 1.0 {
                    s.0 -= 1.0;
                    return;
                }
                Duration::from_secs_f64((1.0 - s.0) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_paces() {
        let b = TokenBucket::new(10.0, 5.0);
        let start = tokio::time::Instant::now();
        for _ in 0..5 {
            b.acquire().await;
        }
        assert!(
            start.elapsed() < Duration::from_millis(1),
            "the burst is immediate"
        );
        for _ in 0..10 {
            b.acquire().await;
        }
        let e = start.elapsed();
        assert!(
            e >= Duration::from_millis(950) && e <= Duration::from_millis(1100),
            "{e:?}"
        );
    }
}
