//! The double-entry ledger: accounts, entries and their postings.
//!
//! An [`Entry`] moves money between [`LedgerAccount`]s: each [`Posting`] debits (a positive
//! amount) or credits (a negative amount) one account, and an entry's postings sum to zero,
//! so every account's balances together always sum to zero (the trial balance). An entry
//! that would not balance is refused when it is made ([`Entry::new`]); stored entries are
//! never changed (the database refuses UPDATE and DELETE).
//!
//! Seen from a person's account, a positive balance is what the person owes MCF (a client's
//! charges, a manager's stakes, a worker's penalties) and a negative one what MCF owes the
//! person (a worker's earnings and awards, a manager's winnings).
//!
//! An entry's id is derived from its cause ([`EntryId::of`]): the same cause (an order's
//! charge, an award, a bet's stake of a manager, a cycle's invoice of an account) always
//! gives the same id, so money is never moved twice for it.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use contracts::{AccountId, Money, WorkerId};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kind of account a ledger account is: a person's (client, worker, manager) or one of
/// the company's own.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// What a client owes: charged per active order, paid by the weekly invoice.
    Client,
    /// What MCF owes a worker: earnings and awards less penalties, paid out monthly.
    Worker,
    /// A manager's money in bets: stakes charged, winnings credited.
    Manager,
    /// The company's income from clients' charges (credited).
    Revenue,
    /// The company's cost of workers' shares of completed orders (debited).
    WorkerEarnings,
    /// The company's income from workers' penalties (credited).
    Penalties,
    /// The company's cost of managers' awards to workers (debited).
    Awards,
    /// Stakes held for bets not yet settled.
    BetPool,
    /// Where unwon bet pools go.
    DevelopersFund,
    /// Money collected from clients at the bank (the weekly cycle).
    BankCollections,
    /// Money paid out to workers and managers at the bank (the monthly cycle).
    BankPayouts,
}

impl AccountKind {
    /// Every kind, people's first.
    pub const ALL: [AccountKind; 11] = [
        AccountKind::Client,
        AccountKind::Worker,
        AccountKind::Manager,
        AccountKind::Revenue,
        AccountKind::WorkerEarnings,
        AccountKind::Penalties,
        AccountKind::Awards,
        AccountKind::BetPool,
        AccountKind::DevelopersFund,
        AccountKind::BankCollections,
        AccountKind::BankPayouts,
    ];

    /// The kind's name as stored and sent (`client`, `worker_earnings`).
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::Client => "client",
            AccountKind::Worker => "worker",
            AccountKind::Manager => "manager",
            AccountKind::Revenue => "revenue",
            AccountKind::WorkerEarnings => "worker_earnings",
            AccountKind::Penalties => "penalties",
            AccountKind::Awards => "awards",
            AccountKind::BetPool => "bet_pool",
            AccountKind::DevelopersFund => "developers_fund",
            AccountKind::BankCollections => "bank_collections",
            AccountKind::BankPayouts => "bank_payouts",
        }
    }

    /// Whether accounts of this kind belong to a person (one per holder).
    pub fn is_personal(self) -> bool {
        matches!(
            self,
            AccountKind::Client | AccountKind::Worker | AccountKind::Manager
        )
    }
}

impl fmt::Display for AccountKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccountKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        AccountKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("not an account kind: {s:?}"))
    }
}

/// One account of the ledger. Its text form, the id stored and shown, is
/// `<kind>:<holder id>` for a person's account (`client:0190…`) and the kind alone for a
/// company account (`revenue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LedgerAccount {
    Client(AccountId),
    Worker(WorkerId),
    Manager(AccountId),
    /// One of the company's accounts: its kind is never a personal one.
    Company(CompanyAccount),
}

/// The company's own accounts (one of each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CompanyAccount {
    Revenue,
    WorkerEarnings,
    Penalties,
    Awards,
    BetPool,
    DevelopersFund,
    BankCollections,
    BankPayouts,
}

impl CompanyAccount {
    /// Every company account, as the first migration seeds them.
    pub const ALL: [CompanyAccount; 8] = [
        CompanyAccount::Revenue,
        CompanyAccount::WorkerEarnings,
        CompanyAccount::Penalties,
        CompanyAccount::Awards,
        CompanyAccount::BetPool,
        CompanyAccount::DevelopersFund,
        CompanyAccount::BankCollections,
        CompanyAccount::BankPayouts,
    ];

    pub fn kind(self) -> AccountKind {
        match self {
            CompanyAccount::Revenue => AccountKind::Revenue,
            CompanyAccount::WorkerEarnings => AccountKind::WorkerEarnings,
            CompanyAccount::Penalties => AccountKind::Penalties,
            CompanyAccount::Awards => AccountKind::Awards,
            CompanyAccount::BetPool => AccountKind::BetPool,
            CompanyAccount::DevelopersFund => AccountKind::DevelopersFund,
            CompanyAccount::BankCollections => AccountKind::BankCollections,
            CompanyAccount::BankPayouts => AccountKind::BankPayouts,
        }
    }
}

impl LedgerAccount {
    pub fn kind(self) -> AccountKind {
        match self {
            LedgerAccount::Client(_) => AccountKind::Client,
            LedgerAccount::Worker(_) => AccountKind::Worker,
            LedgerAccount::Manager(_) => AccountKind::Manager,
            LedgerAccount::Company(c) => c.kind(),
        }
    }

    /// The person holding the account (a worker's id is the id of the worker's IAM
    /// account); `None` for the company's.
    pub fn holder(self) -> Option<AccountId> {
        match self {
            LedgerAccount::Client(id) | LedgerAccount::Manager(id) => Some(id),
            LedgerAccount::Worker(id) => Some(AccountId::from(id)),
            LedgerAccount::Company(_) => None,
        }
    }

    /// The account of `kind` held by `holder` (for a person's kind), or the company's
    /// account of `kind`.
    pub fn of(kind: AccountKind, holder: Option<AccountId>) -> Option<LedgerAccount> {
        Some(match (kind, holder) {
            (AccountKind::Client, Some(h)) => LedgerAccount::Client(h),
            (AccountKind::Worker, Some(h)) => LedgerAccount::Worker(WorkerId::from(h)),
            (AccountKind::Manager, Some(h)) => LedgerAccount::Manager(h),
            (kind, None) => {
                LedgerAccount::Company(CompanyAccount::ALL.into_iter().find(|c| c.kind() == kind)?)
            }
            _ => return None,
        })
    }
}

impl fmt::Display for LedgerAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.holder() {
            Some(holder) => write!(f, "{}:{holder}", self.kind()),
            None => f.write_str(self.kind().as_str()),
        }
    }
}

impl FromStr for LedgerAccount {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, holder) = match s.split_once(':') {
            Some((kind, holder)) => (
                kind,
                Some(AccountId::parse(holder).map_err(|e| e.to_string())?),
            ),
            None => (s, None),
        };
        let kind: AccountKind = kind.parse()?;
        LedgerAccount::of(kind, holder).ok_or_else(|| format!("not a ledger account: {s:?}"))
    }
}

impl Serialize for LedgerAccount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LedgerAccount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for LedgerAccount {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "LedgerAccount".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A ledger account: `<kind>:<holder id>` for a person's \
                            (`client:…`, `worker:…`, `manager:…`), the kind alone for the \
                            company's (`revenue`, `developers_fund`, …)",
        })
    }
}

/// What an entry records. Its name is the first part of the entry's id.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// An active order charged to its client (less the loyalty discount).
    ClientCharge,
    /// A worker's share of a completed order.
    WorkerEarning,
    /// A worker at fault for a failed order is charged the penalty.
    WorkerPenalty,
    /// A manager's award to a worker.
    Award,
    /// A manager's stake in a bet, charged.
    BetStake,
    /// A winner's share of a bet's pool.
    BetWinning,
    /// What was left of a bet's pool nobody won, to the developers' fund.
    BetUnwon,
    /// A client's weekly invoice collected at the bank (the weekly cycle). The loyalty
    /// discount counts these as "paid".
    Collection,
    /// A worker's monthly invoice paid out at the bank (the monthly cycle).
    Payout,
}

impl EntryKind {
    /// Every kind.
    pub const ALL: [EntryKind; 9] = [
        EntryKind::ClientCharge,
        EntryKind::WorkerEarning,
        EntryKind::WorkerPenalty,
        EntryKind::Award,
        EntryKind::BetStake,
        EntryKind::BetWinning,
        EntryKind::BetUnwon,
        EntryKind::Collection,
        EntryKind::Payout,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::ClientCharge => "client_charge",
            EntryKind::WorkerEarning => "worker_earning",
            EntryKind::WorkerPenalty => "worker_penalty",
            EntryKind::Award => "award",
            EntryKind::BetStake => "bet_stake",
            EntryKind::BetWinning => "bet_winning",
            EntryKind::BetUnwon => "bet_unwon",
            EntryKind::Collection => "collection",
            EntryKind::Payout => "payout",
        }
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for EntryKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        EntryKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("not an entry kind: {s:?}"))
    }
}

/// An entry's id: its kind and the key of its cause, `<kind>:<cause key>`
/// (`client_charge:<order id>`, `bet_stake:<bet id>:<manager id>`,
/// `collection:2026-W48:client:<id>`). Derived, never random: see [`EntryId::of`].
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct EntryId(String);

impl EntryId {
    /// The id of the entry of `kind` for the cause named by `key` (an order id, an award id,
    /// `<bet id>:<manager id>`, `<period key>:<account>`): the same cause, the same id.
    pub fn of(kind: EntryKind, key: impl fmt::Display) -> EntryId {
        EntryId(format!("{kind}:{key}"))
    }

    /// The id as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An id read back from the database (made by [`EntryId::of`] when it was written).
    pub fn stored(id: String) -> EntryId {
        EntryId(id)
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What an entry links back to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    /// An order (Ordering's): the cause id is the order id.
    Order,
    /// A manager's award: the award id.
    Award,
    /// A bet (Bets'): the bet id.
    Bet,
    /// A billing cycle: the period key (`2026-W48`, `2026-11`).
    Cycle,
}

impl CauseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::Order => "order",
            CauseKind::Award => "award",
            CauseKind::Bet => "bet",
            CauseKind::Cycle => "cycle",
        }
    }
}

impl FromStr for CauseKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        [
            CauseKind::Order,
            CauseKind::Award,
            CauseKind::Bet,
            CauseKind::Cycle,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("not a cause kind: {s:?}"))
    }
}

/// The link from an entry to its cause: what it is, its id, and the event that told
/// Billing of it (when an event did).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Cause {
    pub kind: CauseKind,
    pub id: String,
    /// The id of the event heard (`Envelope::id`), if the entry answers one.
    pub event_id: Option<uuid::Uuid>,
}

impl Cause {
    /// An order, as the event `event_id` told of it.
    pub fn order(order: contracts::OrderId, event_id: Option<uuid::Uuid>) -> Cause {
        Cause {
            kind: CauseKind::Order,
            id: order.to_string(),
            event_id,
        }
    }
}

/// Who moved the money: Billing itself on another context's event or its own cycle, or a
/// person (a manager granting an award; a service such as Bets calling with its account).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Billing,
    Account(AccountId),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Billing => f.write_str("billing"),
            Actor::Account(id) => write!(f, "{id}"),
        }
    }
}

impl FromStr for Actor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "billing" {
            return Ok(Actor::Billing);
        }
        AccountId::parse(s)
            .map(Actor::Account)
            .map_err(|e| e.to_string())
    }
}

/// One side of an entry: `amount` debited (positive) or credited (negative) to `account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posting {
    pub account: LedgerAccount,
    pub amount: Money,
}

/// Everything about an entry but its postings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHead {
    pub id: EntryId,
    pub kind: EntryKind,
    /// Why, for people reading a statement.
    pub reason: String,
    pub actor: Actor,
    pub cause: Cause,
    /// Business time of the booking: the week and month it counts in.
    pub booked_at: DateTime<Utc>,
}

/// A balanced entry: made only by [`Entry::new`] or [`Entry::transfer`], which refuse one
/// whose postings do not sum to zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub head: EntryHead,
    postings: Vec<Posting>,
}

/// The largest amount one posting may move (10^12 minor units, ten billion in major
/// units): far beyond any real order, award or stake, and small enough that millions of
/// postings still sum within 64 bits, so balances and sums never overflow.
pub const MAX_AMOUNT: Money = Money::from_minor(1_000_000_000_000);

/// Why an entry cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("an entry moves money between at least two accounts")]
    TooFewPostings,
    #[error("a posting of nothing to {0}")]
    ZeroPosting(LedgerAccount),
    #[error("{0} is posted to twice in one entry")]
    AccountTwice(LedgerAccount),
    #[error("the postings sum to {0}, not zero")]
    Unbalanced(Money),
    #[error("the amounts do not fit in 64 bits")]
    Overflow,
    #[error("{0} is more than one posting may move ({MAX_AMOUNT})")]
    TooLarge(Money),
    #[error("an entry needs a reason")]
    NoReason,
}

impl Entry {
    /// The entry `head` with `postings`, refused unless they balance: at least two, each to
    /// a different account, none of nothing, summing to zero (without overflow).
    pub fn new(head: EntryHead, postings: Vec<Posting>) -> Result<Entry, LedgerError> {
        if head.reason.trim().is_empty() {
            return Err(LedgerError::NoReason);
        }
        if postings.len() < 2 {
            return Err(LedgerError::TooFewPostings);
        }
        let mut sum = Money::zero();
        for (i, p) in postings.iter().enumerate() {
            if p.amount == Money::zero() {
                return Err(LedgerError::ZeroPosting(p.account));
            }
            if p.amount.minor().unsigned_abs() > MAX_AMOUNT.minor().unsigned_abs() {
                return Err(LedgerError::TooLarge(p.amount));
            }
            if postings[..i].iter().any(|q| q.account == p.account) {
                return Err(LedgerError::AccountTwice(p.account));
            }
            sum = sum.checked_add(p.amount).ok_or(LedgerError::Overflow)?;
        }
        if sum != Money::zero() {
            return Err(LedgerError::Unbalanced(sum));
        }
        Ok(Entry { head, postings })
    }

    /// `amount` (positive) moved from `credited` to `debited`: `debited` +amount,
    /// `credited` -amount. A client's charge debits the client and credits revenue.
    pub fn transfer(
        head: EntryHead,
        debited: LedgerAccount,
        credited: LedgerAccount,
        amount: Money,
    ) -> Result<Entry, LedgerError> {
        let minus = Money::zero()
            .checked_sub(amount)
            .ok_or(LedgerError::Overflow)?;
        Entry::new(
            head,
            vec![
                Posting {
                    account: debited,
                    amount,
                },
                Posting {
                    account: credited,
                    amount: minus,
                },
            ],
        )
    }

    pub fn id(&self) -> &EntryId {
        &self.head.id
    }

    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// Whether `other` moves the same amounts between the same accounts (in any order).
    pub fn moves_the_same(&self, other: &Entry) -> bool {
        let sorted = |e: &Entry| {
            let mut p: Vec<(LedgerAccount, Money)> =
                e.postings.iter().map(|p| (p.account, p.amount)).collect();
            p.sort();
            p
        };
        sorted(self) == sorted(other)
    }

    /// What the entry posts to `account` (zero when it does not touch it).
    pub fn amount_for(&self, account: LedgerAccount) -> Money {
        self.postings
            .iter()
            .find(|p| p.account == account)
            .map_or(Money::zero(), |p| p.amount)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn head() -> EntryHead {
        EntryHead {
            id: EntryId::of(EntryKind::Award, "a1"),
            kind: EntryKind::Award,
            reason: "for the best smile".into(),
            actor: Actor::Billing,
            cause: Cause {
                kind: CauseKind::Award,
                id: "a1".into(),
                event_id: None,
            },
            booked_at: DateTime::UNIX_EPOCH,
        }
    }

    fn posting(account: LedgerAccount, minor: i64) -> Posting {
        Posting {
            account,
            amount: Money::from_minor(minor),
        }
    }

    const REVENUE: LedgerAccount = LedgerAccount::Company(CompanyAccount::Revenue);
    const AWARDS: LedgerAccount = LedgerAccount::Company(CompanyAccount::Awards);

    #[test]
    fn given_postings_that_sum_to_zero_then_the_entry_is_made() {
        let client = LedgerAccount::Client(AccountId::new());
        let entry = Entry::new(head(), vec![posting(client, 95), posting(REVENUE, -95)]).unwrap();
        assert_eq!(entry.amount_for(client), Money::from_minor(95));
        assert_eq!(entry.amount_for(AWARDS), Money::zero());
    }

    #[test]
    fn given_unbalanced_or_degenerate_postings_then_the_entry_is_refused() {
        let client = LedgerAccount::Client(AccountId::new());
        let cases = [
            (
                vec![posting(client, 95), posting(REVENUE, -94)],
                LedgerError::Unbalanced(Money::from_minor(1)),
            ),
            (vec![posting(client, 0)], LedgerError::TooFewPostings),
            (
                vec![posting(client, 0), posting(REVENUE, 0)],
                LedgerError::ZeroPosting(client),
            ),
            (
                vec![posting(client, 5), posting(client, -5)],
                LedgerError::AccountTwice(client),
            ),
            (
                vec![
                    posting(client, i64::MAX),
                    posting(REVENUE, 1),
                    posting(AWARDS, -1),
                ],
                LedgerError::TooLarge(Money::from_minor(i64::MAX)),
            ),
            (
                vec![
                    posting(client, 1_000_000_000_001),
                    posting(REVENUE, -1_000_000_000_001),
                ],
                LedgerError::TooLarge(Money::from_minor(1_000_000_000_001)),
            ),
        ];
        for (postings, refusal) in cases {
            assert_eq!(Entry::new(head(), postings), Err(refusal));
        }
        let mut silent = head();
        silent.reason = "  ".into();
        assert_eq!(
            Entry::transfer(silent, client, REVENUE, Money::from_minor(1)),
            Err(LedgerError::NoReason)
        );
    }

    #[test]
    fn given_an_account_then_its_text_form_reads_back_as_the_same_account() {
        let id = AccountId::new();
        for account in [
            LedgerAccount::Client(id),
            LedgerAccount::Worker(WorkerId::from(id)),
            LedgerAccount::Manager(id),
        ]
        .into_iter()
        .chain(CompanyAccount::ALL.map(LedgerAccount::Company))
        {
            assert_eq!(account.to_string().parse::<LedgerAccount>(), Ok(account));
        }
        assert_eq!(REVENUE.to_string(), "revenue");
        assert!("client".parse::<LedgerAccount>().is_err());
        assert!(format!("revenue:{id}").parse::<LedgerAccount>().is_err());
        assert!("client:nope".parse::<LedgerAccount>().is_err());
    }

    #[test]
    fn given_the_same_cause_then_the_entry_id_is_the_same() {
        let order = contracts::OrderId::new();
        assert_eq!(
            EntryId::of(EntryKind::ClientCharge, order),
            EntryId::of(EntryKind::ClientCharge, order)
        );
        assert_ne!(
            EntryId::of(EntryKind::ClientCharge, order),
            EntryId::of(EntryKind::WorkerEarning, order)
        );
        assert_eq!(
            EntryId::of(EntryKind::ClientCharge, order).as_str(),
            format!("client_charge:{order}")
        );
    }

    proptest! {
        /// Whatever the amounts, an entry that is made balances, and one that does not
        /// balance is not made.
        #[test]
        fn every_entry_made_balances(amounts in proptest::collection::vec(-1_000_000i64..1_000_000, 1..6)) {
            let postings: Vec<Posting> = amounts
                .iter()
                .map(|a| posting(LedgerAccount::Client(AccountId::new()), *a))
                .collect();
            let sum: i64 = amounts.iter().sum();
            match Entry::new(head(), postings) {
                Ok(entry) => {
                    let total: i64 = entry.postings().iter().map(|p| p.amount.minor()).sum();
                    prop_assert_eq!(total, 0);
                }
                Err(_) => prop_assert!(sum != 0 || amounts.len() < 2 || amounts.contains(&0)),
            }
        }
    }
}
