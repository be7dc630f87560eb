//! Mails to supply staff, asked of Mail through Inventory's outbox
//! (`inventory.mail.requested`): committed with the change they report, so a crash loses
//! neither or both.

use chrono::SecondsFormat;
use contracts::iam::MailRequest;
use contracts::inventory::MailRequested;
use contracts::{ConsumableId, Envelope};
use messaging::Work;
use serde_json::json;

use crate::App;
use crate::domain::{Consumable, Kit, LowStockNews, OnHand, Person};
use crate::error::InventoryError;
use crate::store;

/// "Please assemble this kit", to its responsible employee `person`: the order, the
/// service, the date, and links to the kit and its job acceptance form. Keyed by the kit:
/// however often the activation is heard, one mail.
pub(super) async fn kit_to_assemble(
    app: &App,
    work: &mut Work,
    kit: &Kit,
    person: &Person,
    cause: Option<&Envelope>,
) -> Result<(), InventoryError> {
    // The kit's page and its form in the portal (signed in there), not Inventory's API.
    let base = &app.ctx.portal_url;
    let service = kit
        .job
        .as_ref()
        .map_or_else(|| "service".to_owned(), |j| j.service_type_name.clone());
    let mut variables = serde_json::Map::new();
    variables.insert("name".into(), json!(person.name));
    variables.insert("order".into(), json!(kit.order_id.to_string()));
    variables.insert("service".into(), json!(service));
    // RFC 3339 (to the second: mails show minutes): Mail writes it in the reader's language.
    let when = kit.scheduled_at.to_rfc3339_opts(SecondsFormat::Secs, true);
    variables.insert("when".into(), json!(when));
    variables.insert("link".into(), json!(format!("{base}/kits/{}", kit.id)));
    variables.insert(
        "form".into(),
        json!(format!("{base}/kits/{}/form.pdf", kit.id)),
    );
    let event = MailRequested {
        kit_id: Some(kit.id),
        consumable_id: None,
        request: MailRequest {
            to: person.email.clone(),
            template: "kit_to_assemble".into(),
            variables,
            idempotency_key: kit.id.to_string(),
            language: None,
        },
    };
    work.publish(&Envelope::new(&event, 1, cause)).await?;
    Ok(())
}

/// After moves of the consumables `ids` (in this unit of work, their rows locked by
/// `touch_consumables`): each that fell below its low-stock mark, and of which supply
/// staff were not told yet, is mailed to every active supply employee, once; one that is
/// back at or above its mark is forgotten, so falling again is told again.
pub(super) async fn low_stock(
    app: &App,
    work: &mut Work,
    ids: &[ConsumableId],
) -> Result<(), InventoryError> {
    let consumables = store::consumables_by_id(work, ids).await?;
    let on_hand = store::on_hand(work, Some(ids)).await?;
    let states = store::low_stock_states(work, ids).await?;
    for consumable in consumables {
        let Some(&(told, alerts)) = states.get(&consumable.id) else {
            continue;
        };
        let level = on_hand.get(consumable.id);
        match LowStockNews::after_move(consumable.low_stock_threshold, level, told) {
            LowStockNews::Nothing => {}
            LowStockNews::Recovered => {
                store::set_low_stock_state(work, consumable.id, false, alerts).await?;
            }
            LowStockNews::Tell => {
                let alert = alerts + 1;
                store::set_low_stock_state(work, consumable.id, true, alert).await?;
                tell_low(app, work, &consumable, &on_hand, alert).await?;
            }
        }
    }
    Ok(())
}

/// Mails fall number `alert` of `consumable` to each active supply employee (nobody when
/// none is known: the stock list shows it low all the same).
async fn tell_low(
    app: &App,
    work: &mut Work,
    consumable: &Consumable,
    on_hand: &OnHand,
    alert: i64,
) -> Result<(), InventoryError> {
    let staff = store::supply_staff(work).await?;
    let on_duty: Vec<&Person> = staff.iter().filter(|p| p.on_duty()).collect();
    if on_duty.is_empty() {
        tracing::warn!(consumable = %consumable.name, "low stock, but no supply staff known to tell");
    }
    for person in on_duty {
        let mut variables = serde_json::Map::new();
        variables.insert("name".into(), json!(person.name));
        variables.insert("consumable".into(), json!(consumable.name));
        variables.insert("unit".into(), json!(consumable.unit));
        variables.insert("on_hand".into(), json!(on_hand.get(consumable.id)));
        variables.insert("threshold".into(), json!(consumable.low_stock_threshold));
        // The stock page in the portal, where receipts are entered.
        variables.insert(
            "link".into(),
            json!(format!("{}/stock", app.ctx.portal_url)),
        );
        let event = MailRequested {
            kit_id: None,
            consumable_id: Some(consumable.id),
            request: MailRequest {
                to: person.email.clone(),
                template: "low_stock".into(),
                variables,
                idempotency_key: format!(
                    "low-stock:{}:{alert}:{}",
                    consumable.id, person.account_id
                ),
                language: None,
            },
        };
        work.publish(&Envelope::new(&event, 1, None)).await?;
    }
    Ok(())
}
