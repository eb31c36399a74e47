//! Locking what a batch's fresh commands need, always in the same order: the events' inventory
//! rows (by event id), their ticket types and the promo codes reserves name (by id), the bookings the commands name, the bookings of event-cancellation rounds,
//! the waitlist entries the commands name or that hang off those bookings and events, then the
//! bookings those entries link to (each query by id), which payments are recorded already and
//! which of the reserves' users exist.
//! A seated event's seats are read after its inventory row (`lock_seats`). Nothing else writes these rows' seats, and
//! the fixed order keeps two batches from deadlocking.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use evently_runtime::db::{BOOKING_COLUMNS, BookingRow};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::State;
use crate::reservations::commands::cancel_event::ROUND_SIZE;
use crate::reservations::model::{Inventory, Locked, PromoCode, Rules, TicketType, Tracked};
use crate::reservations::seating::{Seat, SeatCache, SeatMap};
use crate::waitlist::entries::{self, ENTRY_COLUMNS, EntryRow};

/// What the fresh commands of a batch need locked (see `commands::needs`).
#[derive(Default)]
pub struct Needs {
    pub events: BTreeSet<Uuid>,
    pub bookings: Vec<Uuid>,
    pub entries: Vec<Uuid>,
    /// Bookings being cancelled: their waitlist entries.
    pub entries_of_bookings: Vec<Uuid>,
    /// `(event, user)` pairs that may join a waitlist: their active entries.
    pub joiners: Vec<(Uuid, Uuid)>,
    /// Event-cancellation rounds, `(command id, event id)`: the next bookings to cancel and the
    /// event's active entries.
    pub rounds: Vec<(String, Uuid)>,
    /// Payments to confirm: whether each is recorded already.
    pub payments: Vec<Uuid>,
    /// Promo codes reserves name, `(event, code)`.
    pub codes: Vec<(Uuid, String)>,
    /// Particular seats reserves name, `(event, seat id)`.
    pub seats: Vec<(Uuid, String)>,
    /// Events a reserve asks the best available seats of: their whole seat map.
    pub seat_maps: BTreeSet<Uuid>,
    /// The users reserves book for: which of them exist.
    pub users: BTreeSet<Uuid>,
}

/// Locks and loads everything in `needs` into `state`.
pub async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    needs: &Needs,
    state: &mut State,
    cache: &SeatCache,
) -> anyhow::Result<()> {
    lock_events(tx, needs, state, cache).await?;
    let rows = bookings(tx, &needs.bookings).await?;
    keep_bookings(state, rows);
    let mut round_events = Vec::new();
    for (command_id, event_id) in &needs.rounds {
        let rows: Vec<BookingRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.event_id = $1 \
             AND b.status IN ('confirmed', 'held', 'waitlisted') ORDER BY b.id LIMIT $2 FOR UPDATE"
        )))
        .bind(event_id)
        .bind(ROUND_SIZE)
        .fetch_all(&mut **tx)
        .await
        .context("loading an event's bookings to cancel")?;
        state
            .rounds
            .insert(command_id.clone(), rows.iter().map(|r| r.id).collect());
        keep_bookings(state, rows);
        round_events.push(*event_id);
    }
    let mut rows = entries::load(tx, &needs.entries).await?;
    rows.extend(
        entries_where(tx, "w.booking_id = ANY($1)", &needs.entries_of_bookings)
            .await
            .context("loading the entries of cancelled bookings")?,
    );
    rows.extend(
        entries_where(
            tx,
            "w.event_id = ANY($1) AND w.status IN ('waiting', 'offered')",
            &round_events,
        )
        .await
        .context("loading a cancelled event's waitlist")?,
    );
    let linked: Vec<Uuid> = rows
        .iter()
        .filter_map(|r| r.booking_id)
        .filter(|b| !state.bookings.contains_key(b))
        .collect();
    let linked = bookings(tx, &linked).await?;
    keep_bookings(state, linked);
    for row in rows {
        let entry = row.snapshot();
        if entry.status.is_active() {
            state.active.insert((entry.event_id, entry.user_id));
        }
        state
            .entries
            .entry(entry.id)
            .or_insert_with(|| Tracked::loaded(entry));
    }
    if !needs.payments.is_empty() {
        let recorded: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM payments WHERE id = ANY($1)")
            .bind(&needs.payments)
            .fetch_all(&mut **tx)
            .await
            .context("loading recorded payments")?;
        state.payments.extend(recorded);
    }
    if !needs.users.is_empty() {
        // Read, not locked: users are never deleted. This is the check the bookings' foreign key
        // made row by row, locking each user's row (`0018_bookings_without_row_locking_keys.sql`).
        let users: Vec<Uuid> = needs.users.iter().copied().collect();
        let existing: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM users WHERE id = ANY($1)")
            .bind(&users)
            .fetch_all(&mut **tx)
            .await
            .context("loading the batch's users")?;
        state.users.extend(existing);
    }
    if !needs.joiners.is_empty() {
        let (events, users): (Vec<Uuid>, Vec<Uuid>) = needs.joiners.iter().copied().unzip();
        let active: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT w.event_id, w.user_id FROM waitlist_entries w \
             JOIN unnest($1::uuid[], $2::uuid[]) AS u(event_id, user_id) ON u.event_id = w.event_id AND u.user_id = w.user_id \
             WHERE w.status IN ('waiting', 'offered')",
        )
        .bind(&events)
        .bind(&users)
        .fetch_all(&mut **tx)
        .await
        .context("loading active waitlist entries")?;
        state.active.extend(active);
    }
    Ok(())
}

fn keep_bookings(state: &mut State, rows: Vec<BookingRow>) {
    for row in rows {
        state
            .bookings
            .entry(row.id)
            .or_insert_with(|| Tracked::loaded(row.snapshot()));
    }
}

async fn bookings(
    tx: &mut Transaction<'_, Postgres>,
    ids: &[Uuid],
) -> anyhow::Result<Vec<BookingRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE b.id = ANY($1) ORDER BY b.id FOR UPDATE"
    )))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
    .context("loading bookings")
}

async fn entries_where(
    tx: &mut Transaction<'_, Postgres>,
    condition: &'static str,
    ids: &[Uuid],
) -> sqlx::Result<Vec<EntryRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ENTRY_COLUMNS} FROM waitlist_entries w WHERE {condition} ORDER BY w.id FOR UPDATE"
    )))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await
}

#[derive(sqlx::FromRow)]
struct LockedRow {
    event_id: Uuid,
    capacity: i32,
    sold: i32,
    held: i32,
    offered: i32,
    waiting: i64,
    hold_minutes: i32,
    status: String,
    sales_start: Option<DateTime<Utc>>,
    sales_end: Option<DateTime<Utc>>,
    ends_at: DateTime<Utc>,
    max_per_booking: i32,
    price_cents: i64,
    currency: String,
    version: i32,
    focus_x: Option<f64>,
    focus_y: Option<f64>,
    seat_version: Option<i64>,
}

/// Locks the inventory rows of every event the commands touch, once, in event-id order.
async fn lock_events(
    tx: &mut Transaction<'_, Postgres>,
    needs: &Needs,
    state: &mut State,
    cache: &SeatCache,
) -> anyhow::Result<()> {
    if needs.events.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = needs.events.iter().copied().collect();
    let rows: Vec<LockedRow> = sqlx::query_as(
        "SELECT i.event_id, i.capacity, i.sold, i.held, i.offered, e.hold_minutes, e.status, e.sales_start, \
         e.sales_end, e.ends_at, e.max_per_booking, e.price_cents, e.currency::text AS currency, e.version, \
         p.focus_x, p.focus_y, s.seat_version, \
         (SELECT count(*) FROM waitlist_entries w WHERE w.event_id = i.event_id AND w.status = 'waiting') AS waiting \
         FROM inventory i JOIN events e ON e.id = i.event_id \
         LEFT JOIN event_seating s ON s.event_id = i.event_id LEFT JOIN seating_plans p ON p.id = s.plan_id \
         WHERE i.event_id = ANY($1) ORDER BY i.event_id FOR UPDATE OF i",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
    .context("locking inventory")?;
    for r in rows {
        let locked = Locked {
            rules: Rules {
                active: r.status == "active",
                sales_start: r.sales_start,
                sales_end: r.sales_end,
                ends_at: r.ends_at,
                max_per_booking: r.max_per_booking,
                price_cents: r.price_cents,
                currency: r.currency.trim_end().to_owned(),
                hold_minutes: r.hold_minutes,
            },
            inventory: Inventory {
                capacity: r.capacity,
                sold: r.sold,
                held: r.held,
                offered: r.offered,
                waiting: r.waiting,
            },
            version: r.version,
            touched: false,
            types: BTreeMap::new(),
            codes: BTreeMap::new(),
            code_uses: BTreeMap::new(),
            seated: r.focus_x.is_some(),
            seats: SeatMap::new(
                Vec::new(),
                false,
                (r.focus_x.unwrap_or_default(), r.focus_y.unwrap_or_default()),
            ),
            seat_version: r.seat_version.unwrap_or_default(),
            seats_changed: false,
        };
        state.events.insert(r.event_id, locked);
    }
    let types: Vec<TypeRow> = sqlx::query_as(
        "SELECT t.id, t.event_id, t.price_cents, t.quota, t.sold, t.held, t.offered, t.sales_start, \
         t.sales_end, t.max_per_booking, t.hidden, (SELECT count(*) FROM waitlist_entries w \
         WHERE w.ticket_type_id = t.id AND w.status = 'waiting') AS waiting \
         FROM ticket_types t WHERE t.event_id = ANY($1) ORDER BY t.id FOR UPDATE OF t",
    )
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await
    .context("locking ticket types")?;
    for t in types {
        if let Some(event) = state.events.get_mut(&t.event_id) {
            event.types.insert(
                t.id,
                TicketType {
                    id: t.id,
                    price_cents: t.price_cents,
                    quota: t.quota,
                    sold: t.sold,
                    held: t.held,
                    offered: t.offered,
                    waiting: t.waiting,
                    sales_start: t.sales_start,
                    sales_end: t.sales_end,
                    max_per_booking: t.max_per_booking,
                    hidden: t.hidden,
                    touched: false,
                },
            );
        }
    }
    if !needs.codes.is_empty() {
        let (events, codes): (Vec<Uuid>, Vec<String>) = needs.codes.iter().cloned().unzip();
        let rows: Vec<CodeRow> = sqlx::query_as(
            "SELECT p.id, p.event_id, p.code, p.percent_off, p.amount_off_cents, p.ticket_type_ids, \
             p.max_uses, p.uses, p.valid_from, p.valid_to FROM promo_codes p \
             JOIN unnest($1::uuid[], $2::text[]) AS u(event_id, code) ON u.event_id = p.event_id AND u.code = p.code \
             ORDER BY p.id FOR UPDATE OF p",
        )
        .bind(&events)
        .bind(&codes)
        .fetch_all(&mut **tx)
        .await
        .context("locking promo codes")?;
        for r in rows {
            if let Some(event) = state.events.get_mut(&r.event_id) {
                event.codes.insert(
                    r.code,
                    PromoCode {
                        id: r.id,
                        percent_off: r.percent_off,
                        amount_off_cents: r.amount_off_cents,
                        ticket_type_ids: r.ticket_type_ids,
                        max_uses: r.max_uses,
                        uses: r.uses,
                        valid_from: r.valid_from,
                        valid_to: r.valid_to,
                    },
                );
            }
        }
    }
    lock_seats(tx, needs, state, cache).await
}

#[derive(sqlx::FromRow)]
struct SeatRow {
    event_id: Uuid,
    seat_id: String,
    ticket_type_id: Uuid,
    section: String,
    row_label: String,
    number: String,
    row_index: i32,
    seat_index: i32,
    x: f64,
    y: f64,
    accessible: bool,
    companion: bool,
    blocked: bool,
    taken: bool,
}

const SEAT_COLUMNS: &str = "es.event_id, es.seat_id, es.ticket_type_id, es.section, es.row_label, \
    es.number, es.row_index, es.seat_index, es.x, es.y, es.accessible, es.companion, es.blocked, \
    EXISTS (SELECT 1 FROM booking_seats bs WHERE bs.event_id = es.event_id AND bs.seat_id = es.seat_id \
    AND bs.live) AS taken";

/// Reads the seats reserves need: the whole map of an event asked for its best available seats
/// (in row order), the named seats of the others. Their events' inventory rows are locked, and
/// only this consumer writes who holds a seat, so the read is the truth for the batch. A whole
/// map this instance wrote at the version the database still has is taken from `cache` instead
/// (for any reserve of its event).
async fn lock_seats(
    tx: &mut Transaction<'_, Postgres>,
    needs: &Needs,
    state: &mut State,
    cache: &SeatCache,
) -> anyhow::Result<()> {
    let wanted: BTreeSet<Uuid> = needs
        .seat_maps
        .iter()
        .copied()
        .chain(needs.seats.iter().map(|(e, _)| *e))
        .collect();
    let mut cached = BTreeSet::new();
    for event_id in wanted {
        if let Some(event) = state.events.get_mut(&event_id).filter(|l| l.seated)
            && let Some(map) = cache.take(event_id, event.seat_version)
        {
            event.seats = map;
            cached.insert(event_id);
        }
    }
    let whole: Vec<Uuid> = needs
        .seat_maps
        .iter()
        .copied()
        .filter(|e| !cached.contains(e) && state.events.get(e).is_some_and(|l| l.seated))
        .collect();
    let (events, ids): (Vec<Uuid>, Vec<String>) = needs
        .seats
        .iter()
        .filter(|(e, _)| {
            !whole.contains(e)
                && !cached.contains(e)
                && state.events.get(e).is_some_and(|l| l.seated)
        })
        .cloned()
        .unzip();
    let mut rows: Vec<SeatRow> = Vec::new();
    if !whole.is_empty() {
        rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {SEAT_COLUMNS} FROM event_seats es WHERE es.event_id = ANY($1) \
             ORDER BY es.event_id, es.row_index, es.seat_index"
        )))
        .bind(&whole)
        .fetch_all(&mut **tx)
        .await
        .context("loading seat maps")?;
    }
    if !ids.is_empty() {
        rows.extend(
            sqlx::query_as::<_, SeatRow>(sqlx::AssertSqlSafe(format!(
                "SELECT {SEAT_COLUMNS} FROM event_seats es \
                 JOIN unnest($1::uuid[], $2::text[]) AS u(event_id, seat_id) \
                 ON u.event_id = es.event_id AND u.seat_id = es.seat_id"
            )))
            .bind(&events)
            .bind(&ids)
            .fetch_all(&mut **tx)
            .await
            .context("loading seats")?,
        );
    }
    let mut by_event: BTreeMap<Uuid, Vec<Seat>> = BTreeMap::new();
    for r in rows {
        by_event.entry(r.event_id).or_default().push(Seat {
            id: r.seat_id,
            ticket_type_id: r.ticket_type_id,
            section: r.section,
            row: r.row_label,
            number: r.number,
            row_index: r.row_index,
            seat_index: r.seat_index,
            x: r.x,
            y: r.y,
            accessible: r.accessible,
            companion: r.companion,
            blocked: r.blocked,
            taken: r.taken,
        });
    }
    for (event_id, seats) in by_event {
        if let Some(event) = state.events.get_mut(&event_id) {
            let focus = event.seats.focus;
            event.seats = SeatMap::new(seats, whole.contains(&event_id), focus);
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    id: Uuid,
    event_id: Uuid,
    code: String,
    percent_off: Option<i32>,
    amount_off_cents: Option<i64>,
    ticket_type_ids: Vec<Uuid>,
    max_uses: Option<i32>,
    uses: i32,
    valid_from: Option<DateTime<Utc>>,
    valid_to: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct TypeRow {
    id: Uuid,
    event_id: Uuid,
    price_cents: i64,
    quota: i32,
    sold: i32,
    held: i32,
    offered: i32,
    waiting: i64,
    sales_start: Option<DateTime<Utc>>,
    sales_end: Option<DateTime<Utc>>,
    max_per_booking: Option<i32>,
    hidden: bool,
}
