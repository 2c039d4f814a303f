//! The `prefix_overlaps` condition: whether an object-key prefix (an S3 or OSS lifecycle rule's filter)
//! reaches the objects written under another prefix (a trail's log files).
//!
//! ```toml
//! { path = "$..Prefix", prefix_overlaps = { folder = "resource.$.S3KeyPrefix", then = "AWSLogs/" } }
//! ```
//!
//! The objects of interest are named `folder/then…` (`then…` when the folder is absent or empty; a folder
//! ending in `/` gets no second one). `path` selects the candidate prefixes; when it selects none, the
//! candidate is the empty prefix (a lifecycle rule without a prefix covers the whole bucket). The
//! condition is true when some candidate and the objects' prefix overlap, that is one starts with the
//! other: some object of interest may then carry both.

use super::eval::{Node, Notes, Truth};
use super::path::{KeyExpr, Operand};
use serde::Deserialize;
use serde_json::Value;

/// `prefix_overlaps = { folder = KEY, then = "..." }` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixSpec {
    /// Where the folder the objects are written under is read (a key: `resource.$.x`, `$.x`, `param.X`).
    pub folder: Option<String>,
    /// What follows the folder in every object's name (default: nothing).
    #[serde(default)]
    pub then: String,
}

/// A compiled `prefix_overlaps`.
#[derive(Debug, Clone)]
pub struct PrefixOverlap {
    pub path: Operand,
    pub folder: Option<KeyExpr>,
    pub then: String,
}

impl PrefixOverlap {
    pub fn compile(path: Operand, spec: &PrefixSpec) -> Result<Self, String> {
        let folder = spec.folder.as_deref().map(KeyExpr::parse).transpose()?;
        Ok(Self {
            path,
            folder,
            then: spec.then.clone(),
        })
    }

    /// The prefix every object of interest starts with.
    fn objects(&self, node: &Node<'_>) -> String {
        let folder = self
            .folder
            .as_ref()
            .and_then(|k| k.first(node.value, &node.origin.keys()))
            .unwrap_or_default();
        objects_prefix(&folder, &self.then)
    }

    pub fn eval<N: Notes>(&self, node: &Node<'_>, trace: &mut N) -> Truth {
        let objects = self.objects(node);
        let mut candidates: Vec<(String, Option<String>)> = Vec::new();
        if let Operand::Path(q) = &self.path {
            for (v, rel) in q.select_rel(node.value) {
                if let Some(s) = text(v) {
                    candidates.push((s, Some(node.location.child(q, &rel))));
                }
            }
        } else if let Operand::Key(k) = &self.path {
            for s in k.values(node.value, &node.origin.keys()) {
                candidates.push((s, None));
            }
        }
        if candidates.is_empty() {
            // No prefix: the rule covers every key.
            return Truth::True;
        }
        for (candidate, loc) in &candidates {
            if overlaps(candidate, &objects) {
                if let Some(l) = loc {
                    trace.loc(l.clone());
                }
                return Truth::True;
            }
        }
        for (_, loc) in candidates {
            if let Some(l) = loc {
                trace.loc(l);
            }
        }
        Truth::False
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => crate::rules::path::scalar_string(other),
    }
}

/// `folder/then` (no folder: `then`; a folder ending in `/` is not given a second one).
pub fn objects_prefix(folder: &str, then: &str) -> String {
    if folder.is_empty() {
        then.to_string()
    } else if folder.ends_with('/') {
        format!("{folder}{then}")
    } else {
        format!("{folder}/{then}")
    }
}

/// Two key prefixes select some key in common when one starts with the other.
pub fn overlaps(a: &str, b: &str) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_overlap_when_one_extends_the_other() {
        let logs = objects_prefix("audit", "AWSLogs/");
        assert_eq!(logs, "audit/AWSLogs/");
        assert!(overlaps("", &logs), "no prefix: the whole bucket");
        assert!(overlaps("audit/", &logs));
        assert!(overlaps("aud", &logs));
        assert!(overlaps(
            "audit/AWSLogs/111122223333/CloudTrail/cn-north-1/",
            &logs
        ));
        assert!(!overlaps("tmp/", &logs));
        assert!(!overlaps("audit-archive/", &logs));
        assert_eq!(objects_prefix("", "AWSLogs/"), "AWSLogs/");
        assert_eq!(objects_prefix("logs/", "AWSLogs/"), "logs/AWSLogs/");
        assert!(!overlaps("app/", &objects_prefix("", "AWSLogs/")));
    }
}
