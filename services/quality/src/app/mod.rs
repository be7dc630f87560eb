//! Quality's use cases, one file each: load -> decide (the domain's rule) -> save ->
//! commit, in one [`messaging::Work`]. Routes, consumers and the rebuild call these.

mod add_hypothesis;
mod adjust_worker;
mod calls;
mod draw_sample;
mod open_review;
mod photo;
mod queries;
mod record_event;
mod revise_review;
mod tag_hypothesis;

pub use add_hypothesis::add_hypothesis;
pub use adjust_worker::adjust_worker;
pub use draw_sample::draw_sample;
pub use open_review::open_review;
pub use photo::photo;
pub use queries::{
    OrderView, QueueEntry, ReviewView, draw, draws, figures, hypotheses, hypothesis, order, orders,
    queue, review,
};
pub use record_event::record_event;
pub use revise_review::revise_review;
pub use tag_hypothesis::tag_hypothesis;
