//! Brute-force throttling of sign-ins, per account and per source address.
//!
//! After `limit` failures within the window, each further failure blocks the key for twice
//! as long as the last (1 s, 2 s, 4 s, ...), never longer than `max_block`. A block always
//! ends, so a flood of failures against someone's account slows the attacker down without
//! locking the real user out for good; a success clears the account's count.

/// The state kept per key (unix microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    pub failures: i64,
    pub window_start: i64,
    pub blocked_until: i64,
}

/// The policy for one kind of key.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed in a window before blocks start.
    pub limit: i64,
    /// A quiet window of this length starts the count again (µs).
    pub window: i64,
    /// The longest block (µs).
    pub max_block: i64,
}

const SECOND: i64 = 1_000_000;

/// Per account: 5 tries, then 1 s, 2 s, ... up to 15 minutes.
pub const ACCOUNT: Policy = Policy {
    limit: 5,
    window: 15 * 60 * SECOND,
    max_block: 15 * 60 * SECOND,
};

/// Per source address: more room (offices share addresses), same growth.
pub const ADDRESS: Policy = Policy {
    limit: 20,
    window: 15 * 60 * SECOND,
    max_block: 15 * 60 * SECOND,
};

impl Throttle {
    /// Microseconds the key stays blocked at `now` (0: not blocked).
    pub fn blocked_for(&self, now: i64) -> i64 {
        (self.blocked_until - now).max(0)
    }

    /// The state after one more failure at `now`.
    pub fn fail(self, policy: Policy, now: i64) -> Throttle {
        let mut t = if now - self.window_start > policy.window {
            Throttle {
                failures: 0,
                window_start: now,
                blocked_until: 0,
            }
        } else {
            self
        };
        t.failures += 1;
        let over = t.failures - policy.limit;
        if over > 0 {
            let block = SECOND
                .saturating_mul(1i64 << (over - 1).clamp(0, 30))
                .min(policy.max_block);
            t.blocked_until = now + block;
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_start_after_the_limit_double_and_are_capped() {
        let now = 1_000 * SECOND;
        let mut t = Throttle {
            window_start: now,
            ..Default::default()
        };
        for _ in 0..5 {
            t = t.fail(ACCOUNT, now);
            assert_eq!(t.blocked_for(now), 0);
        }
        t = t.fail(ACCOUNT, now);
        assert_eq!(t.blocked_for(now), SECOND);
        t = t.fail(ACCOUNT, now);
        assert_eq!(t.blocked_for(now), 2 * SECOND);
        for _ in 0..40 {
            t = t.fail(ACCOUNT, now);
        }
        assert_eq!(
            t.blocked_for(now),
            ACCOUNT.max_block,
            "never longer than the cap"
        );
        assert_eq!(t.blocked_for(now + ACCOUNT.max_block), 0, "and always ends");
    }

    #[test]
    fn a_quiet_window_starts_over() {
        let now = 1_000 * SECOND;
        let mut t = Throttle::default();
        for _ in 0..7 {
            t = t.fail(ACCOUNT, now);
        }
        let later = now + ACCOUNT.window + SECOND;
        let t = t.fail(ACCOUNT, later);
        assert_eq!(t.failures, 1);
        assert_eq!(t.blocked_for(later), 0);
    }
}
