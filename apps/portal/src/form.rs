//! A posted form, URL-encoded or multipart (photos), taken only with this session's CSRF
//! token: every POST handler takes its fields through [`Fields`], so none can forget the
//! check.

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use base64::Engine;

use crate::i18n::Speak;
use crate::web::{Current, PageError};

/// The name of the hidden field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// A file sent with a form.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub bytes: Vec<u8>,
}

impl Upload {
    /// The bytes as base64, as the services take photos (they check what the bytes are).
    pub fn base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }
}

/// The fields of a form whose CSRF token matched the session's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    /// Field name -> its values, in order (checkboxes repeat a name).
    pub text: BTreeMap<String, Vec<String>>,
    /// File field name -> the file (empty file inputs are left out).
    pub files: BTreeMap<String, Upload>,
}

impl Fields {
    /// The field's first value, trimmed; empty if absent.
    pub fn get(&self, name: &str) -> &str {
        self.text
            .get(name)
            .and_then(|v| v.first())
            .map(|v| v.trim())
            .unwrap_or_default()
    }

    /// The form's idempotency key ([`crate::web::KEY_FIELD`]), if it carries one.
    pub fn key(&self) -> Option<&str> {
        Some(self.get(crate::web::KEY_FIELD)).filter(|k| !k.is_empty())
    }

    /// The field as a whole number, or the refusal naming it.
    pub fn number(&self, name: &str, lang: crate::i18n::Lang) -> Result<i64, crate::web::Refusal> {
        self.get(name)
            .parse()
            .map_err(|_| crate::web::Refusal::of(name, lang.t("error.number")))
    }

    /// Every value of the field (checked checkboxes).
    pub fn all(&self, name: &str) -> &[String] {
        self.text.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// The fields as typed, to show the form again (the CSRF token left out).
    pub fn values(&self) -> BTreeMap<String, String> {
        self.text
            .iter()
            .filter(|(k, _)| k.as_str() != CSRF_FIELD)
            .map(|(k, v)| (k.clone(), v.first().cloned().unwrap_or_default()))
            .collect()
    }

    /// Parses `application/x-www-form-urlencoded` bytes.
    pub fn from_urlencoded(bytes: &[u8]) -> Fields {
        let mut fields = Fields::default();
        for (k, v) in form_urlencoded_pairs(bytes) {
            fields.text.entry(k).or_default().push(v);
        }
        fields
    }

    /// Whether the form carries `csrf`'s token.
    pub fn carries(&self, current: &Current) -> bool {
        current.session.csrf_matches(self.get(CSRF_FIELD))
    }
}

fn form_urlencoded_pairs(bytes: &[u8]) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes).unwrap_or_default()
}

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let current = req
            .extensions()
            .get::<Current>()
            .cloned()
            .ok_or_else(|| PageError::Unexpected("no session layer".into()))?;
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let fields = if multipart {
            let mut parts = Multipart::from_request(req, state)
                .await
                .map_err(|e| PageError::Bad(e.body_text()))?;
            let mut fields = Fields::default();
            while let Some(part) = parts
                .next_field()
                .await
                .map_err(|e| PageError::Bad(e.body_text()))?
            {
                let name = part.name().unwrap_or_default().to_owned();
                let is_file = part.file_name().is_some();
                let bytes = part
                    .bytes()
                    .await
                    .map_err(|e| PageError::Bad(e.body_text()))?;
                if is_file {
                    if !bytes.is_empty() {
                        fields.files.insert(
                            name,
                            Upload {
                                bytes: bytes.to_vec(),
                            },
                        );
                    }
                } else {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    fields.text.entry(name).or_default().push(text);
                }
            }
            fields
        } else {
            let bytes = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|e| PageError::Bad(e.body_text()))?;
            Fields::from_urlencoded(&bytes)
        };
        if !fields.carries(&current) {
            return Err(PageError::Csrf);
        }
        Ok(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use crate::session::Session;

    fn current() -> Current {
        Current {
            session: Session::new(),
            lang: Lang::En,
            path: "/".into(),
        }
    }

    #[test]
    fn a_form_counts_only_with_the_sessions_token() {
        // Given a session and forms with its token, another token, and none
        let me = current();
        let mine = Fields::from_urlencoded(format!("csrf={}&a=1", me.session.csrf).as_bytes());
        let other = Fields::from_urlencoded(format!("csrf={}", Session::new().csrf).as_bytes());
        let none = Fields::from_urlencoded(b"a=1");
        // Then only its own token is carried
        assert!(mine.carries(&me));
        assert!(!other.carries(&me));
        assert!(!none.carries(&me));
    }

    #[test]
    fn fields_keep_every_value_and_show_again_without_the_token() {
        let fields = Fields::from_urlencoded(b"csrf=x&test=a&test=b&name=+Tom+&bad=%ZZ");
        assert_eq!(fields.all("test"), ["a", "b"]);
        assert_eq!(fields.get("name"), "Tom");
        assert_eq!(fields.get("missing"), "");
        assert!(!fields.values().contains_key(CSRF_FIELD));
        assert_eq!(fields.values()["test"], "a");
    }

    #[test]
    fn uploads_go_to_the_services_as_base64() {
        let upload = Upload {
            bytes: vec![0x89, b'P', b'N', b'G'],
        };
        assert_eq!(upload.base64(), "iVBORw==");
    }
}
