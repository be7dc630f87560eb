//! The roster: every normal sample with what a decision needs (skills, bookings, history),
//! held in memory so a decision is a scan over a vector instead of a query per worker.
//!
//! Pure: the store loads [`SampleState`]s and the matcher keeps the roster fresh (see
//! `matcher` for how replicas stay consistent). Skill names are interned so a step compares
//! small integers, never strings, per candidate.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use contracts::{OrderId, WorkerId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::samples::{History, NormalSample};

/// An interned skill name.
pub type SkillId = u32;

/// One assignment of a worker: the reference sample's time, in unix microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Booking {
    pub start: i64,
    pub end: i64,
    pub order_id: OrderId,
}

/// Everything the roster keeps about one normal sample, as the store loads it.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleState {
    pub sample: NormalSample,
    pub history: History,
    /// Assigned reference samples (not yet completed, canceled or failed).
    pub bookings: Vec<Booking>,
}

/// A normal sample in the roster.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: WorkerId,
    pub name: String,
    pub available: bool,
    /// (skill, level 0..=100), few per worker: a linear scan beats hashing.
    pub levels: Vec<(SkillId, u8)>,
    pub history: History,
    /// Sorted by start.
    pub bookings: Vec<Booking>,
}

impl Entry {
    /// The level in `skill` (unknown skill or none: 0).
    pub fn level(&self, skill: Option<SkillId>) -> i64 {
        let Some(skill) = skill else { return 0 };
        self.levels
            .iter()
            .find(|(s, _)| *s == skill)
            .map_or(0, |(_, l)| i64::from(*l))
    }

    /// Bookings overlapping `[start, end)`.
    pub fn overlapping(&self, start: i64, end: i64) -> u32 {
        self.bookings
            .iter()
            .filter(|b| b.start < end && b.end > start)
            .count() as u32
    }

    /// Bookings not yet over at `now`.
    pub fn load(&self, now: i64) -> u32 {
        self.bookings.iter().filter(|b| b.end > now).count() as u32
    }
}

/// What a decision reads about every candidate, kept contiguous (one cache-friendly pass).
#[derive(Debug, Clone, Copy)]
pub struct Hot {
    pub id: WorkerId,
    pub available: bool,
    pub history: History,
    pub bookings: u32,
    /// The earliest end among the bookings (i64::MAX: none): while it is in the future,
    /// the load is simply the number of bookings.
    pub min_end: i64,
}

/// Every normal sample, indexed by id, in a stable order (entries are only appended or
/// updated in place, so a position stays valid while the roster lives: external scores are
/// matched to candidates by it).
///
/// Besides the entries, the roster keeps what a decision scans in flat arrays by position:
/// [`Hot`] facts, one level column per skill, and every booking ordered by start, so the
/// few overlapping a reference sample are found by a range query instead of a scan of
/// every worker's bookings.
#[derive(Debug, Default)]
pub struct Roster {
    skill_ids: HashMap<String, SkillId>,
    skill_names: Vec<String>,
    by_id: HashMap<WorkerId, usize>,
    entries: Vec<Entry>,
    hot: Vec<Hot>,
    /// `columns[skill][pos]`: the level (0 when the worker lacks the skill).
    columns: Vec<Vec<u8>>,
    /// (start, order) -> (end, position) of every booking.
    by_start: BTreeMap<(i64, OrderId), (i64, u32)>,
    /// The longest booking ever seen, bounding the range query.
    longest: i64,
    /// Changes when the roster is rebuilt from scratch (positions are then new).
    generation: u64,
}

impl Roster {
    pub fn new() -> Roster {
        Roster::default()
    }

    /// A roster of `states`, as a full load builds it.
    pub fn from_states(states: impl IntoIterator<Item = SampleState>, generation: u64) -> Roster {
        let mut r = Roster {
            generation,
            ..Roster::default()
        };
        for s in states {
            r.put(s);
        }
        r
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn intern(&mut self, name: &str) -> SkillId {
        if let Some(id) = self.skill_ids.get(name) {
            return *id;
        }
        let id = self.skill_names.len() as SkillId;
        self.skill_names.push(name.to_owned());
        self.skill_ids.insert(name.to_owned(), id);
        self.columns.push(vec![0; self.entries.len()]);
        id
    }

    /// Adds or replaces one normal sample.
    pub fn put(&mut self, state: SampleState) {
        let id = state.sample.id;
        let pos = match self.by_id.get(&id) {
            Some(&pos) => {
                // Forget what the old version put in the flat arrays.
                let old = &self.entries[pos];
                for (skill, _) in &old.levels {
                    self.columns[*skill as usize][pos] = 0;
                }
                for b in &old.bookings {
                    self.by_start.remove(&(b.start, b.order_id));
                }
                pos
            }
            None => {
                let pos = self.entries.len();
                self.by_id.insert(id, pos);
                for c in &mut self.columns {
                    c.push(0);
                }
                self.entries.push(Entry {
                    id,
                    name: String::new(),
                    available: false,
                    levels: vec![],
                    history: History::default(),
                    bookings: vec![],
                });
                self.hot.push(Hot {
                    id,
                    available: false,
                    history: History::default(),
                    bookings: 0,
                    min_end: i64::MAX,
                });
                pos
            }
        };
        let levels: Vec<(SkillId, u8)> = state
            .sample
            .skills
            .iter()
            .map(|(k, l)| (self.intern(k), (*l).clamp(0, 100) as u8))
            .collect();
        for (skill, level) in &levels {
            self.columns[*skill as usize][pos] = *level;
        }
        let mut bookings = state.bookings;
        bookings.sort_unstable();
        for b in &bookings {
            self.by_start
                .insert((b.start, b.order_id), (b.end, pos as u32));
            self.longest = self.longest.max(b.end - b.start);
        }
        self.hot[pos] = Hot {
            id,
            available: state.sample.available,
            history: state.history,
            bookings: bookings.len() as u32,
            min_end: bookings.iter().map(|b| b.end).min().unwrap_or(i64::MAX),
        };
        self.entries[pos] = Entry {
            id,
            name: state.sample.name,
            available: state.sample.available,
            levels,
            history: state.history,
            bookings,
        };
    }

    /// The per-position facts decisions scan.
    pub fn hot(&self) -> &[Hot] {
        &self.hot
    }

    /// Levels in `skill` by position (None: nobody has the skill).
    pub fn column(&self, skill: Option<SkillId>) -> Option<&[u8]> {
        skill.map(|s| self.columns[s as usize].as_slice())
    }

    /// How many bookings of each position overlap `[start, end)`.
    pub fn overlaps(&self, start: i64, end: i64) -> Vec<u32> {
        let mut counts = vec![0u32; self.entries.len()];
        let from = start.saturating_sub(self.longest);
        // The smallest order id: the bounds take every booking starting in [from, end).
        let first = OrderId::from_uuid(Uuid::nil());
        let range = (
            Bound::Included((from, first)),
            Bound::Excluded((end, first)),
        );
        if from < end {
            for (_, (b_end, pos)) in self.by_start.range(range) {
                if *b_end > start {
                    counts[*pos as usize] += 1;
                }
            }
        }
        counts
    }

    /// Bookings of the worker at `pos` not yet over at `now`.
    pub fn load(&self, pos: usize, now: i64) -> u32 {
        let h = &self.hot[pos];
        if h.min_end > now {
            h.bookings
        } else {
            self.entries[pos].load(now)
        }
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: WorkerId) -> Option<&Entry> {
        self.by_id.get(&id).map(|&p| &self.entries[p])
    }

    pub fn skill_id(&self, name: &str) -> Option<SkillId> {
        self.skill_ids.get(name).copied()
    }

    pub fn skill_name(&self, id: SkillId) -> &str {
        self.skill_names.get(id as usize).map_or("", String::as_str)
    }

    /// The entry's skills by name (for external steps and snapshots).
    pub fn skills_of(&self, e: &Entry) -> BTreeMap<String, i64> {
        e.levels
            .iter()
            .map(|(s, l)| (self.skill_name(*s).to_owned(), i64::from(*l)))
            .collect()
    }

    /// The roster as plain data, comparable with a fresh load whatever the interning.
    pub fn snapshot(&self) -> BTreeMap<WorkerId, SampleState> {
        self.entries
            .iter()
            .map(|e| {
                (
                    e.id,
                    SampleState {
                        sample: NormalSample {
                            id: e.id,
                            name: e.name.clone(),
                            available: e.available,
                            skills: self.skills_of(e),
                        },
                        history: e.history,
                        bookings: e.bookings.clone(),
                    },
                )
            })
            .collect()
    }
}

/// The roster in a canonical form, for operators and the chaos checker to compare one
/// process's memory with another's or with a fresh load: samples by id, their skills by
/// name, bookings by start then order, so two equal rosters serialize to the same bytes
/// (and `digest`) whatever their interning or positions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RosterView {
    /// The last `roster_changes` entry the roster has applied: two views with one `seq`
    /// are of the same database state, so unequal samples then mean a roster that went
    /// wrong, not one that moved on.
    pub seq: i64,
    /// Lowercase hex SHA-256 of the JSON of `samples` (serde_json's compact form).
    pub digest: String,
    /// How many normal samples the roster holds.
    pub samples_count: usize,
    /// How many bookings (assigned orders) the roster holds, over every sample.
    pub bookings_count: usize,
    pub samples: Vec<SampleView>,
}

/// One normal sample as the roster holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SampleView {
    pub worker_id: WorkerId,
    pub name: String,
    pub available: bool,
    /// Skill levels by skill name.
    pub skills: BTreeMap<String, i64>,
    /// Orders completed, as the roster's history counts them.
    pub completed: i64,
    /// Orders failed by a no-show, as the roster's history counts them.
    pub failed: i64,
    /// By start, end, then order id.
    pub bookings: Vec<BookingSlot>,
}

/// One booking of a sample: an order assigned to it and the order's slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BookingSlot {
    pub order_id: OrderId,
    /// The slot's start and end, unix microseconds (as stored: no rounding to compare).
    pub start_micros: i64,
    pub end_micros: i64,
    /// Always `assigned`: the roster keeps only bookings not yet completed, canceled or
    /// failed. Stated so a reader need not know that.
    pub state: String,
}

impl RosterView {
    /// The canonical view of `roster`, which has applied the change log up to `seq`.
    pub fn of(roster: &Roster, seq: i64) -> RosterView {
        // The snapshot is keyed by id and each entry's bookings are kept sorted by
        // (start, end, order): the order is canonical already.
        let samples: Vec<SampleView> = roster
            .snapshot()
            .into_values()
            .map(|s| SampleView {
                worker_id: s.sample.id,
                name: s.sample.name,
                available: s.sample.available,
                skills: s.sample.skills,
                completed: s.history.completed,
                failed: s.history.failed,
                bookings: s
                    .bookings
                    .iter()
                    .map(|b| BookingSlot {
                        order_id: b.order_id,
                        start_micros: b.start,
                        end_micros: b.end,
                        state: "assigned".into(),
                    })
                    .collect(),
            })
            .collect();
        let bookings_count = samples.iter().map(|s| s.bookings.len()).sum();
        // Serializing plain structs, strings and integers cannot fail.
        let json = serde_json::to_vec(&samples).unwrap_or_default();
        RosterView {
            seq,
            digest: hex::encode(Sha256::digest(&json)),
            samples_count: samples.len(),
            bookings_count,
            samples,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: WorkerId, level: i64, bookings: Vec<Booking>) -> SampleState {
        SampleState {
            sample: NormalSample {
                id,
                name: "w".into(),
                available: true,
                skills: BTreeMap::from([("cleaning".to_owned(), level)]),
            },
            history: History::default(),
            bookings,
        }
    }

    #[test]
    fn put_replaces_in_place_and_keeps_positions() {
        let (a, b) = (WorkerId::new(), WorkerId::new());
        let mut r = Roster::new();
        r.put(state(a, 10, vec![]));
        r.put(state(b, 20, vec![]));
        let booking = Booking {
            start: 10,
            end: 20,
            order_id: OrderId::new(),
        };
        r.put(state(a, 90, vec![booking]));
        assert_eq!(r.len(), 2);
        assert_eq!(r.entries()[0].id, a);
        let e = r.get(a).unwrap();
        assert_eq!(e.level(r.skill_id("cleaning")), 90);
        assert_eq!(e.level(r.skill_id("gardening")), 0);
        assert_eq!(e.overlapping(15, 30), 1);
        assert_eq!(e.overlapping(20, 30), 0);
        assert_eq!(e.load(19), 1);
        assert_eq!(e.load(20), 0);
        assert_eq!(r.overlaps(15, 30), [1, 0]);
        assert_eq!(r.overlaps(20, 30), [0, 0]);
        assert_eq!(r.overlaps(0, 10), [0, 0]);
        assert_eq!((r.load(0, 19), r.load(0, 20), r.load(1, 0)), (1, 0, 0));
        assert_eq!(r.column(r.skill_id("cleaning")).unwrap(), [90, 20]);
        // Replacing drops the old booking and levels from the flat arrays.
        let mut s = state(a, 0, vec![]);
        s.sample.skills = BTreeMap::from([("ironing".to_owned(), 70)]);
        r.put(s);
        assert_eq!(r.overlaps(15, 30), [0, 0]);
        assert_eq!(r.column(r.skill_id("cleaning")).unwrap(), [0, 20]);
        assert_eq!(r.column(r.skill_id("ironing")).unwrap(), [70, 0]);
    }

    /// Many random replacements: the flat arrays answer exactly as a roster built fresh
    /// from the same samples, and as the entries themselves.
    #[test]
    fn incremental_updates_keep_the_flat_arrays_exact() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut rnd = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let ids: Vec<WorkerId> = (0..30).map(|_| WorkerId::new()).collect();
        let skills = ["a", "b", "c", "d"];
        let mut r = Roster::new();
        for round in 0..400 {
            let id = ids[rnd(ids.len() as u64) as usize];
            let mut s = state(id, 0, vec![]);
            s.sample.skills = (0..rnd(3))
                .map(|_| (skills[rnd(4) as usize].to_owned(), rnd(101) as i64))
                .collect();
            s.sample.available = rnd(4) != 0;
            s.bookings = (0..rnd(4))
                .map(|_| {
                    let start = rnd(1000) as i64;
                    Booking {
                        start,
                        end: start + 1 + rnd(50) as i64,
                        order_id: OrderId::new(),
                    }
                })
                .collect();
            r.put(s);
            if round % 50 != 49 {
                continue;
            }
            let fresh = Roster::from_states(r.snapshot().into_values(), 0);
            assert_eq!(fresh.snapshot(), r.snapshot());
            for _ in 0..20 {
                let (start, now) = (rnd(1000) as i64, rnd(1000) as i64);
                let end = start + 1 + rnd(100) as i64;
                let counts = r.overlaps(start, end);
                let fresh_counts = fresh.overlaps(start, end);
                for (pos, e) in r.entries().iter().enumerate() {
                    assert_eq!(counts[pos], e.overlapping(start, end));
                    assert_eq!(fresh_counts[fresh.by_id[&e.id]], counts[pos]);
                    assert_eq!(r.load(pos, now), e.load(now));
                    for skill in skills {
                        let level = r.column(r.skill_id(skill)).map_or(0, |c| i64::from(c[pos]));
                        assert_eq!(level, e.level(r.skill_id(skill)));
                    }
                }
            }
        }
    }
}
