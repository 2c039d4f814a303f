//! The evidence a report links to: for each `sha256:` digest that `results.json` names, the manifest
//! records that produced it and, when the pack is at hand, its body pretty-printed for reading.
//!
//! Reports never trust a pack blindly. A pack is used only when the SHA-256 of its `manifest.json`
//! equals `scan.pack_digest` in the results, and each body is shown only when its bytes still hash to
//! the digest it is filed under; otherwise the report says why the body is missing. Bodies are
//! untrusted text: the renderers escape them, this module only reformats them.

use super::pretty::{cut_text, pretty_json_capped, pretty_xml_capped, CappedWriter};
use crate::catalog::Bilingual;
use crate::pack::closed::ClosedError;
use crate::pack::{EvidenceRecord, Pack};
use crate::results::Results;
use anyhow::Result;
use std::collections::BTreeMap;

pub use crate::limits::{MAX_BODY_CHARS, MAX_DOCUMENT_VIEW_BYTES, MAX_TOTAL_BODY_CHARS};

/// Whether the pack's bodies are available to the renderers.
#[derive(Debug, Clone, PartialEq)]
pub enum Availability {
    /// The pack was opened and its manifest digest matches the results.
    Pack,
    /// Rendering without bodies; the text says why (shown in the HTML report).
    Absent(Bilingual),
}

/// How a body is shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    /// Pretty-printed text. `syntax` is `json`, `xml` or `text`; `truncated` when cut at
    /// [`MAX_BODY_CHARS`]. `document` is the converted JSON document rules read, when it differs
    /// from the body (XML bodies), so JSONPath locations can be followed.
    Text {
        syntax: &'static str,
        pretty: String,
        truncated: bool,
        document: Option<String>,
    },
    /// The body is empty (e.g. a failed call without an error body).
    Empty,
    /// Not UTF-8 text.
    Binary { size: u64 },
    /// The blob's bytes no longer hash to its digest: the pack was altered.
    Altered { actual: String },
    /// The blob could not be read, or there is no pack.
    Unavailable,
    /// Not embedded: the report's budget for body text ([`MAX_TOTAL_BODY_CHARS`]) was used up.
    OverBudget { size: u64 },
    /// Not read: the blob is larger than [`crate::limits::MAX_BODY_BYTES`].
    TooLarge { size: u64 },
}

/// One evidence blob and every record that produced it.
#[derive(Debug, Clone)]
pub struct Evidence {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Manifest records whose body has this digest (identical answers share one blob).
    pub records: Vec<EvidenceRecord>,
    pub body: Body,
}

impl Evidence {
    /// Hex part of the digest (used for anchors and file names).
    pub fn hex(&self) -> &str {
        self.digest.strip_prefix("sha256:").unwrap_or(&self.digest)
    }
}

/// The HTML anchor (and stable short name) of a digest: its hex, or the hex SHA-256 of the text when
/// it is not a well-formed `sha256:` digest (so it is always safe in an `id` attribute).
pub fn ev_anchor(digest: &str) -> String {
    crate::pack::parse_digest_ref(digest)
        .map(str::to_string)
        .unwrap_or_else(|| crate::pack::sha256_hex(digest.as_bytes()))
}

/// The evidence referenced by a results file, in manifest order.
#[derive(Debug, Clone)]
pub struct EvidenceSet {
    pub availability: Availability,
    items: Vec<Evidence>,
    by_digest: BTreeMap<String, usize>,
}

/// Every digest the results reference, in first-reference order.
fn referenced_digests(results: &Results) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for c in &results.controls {
        for r in &c.rules {
            for res in &r.resources {
                for d in &res.evidence {
                    if seen.insert(d.clone()) {
                        out.push(d.clone());
                    }
                }
            }
        }
    }
    out
}

impl EvidenceSet {
    /// Evidence without a pack: digests only. `why` is shown to the reader.
    pub fn without_pack(results: &Results, why: Bilingual) -> Self {
        let items = referenced_digests(results)
            .into_iter()
            .map(|digest| Evidence {
                digest,
                records: Vec::new(),
                body: Body::Unavailable,
            })
            .collect();
        Self::from_items(Availability::Absent(why), items)
    }

    /// Evidence from `pack`. When the pack is not the one the results were computed from, returns
    /// the digest-only set with the reason. Errs when a blob is refused (a link, or not a regular
    /// file inside the pack): a report never shows what such a pack points at.
    pub fn from_pack(pack: &Pack, results: &Results) -> Result<Self> {
        let digest = pack.digest();
        if digest != results.scan.pack_digest {
            let why = Bilingual {
                zh: format!(
                    "证据包摘要 {digest} 与结果中的 {} 不一致，未嵌入原始响应。",
                    results.scan.pack_digest
                ),
                en: format!(
                    "The pack's digest {digest} is not the {} the results were computed from; raw bodies are not included.",
                    results.scan.pack_digest
                ),
            };
            return Ok(Self::without_pack(results, why));
        }
        let wanted: std::collections::BTreeSet<String> =
            referenced_digests(results).into_iter().collect();
        let mut items: Vec<Evidence> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut budget = MAX_TOTAL_BODY_CHARS;
        for rec in &pack.manifest.records {
            if !wanted.contains(rec.sha256.as_str()) {
                continue;
            }
            if let Some(&i) = index.get(rec.sha256.as_str()) {
                items[i].records.push(rec.clone());
                continue;
            }
            index.insert(rec.sha256.to_string(), items.len());
            let body = if (rec.size as usize) > budget {
                Body::OverBudget { size: rec.size }
            } else {
                let body = read_body(pack, rec)?;
                if let Body::Text {
                    pretty, document, ..
                } = &body
                {
                    let used = pretty.len() + document.as_ref().map_or(0, String::len);
                    budget = budget.saturating_sub(used);
                }
                body
            };
            items.push(Evidence {
                digest: rec.sha256.to_string(),
                records: vec![rec.clone()],
                body,
            });
        }
        // A digest the results name but the manifest does not (should not happen) is still listed.
        for d in referenced_digests(results) {
            if !index.contains_key(&d) {
                index.insert(d.clone(), items.len());
                items.push(Evidence {
                    digest: d,
                    records: Vec::new(),
                    body: Body::Unavailable,
                });
            }
        }
        Ok(Self::from_items(Availability::Pack, items))
    }

    fn from_items(availability: Availability, items: Vec<Evidence>) -> Self {
        let by_digest = items
            .iter()
            .enumerate()
            .map(|(i, e)| (e.digest.clone(), i))
            .collect();
        Self {
            availability,
            items,
            by_digest,
        }
    }

    /// All evidence, in manifest order.
    pub fn iter(&self) -> impl Iterator<Item = &Evidence> {
        self.items.iter()
    }

    /// Number of distinct evidence blobs.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when the results name no evidence at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The evidence with this digest.
    pub fn get(&self, digest: &str) -> Option<&Evidence> {
        self.by_digest.get(digest).map(|&i| &self.items[i])
    }

    /// The records behind a digest (empty without a pack).
    pub fn records(&self, digest: &str) -> &[EvidenceRecord] {
        self.get(digest)
            .map(|e| e.records.as_slice())
            .unwrap_or(&[])
    }
}

/// A body as shown: read (within its size limit), checked against its digest, and re-indented up to
/// [`MAX_BODY_CHARS`]. A missing blob is `Unavailable`; a refused one (a link, not a regular file
/// inside the pack) is an error.
fn read_body(pack: &Pack, rec: &EvidenceRecord) -> Result<Body> {
    let bytes = match pack.body(rec) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(over)) => return Ok(Body::TooLarge { size: over.size }),
        Err(e)
            if e.downcast_ref::<ClosedError>()
                .is_none_or(ClosedError::is_not_found) =>
        {
            return Ok(Body::Unavailable)
        }
        Err(e) => return Err(e),
    };
    let actual = crate::pack::Digest::of(&bytes);
    if actual != rec.sha256 {
        return Ok(Body::Altered {
            actual: actual.to_string(),
        });
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Body::Empty);
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Ok(Body::Binary {
            size: bytes.len() as u64,
        });
    };
    let trimmed = text.trim_start();
    let ((pretty, truncated), syntax) = if trimmed.starts_with('<') {
        let pretty = pretty_xml_capped(text, MAX_BODY_CHARS)
            .unwrap_or_else(|| cut_text(text, MAX_BODY_CHARS));
        (pretty, "xml")
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        (pretty_json_capped(text, MAX_BODY_CHARS), "json")
    } else {
        (cut_text(text, MAX_BODY_CHARS), "text")
    };
    let document = (syntax == "xml")
        .then(|| document_view(rec, &bytes))
        .flatten();
    Ok(Body::Text {
        syntax,
        pretty,
        truncated,
        document,
    })
}

/// The converted document of an XML body, pretty-printed and cut at [`MAX_BODY_CHARS`]: only for
/// bodies up to [`MAX_DOCUMENT_VIEW_BYTES`] (converting builds the whole document), and written
/// through a capped writer, so the cut happens while it is written.
fn document_view(rec: &EvidenceRecord, bytes: &[u8]) -> Option<String> {
    if bytes.len() > MAX_DOCUMENT_VIEW_BYTES {
        return None;
    }
    let doc = crate::convert::to_document(&rec.media_type, bytes).ok()?;
    // Four bytes per character at most: enough bytes for MAX_BODY_CHARS characters.
    let mut w = CappedWriter::new(MAX_BODY_CHARS * 4);
    let _ = serde_json::to_writer_pretty(&mut w, &doc);
    Some(cut_text(&String::from_utf8_lossy(&w.buf), MAX_BODY_CHARS).0)
}

/// Re-indents JSON text (see [`pretty_json_capped`]), up to [`MAX_BODY_CHARS`].
pub fn pretty_json(text: &str) -> String {
    pretty_json_capped(text, MAX_BODY_CHARS).0
}

/// Re-indents XML text (see [`pretty_xml_capped`]), up to [`MAX_BODY_CHARS`]; None when it does not
/// parse.
pub fn pretty_xml(text: &str) -> Option<String> {
    pretty_xml_capped(text, MAX_BODY_CHARS).map(|(s, _)| s)
}
