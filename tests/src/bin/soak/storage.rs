//! What the soak's bookings cost in storage: at every wave's start the bytes of Evently's
//! PostgreSQL database (`pg_database_size`) and of its JetStream streams, with the confirmed and
//! rejected answers so far. With `--reject-waves` every other wave sells (twice the confirmed
//! share) and the next one only refuses (its event has one seat), so each wave's growth
//! separates into bytes per sold booking and per rejected request: a least-squares fit of
//! `growth = a × sold + b × rejected` over the waves of the first third of the run
//! and of the last third. Flat means the last third's figures are at most 25% (or 200 bytes)
//! above the first third's: no cost grows with what is already stored.

use evently_schemas::Prefix;

/// The storage at one wave's start.
#[derive(Debug, Clone, Copy)]
pub struct Point {
    pub at: f64,
    pub confirmed: u64,
    pub rejected: u64,
    pub pg_bytes: f64,
    pub js_bytes: f64,
}

pub async fn sample(
    pool: &sqlx::PgPool,
    js: &async_nats::jetstream::Context,
    prefix: &Prefix,
    at: f64,
    confirmed: u64,
    rejected: u64,
) -> anyhow::Result<Point> {
    let pg: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(pool)
        .await?;
    let streams = evently_consumers::status::read(js, prefix).await?;
    Ok(Point {
        at,
        confirmed,
        rejected,
        pg_bytes: pg as f64,
        js_bytes: streams.iter().map(|s| s.bytes as f64).sum(),
    })
}

/// Bytes per sold booking and per rejected request.
#[derive(Debug, Clone, Copy, Default)]
struct Fit {
    per_sold: f64,
    per_rejected: f64,
}

/// Least squares of `growth = a × sold + b × rejected` over the waves between consecutive
/// points. (A wave's requests are its rate times its length, so a term for time would be the
/// sum of the two: what grows with time alone is counted in them.)
fn fit(points: &[Point], bytes: impl Fn(&Point) -> f64) -> Option<Fit> {
    let (mut s11, mut s12, mut s22, mut s1y, mut s2y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for w in points.windows(2) {
        let x1 = (w[1].confirmed - w[0].confirmed) as f64;
        let x2 = (w[1].rejected - w[0].rejected) as f64;
        let y = bytes(&w[1]) - bytes(&w[0]);
        s11 += x1 * x1;
        s12 += x1 * x2;
        s22 += x2 * x2;
        s1y += x1 * y;
        s2y += x2 * y;
    }
    let det = s11 * s22 - s12 * s12;
    if points.len() < 3 || det.abs() <= 1e-6 * s11 * s22 {
        return None;
    }
    Some(Fit {
        per_sold: (s1y * s22 - s2y * s12) / det,
        per_rejected: (s2y * s11 - s1y * s12) / det,
    })
}

/// Prints the figures of the first and last thirds; returns whether they are flat.
pub fn report(points: &[Point]) -> bool {
    println!();
    println!(
        "storage per booking (least squares over the waves: growth = a x sold + b x rejected)"
    );
    let Some(last) = points.last() else {
        println!("  no samples");
        return true;
    };
    let first = points[0];
    println!(
        "  over {:.0} s: PostgreSQL {:.1} MiB -> {:.1} MiB, JetStream {:.1} MiB -> {:.1} MiB, {} sold, {} rejected",
        last.at - first.at,
        first.pg_bytes / 1048576.0,
        last.pg_bytes / 1048576.0,
        first.js_bytes / 1048576.0,
        last.js_bytes / 1048576.0,
        last.confirmed - first.confirmed,
        last.rejected - first.rejected
    );
    let third = points.len() / 3;
    if third < 4 {
        println!("  too few waves to compare thirds (run longer or with shorter --wave-secs)");
        return true;
    }
    let mut flat = true;
    for (name, bytes) in [
        ("PostgreSQL", (|p: &Point| p.pg_bytes) as fn(&Point) -> f64),
        ("JetStream", |p: &Point| p.js_bytes),
    ] {
        let (Some(early), Some(late), Some(all)) = (
            fit(&points[..=third], bytes),
            fit(&points[points.len() - 1 - third..], bytes),
            fit(points, bytes),
        ) else {
            println!(
                "  {name:<11} the waves do not separate sold from rejected (use --reject-waves)"
            );
            continue;
        };
        // Flat: the last third costs no more than the first (which also pays for new tables'
        // and indexes' first pages, so it may cost more).
        let flat_from = |a: f64, b: f64| b <= a + (0.25 * a.abs()).max(200.0);
        let ok = flat_from(early.per_sold, late.per_sold)
            && flat_from(early.per_rejected, late.per_rejected);
        flat &= ok;
        println!(
            "  {name:<11} per sold booking {:>7.0} B (first third {:>7.0}, last third {:>7.0})   per rejected request {:>6.0} B (first {:>6.0}, last {:>6.0})   {}",
            all.per_sold,
            early.per_sold,
            late.per_sold,
            all.per_rejected,
            early.per_rejected,
            late.per_rejected,
            if ok { "flat" } else { "GROWING" }
        );
    }
    flat
}
