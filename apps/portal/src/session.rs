//! The browser's session: one encrypted, HttpOnly, SameSite=Lax cookie holding who is signed
//! in (their tokens, name and roles), the CSRF token of its forms and a sign-in under way.
//!
//! Nothing is kept on the server: every replica reads the same cookie with the same key,
//! derived from the system secret (`auth.service_secret`) under a label of its own, so an
//! embedded system needs no set-up and no other use of that secret yields the same key.

use auth::Role;
use axum_extra::extract::cookie::{Cookie, Key, SameSite};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The session cookie's name.
pub const COOKIE: &str = "mcf_session";

/// What the cookie carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Every POST form carries it back; a form without it (or with another) is refused.
    pub csrf: String,
    /// The signed-in person, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
    /// A sign-in sent to IAM and not back yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// The signed-in person and the tokens the portal calls the services with on their behalf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub roles: Vec<Role>,
    pub access_token: String,
    pub refresh_token: String,
    /// When the access token expires (unix seconds).
    pub expires_at: i64,
}

impl User {
    /// Whether the person has any of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }

    /// Whether the access token should be refreshed at `now` (unix seconds): it expires
    /// within a minute, so a page's calls do not run out mid-way.
    pub fn needs_refresh(&self, now: i64) -> bool {
        self.expires_at.saturating_sub(60) <= now
    }
}

/// A sign-in under way: what the callback checks and redeems the code with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    /// The `state` sent to IAM (the callback must bring it back).
    pub state: String,
    /// The PKCE verifier of the challenge sent.
    pub verifier: String,
    /// Where to go once signed in (a path of the portal).
    pub back: String,
}

impl Session {
    /// A new anonymous session with a fresh CSRF token.
    pub fn new() -> Self {
        Session {
            csrf: random_token(),
            user: None,
            pending: None,
        }
    }

    /// Whether `token` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        same(&self.csrf, token)
    }

    /// The session as the cookie's (clear) value; the jar encrypts it.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The session a decrypted cookie value holds, if it is one.
    pub fn decode(value: &str) -> Option<Session> {
        serde_json::from_str::<Session>(value)
            .ok()
            .filter(|s| !s.csrf.is_empty())
    }

    /// The cookie carrying this session: HttpOnly, SameSite=Lax (the sign-in callback is a
    /// top-level navigation from IAM, which Lax lets through), the whole site, for the
    /// browser's session. `secure` when the portal is served over HTTPS.
    pub fn cookie(&self, secure: bool) -> Cookie<'static> {
        Cookie::build((COOKIE, self.encode()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(secure)
            .path("/")
            .build()
    }
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

/// Whether `a` (not empty) equals `b`, compared in constant time: a secret against what a
/// request brought.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    !a.is_empty() && a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// 32 random bytes, hex: CSRF tokens and OAuth `state`s.
pub fn random_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The cookie key of a system whose secret is `system_secret`: 64 bytes (signing and
/// encryption halves) from HMAC-SHA256 under the portal's own labels.
pub fn cookie_key(system_secret: &str) -> Key {
    let half = |label: &[u8]| {
        let mut mac = Hmac::<Sha256>::new_from_slice(system_secret.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(label);
        mac.finalize().into_bytes()
    };
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(&half(b"mcf-portal-cookie:1"));
    key[32..].copy_from_slice(&half(b"mcf-portal-cookie:2"));
    Key::from(&key)
}

#[cfg(test)]
mod tests {
    use axum_extra::extract::cookie::{Cookie, PrivateCookieJar};

    use super::*;

    fn user() -> User {
        User {
            id: "0190c0de-0000-7000-8000-000000000001".into(),
            name: "Tom".into(),
            email: "tom@cats.test".into(),
            roles: vec![Role::Client],
            access_token: "a".repeat(600),
            refresh_token: "r".repeat(43),
            expires_at: 1_000,
        }
    }

    /// The cookie's sealed value as a browser would store it.
    fn sealed(session: &Session, secret: &str) -> String {
        let jar = PrivateCookieJar::new(cookie_key(secret)).add(session.cookie(false));
        let response = axum::response::IntoResponse::into_response(jar);
        let set = response.headers()[axum::http::header::SET_COOKIE]
            .to_str()
            .unwrap()
            .to_owned();
        Cookie::parse(set).unwrap().value().to_owned()
    }

    /// The session the browser's cookie `value` opens to under `secret`.
    fn opened(value: &str, secret: &str) -> Option<Session> {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            format!("{COOKIE}={value}").parse().unwrap(),
        );
        let jar = PrivateCookieJar::from_headers(&headers, cookie_key(secret));
        jar.get(COOKIE).and_then(|c| Session::decode(c.value()))
    }

    #[test]
    fn a_session_survives_the_encrypted_cookie_and_fits_in_one() {
        // Given a signed-in session
        let session = Session {
            user: Some(user()),
            ..Session::new()
        };
        // When it is sealed into its cookie and read back with the same secret
        let value = sealed(&session, "secret");
        // Then it is the same session, unreadable in the clear, and well below 4 KB
        assert_eq!(opened(&value, "secret"), Some(session));
        assert!(!value.contains("tom@cats.test"));
        assert!(value.len() < 3000, "{}", value.len());
        // And another secret cannot open it, nor can a tampered value be opened
        assert_eq!(opened(&value, "other"), None);
        let mut tampered = value.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            opened(&String::from_utf8(tampered).unwrap(), "secret"),
            None
        );
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site_lax() {
        let cookie = Session::new().cookie(true);
        assert_eq!(cookie.http_only(), Some(true));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.secure(), Some(true));
        assert_eq!(cookie.path(), Some("/"));
    }

    #[test]
    fn csrf_tokens_match_only_themselves() {
        let session = Session::new();
        assert!(session.csrf_matches(&session.csrf.clone()));
        assert!(!session.csrf_matches(""));
        assert!(!session.csrf_matches(&Session::new().csrf));
        assert!(!session.csrf_matches(&session.csrf[1..]));
        let empty = Session {
            csrf: String::new(),
            ..Session::new()
        };
        assert!(!empty.csrf_matches(""));
    }

    #[test]
    fn garbage_is_no_session() {
        assert_eq!(Session::decode("{}"), None);
        assert_eq!(Session::decode("not json"), None);
        assert_eq!(Session::decode(r#"{"csrf":""}"#), None);
    }

    #[test]
    fn a_token_is_refreshed_a_minute_before_it_expires() {
        let u = user();
        assert!(!u.needs_refresh(939));
        assert!(u.needs_refresh(940));
        assert!(u.needs_refresh(2_000));
        assert!(u.has_any(&[Role::Client, Role::Admin]));
        assert!(!u.has_any(&[Role::Admin]));
    }
}
