//! When to fetch a service's proxy configuration from System (docs/behaviour.md §8).
//!
//! Time and randomness come in as arguments (milliseconds since any fixed
//! origin, and a jitter in `[0, 1)`), so the timing is unit-tested without a clock.

/// Longest wait between retries after failures, whatever the ttl.
const MAX_BACKOFF_MS: u64 = 60_000;
/// First wait after a failure.
const FIRST_BACKOFF_MS: u64 = 1_000;
/// The refresh happens up to this share of the ttl early (at most `MAX_JITTER_MS`),
/// so that many filters started together do not fetch together.
const JITTER_SHARE: u64 = 10;
const MAX_JITTER_MS: u64 = 30_000;

/// The fetch timing of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    ttl_ms: u64,
    next_at_ms: u64,
    consecutive_failures: u32,
    in_flight: bool,
}

impl Schedule {
    /// A schedule whose first fetch is due at once.
    pub fn new(ttl_secs: u64) -> Self {
        Schedule {
            ttl_ms: ttl_secs.saturating_mul(1000).max(1),
            next_at_ms: 0,
            consecutive_failures: 0,
            in_flight: false,
        }
    }

    /// Whether a fetch should start now: due, and none is waiting for its answer.
    pub fn is_due(&self, now_ms: u64) -> bool {
        !self.in_flight && now_ms >= self.next_at_ms
    }

    /// A fetch was sent; no other starts until its outcome is recorded.
    pub fn started(&mut self) {
        self.in_flight = true;
    }

    /// The fetch succeeded: the next one is due when the ttl expires, a little early.
    pub fn succeeded(&mut self, now_ms: u64, jitter: f64) {
        self.in_flight = false;
        self.consecutive_failures = 0;
        let spread = (self.ttl_ms / JITTER_SHARE).min(MAX_JITTER_MS);
        self.next_at_ms = now_ms.saturating_add(self.ttl_ms.saturating_sub(scale(spread, jitter)));
    }

    /// The fetch failed: retry after a back-off that doubles on each failure in a
    /// row, stays below the ttl and never exceeds `MAX_BACKOFF_MS`.
    pub fn failed(&mut self, now_ms: u64, jitter: f64) {
        self.in_flight = false;
        self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        let doubling = 1u64
            .checked_shl(self.consecutive_failures.saturating_sub(1).min(20))
            .unwrap_or(u64::MAX);
        let cap = (self.ttl_ms / 2).clamp(1, MAX_BACKOFF_MS);
        let backoff = FIRST_BACKOFF_MS.saturating_mul(doubling).min(cap);
        // Up to a quarter earlier, so that retries from many filters spread out.
        self.next_at_ms =
            now_ms.saturating_add(backoff.saturating_sub(scale(backoff / 4, jitter)).max(1));
    }

    /// When the next fetch is due.
    pub fn next_at_ms(&self) -> u64 {
        self.next_at_ms
    }

    /// Failures since the last success.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }
}

/// `amount × jitter`, with the jitter clamped to `[0, 1]`.
fn scale(amount: u64, jitter: f64) -> u64 {
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Both factors are bounded, so the product fits and truncation is intended.
    let scaled = (amount as f64 * jitter) as u64;
    scaled.min(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_fetch_is_due_at_once_and_only_once_in_flight() {
        let mut schedule = Schedule::new(600);
        assert!(schedule.is_due(0));
        schedule.started();
        assert!(!schedule.is_due(10_000_000));
    }

    #[test]
    fn success_waits_the_ttl_minus_a_small_jitter() {
        let mut schedule = Schedule::new(600);
        schedule.started();
        schedule.succeeded(1_000, 0.0);
        assert_eq!(schedule.next_at_ms(), 601_000);
        schedule.started();
        schedule.succeeded(1_000, 0.999_999);
        // At most 10% of the ttl, and at most 30 s, early.
        assert!(schedule.next_at_ms() >= 1_000 + 600_000 - 30_000);
        assert!(schedule.next_at_ms() < 601_000);
        let mut short = Schedule::new(1);
        short.succeeded(0, 1.0);
        assert_eq!(short.next_at_ms(), 900);
    }

    #[test]
    fn failures_back_off_doubling_and_capped_below_the_ttl() {
        let mut schedule = Schedule::new(600);
        let waits: Vec<u64> = (0..10)
            .map(|_| {
                schedule.started();
                schedule.failed(0, 0.0);
                schedule.next_at_ms()
            })
            .collect();
        assert_eq!(
            waits,
            vec![
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000, 60_000
            ]
        );
        assert_eq!(schedule.consecutive_failures(), 10);
        schedule.succeeded(0, 0.0);
        assert_eq!(schedule.consecutive_failures(), 0);
        schedule.failed(0, 0.0);
        assert_eq!(schedule.next_at_ms(), 1_000);
    }

    #[test]
    fn backoff_is_shorter_than_a_small_ttl() {
        for ttl in [1, 2, 3, 10] {
            let mut schedule = Schedule::new(ttl);
            for _ in 0..30 {
                schedule.failed(0, 0.5);
                assert!(
                    schedule.next_at_ms() < ttl * 1000,
                    "ttl {ttl}: {}",
                    schedule.next_at_ms()
                );
                assert!(schedule.next_at_ms() >= 1);
            }
        }
    }

    #[test]
    fn jitter_outside_the_unit_range_is_clamped() {
        let mut schedule = Schedule::new(100);
        schedule.succeeded(0, f64::NAN);
        assert_eq!(schedule.next_at_ms(), 100_000);
        schedule.succeeded(0, 7.0);
        assert_eq!(schedule.next_at_ms(), 90_000);
        schedule.failed(0, -3.0);
        assert_eq!(schedule.next_at_ms(), 1_000);
    }

    #[test]
    fn huge_ttl_does_not_overflow() {
        let mut schedule = Schedule::new(u64::MAX);
        schedule.succeeded(u64::MAX - 5, 0.5);
        assert_eq!(schedule.next_at_ms(), u64::MAX);
        for _ in 0..100 {
            schedule.failed(u64::MAX, 0.5);
        }
        assert_eq!(schedule.next_at_ms(), u64::MAX);
    }
}
