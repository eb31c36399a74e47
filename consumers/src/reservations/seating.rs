//! The seats of a seated event as a batch locked them, and best-available: which free seats to
//! offer for a type and a quantity. Free of I/O.
//!
//! Best-available follows seats.io's documented cascade: seats side by side in one row, choosing
//! among them a block that leaves no single seat stranded beside it where another block avoids
//! that, closest to the plan's focus (the stage); when no row has enough seats side by side, the
//! free seats closest to the focus. Wheelchair places and their companion seats are kept for
//! those who ask for them.

use std::collections::HashMap;

use evently_schemas::{BestAvailable, BookingSeat, RejectReason};
use parking_lot::Mutex;
use uuid::Uuid;

/// The whole seat maps this consumer wrote last, by event, with the `seat_version` they are
/// at. A batch takes an event's map out when the database's version is still the one it was
/// written at (nobody else took or freed a seat since: another instance's batch, or a new seat
/// map, moves the version) and puts it back after it commits; a batch that fails drops it, and
/// the next one reads the map from PostgreSQL.
#[derive(Default)]
pub struct SeatCache {
    maps: Mutex<HashMap<Uuid, (i64, SeatMap)>>,
}

impl SeatCache {
    /// The map of `event` at `version`, if it is kept (taken out: the batch owns it).
    pub fn take(&self, event: Uuid, version: i64) -> Option<SeatMap> {
        let mut maps = self.maps.lock();
        match maps.remove(&event) {
            Some((v, map)) if v == version => Some(map),
            _ => None,
        }
    }

    pub fn put(&self, event: Uuid, version: i64, map: SeatMap) {
        let mut maps = self.maps.lock();
        // A consumer follows a few sales at a time; a map per event it decided lately is kept.
        if maps.len() > 64 {
            maps.clear();
        }
        maps.insert(event, (version, map));
    }
}

/// One seat of the event.
#[derive(Debug, Clone, PartialEq)]
pub struct Seat {
    pub id: String,
    pub ticket_type_id: Uuid,
    pub section: String,
    pub row: String,
    pub number: String,
    /// The plan's row, in document order; seats of a row are consecutive in the map.
    pub row_index: i32,
    pub seat_index: i32,
    pub x: f64,
    pub y: f64,
    pub accessible: bool,
    pub companion: bool,
    pub blocked: bool,
    /// Held or sold by a live booking.
    pub taken: bool,
}

impl Seat {
    pub fn booked(&self) -> BookingSeat {
        BookingSeat {
            id: self.id.clone(),
            ticket_type_id: self.ticket_type_id,
            section: self.section.clone(),
            row: self.row.clone(),
            number: self.number.clone(),
        }
    }
}

/// The seats a batch loaded for one event: the ones its reserves name, or every seat when one
/// asks for the best available (then ordered by row and place in the row).
#[derive(Debug, Clone, Default)]
pub struct SeatMap {
    pub seats: Vec<Seat>,
    by_id: HashMap<String, usize>,
    /// Every seat of the event is here, in row order.
    pub whole: bool,
    pub focus: (f64, f64),
}

impl SeatMap {
    pub fn new(seats: Vec<Seat>, whole: bool, focus: (f64, f64)) -> Self {
        let by_id = seats
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        Self {
            seats,
            by_id,
            whole,
            focus,
        }
    }

    /// The particular seats asked for, all free, or why not (the first seat that fails).
    pub fn particular(&self, ids: &[String]) -> Result<Vec<usize>, RejectReason> {
        let mut picked = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(&i) = self.by_id.get(id) else {
                return Err(RejectReason::UnknownSeat);
            };
            let seat = &self.seats[i];
            if seat.blocked || seat.taken || picked.contains(&i) {
                return Err(RejectReason::SeatTaken);
            }
            picked.push(i);
        }
        Ok(picked)
    }

    /// The best free seats for the request, or `None` when there are not enough.
    pub fn best(&self, ask: &BestAvailable) -> Option<Vec<usize>> {
        let quantity = usize::try_from(ask.quantity).ok().filter(|q| *q > 0)?;
        let eligible = |s: &Seat| {
            !s.blocked
                && !s.taken
                && s.ticket_type_id == ask.ticket_type_id
                && (s.accessible || s.companion) == ask.accessible
        };
        let distance = |seats: &[usize]| {
            let n = seats.len() as f64;
            let (x, y) = seats.iter().fold((0.0, 0.0), |(x, y), &i| {
                (x + self.seats[i].x / n, y + self.seats[i].y / n)
            });
            (x - self.focus.0).hypot(y - self.focus.1)
        };
        // (stranded singles beside the block, distance to the focus, seats). A block is eligible
        // seats side by side within a run of free seats; a seat it leaves alone at either end of
        // that run is stranded (a free wheelchair place beside it is company, not a gap).
        let mut best: Option<(u8, f64, Vec<usize>)> = None;
        for run in self.runs(|s| !s.blocked && !s.taken) {
            if run.len() < quantity {
                continue;
            }
            for start in 0..=run.len() - quantity {
                let block = &run[start..start + quantity];
                if !block.iter().all(|&i| eligible(&self.seats[i])) {
                    continue;
                }
                let left = start;
                let right = run.len() - quantity - start;
                let stranded = u8::from(left == 1) + u8::from(right == 1);
                let d = distance(block);
                if best
                    .as_ref()
                    .is_none_or(|(s, bd, _)| (stranded, d) < (*s, *bd))
                {
                    best = Some((stranded, d, block.to_vec()));
                }
            }
        }
        if let Some((_, _, seats)) = best {
            return Some(seats);
        }
        // Wider: the free seats closest to the focus, wherever they are.
        let mut free: Vec<(f64, usize)> = (0..self.seats.len())
            .filter(|&i| eligible(&self.seats[i]))
            .map(|i| (distance(&[i]), i))
            .collect();
        if free.len() < quantity {
            return None;
        }
        free.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Some(free.into_iter().take(quantity).map(|(_, i)| i).collect())
    }

    /// Runs of seats (those `eligible` takes) side by side: consecutive in a row, with no aisle between them (a
    /// gap wider than one and a half times the row's closest spacing).
    fn runs(&self, eligible: impl Fn(&Seat) -> bool) -> Vec<Vec<usize>> {
        let mut runs = Vec::new();
        if !self.whole {
            return runs;
        }
        let mut start = 0;
        while start < self.seats.len() {
            let row = self.seats[start].row_index;
            let end = (start..self.seats.len())
                .find(|&i| self.seats[i].row_index != row)
                .unwrap_or(self.seats.len());
            let gap = |i: usize| {
                let (a, b) = (&self.seats[i - 1], &self.seats[i]);
                (b.x - a.x).hypot(b.y - a.y)
            };
            let spacing = (start + 1..end)
                .map(gap)
                .filter(|g| *g > 0.0)
                .fold(f64::INFINITY, f64::min);
            let mut run: Vec<usize> = Vec::new();
            for i in start..end {
                let adjacent = run.last().is_some_and(|&last| {
                    last + 1 == i
                        && self.seats[i].seat_index == self.seats[last].seat_index + 1
                        && gap(i) <= spacing * 1.5
                });
                if eligible(&self.seats[i]) {
                    if !adjacent && !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                    run.push(i);
                } else if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
            start = end;
        }
        runs
    }

    pub fn take(&mut self, seats: &[usize]) {
        for &i in seats {
            self.seats[i].taken = true;
        }
    }

    /// A booking's seats become free again (those the batch loaded; the database frees them all
    /// when the booking ends).
    pub fn free(&mut self, seats: &[BookingSeat]) {
        for seat in seats {
            if let Some(&i) = self.by_id.get(&seat.id) {
                self.seats[i].taken = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Single free seats left between taken seats, blocked seats or a row's end, over a whole map:
    /// what best-available avoids (the flash-sale benchmark counts them).
    fn stranded(map: &SeatMap) -> usize {
        map.runs(|s| !s.blocked && !s.taken)
            .iter()
            .filter(|r| r.len() == 1)
            .count()
    }

    fn row(map: &mut Vec<Seat>, row_index: i32, taken: &str, ty: Uuid) {
        for (i, c) in taken.chars().enumerate() {
            map.push(Seat {
                id: format!("{row_index}-{i}"),
                ticket_type_id: ty,
                section: "A".into(),
                row: row_index.to_string(),
                number: (i + 1).to_string(),
                row_index,
                seat_index: i as i32,
                x: i as f64 * 10.0,
                y: f64::from(row_index) * 10.0,
                accessible: c == 'w',
                companion: false,
                blocked: c == 'b',
                taken: c == 'x',
            });
        }
    }

    fn ask(ty: Uuid, quantity: i32) -> BestAvailable {
        BestAvailable {
            ticket_type_id: ty,
            quantity,
            accessible: false,
        }
    }

    fn ids(map: &SeatMap, seats: &[usize]) -> Vec<String> {
        seats.iter().map(|&i| map.seats[i].id.clone()).collect()
    }

    #[test]
    fn picks_adjacent_seats_closest_to_the_focus() {
        let ty = Uuid::new_v4();
        let mut seats = Vec::new();
        row(&mut seats, 0, "xxx.....", ty);
        row(&mut seats, 1, "........", ty);
        let map = SeatMap::new(seats, true, (50.0, -20.0));
        // Row 0 has five seats side by side, nearer the stage than row 1's middle; its middle
        // three would strand a seat at each end.
        assert_eq!(
            ids(&map, &map.best(&ask(ty, 3)).unwrap()),
            ["0-3", "0-4", "0-5"]
        );
    }

    #[test]
    fn never_strands_a_single_seat_when_another_block_avoids_it() {
        let ty = Uuid::new_v4();
        let mut seats = Vec::new();
        // Free run of 5 at the row's start: two seats from the middle would strand one.
        row(&mut seats, 0, ".....xxx", ty);
        let map = SeatMap::new(seats, true, (30.0, 0.0));
        let picked = map.best(&ask(ty, 2)).unwrap();
        let mut after = map.clone();
        after.take(&picked);
        assert_eq!(stranded(&after), 0, "picked {:?}", ids(&map, &picked));
    }

    #[test]
    fn a_stranded_seat_is_left_only_when_unavoidable() {
        let ty = Uuid::new_v4();
        let mut seats = Vec::new();
        row(&mut seats, 0, "x...x", ty);
        let map = SeatMap::new(seats, true, (0.0, 0.0));
        let picked = map.best(&ask(ty, 2)).unwrap();
        assert_eq!(picked.len(), 2);
    }

    #[test]
    fn goes_wider_when_no_row_has_the_seats_side_by_side() {
        let ty = Uuid::new_v4();
        let mut seats = Vec::new();
        row(&mut seats, 0, ".x.x", ty);
        row(&mut seats, 1, "x.x.", ty);
        let map = SeatMap::new(seats, true, (0.0, 0.0));
        assert_eq!(map.best(&ask(ty, 3)).unwrap().len(), 3);
        assert!(map.best(&ask(ty, 5)).is_none());
    }

    #[test]
    fn keeps_wheelchair_places_and_other_types_out_unless_asked() {
        let ty = Uuid::new_v4();
        let other = Uuid::new_v4();
        let mut seats = Vec::new();
        row(&mut seats, 0, "ww..", ty);
        row(&mut seats, 1, "....", other);
        let map = SeatMap::new(seats, true, (0.0, 0.0));
        assert_eq!(ids(&map, &map.best(&ask(ty, 2)).unwrap()), ["0-2", "0-3"]);
        let accessible = BestAvailable {
            accessible: true,
            ..ask(ty, 2)
        };
        assert_eq!(ids(&map, &map.best(&accessible).unwrap()), ["0-0", "0-1"]);
        assert!(map.best(&ask(ty, 3)).is_none());
    }

    #[test]
    fn an_aisle_breaks_a_row() {
        let ty = Uuid::new_v4();
        let mut seats = Vec::new();
        row(&mut seats, 0, "....", ty);
        seats[2].x += 40.0;
        seats[3].x += 40.0;
        let map = SeatMap::new(seats, true, (0.0, 0.0));
        assert_eq!(map.runs(|_| true).len(), 2);
    }

    #[test]
    fn particular_seats_are_all_free_or_refused() {
        let ty = Uuid::new_v4();
        let mut seats = Vec::new();
        row(&mut seats, 0, ".x.b", ty);
        let map = SeatMap::new(seats, false, (0.0, 0.0));
        assert_eq!(
            map.particular(&["0-0".into(), "0-2".into()]).unwrap().len(),
            2
        );
        assert_eq!(
            map.particular(&["0-1".into()]),
            Err(RejectReason::SeatTaken)
        );
        assert_eq!(
            map.particular(&["0-3".into()]),
            Err(RejectReason::SeatTaken)
        );
        assert_eq!(
            map.particular(&["0-0".into(), "0-0".into()]),
            Err(RejectReason::SeatTaken)
        );
        assert_eq!(
            map.particular(&["9-9".into()]),
            Err(RejectReason::UnknownSeat)
        );
    }
}
