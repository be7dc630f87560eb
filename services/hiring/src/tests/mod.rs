//! In-process tests of Hiring's routes.
