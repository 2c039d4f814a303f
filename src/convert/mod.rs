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

mod xml;

pub use xml::{xml_to_json, ALWAYS_LIST_ELEMENTS, XML_CONVERSION};

use serde_json::Value;

/// Why a body could not be turned into a document.
#[derive(Debug, thiserror::Error)]
#[error("{kind} body could not be parsed: {message}")]
pub struct ConvertError {
    pub kind: &'static str,
    pub message: String,
}

/// Converts a raw body to the JSON document rules read.
pub fn to_document(media_type: &str, body: &[u8]) -> Result<Value, ConvertError> {
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
    // Some services label XML as octet-stream or omit the type; the first byte tells.
    if is_xml || (!mt.contains("json") && trimmed[0] == b'<') {
        return xml_to_json(body).map_err(|e| ConvertError {
            kind: "XML",
            message: e,
        });
    }
    serde_json::from_slice(body).map_err(|e| ConvertError {
        kind: "JSON",
        message: e.to_string(),
    })
}
