//! The evidence index: every record's document, converted once, and every failure, by probe.

use crate::convert::to_document;
use crate::pack::{Pack, ProbeStatus};
use anyhow::Result;
use serde_json::Value;
use std::collections::HashMap;

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
}

/// Documents and failures of a pack, by probe id.
pub struct EvidenceIndex<'p> {
    pub pack: &'p Pack,
    /// One document per record (None for failed calls).
    pub docs: Vec<Option<Value>>,
    by_probe: HashMap<&'p str, Vec<usize>>,
    failures: HashMap<&'p str, Vec<Failure>>,
    ran: HashMap<&'p str, usize>,
}

impl<'p> EvidenceIndex<'p> {
    /// Reads and converts every blob of `pack`.
    pub fn build(pack: &'p Pack) -> Result<Self> {
        let m = &pack.manifest;
        let mut docs = Vec::with_capacity(m.records.len());
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
                        region: rec.region.clone(),
                        record: Some(i),
                        code: e.code.clone(),
                        message: e.message.clone(),
                    });
                docs.push(None);
                continue;
            }
            let bytes = pack.blob_bytes(rec)?;
            match to_document(&rec.media_type, &bytes) {
                Ok(v) => docs.push(Some(v)),
                Err(e) => {
                    failures
                        .entry(rec.probe.as_str())
                        .or_default()
                        .push(Failure {
                            region: rec.region.clone(),
                            record: Some(i),
                            code: "UnparsableResponse".into(),
                            message: e.to_string(),
                        });
                    docs.push(None);
                }
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
        Ok(Self {
            pack,
            docs,
            by_probe,
            failures,
            ran,
        })
    }

    /// Records of `probe` with a readable document, in manifest order.
    pub fn documents(&self, probe: &str) -> impl Iterator<Item = (usize, &Value)> + '_ {
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

    /// Whether the pack shows `probe` was run at all (a run entry or a record).
    pub fn was_run(&self, probe: &str) -> bool {
        self.ran.contains_key(probe)
    }
}
