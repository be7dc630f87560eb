//! Accounts: who may sign in, with which roles.

use auth::Role;
use contracts::AccountId;
use serde::{Deserialize, Serialize};

use crate::error::IamError;

/// An account as the admin API shows it (never the hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Account {
    pub id: AccountId,
    pub email: String,
    pub name: String,
    pub roles: Vec<Role>,
    pub status: Status,
    /// The language the person reads (`en`, `ru`): mails to them are written in it. Absent
    /// until they chose one (English then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

pub use contracts::language::{LANGUAGES, language};

impl Account {
    /// Its roles' names, as the account events carry them.
    pub fn role_names(&self) -> Vec<String> {
        self.roles.iter().map(|r| r.as_str().to_owned()).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Disabled,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Disabled => "disabled",
        }
    }

    pub fn parse(s: &str) -> Status {
        if s == "active" {
            Status::Active
        } else {
            Status::Disabled
        }
    }
}

/// Roles as stored: space-separated, sorted, unique.
pub fn roles_to_text(roles: &[Role]) -> String {
    let mut names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(" ")
}

pub fn roles_from_text(text: &str) -> Vec<Role> {
    text.split_whitespace().filter_map(Role::parse).collect()
}

/// Lower-cases and checks an e-mail address (one `@`, something on both sides, no spaces
/// or control characters).
pub fn normalize_email(email: &str) -> Result<String, IamError> {
    let e = email.trim().to_lowercase();
    let ok = e.len() <= 254
        && e.split('@').count() == 2
        && e.split('@').all(|p| !p.is_empty())
        && e.split('@')
            .nth(1)
            .is_some_and(|d| d.contains('.') || d == "localhost")
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(e)
    } else {
        Err(IamError::invalid("email", "is not an e-mail address"))
    }
}

/// Roles as the admin API accepts them, each checked.
pub fn parse_roles(names: &[String]) -> Result<Vec<Role>, IamError> {
    names
        .iter()
        .map(|n| {
            Role::parse(n).ok_or_else(|| IamError::invalid("roles", &format!("unknown role {n:?}")))
        })
        .collect()
}

/// Passwords: at least 12 characters, at most 200 (argon2 takes any length; this caps work).
pub fn check_password(password: &str) -> Result<(), IamError> {
    let n = password.chars().count();
    if !(12..=200).contains(&n) {
        return Err(IamError::invalid(
            "password",
            "must be 12 to 200 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_sorted_and_unique() {
        let text = roles_to_text(&[Role::Manager, Role::Admin, Role::Manager]);
        assert_eq!(text, "admin manager");
        assert_eq!(roles_from_text(&text), vec![Role::Admin, Role::Manager]);
    }

    #[test]
    fn emails_are_normalized_or_refused() {
        assert_eq!(
            normalize_email(" Tom@Example.COM ").unwrap(),
            "tom@example.com"
        );
        for bad in [
            "",
            "tom",
            "@x.com",
            "tom@",
            "to m@x.com",
            "a@b@c.com",
            "tom@nodot",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }
}
