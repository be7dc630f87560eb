//! The roster: every normal sample with what a decision needs (skills, bookings, history),
//! held in memory so a decision is a scan over a vector instead of a query per worker.
//!
//! Pure: the store loads [`SampleState`]s and the matcher keeps the roster fresh (see
//! `matcher` for how replicas stay consistent). Skill names are interned so a step compares
//! small integers, never strings, per candidate.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::samples::{History, NormalSample};

/// An interned skill name.
pub type SkillId = u32;

/// One assignment of a worker: the reference sample's time, in unix microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Booking {
    pub start: i64,
    pub end: i64,
    pub order_id: Uuid,
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
    pub id: Uuid,
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

/// Every normal sample, indexed by id, in a stable order (entries are only appended or
/// updated in place, so a position stays valid while the roster lives: external scores are
/// matched to candidates by it).
#[derive(Debug, Default)]
pub struct Roster {
    skill_ids: HashMap<String, SkillId>,
    skill_names: Vec<String>,
    by_id: HashMap<Uuid, usize>,
    entries: Vec<Entry>,
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
        id
    }

    /// Adds or replaces one normal sample.
    pub fn put(&mut self, state: SampleState) {
        let levels = state
            .sample
            .skills
            .iter()
            .map(|(k, l)| (self.intern(k), (*l).clamp(0, 100) as u8))
            .collect();
        let mut bookings = state.bookings;
        bookings.sort_unstable();
        let entry = Entry {
            id: state.sample.id,
            name: state.sample.name,
            available: state.sample.available,
            levels,
            history: state.history,
            bookings,
        };
        match self.by_id.get(&entry.id) {
            Some(&pos) => self.entries[pos] = entry,
            None => {
                self.by_id.insert(entry.id, self.entries.len());
                self.entries.push(entry);
            }
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

    pub fn get(&self, id: Uuid) -> Option<&Entry> {
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
    pub fn snapshot(&self) -> BTreeMap<Uuid, SampleState> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn state(id: Uuid, level: i64, bookings: Vec<Booking>) -> SampleState {
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
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let mut r = Roster::new();
        r.put(state(a, 10, vec![]));
        r.put(state(b, 20, vec![]));
        let booking = Booking {
            start: 10,
            end: 20,
            order_id: Uuid::now_v7(),
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
    }
}
