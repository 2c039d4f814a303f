//! JSON bodies parsed into the same document `serde_json::from_slice` gives, showing a
//! [`ListWatch`] the items of its list as each is parsed (and leaving out those it does not keep).
//!
//! The parser is `serde_json`'s own, so its recursion limit and its errors are unchanged; only the
//! building of values differs, and it builds them as `serde_json::Value` does (a repeated member
//! name keeps the last value).

use super::ListWatch;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses `body`, showing `watch` each item of the array at its path, by position; an item it
/// does not keep is left in the document as `null`.
pub fn json_to_json_watching(body: &[u8], mut watch: ListWatch<'_>) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = At {
        watch: &mut watch,
        depth: 0,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// A value being parsed `depth` members below the root, on the watched path so far.
struct At<'a, 'w> {
    watch: &'a mut ListWatch<'w>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for At<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for At<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        if self.depth == self.watch.path.len() {
            while let Some(v) = seq.next_element::<Value>()? {
                let keep = (self.watch.on_item)(items.len(), &v);
                items.push(if keep { v } else { Value::Null });
            }
        } else {
            while let Some(v) = seq.next_element::<Value>()? {
                items.push(v);
            }
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let At { watch, depth } = self;
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = if watch.path.get(depth) == Some(&key.as_str()) {
                map.next_value_seed(At {
                    watch: &mut *watch,
                    depth: depth + 1,
                })?
            } else {
                map.next_value::<Value>()?
            };
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watched(body: &str, path: &[&str], keep: fn(usize) -> bool) -> (Value, Vec<(usize, Value)>) {
        let mut shown = Vec::new();
        let mut on_item = |at: usize, v: &Value| {
            shown.push((at, v.clone()));
            keep(at)
        };
        let doc = json_to_json_watching(
            body.as_bytes(),
            ListWatch {
                path,
                on_item: &mut on_item,
            },
        )
        .unwrap();
        (doc, shown)
    }

    #[test]
    fn parses_as_serde_json_does_and_shows_the_list() {
        let body = r#"{"a":{"l":[{"x":1},2,null,[3]],"n":-1.5e3,"u":18446744073709551615},
            "l":[9],"s":"\u00e9","t":true,"a2":{"l":[7]},"dup":1,"dup":{"k":0}}"#;
        let (doc, shown) = watched(body, &["a", "l"], |_| true);
        assert_eq!(doc, serde_json::from_str::<Value>(body).unwrap());
        let items: Vec<Value> = shown.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            items,
            serde_json::from_str::<Vec<Value>>(r#"[{"x":1},2,null,[3]]"#).unwrap()
        );
    }

    #[test]
    fn items_not_kept_are_null_and_errors_are_serde_jsons() {
        let (doc, shown) = watched(r#"{"l":[{"a":1},{"b":2},{"c":3}]}"#, &["l"], |at| at == 1);
        assert_eq!(doc, serde_json::json!({"l": [null, {"b": 2}, null]}));
        assert_eq!(
            shown.iter().map(|(at, _)| *at).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        let deep = "[".repeat(200);
        for bad in [r#"{"l":[{"a":1},"#, r#"{"l":[]} x"#, "[", deep.as_str()] {
            let mut on_item = |_: usize, _: &Value| true;
            let watch = ListWatch {
                path: &["l"],
                on_item: &mut on_item,
            };
            let ours = json_to_json_watching(bad.as_bytes(), watch).unwrap_err();
            let theirs = serde_json::from_slice::<Value>(bad.as_bytes()).unwrap_err();
            assert_eq!(ours.to_string(), theirs.to_string(), "{bad}");
        }
    }
}
