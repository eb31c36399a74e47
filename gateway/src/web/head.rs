//! What an event page's `<head>` says to crawlers and link previews: a `<title>`, a description,
//! OpenGraph and Twitter tags, and schema.org `Event` JSON-LD, each escaped for where it goes
//! (HTML text and attributes; JSON inside `<script>`, where `<` must never appear).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

/// Where the tags go in `index.html` (the web app's build leaves this comment in its `<head>`).
pub const MARKER: &str = "<!--app-head-->";

/// What a page says about one event.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventFacts {
    pub name: String,
    pub description: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub price_cents: i64,
    pub currency: String,
    /// `active` or `cancelled`.
    pub status: String,
    /// Seats still on sale.
    pub available: i32,
    pub venue_name: String,
    pub address: String,
    pub city: String,
    pub organizer: String,
}

/// Escapes text for HTML content and quoted attribute values.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that can sit inside `<script>`: `<`, `>` and `&` only ever occur inside JSON strings, where
/// their `\u` escapes mean the same, so `</script>` and `<!--` cannot end or change the block.
pub fn script_safe_json(value: &Value) -> String {
    value
        .to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Minor units as a decimal amount in the currency's own exponent: `2550 EUR` -> `25.50`.
pub fn decimal_price(minor: i64, currency: &str) -> String {
    let exponent = match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        _ => 2,
    };
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exponent);
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        minor / scale,
        minor % scale,
        width = exponent as usize
    )
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// At most `max` characters, cut at a word where possible, with an ellipsis when cut.
fn summary(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end())
}

/// The schema.org `Event` of an event page.
pub fn json_ld(event: &EventFacts, url: &str) -> Value {
    let cancelled = event.status == "cancelled";
    let availability = if event.available > 0 && !cancelled {
        "https://schema.org/InStock"
    } else {
        "https://schema.org/SoldOut"
    };
    json!({
        "@context": "https://schema.org",
        "@type": "Event",
        "name": event.name,
        "description": event.description,
        "startDate": time(event.starts_at),
        "endDate": time(event.ends_at),
        "eventStatus": if cancelled {
            "https://schema.org/EventCancelled"
        } else {
            "https://schema.org/EventScheduled"
        },
        "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
        "url": url,
        "location": {
            "@type": "Place",
            "name": event.venue_name,
            "address": {
                "@type": "PostalAddress",
                "streetAddress": event.address,
                "addressLocality": event.city,
            },
        },
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": decimal_price(event.price_cents, &event.currency),
            "priceCurrency": event.currency,
            "availability": availability,
        },
        "organizer": {"@type": "Organization", "name": event.organizer},
    })
}

/// The `<head>` tags of an event page at `url`.
pub fn tags(event: &EventFacts, url: &str) -> String {
    let place = [event.venue_name.as_str(), event.city.as_str()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    let when = event.starts_at.format("%e %B %Y").to_string();
    let description = if event.description.trim().is_empty() {
        format!("{} at {place}", when.trim())
    } else {
        summary(&event.description, 200)
    };
    let title = escape_html(&format!("{} · Evently", event.name));
    let name = escape_html(&event.name);
    let description = escape_html(&description);
    let html_url = escape_html(url);
    let meta = |attr: &str, key: &str, value: &str| {
        format!("<meta {attr}=\"{key}\" content=\"{value}\">\n")
    };
    let mut out = format!("<title>{title}</title>\n");
    out.push_str(&meta("name", "description", &description));
    out.push_str(&format!("<link rel=\"canonical\" href=\"{html_url}\">\n"));
    out.push_str(&meta("property", "og:type", "website"));
    out.push_str(&meta("property", "og:site_name", "Evently"));
    out.push_str(&meta("property", "og:title", &name));
    out.push_str(&meta("property", "og:description", &description));
    out.push_str(&meta("property", "og:url", &html_url));
    out.push_str(&meta("name", "twitter:card", "summary"));
    out.push_str(&meta("name", "twitter:title", &name));
    out.push_str(&meta("name", "twitter:description", &description));
    out.push_str("<script type=\"application/ld+json\">");
    out.push_str(&script_safe_json(&json_ld(event, url)));
    out.push_str("</script>\n");
    out
}

/// `index.html` with `tags` at the marker (else before `</head>`), replacing the app's own
/// `<title>` so the page has one.
pub fn inject(index: &str, tags: &str) -> String {
    let mut html = index.to_owned();
    if let (Some(start), Some(end)) = (html.find("<title>"), html.find("</title>"))
        && start < end
    {
        html.replace_range(start..end + "</title>".len(), "");
    }
    if let Some(at) = html.find(MARKER) {
        html.replace_range(at..at + MARKER.len(), tags);
    } else if let Some(at) = html.find("</head>") {
        html.insert_str(at, tags);
    } else {
        html.insert_str(0, tags);
    }
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(name: &str) -> EventFacts {
        EventFacts {
            name: name.into(),
            description: "An evening of <b>jazz</b> & more".into(),
            starts_at: "2030-05-01T19:00:00Z".parse().expect("time"),
            ends_at: "2030-05-01T22:00:00Z".parse().expect("time"),
            price_cents: 2550,
            currency: "EUR".into(),
            status: "active".into(),
            available: 3,
            venue_name: "Riverside Hall".into(),
            address: "1 Quai \"Rhône\"".into(),
            city: "Lyon".into(),
            organizer: "Ada".into(),
        }
    }

    #[test]
    fn prices_use_the_currencys_exponent() {
        assert_eq!(decimal_price(2550, "EUR"), "25.50");
        assert_eq!(decimal_price(5, "EUR"), "0.05");
        assert_eq!(decimal_price(0, "USD"), "0.00");
        assert_eq!(decimal_price(1500, "JPY"), "1500");
        assert_eq!(decimal_price(1234, "KWD"), "1.234");
    }

    #[test]
    fn a_script_closing_name_cannot_leave_the_json_ld_block() {
        let tags = tags(
            &facts("</script><script>alert(1)</script>"),
            "http://x/events/1",
        );
        let block = tags
            .split("<script type=\"application/ld+json\">")
            .nth(1)
            .and_then(|rest| rest.split("</script>").next())
            .expect("a JSON-LD block");
        assert!(!block.contains('<'), "{block}");
        let parsed: Value = serde_json::from_str(block).expect("valid JSON");
        assert_eq!(parsed["name"], "</script><script>alert(1)</script>");
        assert_eq!(tags.matches("<script").count(), 1, "{tags}");
        assert!(tags.contains("content=\"&lt;/script&gt;&lt;script&gt;alert(1)"));
    }

    #[test]
    fn the_tags_go_at_the_marker_and_replace_the_title() {
        let index = "<html><head><title>Evently</title><!--app-head--></head><body></body></html>";
        let html = inject(index, "<title>X</title>");
        assert_eq!(
            html,
            "<html><head><title>X</title></head><body></body></html>"
        );
        let html = inject("<head><meta charset=\"utf-8\"></head>", "<title>X</title>");
        assert_eq!(
            html,
            "<head><meta charset=\"utf-8\"><title>X</title></head>"
        );
    }

    #[test]
    fn sold_out_and_cancelled_events_say_so() {
        let mut event = facts("Gig");
        assert_eq!(
            json_ld(&event, "u")["offers"]["availability"],
            "https://schema.org/InStock"
        );
        event.available = 0;
        assert_eq!(
            json_ld(&event, "u")["offers"]["availability"],
            "https://schema.org/SoldOut"
        );
        event.status = "cancelled".into();
        assert_eq!(
            json_ld(&event, "u")["eventStatus"],
            "https://schema.org/EventCancelled"
        );
    }

    #[test]
    fn long_descriptions_are_cut_at_a_word() {
        let text = "word ".repeat(100);
        let cut = summary(&text, 22);
        assert_eq!(cut, "word word word word…");
    }
}
