//! The MCF system as a library: configuration and composition, so the `mcf` binary, the
//! end-to-end tests and the benchmark start it the same way.

pub mod backup;
pub mod config;
pub mod login;
pub mod ops;
pub mod system;
pub mod telemetry;

pub use config::Config;
