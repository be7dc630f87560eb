//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` would let anyone who saw the
//! authorization request redeem the code.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Checks a `code_challenge` at the authorization request.
pub fn valid_challenge(challenge: &str) -> bool {
    // base64url of a SHA-256 digest: 43 characters.
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True when `verifier` (43..=128 unreserved characters) hashes to `challenge`.
pub fn verifies(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    well_formed && challenge_of(verifier) == challenge
}

/// `BASE64URL(SHA256(verifier))`.
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A fresh verifier (64 unreserved characters, 148 random bits) and its S256 challenge: what a
/// client starting the authorization code flow sends (`mcf login`, tests).
pub fn new_pair() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::now_v7().simple(),
        uuid::Uuid::now_v7().simple()
    );
    let challenge = challenge_of(&verifier);
    (verifier, challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            challenge_of(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verifies(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn plain_short_or_wrong_verifiers_fail() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = challenge_of(verifier);
        assert!(
            !verifies(&challenge, &challenge),
            "plain: the challenge itself"
        );
        assert!(!verifies("short", &challenge_of("short")));
        assert!(!verifies(&format!("{verifier}x"), &challenge));
        assert!(!valid_challenge("plain-challenge"));
    }
}
