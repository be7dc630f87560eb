//! Mails to clients, asked of Mail through Ordering's outbox (`ordering.mail.requested`):
//! committed with the change they announce, so a crash loses neither or both.

use contracts::Envelope;
use contracts::iam::MailRequest;
use contracts::ordering::MailRequested;
use messaging::Work;
use serde_json::json;

use crate::domain::order::Order;
use crate::error::OrderingError;
use crate::store;

/// RFC 3339, to the second (mails show minutes): Mail writes it in the client's language.
fn when(order: &Order) -> String {
    order
        .scheduled_at
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Queues `template` to the order's client. Skipped (logged) while IAM has not told
/// Ordering the client's address yet: the order's own state shows the same news.
async fn send(
    work: &mut Work,
    order: &Order,
    template: &str,
    mut variables: serde_json::Map<String, serde_json::Value>,
    key: String,
    cause: Option<&Envelope>,
) -> Result<(), OrderingError> {
    let Some(client) = store::person(work, order.client_id).await? else {
        tracing::warn!(order_id = %order.id, template, "client's address unknown: no mail");
        return Ok(());
    };
    variables.insert("name".into(), json!(client.name));
    let event = MailRequested {
        order_id: order.id,
        request: MailRequest {
            to: client.email,
            template: template.to_owned(),
            variables,
            idempotency_key: key,
            language: None,
        },
    };
    work.publish(&Envelope::new(&event, 1, cause)).await?;
    Ok(())
}

/// "Your order is confirmed": who comes, when, for how much.
pub(super) async fn activated(
    work: &mut Work,
    order: &Order,
    cause: Option<&Envelope>,
) -> Result<(), OrderingError> {
    let worker = match order.worker_id {
        Some(w) => store::person(work, w.into()).await?.map(|p| p.name),
        None => None,
    };
    let mut vars = serde_json::Map::new();
    vars.insert("service".into(), json!(order.service_type_name));
    // Empty while IAM has not told Ordering the worker's name: Mail says "your worker" in
    // the client's language.
    vars.insert("worker".into(), json!(worker.unwrap_or_default()));
    vars.insert("when".into(), json!(when(order)));
    vars.insert(
        "price".into(),
        // Minor units: Mail writes them as money in the client's language.
        json!(order.price.unwrap_or(order.approximate_price).minor()),
    );
    let key = format!("activated:{}:{}", order.id, order.assignment_version);
    send(work, order, "order_activated", vars, key, cause).await
}

/// "Nobody came" (or "nobody was found"): the apology and the link to rebook for a new
/// date: the order's page in the portal at `portal_url`, which offers the new date.
pub(super) async fn failed(
    work: &mut Work,
    order: &Order,
    portal_url: &str,
) -> Result<(), OrderingError> {
    let mut vars = serde_json::Map::new();
    vars.insert("when".into(), json!(when(order)));
    vars.insert(
        "link".into(),
        json!(format!("{portal_url}/orders/{}/rebook", order.id)),
    );
    let key = format!("failed:{}", order.id);
    let template = match order.reason.as_deref() {
        Some("not_matched") => "order_not_matched",
        // The supplies were not ready: the client hears that, not that the worker failed.
        Some("kit_not_ready") => "order_kit_not_ready",
        _ => "no_show_rebook",
    };
    send(work, order, template, vars, key, None).await
}
