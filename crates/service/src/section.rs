//! A service's configuration section (`[<name>]`), declared by the service itself so the
//! binary loads, checks, prints and documents it without knowing its type.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A service's configuration type: its `[<name>]` section, with defaults for every key and
/// a check of the values.
pub trait Section: DeserializeOwned + Serialize + Default + PartialEq {
    /// Checks the values once parsed; the error names the key in full, section first
    /// (`ordering.no_show_grace_minutes: must be 0 to 1440`).
    fn validate(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

/// The check most [`Section::validate`]s make: `value` of `section.key` within `min..=max`,
/// else the error naming the key in full (`quality.call_attempts: must be 1 to 10`).
pub fn within<T: PartialOrd + std::fmt::Display>(
    section: &str,
    key: &str,
    value: T,
    min: T,
    max: T,
) -> anyhow::Result<()> {
    if min <= value && value <= max {
        Ok(())
    } else {
        anyhow::bail!("{section}.{key}: must be {min} to {max}")
    }
}

/// Why a section was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SectionError {
    /// The key within the section (`upstream.issuer`), empty when the section as a whole.
    pub key: String,
    /// Whether the key is one the section does not have (a typo, usually).
    pub unknown: bool,
    pub message: String,
}

/// How the binary handles a service's section without knowing its type: the defaults as
/// they appear in `mcf config default`, and a check of a loaded section. Made with
/// [`SectionSpec::of`].
#[derive(Clone, Copy)]
pub struct SectionSpec {
    /// The section with every key, its default and a comment, as TOML beginning with the
    /// section's own header (`[ordering]`; sub-tables as `[iam.upstream]`). Usually
    /// `include_str!("../config.toml")`.
    pub default_toml: &'static str,
    /// Parses and checks a loaded section.
    pub check: fn(&serde_json::Value) -> Result<(), SectionError>,
    /// Whether a section equals the type's `Default` (keeps `default_toml` and the code's
    /// defaults in step; a test walks every service).
    pub is_default: fn(&serde_json::Value) -> bool,
}

impl SectionSpec {
    /// The spec of section type `T` whose defaults, as TOML, are `default_toml`.
    pub const fn of<T: Section>(default_toml: &'static str) -> Self {
        SectionSpec {
            default_toml,
            check: check::<T>,
            is_default: is_default::<T>,
        }
    }
}

/// Parses `section` as `T` (naming the key that does not fit) and validates it.
pub fn parse<T: Section>(section: &serde_json::Value) -> Result<T, SectionError> {
    let value: T = serde_path_to_error::deserialize(section).map_err(|e| {
        let mut key = e.path().to_string();
        if key == "." {
            key.clear();
        }
        let message = e.inner().to_string();
        // serde words an unknown field as "unknown field `nope`, expected ..."; the path
        // already ends with that field.
        let unknown = message.starts_with("unknown field `");
        SectionError {
            key,
            unknown,
            message,
        }
    })?;
    value.validate().map_err(|e| SectionError {
        key: String::new(),
        unknown: false,
        message: e.to_string(),
    })?;
    Ok(value)
}

fn check<T: Section>(section: &serde_json::Value) -> Result<(), SectionError> {
    parse::<T>(section).map(|_| ())
}

fn is_default<T: Section>(section: &serde_json::Value) -> bool {
    parse::<T>(section).is_ok_and(|v| v == T::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Things {
        size: u32,
        inner: Inner,
    }

    #[derive(Debug, Default, PartialEq, Serialize, serde::Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Inner {
        name: String,
    }

    impl Default for Things {
        fn default() -> Self {
            Things {
                size: 7,
                inner: Inner::default(),
            }
        }
    }

    impl Section for Things {
        fn validate(&self) -> anyhow::Result<()> {
            if self.size > 100 {
                anyhow::bail!("things.size: must be at most 100");
            }
            Ok(())
        }
    }

    const SPEC: SectionSpec = SectionSpec::of::<Things>("[things]\nsize = 7\n");

    #[test]
    fn given_a_typo_when_checked_then_the_unknown_key_is_named_with_its_path() {
        let e = (SPEC.check)(&serde_json::json!({"inner": {"nmae": "x"}})).unwrap_err();
        assert!(e.unknown, "{e:?}");
        assert_eq!(e.key, "inner.nmae");
        let e = (SPEC.check)(&serde_json::json!({"sise": 1})).unwrap_err();
        assert_eq!((e.key.as_str(), e.unknown), ("sise", true));
    }

    #[test]
    fn given_a_bad_value_when_checked_then_the_key_or_the_rule_is_named() {
        let e = (SPEC.check)(&serde_json::json!({"size": "big"})).unwrap_err();
        assert_eq!((e.key.as_str(), e.unknown), ("size", false));
        let e = (SPEC.check)(&serde_json::json!({"size": 101})).unwrap_err();
        assert!(
            e.message.contains("things.size: must be at most 100"),
            "{e:?}"
        );
        (SPEC.check)(&serde_json::json!({})).unwrap();
    }

    #[test]
    fn given_a_value_out_of_its_range_then_the_key_and_the_range_are_named() {
        assert!(within("things", "size", 1, 1, 100).is_ok());
        assert!(within("things", "size", 100, 1, 100).is_ok());
        for bad in [0, 101] {
            let e = within("things", "size", bad, 1, 100).unwrap_err();
            assert_eq!(e.to_string(), "things.size: must be 1 to 100");
        }
    }

    #[test]
    fn defaults_are_recognised() {
        assert!((SPEC.is_default)(&serde_json::json!({"size": 7})));
        assert!(!(SPEC.is_default)(&serde_json::json!({"size": 8})));
    }
}
