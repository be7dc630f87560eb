//! [`Unexpected`]: the one error type for failures nobody planned for.

use std::error::Error as StdError;
use std::fmt;

use axum::response::{IntoResponse, Response};

use crate::ApiError;

/// A failure nobody planned for — the database went away, a stored row does not parse, a
/// bug — as opposed to a refusal the domain decided (those are each service's own error
/// variants). It keeps the whole cause chain; answered, it is an opaque 500 `internal` whose
/// chain is logged with the request's trace id (see [`ApiError`]).
///
/// Every service error enum carries it as its last variant and gets the conversions `?`
/// needs from [`unexpected_from!`](crate::unexpected_from):
///
/// ```
/// #[derive(Debug, thiserror::Error)]
/// enum ThingsError {
///     #[error("{0} not found")]
///     NotFound(&'static str),
///     #[error(transparent)]
///     Unexpected(#[from] web::Unexpected),
/// }
/// web::unexpected_from!(ThingsError: std::io::Error, std::fmt::Error);
///
/// fn read() -> Result<(), ThingsError> {
///     Err(std::io::Error::other("disk on fire"))?
/// }
/// assert!(matches!(read(), Err(ThingsError::Unexpected(_))));
/// ```
///
/// Like `anyhow::Error` (which it wraps), it is not itself a `std::error::Error`, so it can be
/// made from any error with `?`; it dereferences to one for `source()` walking.
pub struct Unexpected(anyhow::Error);

impl Unexpected {
    /// An unexpected failure described by `message` alone (an invariant found broken).
    pub fn msg(message: impl fmt::Display + fmt::Debug + Send + Sync + 'static) -> Self {
        Unexpected(anyhow::Error::msg(message))
    }

    /// An `anyhow::Error` (the error type of background code and of the composition).
    pub fn from_anyhow(error: anyhow::Error) -> Self {
        Unexpected(error)
    }

    /// The same failure with `context` in front, as `anyhow::Context` does.
    pub fn context(self, context: impl fmt::Display + Send + Sync + 'static) -> Self {
        Unexpected(self.0.context(context))
    }

    /// Back to `anyhow::Error`, for code that reports through anyhow (tasks, handlers).
    pub fn into_anyhow(self) -> anyhow::Error {
        self.0
    }

    /// The cause chain on one line: `outer: inner: innermost`.
    pub fn chain(&self) -> String {
        chain(self.0.as_ref())
    }
}

impl<E: StdError + Send + Sync + 'static> From<E> for Unexpected {
    fn from(error: E) -> Self {
        Unexpected(anyhow::Error::new(error))
    }
}

impl std::ops::Deref for Unexpected {
    type Target = dyn StdError + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        self.0.as_ref()
    }
}

impl AsRef<dyn StdError + Send + Sync + 'static> for Unexpected {
    fn as_ref(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

impl fmt::Debug for Unexpected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Unexpected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<Unexpected> for ApiError {
    fn from(e: Unexpected) -> Self {
        ApiError::internal(e.0.as_ref())
    }
}

impl IntoResponse for Unexpected {
    fn into_response(self) -> Response {
        ApiError::from(self).into_response()
    }
}

/// `error` and its sources on one line, outermost first.
pub(crate) fn chain(error: &(dyn StdError + 'static)) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    chain
}

/// Implements `From<T>` for a service error enum, for each listed error type `T`, through
/// its `Unexpected(web::Unexpected)` variant, so `?` on a store's `DbError` (or any other
/// failure nobody plans for) works in code returning the service's error. The enum must
/// have `From<web::Unexpected>` (thiserror's `#[from]`).
#[macro_export]
macro_rules! unexpected_from {
    ($enum:ty : $($from:ty),+ $(,)?) => {
        $(
            impl ::core::convert::From<$from> for $enum {
                fn from(error: $from) -> Self {
                    <$enum>::from($crate::Unexpected::from(error))
                }
            }
        )+
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn given_a_nested_failure_when_it_becomes_a_response_then_the_client_sees_nothing_of_it() {
        let e = Unexpected::from(Outer(std::io::Error::other("disk on fire")));
        assert_eq!(e.chain(), "outer: disk on fire");
        let api = ApiError::from(e);
        assert_eq!(api.status, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(api.code, "internal");
        assert!(!api.message.contains("disk"), "{}", api.message);
        assert_eq!(api.cause(), Some("outer: disk on fire"));
    }

    #[test]
    fn given_context_when_chained_then_it_comes_first() {
        let e = Unexpected::msg("row 7 does not parse").context("loading orders");
        assert_eq!(e.chain(), "loading orders: row 7 does not parse");
    }
}
