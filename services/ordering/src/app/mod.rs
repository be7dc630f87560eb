//! Ordering's use cases, one file each: load -> decide (the domain) -> save (the store) ->
//! publish -> commit, all in one unit of work ([`messaging::Work`]). Routes and event
//! handlers call these, never the store; the store never publishes.

mod activate_order;
mod add_service_type;
mod advance_clock;
mod cancel_order;
mod change_order;
mod check_in;
mod complete_order;
mod edit_service_type;
mod fail_overdue_orders;
mod notify;
mod photos;
mod queries;
mod rebook_order;
mod remember_kit_issued;
mod remember_person;
mod request_order;
mod retire_service_type;

pub use activate_order::{Activation, activate_order};
pub use add_service_type::add_service_type;
pub use advance_clock::advance_clock;
pub use cancel_order::cancel_order;
pub use check_in::check_in;
pub use complete_order::complete_order;
pub use edit_service_type::edit_service_type;
pub use fail_overdue_orders::fail_overdue_orders;
pub use photos::{PHOTO_MEDIA, PhotoKind, photo};
pub use queries::{OrderView, STAFF, jobs, order_view, orders, service_types, status_counts};
pub use rebook_order::rebook_order;
pub use remember_kit_issued::remember_kit_issued;
pub use remember_person::remember_person;
pub use request_order::request_order;
pub use retire_service_type::retire_service_type;

/// What a use case that creates something answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    /// Made now.
    New(T),
    /// Made before: a retry with the same `Idempotency-Key` and the same request (or, for a
    /// rebook, the same failed order) gets the first one back.
    Replayed(T),
}
