//! Hiring's rules, without I/O: what a test is and how answers are graded
//! ([`mod@test`]); what an application must contain, the moves of its lifecycle and how results
//! become a worker's characteristics ([`application`]).

pub mod application;
pub mod test;

pub use application::{
    Application, ApplicationForm, Hired, MAX_PHOTO_BYTES, Photo, Reason, STRENGTH_FROM, Status,
    WEAKNESS_BELOW, characteristics, photo,
};
pub use test::{Grade, Question, ShownQuestion, ShownTest, Test, TestSpec};
