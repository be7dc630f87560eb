//! Mail's rules, without I/O: what makes a message ([`message`]), how a template becomes
//! its text ([`templates`]), and what one delivery attempt leaves behind
//! ([`message::Message::after_attempt`]).

pub mod message;
pub mod templates;

pub use message::{Failure, Message, Outcome, Request, Retries, Status};
