//! Drift between two scans: items whose verdict changed, resources newly failing, fixed, appeared or
//! disappeared, and resources whose deciding values changed while their status did not ([`values`]). Both sides are [`Snapshot`]s, read from a results.json or from the history, so
//! `diff` compares the same way whatever it is given. Comparability (provider, accounts, framework,
//! mapping version, regions, scope) is checked first and stated.

use crate::results::{ResourceStatus, Results};
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub mod values;

/// Schema tag of a diff file (`diff --format json`, read by `report --diff`).
pub const DIFF_SCHEMA: &str = "dengbao.diff/v1";

/// What makes two scans comparable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparable {
    pub provider: String,
    pub accounts: Vec<String>,
    pub framework: String,
    /// The tool version, which pins the built-in mappings.
    pub mapping_version: String,
    pub regions: Vec<String>,
    /// The evaluation scope, as JSON.
    pub scope: String,
}

impl Comparable {
    pub fn of(r: &Results) -> Comparable {
        let sorted = |v: &[String]| {
            let mut v = v.to_vec();
            v.sort();
            v.dedup();
            v
        };
        Comparable {
            provider: r.scan.provider.clone(),
            accounts: sorted(&r.scan.accounts),
            framework: r.framework.id.clone(),
            mapping_version: r.tool.version.clone(),
            regions: sorted(&r.scan.regions),
            scope: serde_json::to_string(&r.scan.scope).unwrap_or_default(),
        }
    }

    /// One string equal for comparable scans (the history's lookup key).
    pub fn fingerprint(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// What differs between `self` and `other`, one line each (empty: comparable).
    pub fn differences(&self, other: &Comparable) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |what: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{what}: {a} → {b}"));
            }
        };
        check("provider", self.provider.clone(), other.provider.clone());
        check(
            "accounts",
            self.accounts.join(","),
            other.accounts.join(","),
        );
        check("framework", self.framework.clone(), other.framework.clone());
        check(
            "mapping version",
            self.mapping_version.clone(),
            other.mapping_version.clone(),
        );
        check("regions", self.regions.join(","), other.regions.join(","));
        check("scope", self.scope.clone(), other.scope.clone());
        out
    }
}

/// A resource judged by a rule, in a region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceKey {
    pub rule: String,
    pub region: String,
    pub resource: String,
}

/// What was found about one resource under one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceState {
    pub status: ResourceStatus,
    /// The exception covering it, when one does.
    pub excepted: Option<String>,
    /// Where the deciding values are (`sha256:…#$.path`).
    pub locations: Vec<String>,
    /// The values at those locations, when the pack was at hand.
    pub values: Option<values::Values>,
}

/// One side of a comparison.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// `results.json path` or `history #N`.
    pub label: String,
    pub key: Comparable,
    pub finished_at: String,
    pub pack_location: Option<String>,
    pub results_location: Option<String>,
    /// Item → (verdict, verdict with exceptions).
    pub items: BTreeMap<String, (Verdict, Option<Verdict>)>,
    pub resources: BTreeMap<ResourceKey, ResourceState>,
    /// Why the deciding values are not known (None: every resource's are).
    pub values_unknown: Option<String>,
}

impl Snapshot {
    /// The snapshot of `results` (a rule judging several items is counted once).
    pub fn of(results: &Results, label: String) -> Snapshot {
        let mut snap = Snapshot {
            label,
            key: Comparable::of(results),
            finished_at: results.scan.finished_at.clone(),
            values_unknown: Some("its pack was not at hand".into()),
            ..Default::default()
        };
        for c in &results.controls {
            snap.items
                .insert(c.id.clone(), (c.verdict, c.verdict_with_exceptions));
            for rule in &c.rules {
                for r in rule.resources.iter() {
                    let excepted = rule
                        .excepted
                        .iter()
                        .find(|x| x.resource == r.id && x.region == r.region)
                        .map(|x| x.exception.clone());
                    let key = ResourceKey {
                        rule: rule.id.clone(),
                        region: r.region.clone(),
                        resource: r.id.clone(),
                    };
                    snap.resources.entry(key).or_insert(ResourceState {
                        status: r.status,
                        excepted,
                        locations: r.locations.clone(),
                        values: None,
                    });
                }
            }
        }
        snap
    }

    /// Adds the deciding values read from the results' pack ([`values::read`]).
    pub fn with_values(mut self, mut values: BTreeMap<ResourceKey, values::Values>) -> Snapshot {
        for (key, state) in self.resources.iter_mut() {
            state.values = Some(values.remove(key).unwrap_or_default());
        }
        self.values_unknown = None;
        self
    }
}

/// How one item's verdict changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    pub item: String,
    pub old: Option<Verdict>,
    pub new: Option<Verdict>,
}

/// How one resource changed under one rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    #[serde(flatten)]
    pub key: ResourceKey,
    pub old: Option<ResourceStatus>,
    pub new: Option<ResourceStatus>,
    /// The exception covering it in the newer scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excepted: Option<String>,
}

/// The values under one path (list indexes as `[*]`) before and after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueDelta {
    pub path: String,
    pub old: Vec<String>,
    pub new: Vec<String>,
}

/// A resource whose status stayed the same while the values deciding it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueChange {
    #[serde(flatten)]
    pub key: ResourceKey,
    pub status: ResourceStatus,
    pub changes: Vec<ValueDelta>,
}

/// One side of a diff, as the diff file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Side {
    pub label: String,
    pub finished_at: String,
    pub comparable: Comparable,
}

/// The drift between two scans (`dengbao.diff/v1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diff {
    pub schema: String,
    pub old: Side,
    pub new: Side,
    /// What makes the two not comparable (empty: comparable).
    pub not_comparable: Vec<String>,
    pub items_changed: Vec<ItemChange>,
    /// Failing now, and not failing (or absent) before.
    pub newly_failing: Vec<ResourceChange>,
    /// Failing before, passing now.
    pub fixed: Vec<ResourceChange>,
    pub appeared: Vec<ResourceChange>,
    pub disappeared: Vec<ResourceChange>,
    /// Another status change: to or from `error`.
    pub status_changed: Vec<ResourceChange>,
    /// Same status, but the values at the cited locations changed.
    pub values_changed: Vec<ValueChange>,
    /// Why deciding values were not compared (None: they were).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values_not_compared: Option<String>,
}

impl Diff {
    /// Resources newly failing and not excepted: what `--fail-on new` acts on. Zero when the scans
    /// are not comparable (nothing was judged comparably).
    pub fn new_failures(&self) -> usize {
        if !self.not_comparable.is_empty() {
            return 0;
        }
        self.newly_failing
            .iter()
            .filter(|c| c.excepted.is_none())
            .count()
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.items_changed.is_empty()
            && self.newly_failing.is_empty()
            && self.fixed.is_empty()
            && self.appeared.is_empty()
            && self.disappeared.is_empty()
            && self.status_changed.is_empty()
            && self.values_changed.is_empty()
    }
}

/// Compares `old` with `new`.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Diff {
    let side = |s: &Snapshot| Side {
        label: s.label.clone(),
        finished_at: s.finished_at.clone(),
        comparable: s.key.clone(),
    };
    let mut d = Diff {
        schema: DIFF_SCHEMA.into(),
        old: side(old),
        new: side(new),
        not_comparable: old.key.differences(&new.key),
        items_changed: Vec::new(),
        newly_failing: Vec::new(),
        fixed: Vec::new(),
        appeared: Vec::new(),
        disappeared: Vec::new(),
        status_changed: Vec::new(),
        values_changed: Vec::new(),
        values_not_compared: [old, new].iter().find_map(|s| {
            s.values_unknown
                .as_ref()
                .map(|why| format!("{}: {why}", s.label))
        }),
    };
    let ids: std::collections::BTreeSet<&String> =
        old.items.keys().chain(new.items.keys()).collect();
    for id in ids {
        let (o, n) = (old.items.get(id), new.items.get(id));
        let effective = |x: Option<&(Verdict, Option<Verdict>)>| x.map(|(v, w)| w.unwrap_or(*v));
        if o.map(|x| x.0) != n.map(|x| x.0) || effective(o) != effective(n) {
            d.items_changed.push(ItemChange {
                item: id.clone(),
                old: o.map(|x| x.0),
                new: n.map(|x| x.0),
            });
        }
    }
    let keys: std::collections::BTreeSet<&ResourceKey> =
        old.resources.keys().chain(new.resources.keys()).collect();
    for k in keys {
        let (o, n) = (old.resources.get(k), new.resources.get(k));
        let change = ResourceChange {
            key: k.clone(),
            old: o.map(|s| s.status),
            new: n.map(|s| s.status),
            excepted: n.and_then(|s| s.excepted.clone()),
        };
        let fail = Some(ResourceStatus::Fail);
        if change.new == fail && change.old != fail {
            d.newly_failing.push(change.clone());
        }
        match (change.old, change.new) {
            (None, Some(_)) => d.appeared.push(change),
            (Some(_), None) => d.disappeared.push(change),
            (Some(ResourceStatus::Fail), Some(ResourceStatus::Pass)) => d.fixed.push(change),
            (Some(a), Some(b)) if a != b && b != ResourceStatus::Fail => {
                d.status_changed.push(change)
            }
            (Some(a), Some(b)) if a == b => {
                let (ov, nv) = (
                    o.and_then(|s| s.values.as_ref()),
                    n.and_then(|s| s.values.as_ref()),
                );
                if let (Some(ov), Some(nv)) = (ov, nv) {
                    let changes = value_deltas(ov, nv);
                    if !changes.is_empty() {
                        d.values_changed.push(ValueChange {
                            key: k.clone(),
                            status: b,
                            changes,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    d
}

/// The paths whose values differ between `old` and `new`.
fn value_deltas(old: &values::Values, new: &values::Values) -> Vec<ValueDelta> {
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    paths
        .into_iter()
        .filter_map(|p| {
            let (o, n) = (old.get(p), new.get(p));
            (o != n).then(|| ValueDelta {
                path: p.clone(),
                old: o.cloned().unwrap_or_default(),
                new: n.cloned().unwrap_or_default(),
            })
        })
        .collect()
}
