//! A printable one-page PDF ticket: event, venue, time, holder, ticket number, admission and the
//! QR code, drawn with printpdf's built-in Helvetica (no font file) and filled rectangles for the
//! QR modules. Rendered on demand, never on the issuing path.

use chrono::{DateTime, Utc};
use printpdf::{
    BuiltinFont, Color, Mm, Op, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Pt,
    Rect, Rgb, TextItem,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::qr::{Matrix, QUIET_ZONE};

/// Everything printed on a ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketDocument {
    pub ticket_id: Uuid,
    pub event_name: String,
    pub venue_name: String,
    /// Address and city, as one line.
    pub venue_address: String,
    pub starts_at: DateTime<Utc>,
    pub holder_name: String,
    pub ticket_number: String,
    /// Zero-based seat of the booking.
    pub seat_index: i32,
    /// Seats in the booking.
    pub seats_in_booking: i32,
    pub qr_payload: String,
    /// `valid` or `void` (a void ticket is printed as such).
    pub status: String,
    /// The particular seat, for a seated event: "Stalls, row C, seat 12".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat: Option<String>,
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const QR_SIDE_MM: f32 = 70.0;

/// Built-in fonts speak WinAnsi: keep Latin-1 letters, replace what it cannot show.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' | '\u{a0}'..='\u{ff}' => c,
            _ => '?',
        })
        .take(120)
        .collect()
}

fn text(ops: &mut Vec<Op>, x: f32, y: f32, size: f32, font: BuiltinFont, line: &str) {
    ops.push(Op::StartTextSection);
    ops.push(Op::SetTextCursor {
        pos: Point::new(Mm(x), Mm(y)),
    });
    ops.push(Op::SetFont {
        font: PdfFontHandle::Builtin(font),
        size: Pt(size),
    });
    ops.push(Op::ShowText {
        items: vec![TextItem::Text(printable(line))],
    });
    ops.push(Op::EndTextSection);
}

fn black() -> Color {
    Color::Rgb(Rgb {
        r: 0.0,
        g: 0.0,
        b: 0.0,
        icc_profile: None,
    })
}

/// The QR modules as filled squares, lower-left corner of the code (quiet zone included) at
/// `(x, y)` mm.
fn qr_ops(ops: &mut Vec<Op>, matrix: &Matrix, x: f32, y: f32) {
    let total = (matrix.width + 2 * QUIET_ZONE) as f32;
    let module = Mm(QR_SIDE_MM / total).into_pt().0;
    let origin_x = Mm(x).into_pt().0;
    let top = Mm(y + QR_SIDE_MM).into_pt().0;
    ops.push(Op::SetFillColor { col: black() });
    for row in 0..matrix.width {
        // Runs of dark modules in a row become one rectangle.
        let mut col = 0;
        while col < matrix.width {
            if !matrix.is_dark(col, row) {
                col += 1;
                continue;
            }
            let start = col;
            while col < matrix.width && matrix.is_dark(col, row) {
                col += 1;
            }
            let left = origin_x + (start + QUIET_ZONE) as f32 * module;
            let bottom = top - (row + QUIET_ZONE + 1) as f32 * module;
            ops.push(Op::DrawRectangle {
                rectangle: Rect::from_xywh(
                    Pt(left),
                    Pt(bottom),
                    Pt((col - start) as f32 * module),
                    Pt(module),
                ),
            });
        }
    }
}

/// Renders the ticket as a one-page A4 PDF.
pub fn render_ticket_pdf(doc: &TicketDocument) -> anyhow::Result<Vec<u8>> {
    let matrix = Matrix::of(&doc.qr_payload)?;
    let mut ops = Vec::with_capacity(512);
    ops.push(Op::SetFillColor { col: black() });
    text(
        &mut ops,
        20.0,
        270.0,
        12.0,
        BuiltinFont::HelveticaBold,
        "EVENTLY TICKET",
    );
    text(
        &mut ops,
        20.0,
        255.0,
        22.0,
        BuiltinFont::HelveticaBold,
        &doc.event_name,
    );
    let when = doc.starts_at.format("%A %-d %B %Y, %H:%M UTC").to_string();
    text(&mut ops, 20.0, 244.0, 13.0, BuiltinFont::Helvetica, &when);
    text(
        &mut ops,
        20.0,
        236.0,
        13.0,
        BuiltinFont::Helvetica,
        &doc.venue_name,
    );
    text(
        &mut ops,
        20.0,
        229.0,
        11.0,
        BuiltinFont::Helvetica,
        &doc.venue_address,
    );
    text(
        &mut ops,
        20.0,
        214.0,
        10.0,
        BuiltinFont::Helvetica,
        "Holder",
    );
    text(
        &mut ops,
        20.0,
        207.0,
        14.0,
        BuiltinFont::HelveticaBold,
        &doc.holder_name,
    );
    text(
        &mut ops,
        20.0,
        196.0,
        10.0,
        BuiltinFont::Helvetica,
        "Ticket number",
    );
    text(
        &mut ops,
        20.0,
        188.0,
        18.0,
        BuiltinFont::Courier,
        &doc.ticket_number,
    );
    let admission = format!(
        "Admission {} of {}",
        doc.seat_index + 1,
        doc.seats_in_booking.max(doc.seat_index + 1)
    );
    let seat = match &doc.seat {
        Some(label) => format!("{label} - {admission}"),
        None => admission,
    };
    text(&mut ops, 20.0, 177.0, 12.0, BuiltinFont::Helvetica, &seat);
    if doc.status != "valid" {
        text(
            &mut ops,
            20.0,
            165.0,
            20.0,
            BuiltinFont::HelveticaBold,
            "VOID - NOT VALID FOR ENTRY",
        );
    }
    qr_ops(&mut ops, &matrix, (PAGE_W - QR_SIDE_MM) / 2.0, 60.0);
    text(
        &mut ops,
        20.0,
        40.0,
        9.0,
        BuiltinFont::Helvetica,
        "Show this code at the entrance. It admits one person once.",
    );
    text(
        &mut ops,
        20.0,
        34.0,
        8.0,
        BuiltinFont::Courier,
        &format!("Ticket {}", doc.ticket_id),
    );
    let page = PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops);
    let mut warnings = Vec::new();
    let bytes = PdfDocument::new(&printable(&format!("Ticket {}", doc.ticket_number)))
        .with_pages(vec![page])
        .save(&PdfSaveOptions::default(), &mut warnings);
    anyhow::ensure!(bytes.starts_with(b"%PDF"), "printpdf produced no PDF");
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_renders_as_a_pdf() {
        let doc = TicketDocument {
            ticket_id: Uuid::new_v4(),
            event_name: "Concert à Lyon".into(),
            venue_name: "Hall".into(),
            venue_address: "1 Rue X, Lyon".into(),
            starts_at: Utc::now(),
            holder_name: "Zoë ☃".into(),
            ticket_number: "K7QM-3XPA-9ZR".into(),
            seat_index: 0,
            seats_in_booking: 2,
            qr_payload: "A".repeat(142),
            status: "valid".into(),
            seat: Some("Stalls, row C, seat 12".into()),
        };
        let bytes = render_ticket_pdf(&doc).expect("pdf");
        assert!(bytes.starts_with(b"%PDF"));
        assert!(bytes.len() < 200_000, "{} bytes", bytes.len());
    }
}
