//! Matching's domain, in its own language: the order to match is the **reference sample**,
//! a worker is a **normal sample**. Pure: no I/O.

pub mod adjustments;
pub mod pipeline;
pub mod roster;
pub mod samples;
pub mod steps;
