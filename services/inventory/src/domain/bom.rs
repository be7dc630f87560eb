//! Bills of materials: what one order of a service type needs, kept by managers or supply
//! staff. An order's kit is assembled from its service type's bill.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use contracts::{AccountId, ConsumableId, ServiceTypeId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Line;
use crate::error::InventoryError;

/// The most lines one bill may have.
pub const MAX_LINES: usize = 100;

/// The most units of one consumable one order may need.
pub const MAX_LINE_QUANTITY: i64 = 1_000;

/// A bill as it is written (`PUT /boms/{service_type_id}`): it replaces the bill before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BomSpec {
    /// At most 100 lines, each consumable once; none: the service type needs nothing.
    pub lines: Vec<BomLine>,
}

/// One line of a bill as it is written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BomLine {
    pub consumable_id: ConsumableId,
    /// Units per order: 1 to 1000.
    pub quantity: i64,
}

/// A service type's bill of materials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Bom {
    pub service_type_id: ServiceTypeId,
    /// By consumable id.
    pub lines: Vec<Line>,
    pub updated_by: AccountId,
    pub updated_at: DateTime<Utc>,
}

impl BomSpec {
    /// The bill of `service_type` this spec writes, by `who` at `now`, given the
    /// consumables that exist (`known`: id -> name); refused naming the line's field that
    /// is wrong (`lines[2].quantity`).
    pub fn validate(
        &self,
        service_type: ServiceTypeId,
        known: &BTreeMap<ConsumableId, String>,
        who: AccountId,
        now: DateTime<Utc>,
    ) -> Result<Bom, InventoryError> {
        if self.lines.len() > MAX_LINES {
            return Err(InventoryError::invalid(
                "lines",
                format!("at most {MAX_LINES} lines"),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut lines = Vec::with_capacity(self.lines.len());
        for (i, line) in self.lines.iter().enumerate() {
            let Some(name) = known.get(&line.consumable_id) else {
                return Err(InventoryError::invalid(
                    format!("lines[{i}].consumable_id"),
                    "no such consumable",
                ));
            };
            if !seen.insert(line.consumable_id) {
                return Err(InventoryError::invalid(
                    format!("lines[{i}].consumable_id"),
                    "each consumable once per bill",
                ));
            }
            if !(1..=MAX_LINE_QUANTITY).contains(&line.quantity) {
                return Err(InventoryError::invalid(
                    format!("lines[{i}].quantity"),
                    format!("must be 1 to {MAX_LINE_QUANTITY}"),
                ));
            }
            lines.push(Line {
                consumable_id: line.consumable_id,
                name: name.clone(),
                quantity: line.quantity,
            });
        }
        lines.sort_by_key(|l| l.consumable_id);
        Ok(Bom {
            service_type_id: service_type,
            lines,
            updated_by: who,
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use service::Refused;

    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn line(consumable_id: ConsumableId, quantity: i64) -> BomLine {
        BomLine {
            consumable_id,
            quantity,
        }
    }

    fn refused_field(spec: &BomSpec, known: &BTreeMap<ConsumableId, String>) -> String {
        match spec.validate(ServiceTypeId::new(), known, AccountId::new(), at()) {
            Err(InventoryError::Refused(Refused::Invalid { field, .. })) => field,
            other => panic!("expected a refused field, got {other:?}"),
        }
    }

    #[test]
    fn given_known_consumables_when_a_bill_is_written_then_its_lines_carry_their_names() {
        // Given two consumables
        let (sponge, gloves) = (ConsumableId::new(), ConsumableId::new());
        let known = BTreeMap::from([(sponge, "Sponge".into()), (gloves, "Gloves".into())]);
        // When a bill names both
        let spec = BomSpec {
            lines: vec![line(gloves, 1), line(sponge, 2)],
        };
        let bom = spec
            .validate(ServiceTypeId::new(), &known, AccountId::new(), at())
            .unwrap();
        // Then its lines are the consumables with their names, in id order
        assert_eq!(
            bom.lines,
            vec![
                Line {
                    consumable_id: sponge,
                    name: "Sponge".into(),
                    quantity: 2
                },
                Line {
                    consumable_id: gloves,
                    name: "Gloves".into(),
                    quantity: 1
                },
            ]
        );
        // And an empty bill is a service type that needs nothing
        let empty = BomSpec { lines: vec![] };
        assert!(
            empty
                .validate(ServiceTypeId::new(), &known, AccountId::new(), at())
                .unwrap()
                .lines
                .is_empty()
        );
    }

    #[test]
    fn given_a_wrong_line_when_a_bill_is_written_then_the_line_and_field_are_named() {
        let sponge = ConsumableId::new();
        let known = BTreeMap::from([(sponge, "Sponge".to_owned())]);
        let unknown = BomSpec {
            lines: vec![line(sponge, 1), line(ConsumableId::new(), 1)],
        };
        assert_eq!(refused_field(&unknown, &known), "lines[1].consumable_id");
        let twice = BomSpec {
            lines: vec![line(sponge, 1), line(sponge, 2)],
        };
        assert_eq!(refused_field(&twice, &known), "lines[1].consumable_id");
        for bad in [0, -1, MAX_LINE_QUANTITY + 1] {
            let spec = BomSpec {
                lines: vec![line(sponge, bad)],
            };
            assert_eq!(refused_field(&spec, &known), "lines[0].quantity");
        }
        let long = BomSpec {
            lines: vec![line(sponge, 1); MAX_LINES + 1],
        };
        assert_eq!(refused_field(&long, &known), "lines");
    }
}
