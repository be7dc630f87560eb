use contracts::OrderId;
use ordering::client::{OrderingClient, PhotoKind};

use super::calls::{as_manager, with_retries};
use crate::App;
use crate::error::QualityError;

/// Photo `kind` of order `order`, fetched from Ordering with the manager's `token` (the
/// photos stay Ordering's; Quality keeps no copy): its bytes and media type. Ordering's
/// 404 is this one's; no answer is 503 `ordering_unavailable`.
pub async fn photo(
    app: &App,
    token: &str,
    order: OrderId,
    kind: PhotoKind,
) -> Result<(Vec<u8>, String), QualityError> {
    let ordering = OrderingClient(as_manager(app, "ordering", token)?);
    match with_retries(app, "ordering", || ordering.photo(order, kind)).await? {
        Ok(reply) => {
            let media = reply
                .header("content-type")
                .unwrap_or("application/octet-stream")
                .to_owned();
            Ok((reply.body.to_vec(), media))
        }
        Err(e) if e.status().is_some_and(|s| s.as_u16() == 404) => {
            Err(service::Refused::NotFound("photo").into())
        }
        Err(e) if e.status().is_some_and(|s| matches!(s.as_u16(), 401 | 403)) => Err(
            service::Refused::Forbidden("Ordering does not show this photo to the caller").into(),
        ),
        Err(e) => Err(QualityError::Unavailable {
            service: "ordering",
            detail: e.to_string(),
        }),
    }
}
