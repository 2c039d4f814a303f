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
/// Schema tag of results that carry v2 fields (exceptions applied); every v2 field is optional, so
/// a v1 reader of the remaining fields still reads them. See docs/formats/results.md.
pub const RESULTS_SCHEMA_V2: &str = "dengbao.results/v2";
/// Every results schema this dengbao reads, oldest first.
pub const RESULTS_SCHEMAS: [&str; 2] = [RESULTS_SCHEMA, RESULTS_SCHEMA_V2];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Results {
    /// [`RESULTS_SCHEMA`], or [`RESULTS_SCHEMA_V2`] when v2 fields are present.
    pub schema: String,
    pub tool: Tool,
    pub framework: FrameworkRef,
    pub scan: Scan,
    pub summary: Summary,
    pub controls: Vec<ControlResult>,
    pub probes: Vec<ProbeResult>,
    /// v2: the exceptions file applied, and what became of each exception.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<ExceptionsApplied>,
    /// v2: the pack's assessment layer, when its judgements were applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<AssessmentApplied>,
}

/// v2: which assessment the assessor verdicts come from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AssessmentApplied {
    /// `sha256:` of `assessment/judgements.toml` (empty when there are only attachments).
    pub judgements_digest: String,
    /// Items judged by an assessor.
    pub judged: u64,
    /// Files attached.
    pub attachments: u64,
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
    /// v2: the verdict once accepted risks (exceptions) are taken into account; `verdict` stays the
    /// verdict without them, so an exception never hides a status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict_with_exceptions: Option<Verdict>,
    /// Why, in Chinese and English, one entry per rule (or one for a manual item).
    pub reasons: Vec<Bilingual>,
    /// Why these rules judge this item (from the mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationale: Option<Bilingual>,
    pub rules: Vec<RuleResult>,
    /// What the assessor must still collect by hand (manual and partially automated items).
    pub checklist: Vec<Bilingual>,
    /// v2: the assessor's verdict from the pack's assessment layer, beside the machine's (which it
    /// never replaces: `verdict` stays the machine's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assessor: Option<AssessorVerdict>,
    /// v2: the assessor's files for this item (the assessment layer's attachments).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<AttachmentRef>,
}

/// v2: an assessor's verdict on one item.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AssessorVerdict {
    pub verdict: Verdict,
    /// Where it comes from: `assessor` (the pack's `assessment/judgements.toml`).
    pub origin: String,
    /// The assessor's name.
    pub assessor: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Why it is adopted over a machine `non_compliant` or `error` (required then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// v2: an attached file, by name and digest.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AttachmentRef {
    pub name: String,
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Where an item's final verdict comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The assessor's judgement.
    Assessor,
    /// The machine's verdict (the excepted view stays beside it, in `verdict_with_exceptions`).
    Machine,
    /// Nobody decided: the machine left the item to people and no assessor judged it.
    Open,
}

impl Origin {
    pub fn zh(self) -> &'static str {
        match self {
            Origin::Assessor => "测评人员",
            Origin::Machine => "自动检测",
            Origin::Open => "待判定",
        }
    }
    pub fn en(self) -> &'static str {
        match self {
            Origin::Assessor => "assessor",
            Origin::Machine => "machine",
            Origin::Open => "open",
        }
    }
}

impl ControlResult {
    /// The verdict a 测评记录表 shows: the assessor's where there is one, else the machine's; `Open`
    /// when that is `manual` (nobody decided).
    pub fn final_verdict(&self) -> (Verdict, Origin) {
        match &self.assessor {
            Some(a) => (a.verdict, Origin::Assessor),
            None if self.verdict == Verdict::Manual => (Verdict::Manual, Origin::Open),
            None => (self.verdict, Origin::Machine),
        }
    }
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
    /// v2: failing resources covered by an exception (they keep their `fail` status).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excepted: Vec<Excepted>,
}

/// v2: the exceptions file an evaluation applied, and what became of each exception.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExceptionsApplied {
    /// `sha256:` of the exceptions file's bytes.
    pub file_digest: String,
    /// The date the expiry dates were compared with: the scan's `finished_at` (UTC day).
    pub as_of: String,
    pub exceptions: Vec<ExceptionUse>,
}

/// One exception of the file and what it did in this evaluation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ExceptionUse {
    pub id: String,
    pub item: String,
    pub rule: String,
    pub resource: String,
    pub reason: String,
    pub approver: String,
    pub ticket: String,
    /// Last day (inclusive, `YYYY-MM-DD`) the exception applies.
    pub expires: String,
    /// `applied` (covered at least one failing resource), `unused` (matched none), or `expired`
    /// (its expiry date is before the scan's; it covered nothing).
    pub state: String,
    /// Failing resources it covered (for `expired`: would have covered).
    pub resources: u64,
}

/// A failing resource an exception covers: its status stays `fail`; it is marked, not hidden.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Excepted {
    pub resource: String,
    pub region: String,
    /// The exception's `id` in the exceptions file.
    pub exception: String,
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

impl Results {
    /// The exception `id` of the applied exceptions file (v2), if any.
    pub fn exception(&self, id: &str) -> Option<&ExceptionUse> {
        self.exceptions
            .as_ref()
            .and_then(|a| a.exceptions.iter().find(|x| x.id == id))
    }

    /// `EX-1 (reason: …; approver: …; ticket: …; expires …)` for the exception `id`, or the bare id.
    pub fn describe_exception(&self, id: &str) -> String {
        match self.exception(id) {
            Some(x) => format!(
                "{} (reason: {}; approver: {}; ticket: {}; expires {})",
                x.id, x.reason, x.approver, x.ticket, x.expires
            ),
            None => id.to_string(),
        }
    }
}

impl RuleResult {
    /// The exception covering the failing resource `id` in `region` under this rule (v2).
    pub fn exception_for(&self, id: &str, region: &str) -> Option<&str> {
        self.excepted
            .iter()
            .find(|x| x.resource == id && x.region == region)
            .map(|x| x.exception.as_str())
    }
}
