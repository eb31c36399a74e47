//! Text as it enters the API: one rule, applied where text comes in rather than route by route.
//! No string in a JSON body (value or key) and no query parameter may hold a control character
//! (Unicode `Cc`: U+0000-U+001F, U+007F-U+009F). PostgreSQL refuses NUL outright, and the others
//! have no place in a person's text; fields that hold free, multi-line text
//! ([`MULTI_LINE_FIELDS`]) may hold tabs and line breaks. A refusal is a 422 naming the field.
//! Path parameters are ids (anything else is a 404) and the headers Evently reads are checked
//! against their own patterns.

use salvo::prelude::*;
use serde_json::Value;

use crate::error::ApiError;

/// Fields whose text may run over several lines: tabs, `\n` and `\r` are let through there.
pub const MULTI_LINE_FIELDS: [&str; 3] = ["description", "address", "password"];

const SINGLE_LINE: &str = "must not contain control characters";
const MULTI_LINE: &str = "must not contain control characters other than tabs and line breaks";

/// Checks every string of a JSON body. Cheap for the common body: a control character can only be
/// written as an escape (`\u0000`, `\n`) or as DEL or a C1 character (`0x7f`, `0xc2 0x80-0x9f` in
/// UTF-8), so a body with no backslash, no `0x7f` and no `0xc2` byte is let through unparsed.
/// Bytes that are not JSON are left to the parser that reads them.
pub fn check_json(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.iter().any(|&b| b == b'\\' || b == 0x7f || b == 0xc2) {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(());
    };
    match refused_in(&value, "", None) {
        Some((field, message)) => Err(ApiError::field(&field, message)),
        None => Ok(()),
    }
}

/// The first refused string in `value` (at `path`, a string under the key `key`): its field, as
/// serde names it (`keys.auth`, `lines[0].name`), and what is wrong.
fn refused_in(value: &Value, path: &str, key: Option<&str>) -> Option<(String, &'static str)> {
    let field = || {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(s) => {
            let multi_line = key.is_some_and(|k| MULTI_LINE_FIELDS.contains(&k));
            refused_char(s, multi_line).map(|message| (field(), message))
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| refused_in(item, &format!("{path}[{i}]"), key)),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if refused_char(k, false).is_some() {
                return Some((field(), SINGLE_LINE));
            }
            let inner = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            refused_in(v, &inner, Some(k))
        }),
        _ => None,
    }
}

/// What is wrong with `text`, if anything.
fn refused_char(text: &str, multi_line: bool) -> Option<&'static str> {
    text.chars()
        .find(|c| c.is_control() && !(multi_line && matches!(c, '\t' | '\n' | '\r')))
        .map(|_| if multi_line { MULTI_LINE } else { SINGLE_LINE })
}

/// Refuses a request whose query string holds a control character, naming the parameter. No
/// query parameter is multi-line text.
#[handler]
pub async fn check_query(
    req: &mut Request,
    depot: &mut Depot,
    res: &mut Response,
    ctrl: &mut FlowCtrl,
) {
    let refused = req.queries().iter_all().find_map(|(name, values)| {
        if refused_char(name, false).is_some() {
            Some("query".to_owned())
        } else {
            values
                .iter()
                .find_map(|v| refused_char(v, false))
                .map(|_| name.clone())
        }
    });
    if let Some(field) = refused {
        ApiError::field(&field, SINGLE_LINE)
            .write(req, depot, res)
            .await;
        ctrl.skip_rest();
    }
}

#[cfg(test)]
mod tests {
    use super::check_json;
    use crate::error::ApiError;

    fn refused(body: &str) -> Option<String> {
        match check_json(body.as_bytes()) {
            Ok(()) => None,
            Err(ApiError::Validation { errors }) => errors.keys().next().cloned(),
            Err(other) => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_control_character_anywhere_in_a_body_names_its_field() {
        assert_eq!(refused(r#"{"name": "Ada\u0000"}"#).as_deref(), Some("name"));
        assert_eq!(refused(r#"{"name": "a\u001bb"}"#).as_deref(), Some("name"));
        assert_eq!(refused("{\"name\": \"a\u{7f}b\"}").as_deref(), Some("name"));
        assert_eq!(refused("{\"name\": \"a\u{85}b\"}").as_deref(), Some("name"));
        assert_eq!(refused(r#"{"name": "a\u0085b"}"#).as_deref(), Some("name"));
        assert_eq!(
            refused(r#"{"name": "two\nlines"}"#).as_deref(),
            Some("name")
        );
        assert_eq!(
            refused(r#"{"keys": {"auth": "x\u0000"}}"#).as_deref(),
            Some("keys.auth")
        );
        assert_eq!(
            refused(r#"{"lines": [{"name": "ok"}, {"name": "\u0000"}]}"#).as_deref(),
            Some("lines[1].name")
        );
        assert_eq!(refused(r#"{"a\u0000": 1}"#).as_deref(), Some("body"));
        assert_eq!(refused(r#""\u0000""#).as_deref(), Some("body"));
        assert_eq!(
            refused(r#"{"description": "a\u0000"}"#).as_deref(),
            Some("description")
        );
    }

    #[test]
    fn multi_line_fields_keep_tabs_and_line_breaks_and_other_text_passes() {
        assert_eq!(
            refused(r#"{"description": "Doors 7pm.\r\n\tBring ID."}"#),
            None
        );
        assert_eq!(refused(r#"{"address": "1 Quay St\nDublin"}"#), None);
        assert_eq!(refused(r#"{"name": "Zoë \"Z\" O'Brien ⚡ 東京 \/"}"#), None);
        assert_eq!(refused(r#"{"quantity": 2}"#), None);
        assert_eq!(refused("not json \\u0000"), None);
    }
}
