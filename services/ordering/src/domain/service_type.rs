//! The catalog of services clients can order.

use contracts::{Money, ServiceTypeId};
use serde::{Deserialize, Serialize};

use crate::error::OrderingError;

/// A kind of job clients can order, with its approximate price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceType {
    pub id: ServiceTypeId,
    pub name: String,
    pub description: String,
    /// The skill Matching scores workers on for this job.
    pub skill: String,
    /// Approximate price shown to clients, in minor units.
    pub price: Money,
    pub duration_minutes: i64,
    /// Retired types stay on old orders but cannot be ordered any more.
    #[serde(default)]
    pub retired: bool,
}

impl ServiceType {
    /// The type after a manager's edit, every field checked as on creation.
    pub fn edited(&self, edit: ServiceTypeEdit) -> Result<ServiceType, OrderingError> {
        let new = NewServiceType {
            name: edit.name.unwrap_or_else(|| self.name.clone()),
            description: edit.description.unwrap_or_else(|| self.description.clone()),
            skill: Some(edit.skill.unwrap_or_else(|| self.skill.clone())),
            price: edit.price.unwrap_or(self.price),
            duration_minutes: edit.duration_minutes.unwrap_or(self.duration_minutes),
        };
        Ok(ServiceType {
            id: self.id,
            retired: self.retired,
            ..new.validate()?
        })
    }
}

/// What a manager may change on a service type (absent fields stay as they are). Orders
/// already made keep the name and price they were made with.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceTypeEdit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// Approximate price in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_minutes: Option<i64>,
}

/// What a manager submits to create a service type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceType {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Defaults to the name in lower case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// Approximate price in minor units.
    pub price: Money,
    pub duration_minutes: i64,
}

impl NewServiceType {
    /// Checks every field; the first problem is reported with its field name.
    pub fn validate(self) -> Result<ServiceType, OrderingError> {
        // One line: the name goes into mail subjects and order lists.
        let name = web::text::single_line("name", &self.name, 100)?;
        web::text::multi_line("description", &self.description, 2000)?;
        let skill = match self.skill {
            Some(skill) => web::text::single_line("skill", &skill, 50)?,
            None => web::text::single_line("skill", &name.to_lowercase(), 50)?,
        };
        if !(1..=1_000_000_000).contains(&self.price.minor()) {
            return Err(OrderingError::invalid(
                "price",
                "must be a positive amount in minor units",
            ));
        }
        if !(1..=24 * 60).contains(&self.duration_minutes) {
            return Err(OrderingError::invalid(
                "duration_minutes",
                "must be 1 to 1440",
            ));
        }
        Ok(ServiceType {
            id: ServiceTypeId::new(),
            name,
            description: self.description.trim().to_owned(),
            skill,
            price: self.price,
            duration_minutes: self.duration_minutes,
            retired: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use service::Refused;

    use super::*;

    fn new(name: &str, price: i64, duration: i64) -> NewServiceType {
        NewServiceType {
            name: name.into(),
            description: String::new(),
            skill: None,
            price: Money::from_minor(price),
            duration_minutes: duration,
        }
    }

    #[test]
    fn a_valid_type_defaults_its_skill_to_the_name() {
        let t = new(" Cleaning ", 100, 60).validate().unwrap();
        assert_eq!(t.name, "Cleaning");
        assert_eq!(t.skill, "cleaning");
    }

    #[test]
    fn each_bad_field_is_named() {
        let field = |r: Result<ServiceType, OrderingError>| match r {
            Err(OrderingError::Refused(Refused::Invalid { field, .. })) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(new("", 100, 60).validate()), "name");
        assert_eq!(field(new("Clean\ning", 100, 60).validate()), "name");
        assert_eq!(field(new("Clean\u{0}", 100, 60).validate()), "name");
        let mut nul = new("x", 100, 60);
        nul.description = "a\u{0}b".into();
        assert_eq!(field(nul.validate()), "description");
        assert_eq!(field(new("x", 0, 60).validate()), "price");
        assert_eq!(field(new("x", 100, 0).validate()), "duration_minutes");
    }

    #[test]
    fn an_edit_changes_only_what_it_names_and_is_checked_like_a_new_type() {
        let t = new("Cleaning", 100, 60).validate().unwrap();
        let edited = t
            .edited(ServiceTypeEdit {
                price: Some(Money::from_minor(150)),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            (edited.id, edited.price, edited.name.as_str()),
            (t.id, Money::from_minor(150), "Cleaning")
        );
        let bad = t.edited(ServiceTypeEdit {
            duration_minutes: Some(0),
            ..Default::default()
        });
        assert!(
            matches!(bad, Err(OrderingError::Refused(Refused::Invalid { field, .. })) if field == "duration_minutes")
        );
    }
}
