//! Password hashing: argon2id (m = 19 MiB, t = 2, p = 1), run on a bounded pool so a flood
//! of sign-ins queues instead of starving every other request of CPU.

use std::sync::Arc;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use tokio::sync::Semaphore;

/// The hashing pool.
#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

impl Passwords {
    /// At most `concurrency` hashes run at once (on blocking threads).
    pub fn new(concurrency: usize) -> Self {
        Passwords {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
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
        let _permit = self.permits.acquire().await?;
        let password = password.to_owned();
        let phc = phc.map(str::to_owned);
        let ok = tokio::task::spawn_blocking(move || match phc {
            Some(phc) => argon2()
                .verify_password(password.as_bytes(), phc.as_str())
                .is_ok(),
            // Same work as a real check, so timing does not tell whether the account exists.
            None => {
                let _ = argon2().hash_password(password.as_bytes());
                false
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
}
