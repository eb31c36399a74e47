//! The shapes of a plan that are drawn, never booked (a stage, a bar, a label): pretix's zone
//! `areas`, kept in the plan as sent and read here into what a seat map draws, in plan
//! coordinates (the zone's position applied). An area this does not understand (another shape,
//! missing geometry) is left out of the map rather than refused: it is decoration.
//! Colours go out only as `#rgb`/`#rrggbb`/`#rrggbbaa` or a plain colour name, so a plan cannot
//! make a browser load anything (`url(...)`).

use salvo::oapi::ToSchema;
use serde::{Deserialize, Serialize};

use super::plan_format::{PlanDocument, Point};

/// A drawn shape of the plan.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaOut {
    /// `rectangle`, `circle`, `ellipse`, `polygon` or `text`.
    pub shape: String,
    /// Where the shape is anchored, in plan coordinates: a rectangle's top-left corner, a circle's
    /// or an ellipse's centre, the origin of a polygon's points and of a label.
    pub x: f64,
    pub y: f64,
    /// Degrees, clockwise, about the anchor.
    pub rotation: f64,
    pub color: Option<String>,
    pub border_color: Option<String>,
    /// A rectangle's size.
    pub width: Option<f64>,
    pub height: Option<f64>,
    /// A circle's radius (both) or an ellipse's radii.
    pub radius_x: Option<f64>,
    pub radius_y: Option<f64>,
    /// A polygon's corners, relative to the anchor.
    pub points: Vec<Point>,
    /// A label (a `text` area, or the text drawn on another shape), relative to the anchor.
    pub text: Option<AreaTextOut>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AreaTextOut {
    pub x: f64,
    pub y: f64,
    pub text: String,
    pub size: f64,
    pub color: Option<String>,
}

/// pretix's area, read leniently.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AreaIn {
    shape: String,
    color: Option<String>,
    border_color: Option<String>,
    rotation: Option<f64>,
    position: Option<Point>,
    rectangle: Option<RectangleIn>,
    circle: Option<CircleIn>,
    ellipse: Option<EllipseIn>,
    polygon: Option<PolygonIn>,
    text: Option<TextIn>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RectangleIn {
    width: f64,
    height: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CircleIn {
    radius: f64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EllipseIn {
    radius: Point,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PolygonIn {
    points: Vec<Point>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TextIn {
    position: Option<Point>,
    color: Option<String>,
    text: String,
    size: Option<f64>,
}

/// Most areas one map draws, and most corners of one polygon.
const MOST_AREAS: usize = 500;
const MOST_POINTS: usize = 200;
/// Longest label drawn.
const MOST_TEXT_CHARS: usize = 200;

/// A colour a browser draws without loading anything.
fn safe_color(color: Option<String>) -> Option<String> {
    let c = color?.trim().to_owned();
    let hex = c.strip_prefix('#').is_some_and(|h| {
        [3, 4, 6, 8].contains(&h.len()) && h.chars().all(|d| d.is_ascii_hexdigit())
    });
    let named = (1..=30).contains(&c.len()) && c.chars().all(|d| d.is_ascii_alphabetic());
    (hex || named).then_some(c)
}

/// A category's colour, as the map sends it.
pub fn category_color(color: Option<String>) -> Option<String> {
    safe_color(color)
}

fn finite(v: f64) -> bool {
    v.is_finite() && v.abs() <= 1e7
}

fn area(zone: Point, value: &serde_json::Value) -> Option<AreaOut> {
    let a: AreaIn = serde_json::from_value(value.clone()).ok()?;
    let at = a.position.unwrap_or_default();
    let mut out = AreaOut {
        shape: a.shape.clone(),
        x: zone.x + at.x,
        y: zone.y + at.y,
        rotation: a.rotation.unwrap_or(0.0),
        color: safe_color(a.color),
        border_color: safe_color(a.border_color),
        width: None,
        height: None,
        radius_x: None,
        radius_y: None,
        points: Vec::new(),
        text: None,
    };
    match a.shape.as_str() {
        "rectangle" => {
            let r = a.rectangle?;
            (r.width > 0.0 && r.height > 0.0).then_some(())?;
            (out.width, out.height) = (Some(r.width), Some(r.height));
        }
        "circle" => {
            let r = a.circle?.radius;
            (r > 0.0).then_some(())?;
            (out.radius_x, out.radius_y) = (Some(r), Some(r));
        }
        "ellipse" => {
            let r = a.ellipse?.radius;
            (r.x > 0.0 && r.y > 0.0).then_some(())?;
            (out.radius_x, out.radius_y) = (Some(r.x), Some(r.y));
        }
        "polygon" => {
            let points = a.polygon?.points;
            (3..=MOST_POINTS).contains(&points.len()).then_some(())?;
            out.points = points;
        }
        "text" => {}
        _ => return None,
    }
    if let Some(t) = a.text.filter(|t| !t.text.trim().is_empty()) {
        let p = t.position.unwrap_or_default();
        out.text = Some(AreaTextOut {
            x: p.x,
            y: p.y,
            text: t.text.chars().take(MOST_TEXT_CHARS).collect(),
            size: t.size.filter(|s| *s > 0.0 && finite(*s)).unwrap_or(16.0),
            color: safe_color(t.color),
        });
    }
    if out.shape == "text" && out.text.is_none() {
        return None;
    }
    let mut numbers = [out.x, out.y, out.rotation]
        .into_iter()
        .chain(out.width)
        .chain(out.height)
        .chain(out.radius_x)
        .chain(out.radius_y)
        .chain(out.points.iter().flat_map(|p| [p.x, p.y]))
        .chain(out.text.iter().flat_map(|t| [t.x, t.y]));
    numbers.all(finite).then_some(out)
}

/// Every area of the plan this map can draw, in document order.
pub fn areas(plan: &PlanDocument) -> Vec<AreaOut> {
    plan.zones
        .iter()
        .flat_map(|z| {
            z.areas
                .iter()
                .flatten()
                .filter_map(move |a| area(z.position, a))
        })
        .take(MOST_AREAS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn zone_areas(areas: serde_json::Value) -> Vec<AreaOut> {
        let plan: PlanDocument = serde_json::from_value(json!({
            "name": "Hall",
            "categories": [{"name": "Stalls"}],
            "zones": [{"position": {"x": 100, "y": 50}, "rows": [], "areas": areas}],
        }))
        .expect("plan");
        super::areas(&plan)
    }

    #[test]
    fn pretix_areas_are_placed_in_plan_coordinates() {
        let drawn = zone_areas(json!([
            {"shape": "rectangle", "position": {"x": 10, "y": 0}, "rectangle": {"width": 300, "height": 40},
             "color": "#333333", "border_color": "black", "rotation": 0,
             "text": {"position": {"x": 150, "y": 20}, "text": "STAGE", "size": 18, "color": "#fff"}},
            {"shape": "circle", "position": {"x": 0, "y": 0}, "circle": {"radius": 12}},
            {"shape": "ellipse", "position": {"x": 5, "y": 5}, "ellipse": {"radius": {"x": 20, "y": 10}}},
            {"shape": "polygon", "position": {"x": 0, "y": 100},
             "polygon": {"points": [{"x": 0, "y": 0}, {"x": 10, "y": 0}, {"x": 5, "y": 8}]}},
            {"shape": "text", "position": {"x": 1, "y": 2}, "text": {"text": "Bar"}},
        ]));
        assert_eq!(drawn.len(), 5);
        let stage = &drawn[0];
        assert_eq!((stage.x, stage.y), (110.0, 50.0));
        assert_eq!((stage.width, stage.height), (Some(300.0), Some(40.0)));
        assert_eq!(stage.border_color.as_deref(), Some("black"));
        assert_eq!(stage.text.as_ref().map(|t| t.text.as_str()), Some("STAGE"));
        assert_eq!(drawn[1].radius_x, Some(12.0));
        assert_eq!(
            (drawn[2].radius_x, drawn[2].radius_y),
            (Some(20.0), Some(10.0))
        );
        assert_eq!(drawn[3].points.len(), 3);
        assert_eq!(drawn[4].text.as_ref().map(|t| t.size), Some(16.0));
    }

    #[test]
    fn what_cannot_be_drawn_safely_is_left_out() {
        let drawn = zone_areas(json!([
            {"shape": "star", "position": {"x": 0, "y": 0}},
            {"shape": "rectangle", "position": {"x": 0, "y": 0}},
            {"shape": "circle", "circle": {"radius": -1}},
            {"shape": "polygon", "polygon": {"points": [{"x": 0, "y": 0}]}},
            {"shape": "text", "text": {"text": "  "}},
            "not an object",
            {"shape": "rectangle", "rectangle": {"width": 1, "height": 1},
             "color": "url(https://tracker.example/x.svg#p)", "border_color": "red; fill: blue"},
        ]));
        assert_eq!(drawn.len(), 1, "{drawn:?}");
        assert_eq!(drawn[0].color, None, "no url() colour");
        assert_eq!(drawn[0].border_color, None);
    }
}
