//! IAM's rules, without I/O.

pub mod account;
pub mod pkce;
pub mod throttle;
