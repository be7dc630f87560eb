//! Checks for text that enters the system, shared by every service so that the same value is
//! accepted or refused the same way everywhere (and on both databases: PostgreSQL refuses NUL
//! in text with a 500, SQLite would store it).
//!
//! Names (of accounts, service types, workers, tests, ...) end up in mail headers, HTML pages
//! and one-line log and list views, so they are single-line: no control character at all. Free
//! text (descriptions) may have line breaks and tabs, nothing else from the control ranges.

use crate::ApiError;

/// A refused value: the field it came in and why. Services turn it into their own 422.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for Invalid {}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::invalid(e.field, e.message)
    }
}

fn invalid(field: &str, message: impl Into<String>) -> Invalid {
    Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// Characters that break a line or are invisible controls: C0 (NUL, line feed, ...), DEL,
/// C1 (including NEL), and the Unicode line and paragraph separators.
pub fn is_line_breaking_or_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// A single-line name: trimmed, 1 to `max_chars` characters, without any control character
/// or line separator. Returns the trimmed value.
pub fn single_line(field: &str, value: &str, max_chars: usize) -> Result<String, Invalid> {
    let value = value.trim();
    if value.chars().any(is_line_breaking_or_control) {
        return Err(invalid(
            field,
            "must be a single line without control characters",
        ));
    }
    let len = value.chars().count();
    if len == 0 || len > max_chars {
        return Err(invalid(
            field,
            format!("must be 1 to {max_chars} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// A one-line version of a value that came from elsewhere and cannot be refused (an
/// upstream identity provider's display name): every run of control characters, line
/// separators and whitespace becomes one space, trimmed, cut to `max_chars` characters.
/// Empty when nothing printable is left; the caller picks a fallback.
pub fn to_single_line(value: &str, max_chars: usize) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in value.chars() {
        if is_line_breaking_or_control(c) || c.is_whitespace() {
            gap = !out.is_empty();
            continue;
        }
        if gap {
            out.push(' ');
            gap = false;
        }
        out.push(c);
    }
    out.chars()
        .take(max_chars)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// Free text (a description): at most `max_chars` characters; line breaks (`\n`, `\r`) and
/// tabs are fine, other control characters (NUL, escape, ...) and the Unicode separators are
/// not. Empty is the caller's business.
pub fn multi_line(field: &str, value: &str, max_chars: usize) -> Result<(), Invalid> {
    if value
        .chars()
        .any(|c| is_line_breaking_or_control(c) && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(invalid(
            field,
            "must not contain control characters other than line breaks and tabs",
        ));
    }
    if value.chars().count() > max_chars {
        return Err(invalid(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    Ok(())
}

/// Any value that must not hold a control character (query and path values, form fields).
pub fn no_control(field: &str, value: &str) -> Result<(), Invalid> {
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_names_refuse_every_control_and_separator() {
        assert_eq!(single_line("name", "  Tom  ", 10).unwrap(), "Tom");
        assert_eq!(
            single_line("name", "Chat Noir é", 20).unwrap(),
            "Chat Noir é"
        );
        for bad in [
            "a\u{0}b",
            "a\nb",
            "a\rb",
            "a\tb",
            "a\u{1b}b",
            "a\u{7f}b",
            "a\u{85}b",
            "a\u{9f}b",
            "a\u{2028}b",
            "a\u{2029}b",
        ] {
            let e = single_line("name", bad, 100).unwrap_err();
            assert_eq!(e.field, "name", "{bad:?}");
        }
        assert!(single_line("name", "   ", 10).is_err());
        assert!(single_line("name", "abcdef", 5).is_err());
        // Characters, not bytes.
        assert!(single_line("name", "ééééé", 5).is_ok());
    }

    #[test]
    fn foreign_names_are_made_one_line() {
        assert_eq!(
            to_single_line(" Tom\r\nBcc: x@y\u{0}\u{2028}Cat ", 100),
            "Tom Bcc: x@y Cat"
        );
        assert_eq!(to_single_line("\u{0}\n\t", 100), "");
        assert_eq!(to_single_line("abc def", 4), "abc");
        assert!(single_line("name", &to_single_line("a\u{85}b\u{7f}c", 100), 100).is_ok());
    }

    #[test]
    fn multi_line_text_keeps_line_breaks_and_tabs_only() {
        assert!(multi_line("description", "dishes\r\n\tand floors", 100).is_ok());
        assert!(multi_line("description", "", 100).is_ok());
        for bad in [
            "dishes\u{0}",
            "\u{1b}[31m",
            "a\u{7f}",
            "a\u{85}",
            "a\u{2028}",
        ] {
            assert_eq!(
                multi_line("description", bad, 100).unwrap_err().field,
                "description"
            );
        }
        assert!(multi_line("description", "abc", 2).is_err());
    }

    #[test]
    fn a_refusal_is_a_422_naming_the_field() {
        let e: ApiError = no_control("to", "a\u{0}").unwrap_err().into();
        assert_eq!(e.status.as_u16(), 422);
        assert_eq!(e.field.as_deref(), Some("to"));
        assert!(no_control("to", "tom@cats.test").is_ok());
    }
}
