//! The deciding values of each judged resource: what its rule read at the locations it cites
//! (`sha256:…#$['snapshotSet'][3]['encrypted']`), taken from the pack's bodies. Drift compares these,
//! never body digests: a real answer carries a new request id and timestamps on every call. A
//! resource's index in a list moves when another one appears before it, so each value is keyed by its
//! path with list indexes written `[*]`, and the values under one such path are kept sorted.
//!
//! A location citing an object or a list (a whole answer, a list of permissions) would carry what
//! changes on every call, so inside such a value the envelope's request ids (`requestId`,
//! `RequestId`, `ResponseMetadata`) and times (keys ending in `Time` or `Timestamp`) are left out. A
//! location citing one of those directly keeps it: the rule decided on it.

use super::ResourceKey;
use crate::pack::Pack;
use crate::results::Results;
use anyhow::Result;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// Path (list indexes as `[*]`) → the values found there, as compact JSON, sorted.
pub type Values = BTreeMap<String, Vec<String>>;

/// A value longer than this is kept as its beginning and the digest of the whole.
const MAX_VALUE_CHARS: usize = 200;

/// The deciding values of every resource of `results`, read from `pack` (the pack the results were
/// evaluated from). A location whose body cannot be read or converted, or whose path is not in the
/// body, contributes nothing, the same on both sides of a comparison.
pub fn read(pack: &Pack, results: &Results) -> Result<BTreeMap<ResourceKey, Values>> {
    let mut wanted: BTreeMap<&str, Vec<(ResourceKey, &str)>> = BTreeMap::new();
    let mut out: BTreeMap<ResourceKey, Values> = BTreeMap::new();
    let resources: Vec<_> = results
        .controls
        .iter()
        .flat_map(|c| &c.rules)
        .flat_map(|rule| rule.resources.iter().map(move |r| (rule, r)))
        .collect();
    for (rule, r) in &resources {
        let key = ResourceKey {
            rule: rule.id.clone(),
            region: r.region.clone(),
            resource: r.id.clone(),
        };
        if out.contains_key(&key) {
            continue; // a rule judging several items cites the same locations
        }
        for loc in &r.locations {
            if let Some((digest, path)) = loc.split_once('#') {
                wanted.entry(digest).or_default().push((key.clone(), path));
            }
        }
        out.insert(key, Values::new());
    }
    let records = records_by_digest(pack);
    for (digest, locations) in wanted {
        let Some(&i) = records.get(digest) else {
            continue;
        };
        let rec = &pack.manifest.records[i];
        let Ok(Ok(bytes)) = pack.body(rec) else {
            continue;
        };
        let Ok(doc) = crate::convert::to_document(&rec.media_type, &bytes) else {
            continue;
        };
        for (key, path) in locations {
            if let Some((value, shape)) = walk(&doc, path) {
                let values = out.entry(key).or_default();
                values.entry(shape).or_default().push(compact(value));
            }
        }
    }
    for values in out.values_mut() {
        for list in values.values_mut() {
            list.sort();
        }
    }
    Ok(out)
}

/// Whether a key inside a cited object changes on every call (see the module header).
/// The index of each answered record by its body digest (the last of equal bodies): where a cited
/// location's document is read from. Shared by the drift reader and the history's recorder.
pub(crate) fn records_by_digest(pack: &Pack) -> HashMap<&str, usize> {
    pack.manifest
        .records
        .iter()
        .enumerate()
        .filter(|(_, rec)| rec.error.is_none())
        .map(|(i, rec)| (rec.sha256.as_str(), i))
        .collect()
}

fn volatile(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k == "requestid" || k == "responsemetadata" || k.ends_with("time") || k.ends_with("timestamp")
}

/// `v` without its volatile keys, at any depth.
fn stable(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !volatile(k))
                .map(|(k, v)| (k.clone(), stable(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(stable).collect()),
        other => other.clone(),
    }
}

/// Compact JSON of `v` (volatile keys left out), clipped to [`MAX_VALUE_CHARS`] with the digest of
/// the whole.
pub(crate) fn compact(v: &Value) -> String {
    let s = match v {
        Value::Object(_) | Value::Array(_) => stable(v).to_string(),
        scalar => scalar.to_string(),
    };
    if s.chars().count() <= MAX_VALUE_CHARS {
        return s;
    }
    let head = crate::limits::clip(&s, MAX_VALUE_CHARS);
    format!("{head}… (sha256:{})", crate::pack::sha256_hex(s.as_bytes()))
}

/// The value at a normalized path (`$['a'][0]['b']`, as locations write them) and the path with its
/// indexes written `[*]`; None when the path is malformed or not in `doc`.
pub(crate) fn walk<'a>(doc: &'a Value, path: &str) -> Option<(&'a Value, String)> {
    let mut rest = path.strip_prefix('$')?;
    let mut at = doc;
    let mut shape = String::from("$");
    while !rest.is_empty() {
        rest = rest.strip_prefix('[')?;
        if let Some(quoted) = rest.strip_prefix('\'') {
            let (name, after) = unquote(quoted)?;
            rest = after.strip_prefix(']')?;
            at = at.get(&name)?;
            push_name(&mut shape, &name);
        } else {
            let end = rest.find(']')?;
            let index: usize = rest[..end].parse().ok()?;
            rest = &rest[end + 1..];
            at = at.get(index)?;
            shape.push_str("[*]");
        }
    }
    Some((at, shape))
}

/// Appends `['name']` to a path's shape, escaped the one way [`walk`] writes it.
fn push_name(shape: &mut String, name: &str) {
    shape.push_str(&format!(
        "['{}']",
        name.replace('\\', "\\\\").replace('\'', "\\'")
    ));
}

/// A normalized path that reaches into a list, split at its first index: the path of the list
/// (`$['snapshotSet']` for `$['snapshotSet'][3]['encrypted']`), its member names from the root
/// (`["snapshotSet"]`), the index, and the path after it (`['encrypted']`). None when the path has no
/// index before a malformed part.
pub(crate) fn split_at_index(path: &str) -> Option<(&str, Vec<String>, usize, &str)> {
    let mut rest = path.strip_prefix('$')?;
    let mut names = Vec::new();
    loop {
        let list = &path[..path.len() - rest.len()];
        rest = rest.strip_prefix('[')?;
        if let Some(quoted) = rest.strip_prefix('\'') {
            let (name, after) = unquote(quoted)?;
            rest = after.strip_prefix(']')?;
            names.push(name);
        } else {
            let end = rest.find(']')?;
            let index: usize = rest[..end].parse().ok()?;
            return Some((list, names, index, &rest[end + 1..]));
        }
    }
}

/// The shape of a value found at `rest` (see [`split_at_index`]) inside an item of the list at
/// `names`: the same path [`walk`] gives for the whole location.
pub(crate) fn item_shape(names: &[String], rest_shape: &str) -> String {
    let mut shape = String::from("$");
    for name in names {
        push_name(&mut shape, name);
    }
    shape.push_str("[*]");
    shape.push_str(rest_shape.strip_prefix('$').unwrap_or(rest_shape));
    shape
}

/// A single-quoted name's text (escapes as [`crate::jsonpath`] writes them) and what follows its
/// closing quote.
fn unquote(s: &str) -> Option<(String, &str)> {
    let mut name = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\'' => return Some((name, &s[i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => name.push('\n'),
                'r' => name.push('\r'),
                't' => name.push('\t'),
                'u' => {
                    let hex: String = (0..4).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    name.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                other => name.push(other),
            },
            c => name.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn walks_normalized_paths_and_writes_indexes_as_stars() {
        let doc = json!({"snapshotSet": [{"id": "a"}, {"id": "b", "it's": {"x\ny": [1, 2]}}]});
        let (v, shape) = walk(&doc, "$['snapshotSet'][1]['id']").unwrap();
        assert_eq!(
            (v, shape.as_str()),
            (&json!("b"), "$['snapshotSet'][*]['id']")
        );
        let (v, shape) = walk(&doc, "$['snapshotSet'][1]['it\\'s']['x\\ny'][1]").unwrap();
        assert_eq!(v, &json!(2));
        assert_eq!(shape, "$['snapshotSet'][*]['it\\'s']['x\ny'][*]");
        assert_eq!(walk(&doc, "$").unwrap().0, &doc);
        assert!(walk(&doc, "$['snapshotSet'][2]").is_none());
        assert!(walk(&doc, "$['nope']").is_none());
        assert!(walk(&doc, "$['unclosed").is_none());
    }

    #[test]
    fn a_location_into_a_list_splits_at_its_first_index_and_keeps_its_shape() {
        let doc = json!({"a b": {"it's": [{"x": [5, {"y": 1}]}, {"x": [6, {"y": 2}]}]}});
        let path = "$['a b']['it\\'s'][1]['x'][1]['y']";
        let (list, names, index, rest) = split_at_index(path).unwrap();
        assert_eq!(list, "$['a b']['it\\'s']");
        assert_eq!(names, ["a b", "it's"]);
        assert_eq!((index, rest), (1, "['x'][1]['y']"));
        let (whole, shape) = walk(&doc, path).unwrap();
        let item = &doc["a b"]["it's"][1];
        let (part, rest_shape) = walk(item, &format!("${rest}")).unwrap();
        assert_eq!((part, item_shape(&names, &rest_shape)), (whole, shape));
        assert!(split_at_index("$['a']['b']").is_none());
        assert!(split_at_index("$['unclosed").is_none());
    }

    #[test]
    fn request_ids_and_times_inside_a_cited_object_never_count() {
        let a = json!({"requestId": "r-1", "snapshotId": "snap-1", "createVolumePermission": [],
            "ResponseMetadata": {"RequestId": "x"}, "Trail": {"LatestDeliveryTime": 1, "IsLogging": true}});
        let b = json!({"requestId": "r-2", "snapshotId": "snap-1", "createVolumePermission": [],
            "ResponseMetadata": {"RequestId": "y"}, "Trail": {"LatestDeliveryTime": 2, "IsLogging": true}});
        assert_eq!(compact(&a), compact(&b));
        let c = json!({"requestId": "r-3", "snapshotId": "snap-1", "createVolumePermission": [{"group": "all"}]});
        assert_ne!(compact(&a), compact(&c));
        // Cited directly, a time is a deciding value.
        assert_ne!(
            compact(&json!("2026-01-01T00:00:00Z")),
            compact(&json!("2026-02-01T00:00:00Z"))
        );
    }

    #[test]
    fn long_values_keep_their_beginning_and_a_digest_of_the_whole() {
        let long = json!("x".repeat(500));
        let c = compact(&long);
        assert!(c.starts_with("\"xxx") && c.contains("… (sha256:"), "{c}");
        assert_ne!(c, compact(&json!(format!("{}y", "x".repeat(499)))));
        assert_eq!(compact(&json!(true)), "true");
    }
}
