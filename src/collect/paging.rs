//! Pages: which page a call asks for, and whether another follows.
//!
//! A probe either declares its `pagination` in the manifest (page numbers with a total, or a token read
//! from the answer), or leaves it to the provider's client, which hands over the next token it read
//! ([`super::RawAnswer::next_token`], e.g. from an SDK's typed output). Either way the page asked for
//! is a request parameter, so it is recorded with the call.

use crate::jsonpath::{scalar_string, Query};
use crate::probes::{PageStyle, ProbeSpec};
use serde_json::{Map, Value};

/// Which page a call asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cursor {
    /// The first call of a token-paged (or unpaged) probe: no page parameter.
    First,
    /// A page number (page-style pagination names every page, the first too).
    Page(u64),
    /// A continuation token.
    Token(String),
}

impl Cursor {
    /// Where a probe's calls start.
    pub fn first(spec: &ProbeSpec) -> Self {
        match &spec.pagination {
            Some(p) if p.style == PageStyle::Page => Cursor::Page(1),
            _ => Cursor::First,
        }
    }

    /// Adds the page parameter to a call's parameters.
    pub fn apply(&self, spec: &ProbeSpec, params: &mut Map<String, Value>) {
        match self {
            Cursor::First => {}
            Cursor::Page(n) => {
                let name = spec
                    .pagination
                    .as_ref()
                    .map_or("PageNumber", |p| p.page_param());
                params.insert(name.to_string(), Value::from(*n));
            }
            Cursor::Token(t) => {
                params.insert(token_param(spec).to_string(), Value::String(t.clone()));
            }
        }
    }

    fn token(&self) -> Option<&str> {
        match self {
            Cursor::Token(t) => Some(t),
            _ => None,
        }
    }
}

/// The request parameter carrying a probe's continuation token.
pub fn token_param(spec: &ProbeSpec) -> &str {
    match &spec.pagination {
        Some(p) => p.token_param(),
        None => &spec.page_token,
    }
}

/// The page after `cursor`, if any. `next_token` is the provider's reading of the answer; `doc` the
/// answer's document (needed when the manifest declares the pagination); `seen` counts the items of
/// page-style probes that say where their items are.
pub fn next(
    spec: &ProbeSpec,
    next_token: Option<&str>,
    doc: Option<&Value>,
    cursor: &Cursor,
    seen: &mut u64,
) -> Option<Cursor> {
    let token = match &spec.pagination {
        None => next_token.filter(|t| !t.is_empty())?.to_string(),
        Some(p) => {
            let doc = doc?;
            let first = |path: &str| {
                Query::compile(path)
                    .ok()?
                    .first(doc)
                    .and_then(|(v, _)| scalar_string(v))
            };
            match p.style {
                PageStyle::Page => {
                    let Cursor::Page(page_no) = cursor else {
                        return None;
                    };
                    let total: f64 = first(p.total_path())?.parse().ok()?;
                    if let Some(items) = &p.items {
                        let n = Query::compile(items).ok()?.select(doc).len() as u64;
                        *seen += n;
                        return (n > 0 && (*seen as f64) < total)
                            .then_some(Cursor::Page(page_no + 1));
                    }
                    let size = spec.parameters.get(p.size_param()).and_then(|v| {
                        v.as_integer()
                            .map(|i| i as f64)
                            .or_else(|| v.as_str()?.parse().ok())
                    })?;
                    return (size > 0.0 && (*page_no as f64) * size < total)
                        .then_some(Cursor::Page(page_no + 1));
                }
                PageStyle::Token => {
                    let next = first(p.next_path()).filter(|t| !t.is_empty())?;
                    if let Some(flag) = &p.truncated {
                        if !first(flag).is_some_and(|f| f.eq_ignore_ascii_case("true")) {
                            return None;
                        }
                    }
                    next
                }
            }
        }
    };
    // A service repeating the token it was given would loop forever.
    (Some(token.as_str()) != cursor.token()).then_some(Cursor::Token(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pagination: &str, params: &str) -> ProbeSpec {
        let text = format!(
            "provider = \"t\"\nservice = \"s\"\n[[probe]]\nid = \"t.s.x\"\noperation = \"ListX\"\nscope = \"regional\"\niam_action = \"s:ListX\"\ndescription = \"d\"\nparameters = {params}\n{pagination}\n"
        );
        let files = [crate::embedded::SourceFile {
            display: "probes/t/s.toml".into(),
            rel: "t/s.toml".into(),
            text,
        }];
        crate::probes::ProbeCatalog::from_files(&files)
            .unwrap()
            .probes["t.s.x"]
            .clone()
    }

    #[test]
    fn page_numbers_until_every_item_arrived() {
        let s = spec(
            "pagination = { style = \"page\", items = \"$.Items[*]\" }",
            "{ PageSize = 2 }",
        );
        let mut seen = 0;
        let c = Cursor::first(&s);
        assert_eq!(c, Cursor::Page(1));
        let page = serde_json::json!({"TotalCount": 3, "Items": [1, 2]});
        let c2 = next(&s, None, Some(&page), &c, &mut seen).unwrap();
        assert_eq!(c2, Cursor::Page(2));
        let last = serde_json::json!({"TotalCount": 3, "Items": [3]});
        assert_eq!(next(&s, None, Some(&last), &c2, &mut seen), None);
        let mut params = Map::new();
        c2.apply(&s, &mut params);
        assert_eq!(params["PageNumber"], 2);
    }

    #[test]
    fn tokens_from_the_answer_or_the_provider_and_never_the_same_twice() {
        let s = spec(
            "pagination = { style = \"token\", token = \"Marker\", next = \"$.Marker\", truncated = \"$.IsTruncated\" }",
            "{}",
        );
        let mut seen = 0;
        let doc = serde_json::json!({"Marker": "m2", "IsTruncated": true});
        let c = next(&s, None, Some(&doc), &Cursor::First, &mut seen).unwrap();
        assert_eq!(c, Cursor::Token("m2".into()));
        assert_eq!(next(&s, None, Some(&doc), &c, &mut seen), None, "repeated");
        let done = serde_json::json!({"Marker": "m3", "IsTruncated": false});
        assert_eq!(next(&s, None, Some(&done), &c, &mut seen), None);
        let mut params = Map::new();
        c.apply(&s, &mut params);
        assert_eq!(params["Marker"], "m2");
        // Without `pagination`, the provider's token, under the manifest's `page_token`.
        let plain = spec("page_token = \"NextToken\"", "{}");
        let c = next(&plain, Some("t1"), None, &Cursor::First, &mut seen).unwrap();
        assert_eq!(c, Cursor::Token("t1".into()));
        assert_eq!(next(&plain, Some(""), None, &c, &mut seen), None);
        assert_eq!(next(&plain, Some("t1"), None, &c, &mut seen), None);
    }
}
