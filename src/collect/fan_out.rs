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

/// One fan-out call to make: the key and the region to ask in.
pub type Target = (String, String);

/// Applies each child's `fan_out` (items, key, key_matches, home_region) to one answer's document,
/// appending to `out` (one list per child) its targets in the order listed. A target listed twice is
/// called once ([`Started`]).
pub fn collect_targets(
    provider: &dyn Provider,
    children: &[ProbeSpec],
    rec: &EvidenceRecord,
    doc: &Value,
    listed_in: &str,
    out: &mut [Vec<Target>],
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
        for item in items.values(doc) {
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
            for k in key.values(item, &ctx) {
                if filter.as_ref().is_none_or(|re| re.is_match(&k)) {
                    targets.push((k, region.clone()));
                }
            }
        }
    }
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
