//! The evidence a report links to: for each `sha256:` digest that `results.json` names, the manifest
//! records that produced it and, when the pack is at hand, its body pretty-printed for reading.
//!
//! Reports never trust a pack blindly. A pack is used only when the SHA-256 of its `manifest.json`
//! equals `scan.pack_digest` in the results, and each body is shown only when its bytes still hash to
//! the digest it is filed under; otherwise the report says why the body is missing. Bodies are
//! untrusted text: the renderers escape them, this module only reformats them.

use crate::catalog::Bilingual;
use crate::pack::{EvidenceRecord, Pack};
use crate::results::Results;
use std::collections::BTreeMap;

/// Longest pretty-printed body (in characters) a report embeds; longer bodies are cut and marked.
pub const MAX_BODY_CHARS: usize = 200_000;
/// Most body text (in characters) one report embeds in all; once it is used up, later bodies (in
/// manifest order) are listed without their text, so a huge scan still gives a page a browser opens.
pub const MAX_TOTAL_BODY_CHARS: usize = 16_000_000;

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
    /// the digest-only set with the reason.
    pub fn from_pack(pack: &Pack, results: &Results) -> Self {
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
            return Self::without_pack(results, why);
        }
        let wanted: std::collections::BTreeSet<String> =
            referenced_digests(results).into_iter().collect();
        let mut items: Vec<Evidence> = Vec::new();
        let mut index: BTreeMap<String, usize> = BTreeMap::new();
        let mut budget = MAX_TOTAL_BODY_CHARS;
        for rec in &pack.manifest.records {
            if !wanted.contains(&rec.sha256) {
                continue;
            }
            if let Some(&i) = index.get(&rec.sha256) {
                items[i].records.push(rec.clone());
                continue;
            }
            index.insert(rec.sha256.clone(), items.len());
            let body = if (rec.size as usize) > budget {
                Body::OverBudget { size: rec.size }
            } else {
                let body = read_body(pack, rec);
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
                digest: rec.sha256.clone(),
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
        Self::from_items(Availability::Pack, items)
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

fn read_body(pack: &Pack, rec: &EvidenceRecord) -> Body {
    let Ok(bytes) = pack.blob_bytes(rec) else {
        return Body::Unavailable;
    };
    let actual = crate::pack::digest_ref(&crate::pack::sha256_hex(&bytes));
    if actual != rec.sha256 {
        return Body::Altered { actual };
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Body::Empty;
    }
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return Body::Binary {
            size: bytes.len() as u64,
        };
    };
    let trimmed = text.trim_start();
    let (syntax, pretty) = if trimmed.starts_with('<') {
        ("xml", pretty_xml(text).unwrap_or_else(|| text.to_string()))
    } else if trimmed.starts_with('{') || trimmed.starts_with('[') {
        ("json", pretty_json(text))
    } else {
        ("text", text.to_string())
    };
    let document = (syntax == "xml")
        .then(|| crate::convert::to_document(&rec.media_type, &bytes).ok())
        .flatten()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .map(|s| cut(s).0);
    let (pretty, truncated) = cut(pretty);
    Body::Text {
        syntax,
        pretty,
        truncated,
        document,
    }
}

/// Cuts `s` to [`MAX_BODY_CHARS`] characters.
fn cut(s: String) -> (String, bool) {
    match s.char_indices().nth(MAX_BODY_CHARS) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s, false),
    }
}

/// Re-indents JSON text token by token, so key order and number spelling stay exactly as received
/// (parsing and re-serializing would sort keys and normalize numbers). Invalid JSON is re-indented
/// as far as it goes; nothing is dropped.
pub fn pretty_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut depth: usize = 0;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', depth * 2));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Keep empty containers on one line.
                while chars.peek().is_some_and(|n| n.is_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    out.push(chars.next().unwrap_or(' '));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// Re-indents XML with two spaces per level. Tags, attributes and text are written back exactly as
/// they were (still escaped; entity references kept); an element holding only text stays on one line.
/// Whitespace between elements is dropped. Returns None when the XML does not parse.
pub fn pretty_xml(text: &str) -> Option<String> {
    use quick_xml::events::Event;
    let raw = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let mut reader = quick_xml::Reader::from_str(text);
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    let mut depth = 0usize;
    // Text (and references) since the last tag, and whether the last line is a start tag that the
    // text and the matching end tag may still join.
    let mut pending = String::new();
    let mut open_line = false;
    let line = |out: &mut String, depth: usize, s: &str| {
        if !out.is_empty() {
            out.push('\n');
        }
        out.extend(std::iter::repeat_n(' ', depth * 2));
        out.push_str(s);
    };
    // Mixed content: text before a child element gets its own line.
    let flush = |out: &mut String, pending: &mut String, depth: usize, open_line: &mut bool| {
        let t = pending.trim();
        if !t.is_empty() {
            line(out, depth, t);
        }
        pending.clear();
        *open_line = false;
    };
    loop {
        match reader.read_event().ok()? {
            Event::Eof => break,
            Event::Start(e) => {
                flush(&mut out, &mut pending, depth, &mut open_line);
                line(&mut out, depth, &format!("<{}>", raw(&e)));
                depth += 1;
                open_line = true;
            }
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                let end = format!("</{}>", raw(e.name().as_ref()));
                if open_line {
                    out.push_str(pending.trim());
                    out.push_str(&end);
                    pending.clear();
                } else {
                    flush(&mut out, &mut pending, depth + 1, &mut open_line);
                    line(&mut out, depth, &end);
                }
                open_line = false;
            }
            Event::Empty(e) => {
                flush(&mut out, &mut pending, depth, &mut open_line);
                line(&mut out, depth, &format!("<{}/>", raw(&e)));
            }
            Event::Text(t) => pending.push_str(&raw(&t)),
            Event::GeneralRef(r) => pending.push_str(&format!("&{};", raw(&r))),
            Event::CData(c) => pending.push_str(&format!("<![CDATA[{}]]>", raw(&c))),
            other => {
                flush(&mut out, &mut pending, depth, &mut open_line);
                let s = match other {
                    Event::Decl(d) => format!("<?{}?>", raw(&d)),
                    Event::PI(p) => format!("<?{}?>", raw(&p)),
                    Event::Comment(c) => format!("<!--{}-->", raw(&c)),
                    Event::DocType(d) => format!("<!DOCTYPE {}>", raw(&d)),
                    _ => String::new(),
                };
                line(&mut out, depth, &s);
            }
        }
    }
    flush(&mut out, &mut pending, depth, &mut open_line);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_keeps_key_order_and_numbers() {
        let s = pretty_json(r#"{"b":1.50,"a":[],"c":{"x":"a,\"b:{"},"d":[1,2]}"#);
        assert_eq!(
            s,
            "{\n  \"b\": 1.50,\n  \"a\": [],\n  \"c\": {\n    \"x\": \"a,\\\"b:{\"\n  },\n  \"d\": [\n    1,\n    2\n  ]\n}"
        );
    }

    #[test]
    fn xml_is_indented_and_text_kept_escaped() {
        let s = pretty_xml(
            "<?xml version=\"1.0\"?>\n<a>\n <b x=\"1\">x &lt;script&gt; &#65;</b><c/><d></d>\n<e>t<f/></e></a>",
        )
        .unwrap();
        assert_eq!(
            s,
            "<?xml version=\"1.0\"?>\n<a>\n  <b x=\"1\">x &lt;script&gt; &#65;</b>\n  <c/>\n  <d></d>\n  <e>\n    t\n    <f/>\n  </e>\n</a>"
        );
        assert!(pretty_xml("<a><b></a>").is_none());
    }
}
