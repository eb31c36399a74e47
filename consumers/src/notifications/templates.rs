//! The message templates (minijinja), embedded in the binary: for each kind `<kind>.txt.j2` holds
//! the blocks `subject`, `title` and `body` (push and in-app) and `text` (the email's text part),
//! and `<kind>.html.j2` the email's HTML part (auto-escaped, extends `layout.html.j2`).

use anyhow::Context as _;
use minijinja::Environment;

/// Every kind of notice, by template name.
pub const KINDS: &[&str] = &[
    "booking_confirmed",
    "booking_held",
    "booking_cancelled",
    "booking_expired",
    "event_cancelled",
    "event_updated",
    "waitlist_offered",
    "waitlist_offer_expiring",
    "tickets_issued",
];

macro_rules! template {
    ($name:literal) => {
        ($name, include_str!(concat!("../../templates/", $name)))
    };
}

const FILES: &[(&str, &str)] = &[
    template!("layout.html.j2"),
    template!("booking_confirmed.txt.j2"),
    template!("booking_confirmed.html.j2"),
    template!("booking_held.txt.j2"),
    template!("booking_held.html.j2"),
    template!("booking_cancelled.txt.j2"),
    template!("booking_cancelled.html.j2"),
    template!("booking_expired.txt.j2"),
    template!("booking_expired.html.j2"),
    template!("event_cancelled.txt.j2"),
    template!("event_cancelled.html.j2"),
    template!("event_updated.txt.j2"),
    template!("event_updated.html.j2"),
    template!("waitlist_offered.txt.j2"),
    template!("waitlist_offered.html.j2"),
    template!("waitlist_offer_expiring.txt.j2"),
    template!("waitlist_offer_expiring.html.j2"),
    template!("tickets_issued.txt.j2"),
    template!("tickets_issued.html.j2"),
];

/// A notice rendered for every channel.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub subject: String,
    /// Short title (push, in-app).
    pub title: String,
    /// One or two sentences (push, in-app).
    pub body: String,
    pub text: String,
    pub html: String,
}

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Loads every template; fails (at start-up) when one does not parse.
    pub fn load() -> anyhow::Result<Self> {
        let mut env = Environment::new();
        for (name, source) in FILES {
            env.add_template(name, source)
                .with_context(|| format!("parsing template {name}"))?;
        }
        Ok(Self { env })
    }

    /// Renders `kind` with `data` (a JSON object).
    pub fn render(&self, kind: &str, data: &serde_json::Value) -> anyhow::Result<Rendered> {
        let ctx = minijinja::Value::from(minijinja::value::Serde(data));
        let txt = self
            .env
            .get_template(&format!("{kind}.txt.j2"))
            .with_context(|| format!("no template for {kind}"))?;
        let mut captured = txt
            .render_captured(ctx.clone())
            .with_context(|| format!("rendering {kind}.txt.j2"))?;
        let mut block = |name: &str| -> anyhow::Result<String> {
            captured
                .with_state_mut(|state| state.render_block(name))
                .with_context(|| format!("rendering block {name} of {kind}.txt.j2"))
        };
        let subject = one_line(&block("subject")?);
        let title = one_line(&block("title")?);
        let body = one_line(&block("body")?);
        let text = block("text")?.trim().to_owned() + "\n";
        let html = self
            .env
            .get_template(&format!("{kind}.html.j2"))
            .and_then(|t| t.render(ctx))
            .with_context(|| format!("rendering {kind}.html.j2"))?;
        Ok(Rendered {
            subject,
            title,
            body,
            text,
            html,
        })
    }
}

/// Collapses whitespace: subjects and titles are single lines.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_kind_renders_and_html_is_escaped() {
        let templates = Templates::load().expect("templates parse");
        let data = json!({
            "user": {"name": "Ada <script>", "email": "ada@example.com"},
            "event": {"id": "e1", "name": "Jazz & Blues", "starts_at": "2026-12-01 20:00 UTC", "venue": "Hall"},
            "booking": {"id": "b1", "quantity": 2, "amount": "30.00 EUR", "hold_expires_at": "20:10 UTC"},
            "entry": {"id": "w1", "quantity": 1, "position": 1, "offer_expires_at": "20:30 UTC"},
            "tickets": [{"id": "t1", "ticket_number": "EV-1", "seat_index": 0}],
            "url": "http://127.0.0.1:8080/",
        });
        for kind in KINDS {
            let r = templates.render(kind, &data).expect(kind);
            assert!(r.subject.contains("Jazz & Blues"), "{kind}: {}", r.subject);
            assert!(!r.title.is_empty() && !r.body.is_empty(), "{kind}");
            assert!(r.text.contains("Ada <script>"), "{kind}");
            assert!(r.html.contains("Ada &lt;script&gt;"), "{kind}: {}", r.html);
            assert!(r.html.contains("Jazz &amp; Blues"), "{kind}");
        }
    }
}
