//! Bearer secrets handed to people (set-password and private links, codes, refresh tokens,
//! client secrets): made random, stored only as a digest.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A random, URL-safe secret of `bytes` bytes of entropy (from the operating system).
///
/// ```
/// let a = auth::secret::random_token(32);
/// assert_eq!(a.len(), 43);
/// assert_ne!(a, auth::secret::random_token(32));
/// ```
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// How a secret is stored: its SHA-256, URL-safe base64 (a leaked table opens nothing).
///
/// ```
/// let d = auth::secret::digest("a secret");
/// assert_eq!(d, auth::secret::digest("a secret"));
/// assert_ne!(d, auth::secret::digest("another secret"));
/// ```
pub fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}
