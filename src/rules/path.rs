//! Compiled JSONPath queries and join keys.

use jsonpath_rust::parser::model::JpQuery;
use serde_json::Value;

/// A JSONPath compiled once, evaluated many times. `$` is the node it is applied to.
#[derive(Debug, Clone)]
pub struct Query {
    src: String,
    jp: Option<JpQuery>,
}

impl Query {
    /// Compiles `src`; the error says what is wrong with the path.
    pub fn compile(src: &str) -> Result<Self, String> {
        let src = src.trim();
        if !src.starts_with('$') {
            return Err(format!(
                "JSONPath `{src}` must start with `$` (the current node)"
            ));
        }
        if src == "$" {
            return Ok(Self {
                src: src.to_string(),
                jp: None,
            });
        }
        let jp = jsonpath_rust::parser::parse_json_path(src)
            .map_err(|e| format!("invalid JSONPath `{src}`: {e}"))?;
        Ok(Self {
            src: src.to_string(),
            jp: Some(jp),
        })
    }

    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// Every value the query selects under `v`, with its location relative to `v` (`$['a'][0]`).
    pub fn select<'a>(&self, v: &'a Value) -> Vec<(&'a Value, String)> {
        match &self.jp {
            None => vec![(v, "$".to_string())],
            Some(jp) => match jsonpath_rust::query::js_path_process(jp, v) {
                Ok(refs) => refs.into_iter().map(|r| (r.val, r.path)).collect(),
                Err(_) => Vec::new(),
            },
        }
    }
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
    pub params: &'a Value,
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

    /// The key's values for `item`.
    pub fn values(&self, item: &Value, ctx: &KeyContext<'_>) -> Vec<String> {
        let scalars = |q: &Query, v: &Value| -> Vec<String> {
            q.select(v)
                .into_iter()
                .filter_map(|(v, _)| scalar_string(v))
                .collect()
        };
        match self {
            KeyExpr::Path(q) => scalars(q, item),
            KeyExpr::Resource(q) => ctx.resource.map(|r| scalars(q, r)).unwrap_or_default(),
            KeyExpr::Param(name) => ctx
                .params
                .get(name)
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
