//! The languages people read MCF in: the tags the events carry (`language` of accounts,
//! hires and mail requests), how a tag someone gave is read, and how each language writes
//! money and moments (one definition, so a mail and a page never disagree).

use chrono::{DateTime, Utc};

use crate::Money;

/// The languages mails and the portal are written in, as their tags.
pub const LANGUAGES: &[&str] = &["en", "ru"];

/// `tag` as one of [`LANGUAGES`]: its primary subtag, in any case (`ru`, `RU`, `ru-RU`,
/// `ru_RU` are `ru`); `None` for a language MCF does not write.
pub fn language(tag: &str) -> Option<&'static str> {
    let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
    LANGUAGES
        .iter()
        .find(|l| l.eq_ignore_ascii_case(primary))
        .copied()
}

/// A language MCF writes (one of [`LANGUAGES`]). English is the default: for a reader whose
/// language nobody told, and for a tag MCF does not write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English (`en`).
    #[default]
    En,
    /// Russian (`ru`).
    Ru,
}

impl Language {
    /// The BCP 47 tag, as stored and as `<html lang>` says it.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Ru => "ru",
        }
    }

    /// The language a tag names by its primary subtag (`ru`, `ru-RU`, `RU`), read as
    /// [`language`] reads it; `None` for a language MCF does not write.
    pub fn parse(tag: &str) -> Option<Language> {
        match language(tag)? {
            "en" => Some(Language::En),
            "ru" => Some(Language::Ru),
            // A tag added to LANGUAGES before it has a variant here: unsaid, not misread.
            _ => None,
        }
    }

    /// The best language MCF writes of an HTTP `Accept-Language` value (RFC 9110 12.5.4):
    /// the highest `q`, the first listed among equal ones; a `q` of 0 or one that is not a
    /// number in 0..=1 refuses its language. `None` when no listed language is written.
    pub fn from_accept_language(value: &str) -> Option<Language> {
        let mut best: Option<(f32, Language)> = None;
        for item in value.split(',') {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Language::parse) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| (0.0..=1.0).contains(q) && *q > 0.0);
            // Strictly greater: among equal weights the first listed wins.
            if let Some(q) = q
                && best.is_none_or(|(b, _)| q > b)
            {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }

    /// An amount of money (integer minor units) as units with two decimals: `1,234.50` in
    /// English, `1 234,50` in Russian (a no-break space groups thousands).
    pub fn money(self, money: Money) -> String {
        let minor = money.minor();
        let sign = if minor < 0 { "-" } else { "" };
        // unsigned_abs: i64::MIN has no positive i64.
        let abs = minor.unsigned_abs();
        let (units, cents) = (abs / 100, abs % 100);
        let (group, decimal) = match self {
            Language::En => (",", "."),
            Language::Ru => ("\u{a0}", ","),
        };
        let digits = units.to_string();
        let mut grouped = String::new();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push_str(group);
            }
            grouped.push(d);
        }
        format!("{sign}{grouped}{decimal}{cents:02}")
    }

    /// A moment as people read it, in UTC (the writer does not know the reader's zone, so
    /// the text says UTC): `3 Nov 2026, 14:05 UTC` / `03.11.2026, 14:05 UTC`.
    pub fn datetime(self, at: DateTime<Utc>) -> String {
        match self {
            Language::En => at.format("%-d %b %Y, %H:%M UTC").to_string(),
            Language::Ru => at.format("%d.%m.%Y, %H:%M UTC").to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_is_read_by_its_primary_subtag_in_any_case() {
        assert_eq!(language("ru"), Some("ru"));
        assert_eq!(language(" RU-ru "), Some("ru"));
        assert_eq!(language("en_GB"), Some("en"));
        assert_eq!(language("fr"), None);
        assert_eq!(language(""), None);
        assert_eq!(language("ru;q=1"), None);
    }

    #[test]
    fn a_language_is_parsed_from_its_tag_and_gives_it_back() {
        assert_eq!(Language::parse("ru"), Some(Language::Ru));
        assert_eq!(Language::parse(" RU-ru "), Some(Language::Ru));
        assert_eq!(Language::parse("en_GB"), Some(Language::En));
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(Language::parse(""), None);
        assert_eq!(Language::default(), Language::En);
        for tag in LANGUAGES {
            assert_eq!(Language::parse(tag).map(Language::tag), Some(*tag));
        }
    }

    #[test]
    fn accept_language_is_read_by_weight_then_order() {
        let best = Language::from_accept_language;
        assert_eq!(
            best("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7"),
            Some(Language::Ru)
        );
        // q-values decide, not the order; languages MCF does not write are skipped.
        assert_eq!(best("de, en;q=0.5, ru;q=0.8"), Some(Language::Ru));
        assert_eq!(best("de;q=1, ru-RU;q=0.9, en;q=0.8"), Some(Language::Ru));
        // Equal weights: the first listed.
        assert_eq!(best("en, ru"), Some(Language::En));
        assert_eq!(best("ru;q=0.5, en;q=0.5"), Some(Language::Ru));
        // q=0, a q that is no number or out of range refuse; nothing written is None.
        assert_eq!(best("ru;q=0, en;q=0.5"), Some(Language::En));
        assert_eq!(best("ru;q=abc"), None);
        assert_eq!(best("ru;q=1.5"), None);
        assert_eq!(best("fr-CH, fr;q=0.9"), None);
        assert_eq!(best(";;,,"), None);
        assert_eq!(best(""), None);
    }

    #[test]
    fn money_is_units_with_two_decimals_as_each_language_writes_it() {
        let m = Money::from_minor;
        assert_eq!(Language::En.money(m(123_456)), "1,234.56");
        assert_eq!(Language::Ru.money(m(123_456)), "1\u{a0}234,56");
        assert_eq!(Language::En.money(m(5)), "0.05");
        assert_eq!(Language::Ru.money(m(0)), "0,00");
        assert_eq!(Language::En.money(m(-12_000)), "-120.00");
        assert_eq!(Language::En.money(m(100_000_000)), "1,000,000.00");
        assert_eq!(Language::Ru.money(m(100_000)), "1\u{a0}000,00");
        assert_eq!(
            Language::En.money(m(i64::MIN)),
            "-92,233,720,368,547,758.08"
        );
        assert_eq!(
            Language::Ru.money(m(i64::MIN)),
            "-92\u{a0}233\u{a0}720\u{a0}368\u{a0}547\u{a0}758,08"
        );
    }

    #[test]
    fn dates_are_written_in_each_languages_order() {
        let at = DateTime::parse_from_rfc3339("2026-11-03T14:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(Language::En.datetime(at), "3 Nov 2026, 14:05 UTC");
        assert_eq!(Language::Ru.datetime(at), "03.11.2026, 14:05 UTC");
    }
}
