//! Password hashing: argon2id (m = 19 MiB, t = 2, p = 1), run on a bounded pool so a flood
//! of sign-ins queues instead of starving every other request of CPU.
//!
//! The pool has two lanes. Sign-ins (`verify`) may use every permit; hashing a new password
//! (`hash`: set-password links, password changes, new accounts) may hold at most all but one
//! of them. So with `hash_concurrency` >= 2 a flood of password changes can never take the
//! whole pool: a sign-in waits for at most the hashes already queued ahead of it (the pool is
//! first come, first served), never for an unbounded backlog.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

/// The hashing pool.
#[derive(Clone)]
pub struct Passwords {
    /// Every argon2 computation holds one of these.
    permits: Arc<Semaphore>,
    /// New-password hashes hold one of these first: one permit fewer than the pool.
    new_passwords: Arc<Semaphore>,
    /// Argon2 computations started, for tests and operators.
    computed: Arc<AtomicU64>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Passwords {
    /// At most `concurrency` hashes run at once (on blocking threads), at most
    /// `concurrency - 1` of them (at least 1) for new passwords.
    pub fn new(concurrency: usize) -> Self {
        let concurrency = concurrency.max(1);
        Passwords {
            permits: Arc::new(Semaphore::new(concurrency)),
            new_passwords: Arc::new(Semaphore::new((concurrency - 1).max(1))),
            computed: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many argon2 computations (hashes and checks) this pool has started.
    pub fn computed(&self) -> u64 {
        self.computed.load(Ordering::Relaxed)
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`) for a new password.
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        // Lane first, then the pool: a backlog of new passwords queues on the lane and
        // never stands in the pool's queue ahead of sign-ins.
        let lane = self.new_passwords.clone().acquire_owned().await?;
        let permit = self.permits.clone().acquire_owned().await?;
        let password = password.to_owned();
        self.computed.fetch_add(1, Ordering::Relaxed);
        // The permits move into the blocking task: if the caller goes away (client
        // disconnected) the computation still runs to its end and holds its place until then.
        tokio::task::spawn_blocking(move || {
            let _held = (lane, permit);
            argon2()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
        })
        .await?
    }

    /// True when `password` matches `phc`. With no hash (unknown account, no password set)
    /// it still spends the time of a check and returns false.
    pub async fn verify(&self, password: &str, phc: Option<&str>) -> anyhow::Result<bool> {
        let permit = self.permits.clone().acquire_owned().await?;
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        self.computed.fetch_add(1, Ordering::Relaxed);
        let ok = tokio::task::spawn_blocking(move || {
            let _held = permit;
            match phc {
                Some(phc) => argon2()
                    .verify_password(password.as_bytes(), phc.as_str())
                    .is_ok(),
                // Same work as a real check, so timing does not tell whether the account exists.
                None => {
                    let _ = argon2().hash_password(password.as_bytes());
                    false
                }
            }
        })
        .await?;
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_required_cost_and_verify() {
        let p = Passwords::new(1);
        let h = p.hash("correct horse").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(p.verify("correct horse", Some(&h)).await.unwrap());
        assert!(!p.verify("wrong", Some(&h)).await.unwrap());
        assert!(!p.verify("correct horse", None).await.unwrap());
        assert_ne!(h, p.hash("correct horse").await.unwrap(), "salted");
    }

    /// A backlog of new-password hashes (a set-password or change-password flood) does not
    /// stand between a sign-in and the pool: the check finishes while most of the backlog
    /// still waits. Before the lanes, the sign-in queued behind all of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sign_ins_are_not_starved_by_a_backlog_of_new_passwords() {
        use std::sync::atomic::AtomicUsize;
        let p = Passwords::new(2);
        let reference = p.hash("the real password").await.unwrap();
        let done = Arc::new(AtomicUsize::new(0));
        let backlog = 16;
        let mut flood = Vec::new();
        for i in 0..backlog {
            let (p, done) = (p.clone(), done.clone());
            flood.push(tokio::spawn(async move {
                p.hash(&format!("flood password {i}")).await.unwrap();
                done.fetch_add(1, Ordering::SeqCst);
            }));
        }
        // Let the whole backlog reach the pool first (a task gets there in microseconds).
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let before = done.load(Ordering::SeqCst);
        assert!(
            p.verify("the real password", Some(&reference))
                .await
                .unwrap()
        );
        let waited = done.load(Ordering::SeqCst) - before;
        let queued = backlog - before;
        assert!(
            waited < queued / 2,
            "the sign-in waited for {waited} of the {queued} hashes queued before it"
        );
        for f in flood {
            f.await.unwrap();
        }
    }
}
