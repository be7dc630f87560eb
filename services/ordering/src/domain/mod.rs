//! Ordering's domain: service types and the order lifecycle. Pure: no I/O.

pub mod order;
pub mod service_type;
