//! Random samples of completed orders: which orders a seed draws from the candidates. The
//! generator is written out here (SplitMix64 and a partial Fisher-Yates shuffle over the
//! candidates sorted by id) rather than taken from a library whose algorithm may change, so
//! a recorded draw can be repeated from its seed and candidates and checked. Pure.

use contracts::OrderId;

/// SplitMix64: a small, well-known generator; the same seed gives the same numbers. Public
/// so that other seeded, repeatable draws (the system's fuzz test) use this one.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// The next number of the sequence.
    #[allow(clippy::should_implement_trait)] // not an Iterator: the sequence never ends
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0), without modulo bias.
    pub fn below(&mut self, bound: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % bound);
        loop {
            let n = self.next();
            if n < zone {
                return n % bound;
            }
        }
    }
}

/// Up to `size` of `candidates`, drawn with `seed`: the candidates are sorted by id first,
/// so the draw depends on the set, not on how it was read.
pub fn draw(candidates: &[OrderId], size: usize, seed: i64) -> Vec<OrderId> {
    let mut pool = candidates.to_vec();
    pool.sort();
    pool.dedup();
    let take = size.min(pool.len());
    let mut rng = SplitMix64(u64::from_ne_bytes(seed.to_ne_bytes()));
    for i in 0..take {
        let remaining = (pool.len() - i) as u64;
        // `below` is under `remaining`, which is a usize: it fits.
        let j = i + usize::try_from(rng.below(remaining)).unwrap_or(0);
        pool.swap(i, j);
    }
    pool.truncate(take);
    pool
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(n: usize) -> Vec<OrderId> {
        (0..n).map(|_| OrderId::new()).collect()
    }

    #[test]
    fn given_a_seed_then_the_draw_repeats_whatever_order_the_candidates_came_in() {
        // Given ten candidates, and the same ten the other way round
        let ten = candidates(10);
        let mut reversed = ten.clone();
        reversed.reverse();
        // When three are drawn with the same seed from each
        let a = draw(&ten, 3, 42);
        // Then the same three, all different, all candidates
        assert_eq!(a, draw(&reversed, 3, 42));
        assert_eq!(a.len(), 3);
        let mut unique = a.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 3);
        assert!(a.iter().all(|o| ten.contains(o)));
    }

    #[test]
    fn given_different_seeds_then_the_draws_differ() {
        // Given many candidates / When drawn with two seeds / Then not the same sample
        let many = candidates(200);
        assert_ne!(draw(&many, 5, 1), draw(&many, 5, 2));
    }

    #[test]
    fn given_fewer_candidates_than_asked_then_all_are_drawn() {
        // Given two candidates / When five are asked / Then both, nothing more
        let two = candidates(2);
        let mut drawn = draw(&two, 5, -7);
        drawn.sort();
        let mut expected = two.clone();
        expected.sort();
        assert_eq!(drawn, expected);
        assert!(draw(&[], 5, 0).is_empty());
    }
}
