//! `results.json`: the canonical result every report and sink renders.
//!
//! This is a public contract that scripts and SIEMs rely on. Fields may be added; none is ever renamed
//! or removed. The output is deterministic: the same pack and mappings give byte-identical JSON.

use crate::catalog::Bilingual;
use crate::pack::ProbeError;
use crate::verdict::Verdict;
use serde::{Deserialize, Serialize};

mod resources;
mod spill_format;
pub use resources::{ResourceBuffer, Resources, SPILL_AT};

/// Schema tag of this contract.
pub const RESULTS_SCHEMA: &str = "dengbao.results/v1";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Results {
    /// Always [`RESULTS_SCHEMA`].
    pub schema: String,
    pub tool: Tool,
    pub framework: FrameworkRef,
    pub scan: Scan,
    pub summary: Summary,
    pub controls: Vec<ControlResult>,
    pub probes: Vec<ProbeResult>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FrameworkRef {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub standard: String,
    pub test_items: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Scan {
    pub provider: String,
    pub partition: String,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub started_at: String,
    pub finished_at: String,
    /// `sha256:` of the pack's manifest.json, which pins every blob.
    pub pack_digest: String,
    /// How raw bodies became the documents rules read.
    pub document_conversion: String,
    /// The evaluation scope given by the user (empty: the whole account).
    #[serde(default)]
    pub scope: crate::scope::Scope,
}

/// Number of controls per verdict.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Summary {
    pub total: u64,
    pub compliant: u64,
    pub partially_compliant: u64,
    pub non_compliant: u64,
    pub not_applicable: u64,
    pub manual: u64,
    pub error: u64,
}

impl Summary {
    pub fn add(&mut self, v: Verdict) {
        self.total += 1;
        *self.slot(v) += 1;
    }
    pub fn get(&self, v: Verdict) -> u64 {
        match v {
            Verdict::Compliant => self.compliant,
            Verdict::PartiallyCompliant => self.partially_compliant,
            Verdict::NonCompliant => self.non_compliant,
            Verdict::NotApplicable => self.not_applicable,
            Verdict::Manual => self.manual,
            Verdict::Error => self.error,
        }
    }
    fn slot(&mut self, v: Verdict) -> &mut u64 {
        match v {
            Verdict::Compliant => &mut self.compliant,
            Verdict::PartiallyCompliant => &mut self.partially_compliant,
            Verdict::NonCompliant => &mut self.non_compliant,
            Verdict::NotApplicable => &mut self.not_applicable,
            Verdict::Manual => &mut self.manual,
            Verdict::Error => &mut self.error,
        }
    }
}

/// The verdict on one test item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ControlResult {
    pub id: String,
    pub layer: String,
    pub layer_en: String,
    pub control_point: String,
    pub control_point_en: String,
    pub requirement: String,
    pub requirement_en: String,
    pub responsibility: String,
    /// `full`, `partial` or `manual` for the scanned provider.
    pub automation: String,
    pub verdict: Verdict,
    /// Why, in Chinese and English, one entry per rule (or one for a manual item).
    pub reasons: Vec<Bilingual>,
    /// Why these rules judge this item (from the mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<Bilingual>,
    pub rules: Vec<RuleResult>,
    /// What the assessor must still collect by hand (manual and partially automated items).
    pub checklist: Vec<Bilingual>,
}

/// Outcome of one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOutcome {
    Pass,
    Fail,
    Error,
    NotApplicable,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuleResult {
    pub id: String,
    pub title: Bilingual,
    pub outcome: RuleOutcome,
    /// The verdict this outcome gives the control (for a context rule: would give; it does not count).
    pub verdict: Verdict,
    /// True for a context rule: reported, but not part of the control's verdict.
    #[serde(default)]
    pub context: bool,
    /// Probes whose evidence the rule read.
    pub evidence_probes: Vec<String>,
    pub passed: u64,
    pub failed: u64,
    pub errored: u64,
    /// Resources left out because they are outside the evaluation scope.
    #[serde(default)]
    pub out_of_scope: u64,
    /// Every resource judged, in order (a large list lives in a temporary file until written out).
    pub resources: Resources,
}

/// Status of one resource under one rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceStatus {
    Pass,
    Fail,
    Error,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResourceResult {
    pub id: String,
    pub region: String,
    pub status: ResourceStatus,
    /// `sha256:` digests of the evidence records judged.
    pub evidence: Vec<String>,
    /// JSONPath locations (in those documents) of the values that decided the status.
    pub locations: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One probe run, as recorded in the pack.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ProbeResult {
    pub id: String,
    pub region: String,
    /// `ok` or `error`.
    pub status: String,
    pub records: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ProbeError>,
}

impl Results {
    /// The canonical bytes of `results.json` (pretty JSON, trailing newline).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut b = serde_json::to_vec_pretty(self).expect("results serialize");
        b.push(b'\n');
        b
    }

    /// Writes the same bytes as [`to_json_bytes`](Self::to_json_bytes) to `path`, streamed (a large
    /// scan's results are tens of megabytes; they are not held twice).
    pub fn write_json(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        serde_json::to_writer_pretty(&mut w, self)?;
        w.write_all(b"\n")?;
        w.flush()
    }
}
