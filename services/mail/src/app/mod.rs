//! Mail's use cases, one file each: what the routes, the event consumers and the deliverer
//! call. Each loads, lets the domain decide, saves, and commits one unit of work; none
//! publishes (Mail announces nothing), and those that queue work wake the deliverer.

pub mod deliver;
pub mod find;
pub mod retry;
pub mod submit;
