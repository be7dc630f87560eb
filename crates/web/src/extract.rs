//! `Query`, `Path` and `Form`: axum's extractors, but every refusal is a problem+json 422
//! naming the parameter (axum answers `text/plain` 400s that name nothing), and a value
//! holding a control character is refused before any handler (or database) sees it.
//! `IdempotencyKey`: the optional header of a "create once" request, checked alike.

use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode, header};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::ApiError;
use crate::text::no_control;

/// The request's optional `Idempotency-Key` header, checked as [`crate::idempotency_key`]
/// does: a malformed one is refused 422 naming `Idempotency-Key` before the handler runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    /// The key, if the request has one.
    pub fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        crate::idempotency_key(&parts.headers)
            .map(IdempotencyKey)
            .map_err(|e| ApiError::invalid(e.field, e.message))
    }
}

/// The query string, deserialized like `axum::extract::Query`. Refusals (a value that does
/// not parse, a missing or unknown parameter, a control character) are 422 naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S, T> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        decode_urlencoded(query.as_bytes()).map(Query)
    }
}

/// The path parameters, deserialized like `axum::extract::Path`. A parameter that does not
/// parse (a malformed id), is not UTF-8 once decoded, or holds a control character is a 422
/// naming it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<S, T> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|r| {
                let text = r.body_text();
                match backticked(&text) {
                    Some(key) => ApiError::invalid(key, "is not valid UTF-8"),
                    // No path parameters at all: the route is declared wrong, not the request.
                    None => route_mistake(text),
                }
            })?;
        let keys: Vec<String> = raw.iter().map(|(k, _)| k.to_owned()).collect();
        for (key, value) in &raw {
            no_control(key, value)?;
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rejection) => Err(path_rejection(rejection, &keys)),
        }
    }
}

/// A route declared with the wrong extractor: a 500 whose details are logged, not sent.
fn route_mistake(detail: String) -> ApiError {
    ApiError::internal(&std::io::Error::other(detail))
}

fn path_rejection(rejection: PathRejection, keys: &[String]) -> ApiError {
    use axum::extract::path::ErrorKind;
    let PathRejection::FailedToDeserializePathParams(e) = rejection else {
        return route_mistake(rejection.body_text());
    };
    // The only parameter, when axum does not say which one (a `Path<Uuid>`).
    let only = || keys.first().filter(|_| keys.len() == 1).cloned();
    let (field, message) = match e.kind() {
        ErrorKind::ParseErrorAtKey {
            key, expected_type, ..
        } => (Some(key.clone()), format!("is not a valid {expected_type}")),
        ErrorKind::ParseErrorAtIndex {
            index,
            expected_type,
            ..
        } => (
            keys.get(*index).cloned(),
            format!("is not a valid {expected_type}"),
        ),
        ErrorKind::ParseError { expected_type, .. } => {
            (only(), format!("is not a valid {expected_type}"))
        }
        ErrorKind::InvalidUtf8InPathParam { key } => {
            (Some(key.clone()), "is not valid UTF-8".to_owned())
        }
        ErrorKind::DeserializeError { key, message, .. } => (Some(key.clone()), message.clone()),
        ErrorKind::Message(message) => (only(), message.clone()),
        // Wrong number of parameters, an unsupported target type: a mistake in the route.
        other => return route_mistake(other.to_string()),
    };
    ApiError::invalid(field.unwrap_or_else(|| "path".to_owned()), message)
}

/// An `application/x-www-form-urlencoded` body (or, for `GET`/`HEAD`, the query string),
/// deserialized like `axum::Form`. Refusals are problem+json: 415 for another content type,
/// 413 for a body over the route's limit, 422 naming the field otherwise.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

impl<S, T> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if req.method() == Method::GET || req.method() == Method::HEAD {
            let query = req.uri().query().unwrap_or_default();
            return decode_urlencoded(query.as_bytes()).map(Form);
        }
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected content-type application/x-www-form-urlencoded",
            ));
        }
        let body = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        decode_urlencoded(&body).map(Form)
    }
}

/// A body that could not be read: 413 when it is over the limit, 400 otherwise.
pub(crate) fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        )
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            rejection.body_text(),
        )
    }
}

/// Deserializes `a=1&b=x` pairs, refusing control characters first and naming the
/// parameter serde could not deserialize.
fn decode_urlencoded<T: DeserializeOwned>(input: &[u8]) -> Result<T, ApiError> {
    for (key, value) in form_urlencoded::parse(input) {
        if key.chars().any(char::is_control) {
            // Do not echo the control character back as a field name.
            return Err(ApiError::invalid(
                "query",
                "parameter names must not contain control characters",
            ));
        }
        no_control(&key, &value)?;
    }
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(input));
    serde_path_to_error::deserialize::<_, T>(de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.inner().to_string();
        let field = if path == "." || path.is_empty() {
            backticked(&message)
        } else {
            Some(path)
        };
        match field {
            Some(field) => ApiError::invalid(field, message),
            None => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                message,
            ),
        }
    })
}

/// The first `` `name` `` in a message ("missing field `token`", "Invalid UTF-8 in `id`").
fn backticked(message: &str) -> Option<String> {
    let rest = message.split_once('`')?.1;
    let name = rest.split_once('`')?.0;
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::{get, post};
    use serde::Deserialize;
    use tower::ServiceExt;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct ListQuery {
        limit: Option<i64>,
        all: Option<bool>,
        to: Option<String>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct TokenQuery {
        token: String,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Login {
        client_id: String,
    }

    fn app() -> Router {
        Router::new()
            .route("/list", get(|Query(_): Query<ListQuery>| async { "ok" }))
            .route("/take", get(|Query(_): Query<TokenQuery>| async { "ok" }))
            .route(
                "/samples/{id}",
                get(|Path(_): Path<uuid_like::Id>| async { "ok" }),
            )
            .route(
                "/orders/{id}/photos/{kind}",
                get(|Path((_, _)): Path<(String, u8)>| async { "ok" }),
            )
            .route("/names/{name}", get(|Path(_): Path<String>| async { "ok" }))
            .route(
                "/token",
                post(|Form(_): Form<Login>| async { "ok" })
                    .layer(axum::extract::DefaultBodyLimit::max(64)),
            )
    }

    /// A path id that must parse (like `Uuid`), without pulling in uuid for the test.
    mod uuid_like {
        #[derive(Debug)]
        pub struct Id;
        impl<'de> serde::Deserialize<'de> for Id {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Id, D::Error> {
                let s = String::deserialize(d)?;
                if s.len() == 36 {
                    Ok(Id)
                } else {
                    Err(serde::de::Error::custom("invalid id"))
                }
            }
        }
    }

    async fn call(req: axum::http::Request<Body>) -> (u16, Option<String>, serde_json::Value) {
        let response = app().oneshot(req).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, content_type, json)
    }

    async fn get_(uri: &str) -> (u16, Option<String>, serde_json::Value) {
        call(axum::http::Request::get(uri).body(Body::empty()).unwrap()).await
    }

    async fn assert_refused(uri: &str, status: u16, field: &str) {
        let (s, ct, body) = get_(uri).await;
        assert_eq!(s, status, "{uri}: {body}");
        assert_eq!(ct.as_deref(), Some("application/problem+json"), "{uri}");
        assert_eq!(body["field"], field, "{uri}: {body}");
    }

    #[tokio::test]
    async fn bad_query_values_are_422_naming_the_parameter() {
        assert_eq!(get_("/list?limit=5&all=true&to=x").await.0, 200);
        assert_refused("/list?limit=abc", 422, "limit").await;
        assert_refused("/list?all=maybe", 422, "all").await;
        assert_refused("/list?nope=1", 422, "nope").await;
        assert_refused("/take", 422, "token").await;
        assert_refused("/list?to=%00", 422, "to").await;
        assert_refused("/list?to=a%0Ab", 422, "to").await;
        assert_refused("/list?to=a%C2%85b", 422, "to").await;
        assert_refused("/list?%00=1", 422, "query").await;
    }

    #[tokio::test]
    async fn bad_path_values_are_422_naming_the_parameter() {
        assert_eq!(
            get_("/samples/01234567-0123-0123-0123-0123456789ab")
                .await
                .0,
            200
        );
        assert_refused("/samples/not-a-uuid", 422, "id").await;
        assert_refused("/orders/x/photos/nine", 422, "kind").await;
        assert_refused("/names/%00", 422, "name").await;
        assert_refused("/names/a%1Bb", 422, "name").await;
        assert_refused("/names/%FF", 422, "name").await;
        assert_eq!(get_("/names/Tom%20Cat").await.0, 200);
    }

    fn form(body: &'static str, content_type: &str) -> axum::http::Request<Body> {
        axum::http::Request::post("/token")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn forms_are_checked_like_queries_and_oversized_ones_are_413() {
        let ok = "application/x-www-form-urlencoded";
        assert_eq!(call(form("client_id=mcf-web", ok)).await.0, 200);
        let (s, ct, body) = call(form("client_id=mcf-web%00", ok)).await;
        assert_eq!((s, body["field"].as_str()), (422, Some("client_id")));
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
        let (s, _, body) = call(form("other=1", ok)).await;
        assert_eq!((s, body["field"].as_str()), (422, Some("client_id")));
        let (s, _, body) = call(form("client_id=x", "text/plain")).await;
        assert_eq!(
            (s, body["code"].as_str()),
            (415, Some("unsupported_media_type"))
        );
        let big =
            "client_id=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
        let (s, ct, body) = call(form(big, ok)).await;
        assert_eq!((s, body["code"].as_str()), (413, Some("payload_too_large")));
        assert_eq!(ct.as_deref(), Some("application/problem+json"));
    }
}
