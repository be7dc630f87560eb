//! Inventory's use cases, one file each: load -> decide (the domain's rule) -> save ->
//! publish -> commit, all in one [`messaging::Work`]. Routes and event handlers call these,
//! nothing else.

mod add_consumable;
mod assemble_kit;
mod cancel_kit;
pub(crate) mod cookies;
mod issue_kit;
mod notify;
mod queries;
mod receive_stock;
mod remember_person;
mod write_bom;

pub use add_consumable::add_consumable;
pub use assemble_kit::assemble_kit;
pub use cancel_kit::{KitCancel, cancel_kit};
pub use cookies::{
    callback_url, cancel_cookies, check_cookies, cookie_called_back, order_cookies, reorder_cookie,
};
pub use issue_kit::issue_kit;
pub use queries::{KitView, bom, form, kit, kits, moves, stock};
pub use receive_stock::receive_stock;
pub use remember_person::remember_person;
pub use write_bom::write_bom;

pub use service::Created;
