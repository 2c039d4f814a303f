//! The evidence index: every record's document, converted once, and every failure, by probe.
//!
//! Evaluation keeps no documents here: it streams them one at a time with [`EvidenceIndex::convert`].
//! [`EvidenceIndex::build`] converts and keeps everything at once (for `dengbao evidence`, and to
//! check that streaming gives the same results).

use crate::convert::{to_document, to_document_watching, ConvertError, ListWatch};
use crate::pack::{Pack, ProbeStatus};
use anyhow::Result;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Why some evidence could not be seen.
#[derive(Debug, Clone)]
pub struct Failure {
    pub region: String,
    /// The record holding the error body, when there is one.
    pub record: Option<usize>,
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn describe(&self, probe: &str) -> String {
        format!(
            "{probe} in {}: {}: {}",
            self.region, self.code, self.message
        )
    }

    /// The failure a body that cannot be converted stands for.
    pub fn unparsable(region: &str, record: usize, e: &ConvertError) -> Self {
        Failure {
            region: region.to_string(),
            record: Some(record),
            code: "UnparsableResponse".into(),
            message: e.to_string(),
        }
    }
}

/// Documents and failures of a pack, by probe id.
pub struct EvidenceIndex<'p> {
    pub pack: &'p Pack,
    /// One document per record: None for failed calls, and for records whose probe is not loaded.
    pub docs: Vec<Option<Value>>,
    by_probe: HashMap<&'p str, Vec<usize>>,
    failures: HashMap<&'p str, Vec<Failure>>,
    ran: HashMap<&'p str, usize>,
    /// Probes whose documents have all been converted once (their unparsable bodies are failures).
    checked: HashSet<&'p str>,
    /// Probes whose documents are in `docs` now.
    resident: HashSet<&'p str>,
    /// Per record: whether it exists only because of the residency sweep (a region not scanned).
    swept_only: Vec<bool>,
}

impl<'p> EvidenceIndex<'p> {
    /// Reads and converts every blob of `pack`.
    pub fn build(pack: &'p Pack) -> Result<Self> {
        let mut idx = Self::open(pack);
        let probes: Vec<&'p str> = idx.by_probe.keys().copied().collect();
        for p in probes {
            idx.load(p)?;
        }
        Ok(idx)
    }

    /// Indexes `pack` without converting anything: call [`load`](Self::load) for the probes needed.
    pub fn open(pack: &'p Pack) -> Self {
        let m = &pack.manifest;
        let mut by_probe: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut failures: HashMap<&str, Vec<Failure>> = HashMap::new();
        let mut ran: HashMap<&str, usize> = HashMap::new();
        for (i, rec) in m.records.iter().enumerate() {
            *ran.entry(rec.probe.as_str()).or_default() += 1;
            by_probe.entry(rec.probe.as_str()).or_default().push(i);
            if let Some(e) = &rec.error {
                failures
                    .entry(rec.probe.as_str())
                    .or_default()
                    .push(Failure {
                        region: (rec.region.clone()).into(),
                        record: Some(i),
                        code: e.code.clone(),
                        message: e.message.clone(),
                    });
            }
        }
        for run in &m.probes {
            *ran.entry(run.id.as_str()).or_default() += 1;
            if run.status == ProbeStatus::Error {
                let list = failures.entry(run.id.as_str()).or_default();
                // A run-level failure with no record (e.g. connection refused) is still a failure.
                if !list.iter().any(|f| f.region == run.region) {
                    let (code, message) = run
                        .error
                        .as_ref()
                        .map(|e| (e.code.clone(), e.message.clone()))
                        .unwrap_or_else(|| ("Error".into(), "probe failed".into()));
                    list.push(Failure {
                        region: run.region.clone(),
                        record: None,
                        code,
                        message,
                    });
                }
            }
        }
        let swept_only = m
            .records
            .iter()
            .map(|r| {
                m.scan
                    .sweep
                    .as_ref()
                    .is_some_and(|s| s.swept_only(&m.scan.regions, &r.probe, &r.region))
            })
            .collect();
        Self {
            pack,
            docs: vec![None; m.records.len()],
            by_probe,
            failures,
            ran,
            checked: HashSet::new(),
            resident: HashSet::new(),
            swept_only,
        }
    }

    /// Converts the documents of `probe` and keeps them (no-op when they are kept already).
    pub fn load(&mut self, probe: &str) -> Result<()> {
        let Some((&key, records)) = self.by_probe.get_key_value(probe) else {
            return Ok(());
        };
        if self.resident.contains(key) {
            return Ok(());
        }
        let mut unparsable = Vec::new();
        for &i in records {
            match self.convert(i)? {
                Some(Ok(v)) => self.docs[i] = Some(v),
                Some(Err(e)) => unparsable.push(Failure::unparsable(
                    &self.pack.manifest.records[i].region,
                    i,
                    &e,
                )),
                None => {}
            }
        }
        self.resident.insert(key);
        self.add_unparsable(key, unparsable);
        Ok(())
    }

    /// Whether the documents of `probe` are kept.
    pub fn is_loaded(&self, probe: &str) -> bool {
        self.resident.contains(probe)
    }

    /// The records of `probe`, in manifest order.
    pub fn records(&self, probe: &str) -> &[usize] {
        self.by_probe.get(probe).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Converts record `i`'s body without keeping it: None for a failed call, else the document or
    /// why it could not be converted. Errs only when the blob cannot be read.
    pub fn convert(&self, i: usize) -> Result<Option<Result<Value, ConvertError>>> {
        let rec = &self.pack.manifest.records[i];
        if rec.error.is_some() {
            return Ok(None);
        }
        Ok(Some(match self.pack.body(rec)? {
            Ok(bytes) => to_document(&rec.media_type, &bytes),
            Err(over) => Err(ConvertError::over_limit(over)),
        }))
    }

    /// As [`convert`](Self::convert), showing `on_item` the items of the list at `path` as they
    /// are converted (see [`ListWatch`]).
    pub fn convert_watching(
        &self,
        i: usize,
        path: &[&str],
        on_item: &mut dyn FnMut(usize, &Value) -> bool,
    ) -> Result<Option<Result<Value, ConvertError>>> {
        let watch = ListWatch { path, on_item };
        let rec = &self.pack.manifest.records[i];
        if rec.error.is_some() {
            return Ok(None);
        }
        Ok(Some(match self.pack.body(rec)? {
            Ok(bytes) => to_document_watching(&rec.media_type, &bytes, Some(watch)),
            Err(over) => Err(ConvertError::over_limit(over)),
        }))
    }

    /// Records the unparsable bodies of `probe` found while converting all of its documents (by
    /// [`load`](Self::load), or by a caller streaming them with [`convert`](Self::convert)). Failures stay
    /// in record order, then the run-level ones of regions without a record-level failure, the same as
    /// when every document is converted up front.
    pub fn add_unparsable(&mut self, probe: &str, found: Vec<Failure>) {
        let Some(&key) = self.by_probe.get_key_value(probe).map(|(k, _)| k) else {
            return;
        };
        if !self.checked.insert(key) || found.is_empty() {
            return;
        }
        merge_unparsable(self.failures.entry(key).or_default(), found);
    }

    /// Whether `probe`'s documents have all been converted once (so its failures are complete).
    pub fn is_checked(&self, probe: &str) -> bool {
        self.checked.contains(probe)
    }

    /// Records of `probe` with a readable document, in manifest order (the probe must be loaded).
    pub fn documents(&self, probe: &str) -> impl Iterator<Item = (usize, &Value)> + '_ {
        debug_assert!(
            !self.by_probe.contains_key(probe) || self.resident.contains(probe),
            "documents of {probe} asked for but not loaded"
        );
        self.by_probe
            .get(probe)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.docs[i].as_ref().map(|d| (i, d)))
    }

    /// Failures of `probe`.
    pub fn failures(&self, probe: &str) -> &[Failure] {
        self.failures.get(probe).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Whether record `i` exists only because of the residency sweep: a region that was not scanned,
    /// judged only by rules that say `regions = "swept"`.
    pub fn is_swept_only(&self, i: usize) -> bool {
        self.swept_only.get(i).copied().unwrap_or(false)
    }

    /// Whether a failure of `probe` in `region` is the residency sweep's, in a region not scanned.
    pub fn failed_swept_only(&self, probe: &str, region: &str) -> bool {
        let scan = &self.pack.manifest.scan;
        scan.sweep
            .as_ref()
            .is_some_and(|s| s.swept_only(&scan.regions, probe, region))
    }

    /// Whether the pack shows `probe` was run at all (a run entry or a record).
    pub fn was_run(&self, probe: &str) -> bool {
        self.ran.contains_key(probe)
    }
}

/// Adds the unparsable bodies `found` to a probe's failures: record-level failures in record order,
/// then the run-level ones of regions without a record-level failure, the same as when every document
/// is converted up front.
pub(super) fn merge_unparsable(list: &mut Vec<Failure>, found: Vec<Failure>) {
    if found.is_empty() {
        return;
    }
    let regions: HashSet<String> = found.iter().map(|f| f.region.clone()).collect();
    list.retain(|f| f.record.is_some() || !regions.contains(&f.region));
    list.extend(found);
    list.sort_by_key(|f| (f.record.is_none(), f.record.unwrap_or(usize::MAX)));
}
