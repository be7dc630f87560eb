//! Quality's rules, pure: the timeline and each order's file folded from it, random
//! samples, the review form and its revisions, the register of hypotheses, adjustments
//! asked of Matching, and the figures.

pub mod adjustment;
pub mod figures;
pub mod hypothesis;
pub mod review;
pub mod sample;
pub mod timeline;

pub use adjustment::{AdjustmentIn, AdjustmentState, WorkerAdjustment};
pub use figures::{Figure, GroupBy};
pub use hypothesis::{Hypothesis, NewHypothesis, Tags};
pub use review::{ReviewForm, ReviewHead, Revision, Verdict};
pub use timeline::{Entry, OrderFile, QueueReason, Status};
