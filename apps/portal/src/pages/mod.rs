//! The pages, one file per audience.

pub mod account;
pub mod admin;
pub mod bets;
pub mod books;
pub mod candidate;
pub mod client;
pub mod home;
pub mod manager;
pub mod money;
pub mod quality;
pub mod register;
pub mod supply;
pub mod worker;
