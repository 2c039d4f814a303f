//! Fan-out: the keys a probe's answers give its children, each with the region to call it in, and the
//! set of fan-out calls already started.
//!
//! A child with `home_region` is called in each item's home region — also when that region is not
//! among those scanned — and once per key, however many regions list the item (a multi-region trail
//! is listed in every region but lives in one). Other children are called where the item was listed,
//! also once per key.

use super::Provider;
use crate::jsonpath::{KeyContext, KeyExpr, Query};
use crate::pack::EvidenceRecord;
use crate::probes::ProbeSpec;
use serde_json::Value;
use std::collections::HashSet;
use std::hash::BuildHasher;
use std::sync::Mutex;

/// One fan-out call to make: the key (with the `with` parameters) and the region to ask in.
pub type Target = (FanKey, String);

/// A fan-out call's key: the value of the child's `param`, and of each of its `with` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanKey {
    pub key: String,
    pub with: Vec<(String, String)>,
}

impl FanKey {
    /// What tells two calls apart (the key, then each `with` value).
    pub fn identity(&self) -> String {
        let mut out = self.key.clone();
        for (_, v) in &self.with {
            out.push('\u{1f}');
            out.push_str(v);
        }
        out
    }
}

/// What one answer gives a child: the calls to make, and how many items were skipped (owned by
/// another account).
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub calls: Vec<Target>,
    pub skipped_foreign: u64,
}

/// Why items were skipped, as the manifest's `skipped` says.
pub fn foreign_reason(owner_path: &str) -> String {
    format!("owner: {owner_path} is not the scanned account")
}

/// Applies each child's `fan_out` (items, owner, key, key_matches, home_region) to one answer's
/// document, appending to `out` (one per child) its targets in the order listed. A target listed twice
/// is called once ([`Started`]). The owner is compared with the record's account (the scanned one).
pub fn collect_targets(
    provider: &dyn Provider,
    children: &[ProbeSpec],
    rec: &EvidenceRecord,
    doc: &Value,
    listed_in: &str,
    out: &mut [Targets],
) {
    for (child, targets) in children.iter().zip(out.iter_mut()) {
        let f = child.fan_out.as_ref().expect("children fan out");
        let (Ok(items), Ok(key)) = (Query::compile(&f.items), KeyExpr::parse(&f.key)) else {
            continue;
        };
        let filter = f
            .key_matches
            .as_deref()
            .and_then(|r| regex::Regex::new(r).ok());
        let home = f
            .home_region
            .as_deref()
            .and_then(|h| Query::compile(h).ok());
        let owner = f.owner.as_deref().and_then(|o| Query::compile(o).ok());
        let with: Vec<(String, KeyExpr)> = f
            .with
            .iter()
            .filter_map(|(p, k)| Some((p.clone(), KeyExpr::parse(k).ok()?)))
            .collect();
        for item in items.values(doc) {
            if owned_elsewhere(owner.as_ref(), item, &rec.account) {
                targets.skipped_foreign += 1;
                continue;
            }
            let region = home
                .as_ref()
                .and_then(|h| {
                    let value = h.first(item).map(|(v, _)| v).unwrap_or(&Value::Null);
                    provider.fan_out_region(child, value)
                })
                .unwrap_or_else(|| listed_in.to_string());
            let ctx = KeyContext {
                params: &rec.parameters,
                region: &rec.region,
                account: &rec.account,
                resource: Some(item),
            };
            let Some(with) = with
                .iter()
                .map(|(p, k)| Some((p.clone(), k.first(item, &ctx)?)))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            for k in key.values(item, &ctx) {
                if filter.as_ref().is_none_or(|re| re.is_match(&k)) {
                    let with = with.clone();
                    targets
                        .calls
                        .push((FanKey { key: k, with }, region.clone()));
                }
            }
        }
    }
}

/// Whether `item`'s owner (at `owner`) is known and is not `account` (when `account` is known).
fn owned_elsewhere(owner: Option<&Query>, item: &Value, account: &str) -> bool {
    let Some(q) = owner.filter(|_| !account.is_empty()) else {
        return false;
    };
    q.first(item)
        .and_then(|(v, _)| crate::jsonpath::scalar_string(v))
        .is_some_and(|o| !o.is_empty() && o != account)
}

/// The fan-out calls already started in a scan, by (probe, region, key). Kept as 128-bit fingerprints:
/// a large estate fans out to tens of thousands of snapshots, and the strings would cost megabytes.
pub struct Started {
    hashers: [std::collections::hash_map::RandomState; 2],
    seen: Mutex<HashSet<u128>>,
}

impl Default for Started {
    fn default() -> Self {
        Self {
            hashers: [Default::default(), Default::default()],
            seen: Mutex::new(HashSet::new()),
        }
    }
}

impl Started {
    /// Whether the call of `probe` for `key` in `region` is new (and from now on, started).
    pub fn first_time(&self, probe: &str, region: &str, key: &str) -> bool {
        let half = |h: &std::collections::hash_map::RandomState| h.hash_one((probe, region, key));
        let fingerprint =
            (u128::from(half(&self.hashers[0])) << 64) | u128::from(half(&self.hashers[1]));
        self.seen
            .lock()
            .expect("fan-out set lock")
            .insert(fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_items_owned_elsewhere_are_skipped() {
        let q = Query::compile("$.ownerId").unwrap();
        let mine = serde_json::json!({"ownerId": "111122223333"});
        let theirs = serde_json::json!({"ownerId": "999988887777"});
        let unknown = serde_json::json!({"snapshotId": "snap-1"});
        assert!(!owned_elsewhere(Some(&q), &mine, "111122223333"));
        assert!(owned_elsewhere(Some(&q), &theirs, "111122223333"));
        // Not known to be foreign: asked about.
        assert!(!owned_elsewhere(Some(&q), &unknown, "111122223333"));
        assert!(!owned_elsewhere(Some(&q), &theirs, ""));
        assert!(!owned_elsewhere(None, &theirs, "111122223333"));
    }

    #[test]
    fn each_call_starts_once() {
        let s = Started::default();
        assert!(s.first_time("p", "r1", "k"));
        assert!(!s.first_time("p", "r1", "k"));
        assert!(s.first_time("p", "r2", "k"));
        assert!(s.first_time("q", "r1", "k"));
        assert!(s.first_time("p", "r1", "k2"));
        // The parts are not simply concatenated.
        assert!(s.first_time("pr", "1", "k"));
    }
}
