//! Photos of an order (check-in, signed report): stored before the move that names them,
//! read back by the order's parties.

use auth::Principal;
use contracts::OrderId;
use serde::{Deserialize, Serialize};
use service::Refused;
use uuid::Uuid;

use super::queries::{read_order, visible_to};
use crate::App;
use crate::domain::order::{Order, Transition};
use crate::error::OrderingError;

/// What a photo is answered as: whichever of these it is (others proxying the photos,
/// Quality, declare the same).
pub const PHOTO_MEDIA: [&str; 4] = [
    "image/png",
    "image/jpeg",
    "image/webp",
    "application/octet-stream",
];

/// Which photo of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PhotoKind {
    /// Taken by the worker on arrival.
    CheckIn,
    /// The paper report signed by the client.
    Report,
}

impl PhotoKind {
    /// As in the path (`/orders/{id}/photos/{kind}`) and the object key.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoKind::CheckIn => "check-in",
            PhotoKind::Report => "report",
        }
    }

    /// From the path; anything else is no photo of ours.
    pub fn parse(s: &str) -> Option<PhotoKind> {
        [PhotoKind::CheckIn, PhotoKind::Report]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// Checks the photo (422 naming `field`), tries the move on a copy of the order so a
/// refused one stores nothing, then stores the photo under a key of its own
/// (`orders/{id}/{kind}-{uuid}.{ext}`): of two racing attempts, the one whose transition
/// commits names its photo, and the loser's photo cannot overwrite it. (A crash between
/// the upload and the commit leaves an unreferenced object, never a wrong one.)
pub(super) async fn store_photo(
    app: &App,
    id: OrderId,
    kind: PhotoKind,
    field: &str,
    encoded: &str,
    dry_run: impl FnOnce(&mut Order, String) -> Result<Transition, OrderingError>,
) -> Result<String, OrderingError> {
    let image = web::image::decode_image(encoded, app.config.photo_max_bytes)
        .map_err(|m| OrderingError::invalid(field, &m))?;
    let key = format!(
        "orders/{id}/{}-{}.{}",
        kind.as_str(),
        Uuid::now_v7().simple(),
        image.extension()
    );
    let mut copy = read_order(app, id).await?;
    dry_run(&mut copy, key.clone())?;
    app.objects.put(&key, image.bytes).await?;
    Ok(key)
}

/// The `kind` photo of order `id` as `who` may see it: its bytes and media type.
pub async fn photo(
    app: &App,
    who: &Principal,
    id: OrderId,
    kind: PhotoKind,
) -> Result<(Vec<u8>, &'static str), OrderingError> {
    let order = read_order(app, id).await?;
    visible_to(&order, who)?;
    let key = match kind {
        PhotoKind::CheckIn => order.check_in_photo,
        PhotoKind::Report => order.report_photo,
    }
    .ok_or(Refused::NotFound("photo"))?;
    let bytes = app
        .objects
        .get(&key)
        .await?
        .ok_or(Refused::NotFound("photo"))?;
    let media_type = web::image::media_type(&bytes).unwrap_or("application/octet-stream");
    Ok((bytes, media_type))
}
