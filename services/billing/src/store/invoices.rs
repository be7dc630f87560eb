//! `cycle_runs`, `invoices`, `invoice_lines` and `bank_details`: the billing cycles' rows.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use contracts::{AccountId, Money};
use storage::{AnyConnection, AnyRow, Row};

use super::{Result, parsed};
use crate::domain::{
    AccountKind, EntryId, EntryKind, Invoice, InvoiceLine, LedgerAccount, Period, PeriodKind,
};

fn period_kind(kind: PeriodKind) -> &'static str {
    match kind {
        PeriodKind::Week => "week",
        PeriodKind::Month => "month",
    }
}

/// Claims the run of `period` at `now`: `true` when this transaction inserted its row (and
/// so issues its invoices), `false` when it ran before. On PostgreSQL a claim racing another
/// transaction's waits for it to end.
pub async fn claim_run(
    conn: &mut AnyConnection,
    period: &Period,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = storage::query(
        "INSERT INTO cycle_runs (kind, period_key, period_start, period_end, invoices, ran_at) \
         VALUES ($1, $2, $3, $4, 0, $5) ON CONFLICT (kind, period_key) DO NOTHING",
    )
    .bind(period_kind(period.kind))
    .bind(&period.key)
    .bind(storage::micros(period.start))
    .bind(storage::micros(period.end))
    .bind(storage::micros(now))
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Records how many invoices the run of `period` issued.
pub async fn count_run(conn: &mut AnyConnection, period: &Period, invoices: usize) -> Result<()> {
    storage::query("UPDATE cycle_runs SET invoices = $1 WHERE kind = $2 AND period_key = $3")
        .bind(invoices as i64)
        .bind(period_kind(period.kind))
        .bind(&period.key)
        .execute(conn)
        .await?;
    Ok(())
}

/// The start of the latest period of `kind` that ran.
pub async fn last_run(conn: &mut AnyConnection, kind: PeriodKind) -> Result<Option<DateTime<Utc>>> {
    let start: Option<i64> =
        storage::query_scalar("SELECT MAX(period_start) FROM cycle_runs WHERE kind = $1")
            .bind(period_kind(kind))
            .fetch_one(conn)
            .await?;
    Ok(start.map(storage::time))
}

/// The entry kinds a query selects: at most three (a cycle covers one to three), bound as
/// `$1`..`$3` (repeating the last when fewer).
fn three_kinds(kinds: &[EntryKind]) -> [&'static str; 3] {
    let at = |i: usize| kinds.get(i).or(kinds.last()).map_or("", |k| k.as_str());
    debug_assert!((1..=3).contains(&kinds.len()));
    [at(0), at(1), at(2)]
}

/// When the first entry of one of `kinds` was booked.
pub async fn first_booking(
    conn: &mut AnyConnection,
    kinds: &[EntryKind],
) -> Result<Option<DateTime<Utc>>> {
    let [a, b, c] = three_kinds(kinds);
    let first: Option<i64> = storage::query_scalar(
        "SELECT MIN(booked_at) FROM ledger_entries WHERE kind IN ($1, $2, $3)",
    )
    .bind(a)
    .bind(b)
    .bind(c)
    .fetch_one(conn)
    .await?;
    Ok(first.map(storage::time))
}

/// The postings of entries of `kinds` to accounts of `holders` booked before `end` that no
/// invoice covers yet, by account, oldest first; each amount as the holder sees it
/// (`sign` 1 for a client's debt, -1 for what MCF owes a worker).
pub async fn uninvoiced(
    conn: &mut AnyConnection,
    holders: AccountKind,
    kinds: &[EntryKind],
    end: DateTime<Utc>,
    sign: i64,
) -> Result<BTreeMap<LedgerAccount, Vec<InvoiceLine>>> {
    let [a, b, c] = three_kinds(kinds);
    let rows = storage::query(
        "SELECT p.account_id, p.entry_id, p.amount, e.kind FROM ledger_postings p \
         JOIN ledger_entries e ON e.id = p.entry_id \
         JOIN accounts a ON a.id = p.account_id \
         LEFT JOIN invoice_lines l ON l.entry_id = p.entry_id \
         WHERE e.kind IN ($1, $2, $3) AND a.kind = $4 AND p.booked_at < $5 \
         AND l.entry_id IS NULL ORDER BY p.booked_at, p.entry_id",
    )
    .bind(a)
    .bind(b)
    .bind(c)
    .bind(holders.as_str())
    .bind(storage::micros(end))
    .fetch_all(conn)
    .await?;
    let mut lines: BTreeMap<LedgerAccount, Vec<InvoiceLine>> = BTreeMap::new();
    for r in &rows {
        let amount: i64 = r.get("amount");
        lines
            .entry(parsed(r, "account_id")?)
            .or_default()
            .push(InvoiceLine {
                entry_id: EntryId::stored(r.get("entry_id")),
                kind: parsed(r, "kind")?,
                amount: Money::from_minor(amount.saturating_mul(sign)),
            });
    }
    Ok(lines)
}

/// What each account's invoice of the period `period_key` carried over into the next.
pub async fn carried_over(
    conn: &mut AnyConnection,
    period_key: &str,
) -> Result<BTreeMap<LedgerAccount, Money>> {
    let rows = storage::query(
        "SELECT account_id, total FROM invoices WHERE period_key = $1 AND status = 'carried_over'",
    )
    .bind(period_key)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((parsed(r, "account_id")?, Money::from_minor(r.get("total")))))
        .collect()
}

/// Inserts `invoice` and its lines.
pub async fn insert_invoice(conn: &mut AnyConnection, invoice: &Invoice) -> Result<()> {
    storage::query(
        "INSERT INTO invoices (id, kind, account_id, holder_id, period_key, period_start, \
         period_end, carried_in, total, status, attempts, next_attempt_at, in_doubt, \
         last_error, bank_operation, issued_at, settled_at) VALUES ($1, $2, $3, $4, $5, $6, \
         $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
    )
    .bind(&invoice.id)
    .bind(invoice.kind.as_str())
    .bind(invoice.account.to_string())
    .bind(
        invoice
            .account
            .holder()
            .map(|h| h.to_string())
            .unwrap_or_default(),
    )
    .bind(&invoice.period.key)
    .bind(storage::micros(invoice.period.start))
    .bind(storage::micros(invoice.period.end))
    .bind(invoice.carried_in.minor())
    .bind(invoice.total.minor())
    .bind(invoice.status.as_str())
    .bind(i64::from(invoice.attempts))
    .bind(invoice.next_attempt_at.map(storage::micros))
    .bind(i64::from(invoice.in_doubt))
    .bind(&invoice.last_error)
    .bind(&invoice.bank_operation)
    .bind(storage::micros(invoice.issued_at))
    .bind(invoice.settled_at.map(storage::micros))
    .execute(&mut *conn)
    .await?;
    for line in &invoice.lines {
        storage::query(
            "INSERT INTO invoice_lines (entry_id, invoice_id, amount) VALUES ($1, $2, $3)",
        )
        .bind(line.entry_id.as_str())
        .bind(&invoice.id)
        .bind(line.amount.minor())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes `after` over `before` (an attempt's outcome): `false`, and nothing written, when
/// the stored invoice is no longer `before` (another replica recorded an attempt first).
pub async fn update_invoice(
    conn: &mut AnyConnection,
    before: &Invoice,
    after: &Invoice,
) -> Result<bool> {
    let updated = storage::query(
        "UPDATE invoices SET status = $1, attempts = $2, next_attempt_at = $3, in_doubt = $4, \
         last_error = $5, bank_operation = $6, settled_at = $7 \
         WHERE id = $8 AND status = $9 AND attempts = $10",
    )
    .bind(after.status.as_str())
    .bind(i64::from(after.attempts))
    .bind(after.next_attempt_at.map(storage::micros))
    .bind(i64::from(after.in_doubt))
    .bind(&after.last_error)
    .bind(&after.bank_operation)
    .bind(after.settled_at.map(storage::micros))
    .bind(&before.id)
    .bind(before.status.as_str())
    .bind(i64::from(before.attempts))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(updated == 1)
}

/// Moves the next attempt of open invoice `id` from `due` to `until`: `true` when this
/// caller took the attempt (another replica's lease or answer came first otherwise).
pub async fn lease(
    conn: &mut AnyConnection,
    id: &str,
    due: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let leased = storage::query(
        "UPDATE invoices SET next_attempt_at = $1 WHERE id = $2 AND next_attempt_at = $3 \
         AND status IN ('issued', 'failed')",
    )
    .bind(storage::micros(until))
    .bind(id)
    .bind(storage::micros(due))
    .execute(conn)
    .await?
    .rows_affected();
    Ok(leased == 1)
}

/// The ids of open invoices whose next attempt is due at `now`, most overdue first.
pub async fn due(conn: &mut AnyConnection, now: DateTime<Utc>, limit: i64) -> Result<Vec<String>> {
    Ok(storage::query_scalar(
        "SELECT id FROM invoices WHERE next_attempt_at <= $1 AND status IN ('issued', 'failed') \
         ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(storage::micros(now))
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

fn invoice_of(r: &AnyRow) -> Result<Invoice> {
    let key: String = r.get("period_key");
    let kind: crate::domain::InvoiceKind = parsed(r, "kind")?;
    let attempts: i64 = r.get("attempts");
    let in_doubt: i64 = r.get("in_doubt");
    let next: Option<i64> = r.get("next_attempt_at");
    let settled: Option<i64> = r.get("settled_at");
    Ok(Invoice {
        id: r.get("id"),
        kind,
        account: parsed(r, "account_id")?,
        period: Period {
            kind: kind.period_kind(),
            key,
            start: storage::time(r.get("period_start")),
            end: storage::time(r.get("period_end")),
        },
        lines: Vec::new(),
        carried_in: Money::from_minor(r.get("carried_in")),
        total: Money::from_minor(r.get("total")),
        status: parsed(r, "status")?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: next.map(storage::time),
        in_doubt: in_doubt != 0,
        last_error: r.get("last_error"),
        bank_operation: r.get("bank_operation"),
        issued_at: storage::time(r.get("issued_at")),
        settled_at: settled.map(storage::time),
    })
}

/// Invoice `id` with its lines.
pub async fn invoice(conn: &mut AnyConnection, id: &str) -> Result<Option<Invoice>> {
    let Some(row) = storage::query("SELECT * FROM invoices WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let mut invoice = invoice_of(&row)?;
    let lines = storage::query(
        "SELECT l.entry_id, l.amount, e.kind FROM invoice_lines l \
         JOIN ledger_entries e ON e.id = l.entry_id WHERE l.invoice_id = $1 \
         ORDER BY e.booked_at, l.entry_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    for r in &lines {
        invoice.lines.push(InvoiceLine {
            entry_id: EntryId::stored(r.get("entry_id")),
            kind: parsed(r, "kind")?,
            amount: Money::from_minor(r.get("amount")),
        });
    }
    Ok(Some(invoice))
}

/// The invoices of `holder` (everyone's when `None`), newest period first, without their
/// lines (`GET /invoices/{id}` has them), at most `limit`.
pub async fn invoices(
    conn: &mut AnyConnection,
    holder: Option<AccountId>,
    limit: i64,
) -> Result<Vec<Invoice>> {
    let rows = match holder {
        Some(holder) => {
            storage::query(
                "SELECT * FROM invoices WHERE holder_id = $1 \
                 ORDER BY period_start DESC, id LIMIT $2",
            )
            .bind(holder.to_string())
            .bind(limit)
            .fetch_all(conn)
            .await?
        }
        None => {
            storage::query("SELECT * FROM invoices ORDER BY period_start DESC, id LIMIT $1")
                .bind(limit)
                .fetch_all(conn)
                .await?
        }
    };
    rows.iter().map(invoice_of).collect()
}

/// How many invoices are in each status, and how many open ones are in doubt.
pub async fn invoice_counts(conn: &mut AnyConnection) -> Result<(BTreeMap<String, i64>, i64)> {
    let counts = storage::counts(
        &mut *conn,
        "SELECT status AS key, COUNT(*) AS n FROM invoices GROUP BY status",
    )
    .await?;
    let doubt: i64 = storage::query_scalar(
        "SELECT COUNT(*) FROM invoices WHERE in_doubt = 1 AND status IN ('issued', 'failed')",
    )
    .fetch_one(conn)
    .await?;
    Ok((counts, doubt))
}

/// Where a person is charged or paid at the bank.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BankDetails {
    pub payment_method: Option<String>,
    pub payout_account: Option<String>,
}

/// What `holder` gave MCF for the bank.
pub async fn bank_details(conn: &mut AnyConnection, holder: AccountId) -> Result<BankDetails> {
    let row = storage::query(
        "SELECT payment_method, payout_account FROM bank_details WHERE holder_id = $1",
    )
    .bind(holder.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row
        .map(|r| BankDetails {
            payment_method: r.get("payment_method"),
            payout_account: r.get("payout_account"),
        })
        .unwrap_or_default())
}

/// Stores what `holder` gave MCF for the bank at `now` (replacing what was there).
pub async fn set_bank_details(
    conn: &mut AnyConnection,
    holder: AccountId,
    details: &BankDetails,
    now: DateTime<Utc>,
) -> Result<()> {
    storage::query(
        "INSERT INTO bank_details (holder_id, payment_method, payout_account, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (holder_id) DO UPDATE SET \
         payment_method = excluded.payment_method, payout_account = excluded.payout_account, \
         updated_at = excluded.updated_at",
    )
    .bind(holder.to_string())
    .bind(&details.payment_method)
    .bind(&details.payout_account)
    .bind(storage::micros(now))
    .execute(conn)
    .await?;
    Ok(())
}
