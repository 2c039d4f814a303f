//! Which probe ran in which region, how many records it left and why it failed: the run ledger of a
//! scan, which becomes the manifest's `probes`.

use crate::pack::{Manifest, PackWriter, ProbeError, ProbeRun, ProbeStatus, RateRecord, Skipped};
use crate::probes::ProbeSpec;
use anyhow::Result;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The probes of one scan and the outcome of each run so far, by (probe id, region).
pub struct RunLedger {
    probes: Vec<ProbeSpec>,
    runs: Mutex<BTreeMap<(String, String), ProbeRun>>,
    /// Fan-out items not asked about, by (probe, region, reason).
    skipped: Mutex<BTreeMap<(String, String, String), u64>>,
}

impl RunLedger {
    pub fn new(probes: Vec<ProbeSpec>) -> Self {
        Self {
            probes,
            runs: Mutex::new(BTreeMap::new()),
            skipped: Mutex::new(BTreeMap::new()),
        }
    }

    /// Every probe of the scan.
    pub fn probes(&self) -> &[ProbeSpec] {
        &self.probes
    }

    /// The probes that fan out from probe `id`.
    pub fn children(&self, id: &str) -> Vec<ProbeSpec> {
        self.probes
            .iter()
            .filter(|p| p.fan_out.as_ref().is_some_and(|f| f.from == id))
            .cloned()
            .collect()
    }

    /// Adds `records` to the run of `id` in `region`; the first error makes the run an error.
    pub fn note_run(&self, id: &str, region: &str, records: u64, error: Option<ProbeError>) {
        let mut runs = self.runs.lock().expect("runs lock");
        let run = runs
            .entry((id.to_string(), region.to_string()))
            .or_insert_with(|| ProbeRun {
                id: id.to_string(),
                region: region.to_string(),
                status: ProbeStatus::Ok,
                records: 0,
                error: None,
            });
        run.records += records;
        if let Some(e) = error {
            if run.error.is_none() {
                run.error = Some(e);
            }
            run.status = ProbeStatus::Error;
        }
    }

    /// Counts `items` that probe `id` did not ask about in `region`, and why.
    pub fn note_skipped(&self, id: &str, region: &str, items: u64, reason: String) {
        *self
            .skipped
            .lock()
            .expect("skipped lock")
            .entry((id.to_string(), region.to_string(), reason))
            .or_default() += items;
    }

    /// Why the run of `id` in `region` failed, if it did.
    pub fn run_failed(&self, id: &str, region: &str) -> Option<ProbeError> {
        self.runs
            .lock()
            .expect("runs lock")
            .get(&(id.to_string(), region.to_string()))
            .and_then(|r| r.error.clone())
    }

    /// Records that `spec` (and its own children) ran in `region`, even with nothing to ask about.
    pub fn note_ran(&self, spec: &ProbeSpec, region: &str) {
        self.note_run(&spec.id, region, 0, None);
        for grandchild in self.children(&spec.id) {
            self.note_ran(&grandchild, region);
        }
    }

    /// Marks `child` and its own children in `region` incomplete because `source` failed there.
    pub fn mark_upstream_failed(
        &self,
        child: &ProbeSpec,
        region: &str,
        source: &str,
        e: &ProbeError,
    ) {
        let err = ProbeError {
            code: "UpstreamFailed".into(),
            message: format!(
                "incomplete: {source} failed in {region} ({}: {})",
                e.code, e.message
            ),
        };
        self.note_run(&child.id, region, 0, Some(err.clone()));
        for grandchild in self.children(&child.id) {
            self.mark_upstream_failed(&grandchild, region, &child.id, &err);
        }
    }

    /// Writes every run, the rate controllers' `rates` and the skipped items into the pack, stamps the
    /// scan's end and hands over the written manifest, with how many of its records are answers.
    pub fn finish(
        &self,
        writer: &Mutex<PackWriter>,
        rates: Vec<RateRecord>,
    ) -> Result<(Manifest, usize)> {
        let mut w = writer.lock().expect("writer lock");
        for run in self.runs.lock().expect("runs lock").values() {
            w.add_probe_run(run.clone());
        }
        let skipped = self
            .skipped
            .lock()
            .expect("skipped lock")
            .iter()
            .map(|((probe, region, reason), items)| Skipped {
                probe: probe.clone(),
                region: region.clone(),
                items: *items,
                reason: reason.clone(),
            })
            .collect();
        w.set_collection_notes(rates, skipped);
        w.scan_mut().finished_at = super::now_rfc3339();
        let manifest = w.finish_manifest()?;
        let records_ok = manifest
            .records
            .iter()
            .filter(|r| r.error.is_none())
            .count();
        Ok((manifest, records_ok))
    }
}
