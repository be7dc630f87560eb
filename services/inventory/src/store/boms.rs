//! Bills of materials per service type.

use contracts::ServiceTypeId;
use storage::{AnyConnection, Row};

use super::{Result, parsed};
use crate::domain::{Bom, Line};

/// Writes `bom` over the service type's bill before (its lines replaced).
pub async fn save_bom(conn: &mut AnyConnection, bom: &Bom) -> Result<()> {
    let st = bom.service_type_id.to_string();
    storage::query(
        "INSERT INTO boms (service_type_id, updated_by, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (service_type_id) DO UPDATE SET updated_by = excluded.updated_by, \
         updated_at = excluded.updated_at",
    )
    .bind(&st)
    .bind(bom.updated_by.to_string())
    .bind(storage::micros(bom.updated_at))
    .execute(&mut *conn)
    .await?;
    storage::query("DELETE FROM bom_lines WHERE service_type_id = $1")
        .bind(&st)
        .execute(&mut *conn)
        .await?;
    for line in &bom.lines {
        storage::query(
            "INSERT INTO bom_lines (service_type_id, consumable_id, quantity) VALUES ($1, $2, $3)",
        )
        .bind(&st)
        .bind(line.consumable_id.to_string())
        .bind(line.quantity)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The bill of service type `id`, if one was written.
pub async fn bom(conn: &mut AnyConnection, id: ServiceTypeId) -> Result<Option<Bom>> {
    let Some(head) = storage::query("SELECT * FROM boms WHERE service_type_id = $1")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let lines = storage::query(
        "SELECT l.consumable_id, c.name, l.quantity FROM bom_lines l \
         JOIN consumables c ON c.id = l.consumable_id \
         WHERE l.service_type_id = $1 ORDER BY l.consumable_id",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Line {
            consumable_id: parsed(r, "consumable_id")?,
            name: r.get("name"),
            quantity: r.get("quantity"),
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(Some(Bom {
        service_type_id: id,
        lines,
        updated_by: parsed(&head, "updated_by")?,
        updated_at: storage::time(head.get("updated_at")),
    }))
}
