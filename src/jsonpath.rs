//! Compiled JSONPath queries and keys over JSON documents: what rules select and join on, and what
//! collectors read fan-out keys, home regions and page tokens with. Below both, it knows neither.

use jsonpath_rust::parser::model::JpQuery;
use serde_json::Value;
use std::fmt::Write as _;

/// A JSONPath compiled once, evaluated many times. `$` is the node it is applied to.
///
/// Paths made only of names, `[*]` and indexes (all that rules and probes use today) are walked
/// directly, and their locations are built only when asked for; anything else goes through
/// `jsonpath-rust`. Both give the same values, in the same order, with the same locations
/// (RFC 9535 normalized paths, as `jsonpath-rust` writes them).
#[derive(Debug, Clone)]
pub struct Query {
    src: String,
    jp: Option<JpQuery>,
    fast: Option<Vec<Seg>>,
    /// Names and indexes only: selects at most one value.
    single: bool,
    /// Names and indexes, then a final `[*]`: iterates one list.
    list: bool,
}

/// One segment of a simple path.
#[derive(Debug, Clone)]
enum Seg {
    Name(String),
    Wild,
    Index(i64),
}

/// Most segments a path may have for the direct walk.
const MAX_STEPS: usize = 6;

/// One step of a location: a name of the query, a member name of the document, or an array index.
#[derive(Debug, Clone, Copy)]
enum Step<'a> {
    Seg(u16),
    /// A `String` (not `str`) to keep a step two words wide.
    Key(&'a String),
    Index(usize),
}

/// Where a selected value is, relative to the node the query was applied to; turned into text
/// (`$['a'][0]`) only when needed, with [`Query::location`].
#[derive(Debug, Clone)]
pub struct Rel<'a>(RelInner<'a>);

#[derive(Debug, Clone)]
enum RelInner<'a> {
    Steps(u8, [Step<'a>; MAX_STEPS]),
    Text(String),
}

impl Query {
    /// The JSONPath text this query was compiled from.
    pub fn source(&self) -> &str {
        &self.src
    }

    /// Compiles `src`; the error says what is wrong with the path.
    pub fn compile(src: &str) -> Result<Self, String> {
        let src = src.trim();
        if !src.starts_with('$') {
            return Err(format!(
                "JSONPath `{src}` must start with `$` (the current node)"
            ));
        }
        if src == "$" {
            return Ok(Self::new(src, None, Some(Vec::new())));
        }
        let jp = jsonpath_rust::parser::parse_json_path(src)
            .map_err(|e| format!("invalid JSONPath `{src}`: {e}"))?;
        let fast = simple_segments(&jp);
        Ok(Self::new(src, Some(jp), fast))
    }

    fn new(src: &str, jp: Option<JpQuery>, fast: Option<Vec<Seg>>) -> Self {
        let wild = |s: &Seg| matches!(s, Seg::Wild);
        let single = fast.as_ref().is_some_and(|segs| !segs.iter().any(wild));
        let list = fast.as_ref().is_some_and(|segs| {
            segs.split_last()
                .is_some_and(|(last, prefix)| wild(last) && !prefix.iter().any(wild))
        });
        Self {
            src: src.to_string(),
            jp,
            fast,
            single,
            list,
        }
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// Every value the query selects under `v`, with its location relative to `v` (`$['a'][0]`).
    pub fn select<'a>(&self, v: &'a Value) -> Vec<(&'a Value, String)> {
        self.select_rel(v)
            .into_iter()
            .map(|(v, r)| (v, self.location("$", &r)))
            .collect()
    }

    /// Every value the query selects under `v`, in order, without locations.
    pub fn values<'a>(&self, v: &'a Value) -> Vec<&'a Value> {
        match &self.fast {
            Some(segs) => {
                let mut out = Vec::new();
                walk_values(segs, v, &mut out);
                out
            }
            None => self.select_slow(v).into_iter().map(|(v, _)| v).collect(),
        }
    }

    /// The first value the query selects under `v`, with its location.
    pub fn first<'a>(&self, v: &'a Value) -> Option<(&'a Value, Rel<'a>)> {
        // A simple path of names and indexes selects at most one value: no list needed.
        if let Some(segs) = self.fast.as_ref().filter(|_| self.single) {
            return walk_single(segs, v);
        }
        self.select_rel(v).into_iter().next()
    }

    /// Every value the query selects under `v`, with its location (as a [`Rel`]).
    pub fn select_rel<'a>(&self, v: &'a Value) -> Vec<(&'a Value, Rel<'a>)> {
        let mut out = Vec::new();
        self.for_each_rel(v, |v, r| out.push((v, r)));
        out
    }

    /// Calls `f` with every value the query selects under `v`, in order, with its location.
    pub fn for_each_rel<'a>(&self, v: &'a Value, mut f: impl FnMut(&'a Value, Rel<'a>)) {
        self.try_for_each_rel(v, |v, r| {
            f(v, r);
            true
        });
    }

    /// As [`Query::for_each_rel`], until `f` returns false.
    pub fn try_for_each_rel<'a>(
        &self,
        v: &'a Value,
        mut f: impl FnMut(&'a Value, Rel<'a>) -> bool,
    ) {
        match &self.fast {
            Some(segs) => {
                walk(segs, 0, v, &mut [Step::Index(0); MAX_STEPS], &mut f);
            }
            None => {
                for (v, l) in self.select_slow(v) {
                    if !f(v, Rel(RelInner::Text(l))) {
                        return;
                    }
                }
            }
        }
    }

    /// Whether the query iterates one list: names and indexes, then a final `[*]` (see [`Query::list`]).
    pub fn is_list(&self) -> bool {
        self.list
    }

    /// Whether the query selects at most one value (names and indexes only).
    pub fn is_single(&self) -> bool {
        self.single
    }

    fn select_slow<'a>(&self, v: &'a Value) -> Vec<(&'a Value, String)> {
        match &self.jp {
            None => vec![(v, "$".to_string())],
            Some(jp) => match jsonpath_rust::query::js_path_process(jp, v) {
                Ok(refs) => refs.into_iter().map(|r| (r.val, r.path)).collect(),
                Err(_) => Vec::new(),
            },
        }
    }

    /// `base` followed by `rel` (a location this query produced): `sha256:…#$['a']` + `[0]`.
    pub fn location(&self, base: &str, rel: &Rel<'_>) -> String {
        let mut out = String::with_capacity(base.len() + 32);
        out.push_str(base);
        self.push_rel(&mut out, rel);
        out
    }

    /// The list this query iterates, when it is one: for `$.a.b[*]` (names and indexes, then a final
    /// `[*]`), where `$.a.b` is under `v`, if it is there. A quantifier that passes over such a list
    /// cites the list rather than each of its items.
    pub fn list<'a>(&self, v: &'a Value) -> Option<Rel<'a>> {
        self.list_at(v).map(|(_, rel)| rel)
    }

    /// The list this query iterates under `v` (see [`Query::list`]), with its location.
    pub fn list_at<'a>(&self, v: &'a Value) -> Option<(&'a Value, Rel<'a>)> {
        if !self.list {
            return None;
        }
        let (_, prefix) = self.fast.as_ref()?.split_last()?;
        walk_single(prefix, v)
    }

    /// For a query of names then a final `[*]` (`$.a.b[*]`), the names (`["a", "b"]`).
    pub fn list_names(&self) -> Option<Vec<&str>> {
        if !self.list {
            return None;
        }
        let (_, prefix) = self.fast.as_ref()?.split_last()?;
        prefix
            .iter()
            .map(|s| match s {
                Seg::Name(n) => Some(n.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Where item `at` of the list a [`Query::list_names`] query iterates is, as the query itself
    /// would give it.
    pub fn list_item(&self, at: usize) -> Rel<'static> {
        let n = self.fast.as_ref().map_or(0, Vec::len);
        let mut rel = [Step::Index(0); MAX_STEPS];
        for (i, step) in rel.iter_mut().enumerate().take(n.saturating_sub(1)) {
            *step = Step::Seg(i as u16);
        }
        if n > 0 {
            rel[n - 1] = Step::Index(at);
        }
        Rel(RelInner::Steps(n as u8, rel))
    }

    /// Appends `rel` (a location this query produced, relative to where it was applied) to `out`.
    pub fn push_rel(&self, out: &mut String, rel: &Rel<'_>) {
        match &rel.0 {
            RelInner::Text(t) => out.push_str(t.strip_prefix('$').unwrap_or(t)),
            RelInner::Steps(n, steps) => {
                for step in &steps[..*n as usize] {
                    match step {
                        Step::Seg(i) => {
                            match &self.fast.as_ref().expect("steps come from the direct walk")
                                [*i as usize]
                            {
                                Seg::Name(name) => push_name(out, name),
                                _ => unreachable!("a Seg step is a name"),
                            }
                        }
                        Step::Key(k) => push_name(out, k),
                        Step::Index(i) => {
                            let _ = write!(out, "[{i}]");
                        }
                    }
                }
            }
        }
    }
}

/// The segments of a path made only of single names, wildcards and indexes.
fn simple_segments(jp: &JpQuery) -> Option<Vec<Seg>> {
    use jsonpath_rust::parser::model::{Segment, Selector};
    if jp.segments.len() > MAX_STEPS {
        return None;
    }
    jp.segments
        .iter()
        .map(|s| {
            let sel = match s {
                Segment::Selector(sel) => sel,
                Segment::Selectors(v) if v.len() == 1 => &v[0],
                _ => return None,
            };
            match sel {
                Selector::Name(n) => Some(Seg::Name(n.clone())),
                Selector::Wildcard => Some(Seg::Wild),
                Selector::Index(i) => Some(Seg::Index(*i)),
                _ => None,
            }
        })
        .collect()
}

/// An index selector on an array (negative counts from the end), as `jsonpath-rust` applies it.
fn index(a: &[Value], ix: i64) -> Option<(&Value, usize)> {
    let at = if ix >= 0 {
        usize::try_from(ix).ok()?
    } else {
        a.len()
            .checked_sub(usize::try_from(ix.unsigned_abs()).ok()?)?
    };
    a.get(at).map(|e| (e, at))
}

/// `v[name]`, when `v` is an object. Names are compared by length first: the keys of a small object
/// sit side by side, their text elsewhere on the heap, so only a likely match has its text read (a
/// B-tree search compares the text of every key it passes).
#[inline]
fn member<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    let o = v.as_object()?;
    if o.len() > 16 {
        return o.get(name);
    }
    o.iter()
        .find(|(k, _)| same(k.as_bytes(), name.as_bytes()))
        .map(|(_, v)| v)
}

/// `a == b`, inline for the short names documents use (a call to `memcmp` costs more than the
/// comparison).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| u64::from_le_bytes(s[at..at + 8].try_into().expect("8 bytes"));
    match n {
        0..8 => a.iter().zip(b).all(|(x, y)| x == y),
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        _ => a == b,
    }
}

/// Walks `segs` (names and indexes, no wildcard) under `v`: the one value they reach, with its location.
fn walk_single<'a>(segs: &[Seg], v: &'a Value) -> Option<(&'a Value, Rel<'a>)> {
    let mut rel = [Step::Index(0); MAX_STEPS];
    let mut cur = v;
    for (i, seg) in segs.iter().enumerate() {
        let (next, step) = match seg {
            Seg::Name(n) => (member(cur, n)?, Step::Seg(i as u16)),
            Seg::Index(ix) => {
                let (e, at) = index(cur.as_array()?, *ix)?;
                (e, Step::Index(at))
            }
            Seg::Wild => unreachable!("callers pass segments without wildcards"),
        };
        rel[i] = step;
        cur = next;
    }
    Some((cur, Rel(RelInner::Steps(segs.len() as u8, rel))))
}

/// Walks `segs` from `depth` under `v`, calling `out` with each value reached until it returns false;
/// returns false when it did.
fn walk<'a>(
    segs: &[Seg],
    depth: usize,
    v: &'a Value,
    rel: &mut [Step<'a>; MAX_STEPS],
    out: &mut impl FnMut(&'a Value, Rel<'a>) -> bool,
) -> bool {
    let Some(seg) = segs.get(depth) else {
        return out(v, Rel(RelInner::Steps(depth as u8, *rel)));
    };
    match seg {
        Seg::Name(n) => match member(v, n) {
            Some(c) => {
                rel[depth] = Step::Seg(depth as u16);
                walk(segs, depth + 1, c, rel, out)
            }
            None => true,
        },
        Seg::Index(ix) => match v.as_array().and_then(|a| index(a, *ix)) {
            Some((c, at)) => {
                rel[depth] = Step::Index(at);
                walk(segs, depth + 1, c, rel, out)
            }
            None => true,
        },
        Seg::Wild => match v {
            Value::Array(a) => a.iter().enumerate().all(|(i, c)| {
                rel[depth] = Step::Index(i);
                walk(segs, depth + 1, c, rel, out)
            }),
            Value::Object(o) => o.iter().all(|(k, c)| {
                rel[depth] = Step::Key(k);
                walk(segs, depth + 1, c, rel, out)
            }),
            _ => true,
        },
    }
}

fn walk_values<'a>(segs: &[Seg], v: &'a Value, out: &mut Vec<&'a Value>) {
    let Some((seg, rest)) = segs.split_first() else {
        out.push(v);
        return;
    };
    match seg {
        Seg::Name(n) => {
            if let Some(c) = member(v, n) {
                walk_values(rest, c, out);
            }
        }
        Seg::Index(ix) => {
            if let Some((c, _)) = v.as_array().and_then(|a| index(a, *ix)) {
                walk_values(rest, c, out);
            }
        }
        Seg::Wild => match v {
            Value::Array(a) => a.iter().for_each(|c| walk_values(rest, c, out)),
            Value::Object(o) => o.values().for_each(|c| walk_values(rest, c, out)),
            _ => {}
        },
    }
}

/// `['name']` as a normalized path writes it (RFC 9535 2.7, as `jsonpath-rust` does): single quotes,
/// only `'`, `\` and the C0 controls escaped.
fn push_name(out: &mut String, name: &str) {
    out.push_str("['");
    for ch in name.chars() {
        match ch {
            '\u{0008}' => out.push_str("\\b"),
            '\u{000C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if c < '\u{0020}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push_str("']");
}

/// Joins a relative location (`$['x'][1]`) onto an absolute one.
pub fn join_location(base: &str, rel: &str) -> String {
    match rel.strip_prefix('$') {
        Some(rest) => format!("{base}{rest}"),
        None => format!("{base}{rel}"),
    }
}

/// A key used to identify resources and to match joins.
#[derive(Debug, Clone)]
pub enum KeyExpr {
    /// A JSONPath relative to the item.
    Path(Query),
    /// A request parameter of the record the item came from (`param.DetectorId`).
    Param(String),
    /// The record's region.
    Region,
    /// The record's account.
    Account,
    /// A JSONPath relative to the resource being judged (`resource.$.groupId`), usable deep inside
    /// quantifiers and joins, e.g. to spot a security group rule that references its own group.
    Resource(Query),
}

/// What a key is evaluated against besides the item itself.
#[derive(Debug, Clone, Copy)]
pub struct KeyContext<'a> {
    /// Request parameters of the record the item came from.
    pub params: &'a crate::pack::Params,
    pub region: &'a str,
    pub account: &'a str,
    /// The resource a rule is judging, when there is one.
    pub resource: Option<&'a Value>,
}

impl KeyExpr {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(name) = s.strip_prefix("param.") {
            if name.is_empty() {
                return Err("`param.` needs a parameter name, e.g. `param.DetectorId`".into());
            }
            return Ok(KeyExpr::Param(name.to_string()));
        }
        if let Some(path) = s.strip_prefix("resource.") {
            return Ok(KeyExpr::Resource(Query::compile(path)?));
        }
        match s {
            "region" => Ok(KeyExpr::Region),
            "account" => Ok(KeyExpr::Account),
            _ if s.starts_with('$') => Ok(KeyExpr::Path(Query::compile(s)?)),
            _ => Err(format!(
                "key `{s}` must be a JSONPath (`$.x`), `resource.$.x`, `param.NAME`, `region` or `account`"
            )),
        }
    }

    /// The key's first value for `item`.
    pub fn first(&self, item: &Value, ctx: &KeyContext<'_>) -> Option<String> {
        match self {
            KeyExpr::Path(q) if q.is_single() => q.first(item).and_then(|(v, _)| scalar_string(v)),
            _ => self.values(item, ctx).into_iter().next(),
        }
    }

    /// The key's values for `item`.
    pub fn values(&self, item: &Value, ctx: &KeyContext<'_>) -> Vec<String> {
        let scalars = |q: &Query, v: &Value| -> Vec<String> {
            q.values(v).into_iter().filter_map(scalar_string).collect()
        };
        match self {
            KeyExpr::Path(q) => scalars(q, item),
            KeyExpr::Resource(q) => ctx.resource.map(|r| scalars(q, r)).unwrap_or_default(),
            KeyExpr::Param(name) => ctx
                .params
                .get(name)
                .as_ref()
                .and_then(scalar_string)
                .into_iter()
                .collect(),
            KeyExpr::Region => vec![ctx.region.to_string()],
            KeyExpr::Account => vec![ctx.account.to_string()],
        }
    }
}

/// A scalar as a key string (`"22"`, `"true"`); objects, arrays and null have none.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// What a comparison reads: a JSONPath under the node, or a fact of the node's record.
#[derive(Debug, Clone)]
pub enum Operand {
    Path(Query),
    Key(KeyExpr),
}

impl Operand {
    pub fn parse(s: &str) -> Result<Self, String> {
        match KeyExpr::parse(s)? {
            KeyExpr::Path(q) => Ok(Operand::Path(q)),
            k => Ok(Operand::Key(k)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The direct walk selects what `jsonpath-rust` selects, in the same order, at the same locations.
    #[test]
    fn direct_walk_agrees_with_jsonpath_rust() {
        let doc = json!({
            "a": [{"b": 1, "c": [true, null]}, {"b": "2"}, 3],
            "o": {"z": 1, "a": {"b": 2}, "it's": {"b": "q"}, "back\\slash\n": 4},
            "e": [], "s": "text", "n": null
        });
        let paths = [
            "$",
            "$.a",
            "$.a[*]",
            "$.a[*].b",
            "$.a[*].c[*]",
            "$.a[0].c[1]",
            "$.a[-1]",
            "$.a[-3].b",
            "$.a[-4]",
            "$.a[7]",
            "$.o[*]",
            "$.o[*].b",
            "$.o.a.b",
            "$['o']['it\\'s'].b",
            "$.e[*]",
            "$.s[*]",
            "$.s.x",
            "$.n",
            "$.n[*]",
            "$.missing[*].x",
            "$.a.b",
            "$.o[0]",
            "$[*][*]",
        ];
        for p in paths {
            let q = Query::compile(p).unwrap();
            assert!(q.fast.is_some(), "{p} should take the direct walk");
            let slow = q.select_slow(&doc);
            assert_eq!(q.select(&doc), slow, "{p}");
            let values: Vec<&Value> = slow.iter().map(|(v, _)| *v).collect();
            assert_eq!(q.values(&doc), values, "{p}");
            assert_eq!(
                q.first(&doc).map(|(v, r)| (v, q.location("$", &r))),
                slow.first().cloned(),
                "{p}"
            );
        }
        // A plain list (an array): its items' places, as the walk gives them, and its own place.
        for (p, list) in [("$.a[*]", "$['a']"), ("$.e[*]", "$['e']")] {
            let q = Query::compile(p).unwrap();
            assert!(q.list_names().is_some(), "{p}");
            for (k, (_, l)) in q.select(&doc).iter().enumerate() {
                assert_eq!(q.location("$", &q.list_item(k)), *l, "{p}");
            }
            let (_, rel) = q.list_at(&doc).unwrap();
            assert_eq!(q.location("$", &rel), list);
        }
        for p in ["$.a[0].c[*]", "$.a[*].b", "$.a", "$[*][*]"] {
            assert!(Query::compile(p).unwrap().list_names().is_none(), "{p}");
        }
        // Filters and descendants go through jsonpath-rust.
        for p in ["$.a[?@.b == 1]", "$..b", "$.a[0:2]", "$['a','o']"] {
            let q = Query::compile(p).unwrap();
            assert!(q.fast.is_none(), "{p}");
            assert_eq!(q.select(&doc), q.select_slow(&doc), "{p}");
        }
    }
}
