//! The languages people read MCF in: the tags the events carry (`language` of accounts,
//! hires and mail requests), and how a tag someone gave is read.

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

#[cfg(test)]
mod tests {
    use super::language;

    #[test]
    fn a_tag_is_read_by_its_primary_subtag_in_any_case() {
        assert_eq!(language("ru"), Some("ru"));
        assert_eq!(language(" RU-ru "), Some("ru"));
        assert_eq!(language("en_GB"), Some("en"));
        assert_eq!(language("fr"), None);
        assert_eq!(language(""), None);
        assert_eq!(language("ru;q=1"), None);
    }
}
