//! From raw response bytes to the JSON document that rules read.
//!
//! There is exactly one conversion, chosen by the record's media type, and it depends on nothing but
//! the bytes: evaluating a pack later gives the same documents as the live scan did.
//!
//! * JSON bodies (`application/json`, `application/x-amz-json-*`, ...) are parsed as they are.
//!   An empty body is `{}`.
//! * XML bodies (`text/xml`, `application/xml`) go through [`xml_to_json`], whose rules are
//!   documented there (EC2's `<xxxSet><item>` lists, the query protocol's `<member>` lists and S3's
//!   flattened lists all become JSON arrays).
//! * CBOR bodies (`application/cbor`: the Smithy RPC v2 CBOR protocol, used by CloudWatch) are decoded
//!   value for value: maps become objects (non-text keys are written as their JSON text), byte strings
//!   become base64 strings, tagged values (timestamps are tag 1) become their untagged value, and
//!   floats that are whole numbers stay floats (`1.0`).
//!
//! Bodies are untrusted: every conversion is bounded by [`MAX_DOCUMENT_DEPTH`] (XML elements, JSON
//! and CBOR containers; `serde_json`'s own recursion limit stays on), and none recurses on the stack
//! in proportion to the input's depth beyond that bound. A body past a limit is a [`ConvertError`]
//! naming the limit, which makes it an `UnparsableResponse` of its probe.

mod from_toml;
mod json;
mod xml;

pub use from_toml::toml_to_json;

pub use xml::{xml_to_json, xml_to_json_watching, ALWAYS_LIST_ELEMENTS, XML_CONVERSION};

use crate::limits::MAX_DOCUMENT_DEPTH;
use serde_json::Value;

/// Shows the items of one list to a caller as each is converted: while it is still in the CPU's
/// caches (a page of 500 security groups converts to several megabytes; judged after the whole page
/// is converted, every group is read back from main memory), and so that a huge list need not be
/// held whole (a caller that has judged an item need not keep it).
pub struct ListWatch<'w> {
    /// Names of the members from the root down to the list: `["securityGroupInfo"]` for EC2's
    /// `<DescribeSecurityGroupsResponse><securityGroupInfo><item>` (the XML root element is dropped)
    /// and for `{"securityGroupInfo": [...]}`.
    pub path: &'w [&'w str],
    /// Called with each item of the list, converted, and its position in the list (for XML, among
    /// the wrapper's children); returns whether the item is kept in the document. One not kept is
    /// `null` there. Whether the finished document's list at `path` holds exactly the items shown, at
    /// those places, is for the caller to check (an XML wrapper with another child, or a repeated
    /// one, does not become that list; a JSON member named twice keeps its last value).
    pub on_item: &'w mut dyn FnMut(usize, &Value) -> bool,
}

/// Why a body could not be turned into a document.
#[derive(Debug, thiserror::Error)]
#[error("{kind} body could not be parsed: {message}")]
pub struct ConvertError {
    pub kind: &'static str,
    pub message: String,
}

impl ConvertError {
    /// A body too large to be read (see [`crate::limits::MAX_BODY_BYTES`]).
    pub fn over_limit(over: crate::pack::OverLimit) -> Self {
        ConvertError {
            kind: "oversized",
            message: over.to_string(),
        }
    }
}

/// Converts a raw body to the JSON document rules read.
pub fn to_document(media_type: &str, body: &[u8]) -> Result<Value, ConvertError> {
    to_document_watching(media_type, body, None)
}

/// As [`to_document`], showing `watch` the items of its list as they are converted (XML and JSON
/// bodies; CBOR bodies convert the same and show nothing).
pub fn to_document_watching(
    media_type: &str,
    body: &[u8],
    watch: Option<ListWatch<'_>>,
) -> Result<Value, ConvertError> {
    let mt = media_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_xml = mt.ends_with("/xml") || mt.ends_with("+xml");
    let trimmed = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &body[i..])
        .unwrap_or(&[]);
    if trimmed.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    if mt == "application/cbor" {
        return cbor_to_json(body).map_err(|e| ConvertError {
            kind: "CBOR",
            message: e,
        });
    }
    // Some services label XML as octet-stream or omit the type; the first byte tells.
    if is_xml || (!mt.contains("json") && trimmed[0] == b'<') {
        return xml_to_json_watching(body, watch).map_err(|e| ConvertError {
            kind: "XML",
            message: e,
        });
    }
    let parsed = match watch {
        Some(watch) => json::json_to_json_watching(body, watch),
        None => serde_json::from_slice(body),
    };
    parsed.map_err(|e| {
        let mut message = e.to_string();
        if message.starts_with("recursion limit exceeded") {
            message.push_str(&format!(
                " (documents nest at most {MAX_DOCUMENT_DEPTH} deep: MAX_DOCUMENT_DEPTH)"
            ));
        }
        ConvertError {
            kind: "JSON",
            message,
        }
    })
}

/// Decodes a CBOR body into JSON (see the module documentation for the mapping).
pub fn cbor_to_json(body: &[u8]) -> Result<Value, String> {
    use ciborium::value::Value as C;
    fn conv(v: C) -> Value {
        match v {
            C::Integer(i) => {
                let n: i128 = i.into();
                i64::try_from(n)
                    .map(Value::from)
                    .or_else(|_| u64::try_from(n).map(Value::from))
                    .unwrap_or_else(|_| Value::String(n.to_string()))
            }
            C::Float(f) => serde_json::Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            C::Bool(b) => Value::Bool(b),
            C::Null => Value::Null,
            C::Text(t) => Value::String(t),
            C::Bytes(b) => Value::String(base64(&b)),
            C::Tag(_, inner) => conv(*inner),
            C::Array(a) => Value::Array(a.into_iter().map(conv).collect()),
            C::Map(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let key = match k {
                            C::Text(t) => t,
                            other => conv(other).to_string(),
                        };
                        (key, conv(v))
                    })
                    .collect(),
            ),
            _ => Value::Null,
        }
    }
    let v: C =
        ciborium::de::from_reader_with_recursion_limit(body, MAX_DOCUMENT_DEPTH).map_err(|e| {
            match e {
                ciborium::de::Error::RecursionLimitExceeded => format!(
                    "nested deeper than {MAX_DOCUMENT_DEPTH} (the limit MAX_DOCUMENT_DEPTH)"
                ),
                e => e.to_string(),
            }
        })?;
    Ok(conv(v))
}

fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_maps_arrays_tags_and_bytes() {
        // {"MetricAlarms": [{"AlarmName": "a", "Threshold": 1.5, "At": 1(1700000000)}], "b": h'666f6f'}
        let mut buf = Vec::new();
        use ciborium::value::Value as C;
        let v = C::Map(vec![
            (
                C::Text("MetricAlarms".into()),
                C::Array(vec![C::Map(vec![
                    (C::Text("AlarmName".into()), C::Text("a".into())),
                    (C::Text("Threshold".into()), C::Float(1.5)),
                    (
                        C::Text("At".into()),
                        C::Tag(1, Box::new(C::Integer(1_700_000_000.into()))),
                    ),
                ])]),
            ),
            (C::Text("b".into()), C::Bytes(b"foo".to_vec())),
        ]);
        ciborium::ser::into_writer(&v, &mut buf).unwrap();
        let j = to_document("application/cbor", &buf).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"MetricAlarms":[{"AlarmName":"a","Threshold":1.5,"At":1700000000}],"b":"Zm9v"})
        );
        assert!(to_document("application/cbor", b"\xff\x00").is_err());
    }
}
