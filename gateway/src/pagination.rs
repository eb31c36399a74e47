//! Cursor pagination: `?limit=&cursor=` answering `{items, next_cursor}`. A cursor is the sort key
//! of the last item (`<unix micros>_<uuid>`), so pages stay stable while rows are inserted.

use chrono::{DateTime, Utc};
use salvo::Request;
use salvo::oapi::ToSchema;
use serde::Serialize;
use uuid::Uuid;

use crate::error::ApiError;

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema + 'static> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// `limit` (1-100, default 20) and the decoded `cursor` of a list request.
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<(DateTime<Utc>, Uuid)>,
}

impl PageRequest {
    pub fn from_request(req: &Request) -> Result<Self, ApiError> {
        let limit = match req.query::<String>("limit") {
            None => 20,
            Some(s) => s
                .parse::<i64>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| ApiError::field("limit", "must be an integer from 1 to 100"))?,
        };
        let after = match req.query::<String>("cursor") {
            None => None,
            Some(c) => Some(
                decode(&c)
                    .ok_or_else(|| ApiError::field("cursor", "is not a cursor this API issued"))?,
            ),
        };
        Ok(Self { limit, after })
    }

    /// Builds the page from `limit + 1` fetched rows.
    pub fn page<R, T: ToSchema + 'static>(
        &self,
        mut rows: Vec<R>,
        key: impl Fn(&R) -> (DateTime<Utc>, Uuid),
        map: impl Fn(R) -> T,
    ) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| {
                let (at, id) = key(r);
                encode(at, id)
            })
        } else {
            None
        };
        Page {
            items: rows.into_iter().map(map).collect(),
            next_cursor,
        }
    }
}

fn encode(at: DateTime<Utc>, id: Uuid) -> String {
    format!("{}_{}", at.timestamp_micros(), id.simple())
}

fn decode(cursor: &str) -> Option<(DateTime<Utc>, Uuid)> {
    let (micros, id) = cursor.split_once('_')?;
    let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
    Some((at, Uuid::parse_str(id).ok()?))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cursor_round_trips() {
        let at = chrono::DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("time");
        let id = uuid::Uuid::new_v4();
        assert_eq!(super::decode(&super::encode(at, id)), Some((at, id)));
        assert_eq!(super::decode("garbage"), None);
    }
}
