//! The promotion rule, free of I/O: free seats go to waiting entries in join order. An entry that
//! needs more seats than are free may be passed by later, smaller entries, but at most
//! `max_passes` times (counted on the entry, once per entry served past it); after that it holds
//! the line: nobody behind it is offered anything until it is served. An entry asking for more
//! seats than the event has at all can never be served: it is passed over without holding
//! anybody up (it stays waiting, for a capacity increase, or until its holder leaves).

use uuid::Uuid;

/// A waiting entry, in join order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    pub id: Uuid,
    pub quantity: i32,
    pub passed: i32,
}

/// What one promotion step does.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Entries to offer, in join order.
    pub offered: Vec<Uuid>,
    /// Seats the offers hold.
    pub seats: i32,
    /// Entries passed in this step, with their new pass count.
    pub passed: Vec<(Uuid, i32)>,
}

pub fn plan(free: i32, capacity: i32, queue: &[Waiting], max_passes: i32) -> Plan {
    let mut free = free;
    let mut plan = Plan::default();
    let mut skipped: Vec<(Uuid, i32, i32)> = Vec::new();
    for entry in queue {
        if free <= 0 {
            break;
        }
        if entry.quantity > capacity {
            continue;
        }
        if entry.quantity <= free {
            plan.offered.push(entry.id);
            plan.seats += entry.quantity;
            free -= entry.quantity;
            for s in &mut skipped {
                s.2 += 1;
            }
            if skipped.iter().any(|s| s.2 >= max_passes) {
                break;
            }
        } else if entry.passed >= max_passes {
            break;
        } else {
            skipped.push((entry.id, entry.passed, entry.passed));
        }
    }
    plan.passed = skipped
        .into_iter()
        .filter(|(_, before, after)| after > before)
        .map(|(id, _, after)| (id, after))
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(sizes: &[(i32, i32)]) -> Vec<Waiting> {
        sizes
            .iter()
            .map(|&(quantity, passed)| Waiting {
                id: Uuid::new_v4(),
                quantity,
                passed,
            })
            .collect()
    }

    #[test]
    fn an_entry_larger_than_the_event_never_holds_the_line() {
        let q = queue(&[(5, 9), (1, 0)]);
        let p = plan(1, 4, &q, 3);
        assert_eq!(p.offered, vec![q[1].id]);
        assert!(p.passed.is_empty(), "not counted as passed either");
    }

    #[test]
    fn seats_go_in_join_order() {
        let q = queue(&[(1, 0), (2, 0), (1, 0)]);
        let p = plan(3, 100, &q, 3);
        assert_eq!(p.offered, vec![q[0].id, q[1].id]);
        assert_eq!(p.seats, 3);
        assert!(p.passed.is_empty());
    }

    #[test]
    fn a_large_entry_is_passed_at_most_n_times_then_holds_the_line() {
        let q = queue(&[(3, 0), (1, 0), (1, 0), (1, 0)]);
        let p = plan(2, 100, &q, 3);
        assert_eq!(p.offered, vec![q[1].id, q[2].id]);
        assert_eq!(p.passed, vec![(q[0].id, 2)]);
        // Passed twice already: one more pass reaches the limit and stops the step there.
        let q = queue(&[(3, 2), (1, 0), (1, 0)]);
        let p = plan(2, 100, &q, 3);
        assert_eq!(p.offered, vec![q[1].id]);
        assert_eq!(p.passed, vec![(q[0].id, 3)]);
        // At the limit: nobody behind it is served.
        let q = queue(&[(3, 3), (1, 0)]);
        assert_eq!(plan(2, 100, &q, 3), Plan::default());
        // Served when enough seats are free.
        let p = plan(3, 100, &q, 3);
        assert_eq!(p.offered, vec![q[0].id]);
    }

    #[test]
    fn no_free_seat_offers_nothing() {
        let q = queue(&[(1, 0)]);
        assert_eq!(plan(0, 100, &q, 3), Plan::default());
    }
}
