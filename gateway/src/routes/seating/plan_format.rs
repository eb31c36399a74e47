//! pretix's seating-plan JSON format (its published schema: zones of rows of seats, each seat
//! with a `seat_guid`, a number, a position relative to its row and zone, and a category declared
//! at the top), plus three optional extensions of Evently's: `focus_point` (where the stage is,
//! for best-available) and a seat's `accessible` (a wheelchair place) and `companion` flags.
//! Unknown fields are refused, as pretix's schema does.

use std::collections::HashSet;

use salvo::oapi::ToSchema;
use serde::{Deserialize, Serialize};

use crate::body::Checks;
use crate::error::ApiError;

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanDocument {
    pub name: String,
    pub categories: Vec<Category>,
    pub zones: Vec<Zone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
    /// Evently's extension: the point best-available measures from (default: the middle of the
    /// plan's top edge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus_point: Option<Point>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Category {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Size {
    pub width: f64,
    pub height: f64,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub displayed: Option<bool>,
    pub position: Point,
    pub rows: Vec<Row>,
    /// Shapes and labels (a stage, a bar): drawn, never booked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[salvo(schema(value_type = Option<Vec<Object>>))]
    pub areas: Option<Vec<serde_json::Value>>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Row {
    pub row_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    pub seats: Vec<SeatIn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_number_position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_of_seats: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seats_spacing: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Point>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeatIn {
    pub seat_guid: String,
    pub seat_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_direction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radius: Option<f64>,
    pub position: Point,
    pub category: String,
    /// Evently's extension: a wheelchair place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessible: Option<bool>,
    /// Evently's extension: a companion seat beside a wheelchair place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub companion: Option<bool>,
}

/// One seat of a plan, as an event's seat map keeps it.
#[derive(Debug, Clone)]
pub struct PlanSeat {
    pub id: String,
    pub section: String,
    pub row: String,
    pub number: String,
    pub category: String,
    pub row_index: i32,
    pub seat_index: i32,
    pub x: f64,
    pub y: f64,
    pub radius: f64,
    pub accessible: bool,
    pub companion: bool,
}

/// Most seats one plan has.
pub const MOST_SEATS: usize = 100_000;

/// Checks a plan: a name, categories named once, 1 to 100,000 seats whose ids are unique and
/// whose categories are declared (a 422 names the first offending seat's field).
pub fn check(plan: &PlanDocument) -> Result<(), ApiError> {
    let mut checks = Checks::default();
    checks.check(
        (1..=200).contains(&plan.name.trim().chars().count()),
        "name",
        "must be 1 to 200 characters",
    );
    let mut names = HashSet::new();
    for (i, c) in plan.categories.iter().enumerate() {
        checks.check(
            (1..=100).contains(&c.name.chars().count()) && names.insert(c.name.as_str()),
            &format!("categories[{i}].name"),
            "must be 1 to 100 characters, and named once",
        );
    }
    checks.finish()?;
    let mut ids = HashSet::new();
    let mut count = 0;
    for (z, zone) in plan.zones.iter().enumerate() {
        for (r, row) in zone.rows.iter().enumerate() {
            for (s, seat) in row.seats.iter().enumerate() {
                let at = format!("zones[{z}].rows[{r}].seats[{s}]");
                if !(1..=200).contains(&seat.seat_guid.chars().count()) {
                    return Err(ApiError::field(
                        &format!("{at}.seat_guid"),
                        "must be 1 to 200 characters",
                    ));
                }
                if !ids.insert(seat.seat_guid.as_str()) {
                    return Err(ApiError::field(
                        &format!("{at}.seat_guid"),
                        format!("{} is the id of an earlier seat", seat.seat_guid),
                    ));
                }
                if !names.contains(seat.category.as_str()) {
                    return Err(ApiError::field(
                        &format!("{at}.category"),
                        format!("{} is not one of the plan's categories", seat.category),
                    ));
                }
                if !(seat.position.x.is_finite() && seat.position.y.is_finite()) {
                    return Err(ApiError::field(
                        &format!("{at}.position"),
                        "must be finite numbers",
                    ));
                }
                count += 1;
            }
        }
    }
    if !(1..=MOST_SEATS).contains(&count) {
        return Err(ApiError::field(
            "zones",
            format!("must hold 1 to {MOST_SEATS} seats"),
        ));
    }
    Ok(())
}

/// The plan's seats in document order, at their absolute positions, with their labels: the
/// zone's name is the section, a row's `row_label` (or its number) the row, and a row's
/// `seat_label` (with `%s` for the seat number) or the seat number the seat.
pub fn seats(plan: &PlanDocument) -> Vec<PlanSeat> {
    let mut out = Vec::new();
    let mut row_index = 0;
    for (z, zone) in plan.zones.iter().enumerate() {
        let section = zone
            .name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| format!("Zone {}", z + 1));
        for row in &zone.rows {
            let offset = row.position.unwrap_or_default();
            let label = row
                .row_label
                .clone()
                .filter(|l| !l.trim().is_empty())
                .unwrap_or_else(|| row.row_number.clone());
            for (s, seat) in row.seats.iter().enumerate() {
                let number = match &row.seat_label {
                    Some(l) if l.contains("%s") => l.replace("%s", &seat.seat_number),
                    _ => seat.seat_number.clone(),
                };
                out.push(PlanSeat {
                    id: seat.seat_guid.clone(),
                    section: section.clone(),
                    row: label.clone(),
                    number,
                    category: seat.category.clone(),
                    row_index,
                    seat_index: s as i32,
                    x: zone.position.x + offset.x + seat.position.x,
                    y: zone.position.y + offset.y + seat.position.y,
                    radius: seat.radius.unwrap_or(10.0),
                    accessible: seat.accessible.unwrap_or(false),
                    companion: seat.companion.unwrap_or(false),
                });
            }
            row_index += 1;
        }
    }
    out
}

/// Where best-available measures from: the plan's `focus_point`, else the middle of its top edge
/// (of its `size`, or of its seats).
pub fn focus(plan: &PlanDocument, seats: &[PlanSeat]) -> Point {
    if let Some(p) = plan.focus_point {
        return p;
    }
    let width = plan.size.as_ref().map(|s| s.width).unwrap_or_else(|| {
        let max = seats.iter().map(|s| s.x).fold(0.0, f64::max);
        let min = seats.iter().map(|s| s.x).fold(max, f64::min);
        min + max
    });
    Point {
        x: width / 2.0,
        y: 0.0,
    }
}
