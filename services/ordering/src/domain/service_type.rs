//! The catalog of services clients can order.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::OrderingError;

/// A kind of job clients can order, with its approximate price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceType {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// The skill Matching scores workers on for this job.
    pub skill: String,
    /// Approximate price shown to clients, in minor units.
    pub price: i64,
    pub duration_minutes: i64,
}

/// What a manager submits to create a service type.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewServiceType {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Defaults to the name in lower case.
    pub skill: Option<String>,
    pub price: i64,
    pub duration_minutes: i64,
}

impl NewServiceType {
    /// Checks every field; the first problem is reported with its field name.
    pub fn validate(self) -> Result<ServiceType, OrderingError> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(OrderingError::invalid(
                "name",
                "must be 1 to 100 characters",
            ));
        }
        if self.description.chars().count() > 2000 {
            return Err(OrderingError::invalid(
                "description",
                "must be at most 2000 characters",
            ));
        }
        let skill = self
            .skill
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| name.to_lowercase());
        if skill.is_empty() || skill.chars().count() > 50 {
            return Err(OrderingError::invalid(
                "skill",
                "must be 1 to 50 characters",
            ));
        }
        if !(1..=1_000_000_000).contains(&self.price) {
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
            id: Uuid::now_v7(),
            name,
            description: self.description.trim().to_owned(),
            skill,
            price: self.price,
            duration_minutes: self.duration_minutes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(name: &str, price: i64, duration: i64) -> NewServiceType {
        NewServiceType {
            name: name.into(),
            description: String::new(),
            skill: None,
            price,
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
            Err(OrderingError::Invalid { field, .. }) => field,
            other => panic!("expected a validation error, got {other:?}"),
        };
        assert_eq!(field(new("", 100, 60).validate()), "name");
        assert_eq!(field(new("x", 0, 60).validate()), "price");
        assert_eq!(field(new("x", 100, 0).validate()), "duration_minutes");
    }
}
