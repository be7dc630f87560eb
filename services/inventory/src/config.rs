//! The `[inventory]` config section (`config.toml` beside `Cargo.toml` holds its defaults).

use serde::{Deserialize, Serialize};

use crate::domain::stock::MAX_QUANTITY;

/// The `[inventory]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InventoryConfig {
    /// The low-stock mark a new consumable gets when its creator names none.
    pub default_low_stock_threshold: i64,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        InventoryConfig {
            default_low_stock_threshold: 10,
        }
    }
}

impl service::Section for InventoryConfig {
    fn validate(&self) -> anyhow::Result<()> {
        // The same bounds a consumable's own mark has.
        if !(0..=MAX_QUANTITY).contains(&self.default_low_stock_threshold) {
            anyhow::bail!("inventory.default_low_stock_threshold: must be 0 to {MAX_QUANTITY}");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_the_shipped_section_then_it_parses_to_the_defaults() {
        let toml: toml::Table = toml::from_str(include_str!("../config.toml")).unwrap();
        let section = serde_json::to_value(&toml["inventory"]).unwrap();
        let config = service::parse_section::<InventoryConfig>(&section).unwrap();
        assert_eq!(config, InventoryConfig::default());
    }

    #[test]
    fn given_a_negative_mark_then_the_section_is_refused_naming_the_key() {
        let section = serde_json::json!({"default_low_stock_threshold": -1});
        let e = service::parse_section::<InventoryConfig>(&section).unwrap_err();
        assert!(
            e.message
                .starts_with("inventory.default_low_stock_threshold:"),
            "{e:?}"
        );
    }
}
