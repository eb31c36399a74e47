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
    /// For a whole map: whether each seat is side by side with the one before it (same row, the
    /// next place, no aisle between: a gap at most one and a half times the row's closest
    /// spacing). Geometry only, so computed once per map.
    beside_previous: Vec<bool>,
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
        let beside_previous = if whole {
            beside_previous(&seats)
        } else {
            Vec::new()
        };
        Self {
            seats,
            by_id,
            beside_previous,
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
        // (stranded singles beside the block, distance to the focus, first seat). A block is
        // eligible seats side by side within a run of free seats; a seat it leaves alone at
        // either end of that run is stranded (a free wheelchair place beside it is company, not
        // a gap). One pass over the map, the block's centroid kept as running sums.
        let free = |i: usize| !self.seats[i].blocked && !self.seats[i].taken;
        let (fx, fy) = self.focus;
        let mut best: Option<(u8, f64, usize)> = None;
        let n = if self.whole { self.seats.len() } else { 0 };
        let mut i = 0;
        while i < n {
            if !free(i) {
                i += 1;
                continue;
            }
            let run_start = i;
            let mut run_end = i + 1;
            while run_end < n && free(run_end) && self.beside_previous[run_end] {
                run_end += 1;
            }
            if run_end - run_start >= quantity {
                let (mut count, mut sx, mut sy) = (0, 0.0, 0.0);
                for k in run_start..run_end {
                    let seat = &self.seats[k];
                    count += usize::from(eligible(seat));
                    sx += seat.x;
                    sy += seat.y;
                    if k >= run_start + quantity {
                        let out = &self.seats[k - quantity];
                        count -= usize::from(eligible(out));
                        sx -= out.x;
                        sy -= out.y;
                    }
                    if k + 1 < run_start + quantity || count < quantity {
                        continue;
                    }
                    let first = k + 1 - quantity;
                    let left = first - run_start;
                    let right = run_end - 1 - k;
                    let stranded = u8::from(left == 1) + u8::from(right == 1);
                    let q = quantity as f64;
                    let d = (sx / q - fx).hypot(sy / q - fy);
                    if best
                        .as_ref()
                        .is_none_or(|(s, bd, _)| (stranded, d) < (*s, *bd))
                    {
                        best = Some((stranded, d, first));
                    }
                }
            }
            i = run_end;
        }
        if let Some((_, _, first)) = best {
            return Some((first..first + quantity).collect());
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

    /// Runs of seats (those `eligible` takes) side by side.
    #[cfg(test)]
    fn runs(&self, eligible: impl Fn(&Seat) -> bool) -> Vec<Vec<usize>> {
        let mut runs: Vec<Vec<usize>> = Vec::new();
        if !self.whole {
            return runs;
        }
        let mut run: Vec<usize> = Vec::new();
        for i in 0..self.seats.len() {
            if !eligible(&self.seats[i]) {
                if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
                continue;
            }
            if !run.is_empty() && (run.last() != Some(&(i - 1)) || !self.beside_previous[i]) {
                runs.push(std::mem::take(&mut run));
            }
            run.push(i);
        }
        if !run.is_empty() {
            runs.push(run);
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

/// Whether each seat of a whole map (in row order) is side by side with the one before it: the
/// same row, the next place in it, and no aisle between them (a gap wider than one and a half
/// times the row's closest spacing).
fn beside_previous(seats: &[Seat]) -> Vec<bool> {
    let mut beside = vec![false; seats.len()];
    let gap = |i: usize| {
        let (a, b) = (&seats[i - 1], &seats[i]);
        (b.x - a.x).hypot(b.y - a.y)
    };
    let mut start = 0;
    while start < seats.len() {
        let row = seats[start].row_index;
        let end = (start..seats.len())
            .find(|&i| seats[i].row_index != row)
            .unwrap_or(seats.len());
        let spacing = (start + 1..end)
            .map(gap)
            .filter(|g| *g > 0.0)
            .fold(f64::INFINITY, f64::min);
        for i in start + 1..end {
            beside[i] =
                seats[i].seat_index == seats[i - 1].seat_index + 1 && gap(i) <= spacing * 1.5;
        }
        start = end;
    }
    beside
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

    /// Random rows: whatever best-available picks is free seats of the type side by side, and it
    /// strands no single seat whenever some block would not (checked against every block).
    #[test]
    fn best_available_is_side_by_side_and_strands_nobody_it_need_not_on_random_maps() {
        let ty = Uuid::new_v4();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..300 {
            let mut seats = Vec::new();
            for r in 0..(1 + next() % 4) as i32 {
                let pattern: String = (0..(2 + next() % 10))
                    .map(|_| if next() % 3 == 0 { 'x' } else { '.' })
                    .collect();
                row(&mut seats, r, &pattern, ty);
            }
            let map = SeatMap::new(seats, true, ((next() % 100) as f64, -10.0));
            let quantity = 1 + (next() % 3) as i32;
            let runs = map.runs(|s| !s.blocked && !s.taken);
            let avoidable = runs.iter().any(|r| {
                let q = quantity as usize;
                r.len() >= q
                    && (0..=r.len() - q).any(|start| start != 1 && r.len() - q - start != 1)
            });
            let Some(picked) = map.best(&ask(ty, quantity)) else {
                let free = map.seats.iter().filter(|s| !s.taken).count();
                assert!(
                    free < quantity as usize,
                    "none picked though {free} are free"
                );
                continue;
            };
            assert_eq!(picked.len(), quantity as usize);
            assert!(picked.iter().all(|&i| !map.seats[i].taken));
            let together = runs.iter().any(|r| picked.iter().all(|i| r.contains(i)));
            if together {
                let run = runs.iter().find(|r| r.contains(&picked[0])).unwrap();
                let at = run.iter().position(|i| *i == picked[0]).unwrap();
                let strands = at == 1 || run.len() - picked.len() - at == 1;
                assert!(
                    !(strands && avoidable),
                    "stranded a seat it need not: {picked:?} in {run:?}"
                );
            } else {
                assert!(
                    runs.iter().all(|r| r.len() < quantity as usize),
                    "split a group although a row had the seats side by side"
                );
            }
        }
    }
}
