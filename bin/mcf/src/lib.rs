//! The MCF system as a library: configuration and composition, so the `mcf` binary, the
//! end-to-end tests and the benchmark start it the same way.

pub mod config;
pub mod login;
pub mod system;
pub mod telemetry;

pub use config::Config;
