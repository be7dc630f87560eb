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

/// Throttle states kept in this process's memory, per source address, for what needs no
/// agreement between replicas: refusing a flood of requests that cost something (the
/// set-password form's link lookups) without a database write per refused request, which is
/// itself what a flood from many addresses would otherwise cost. With several replicas each
/// counts its own share. At most `max_sources` addresses are remembered; past that, sources
/// that are neither blocked nor counting are forgotten (at most once a second), and a new
/// source is not tracked until there is room.
pub struct Local {
    policy: Policy,
    max_sources: usize,
    states: std::sync::Mutex<LocalStates>,
}

#[derive(Default)]
struct LocalStates {
    by_source: std::collections::HashMap<std::net::IpAddr, Throttle>,
    last_prune: i64,
}

/// The unit a source is throttled by: an IPv4 address, or an IPv6 /64 (one host usually
/// holds a whole /64, so single IPv6 addresses would not throttle anyone).
pub fn source_of(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => std::net::IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                std::net::IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl Local {
    pub fn new(policy: Policy, max_sources: usize) -> Self {
        Local {
            policy,
            max_sources: max_sources.max(1),
            states: Default::default(),
        }
    }

    fn states(&self) -> std::sync::MutexGuard<'_, LocalStates> {
        // A panic while holding the lock leaves plain numbers behind: still usable.
        self.states.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Microseconds `ip` stays blocked at `now` (0: not blocked).
    pub fn blocked_for(&self, ip: std::net::IpAddr, now: i64) -> i64 {
        self.states()
            .by_source
            .get(&source_of(ip))
            .map_or(0, |t| t.blocked_for(now))
    }

    /// Records a failure of `ip` at `now`; returns its new state.
    pub fn fail(&self, ip: std::net::IpAddr, now: i64) -> Throttle {
        let source = source_of(ip);
        let policy = self.policy;
        let mut states = self.states();
        if !states.by_source.contains_key(&source)
            && states.by_source.len() >= self.max_sources
            && now - states.last_prune > SECOND
        {
            states.last_prune = now;
            states
                .by_source
                .retain(|_, t| t.blocked_for(now) > 0 || now - t.window_start <= policy.window);
        }
        let known = states.by_source.get(&source).copied();
        let next = known
            .unwrap_or(Throttle {
                window_start: now,
                ..Throttle::default()
            })
            .fail(policy, now);
        if known.is_some() || states.by_source.len() < self.max_sources {
            states.by_source.insert(source, next);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_throttles_block_per_source_and_forget_quiet_sources_when_full() {
        let now = 1_000 * SECOND;
        let local = Local::new(ADDRESS, 2);
        let a: std::net::IpAddr = "10.0.0.1".parse().unwrap();
        for _ in 0..ADDRESS.limit {
            local.fail(a, now);
        }
        assert_eq!(local.blocked_for(a, now), 0, "the limit itself is allowed");
        local.fail(a, now);
        assert_eq!(local.blocked_for(a, now), SECOND);
        let b: std::net::IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(local.blocked_for(b, now), 0, "per source");
        // IPv6 hosts are throttled by their /64.
        let (v6a, v6b): (std::net::IpAddr, std::net::IpAddr) = (
            "2001:db8::1".parse().unwrap(),
            "2001:db8::ffff:2".parse().unwrap(),
        );
        assert_eq!(source_of(v6a), source_of(v6b));
        // Full (a and b): a quiet source is forgotten to make room, a blocked one is not.
        local.fail(b, now);
        let later = now + ADDRESS.window + 2 * SECOND;
        let c: std::net::IpAddr = "10.0.0.3".parse().unwrap();
        local.fail(c, later);
        assert_eq!(local.states().by_source.len(), 1, "both old windows ended");
        assert!(local.states().by_source.contains_key(&c));
    }

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
