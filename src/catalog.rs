//! The framework catalog: the 46 test items of the MLPS 2.0 Level 3 cloud-extension assessment guide.
//!
//! Lives in `mappings/<framework>/framework.toml` (metadata) and `mappings/<framework>/controls/*.toml`
//! (one `[[control]]` per test item, Chinese text exactly as the guide has it, with an English rendering).

use crate::embedded::{line_col, SourceFile};
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};

/// A text in Chinese and English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bilingual {
    pub zh: String,
    pub en: String,
}

/// The guide's criteria for one item, per verdict level. `partially_compliant` is absent when the guide
/// defines no 部分符合 for the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criteria {
    pub compliant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partially_compliant: Option<String>,
    pub non_compliant: String,
}

/// Who must satisfy an item when the assessed system is a tenant's system on a public cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Responsibility {
    Tenant,
    Provider,
    Shared,
}

/// How much of an item a read-only API scan can judge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Automation {
    Full,
    Partial,
    Manual,
}

impl Automation {
    pub fn as_str(self) -> &'static str {
        match self {
            Automation::Full => "full",
            Automation::Partial => "partial",
            Automation::Manual => "manual",
        }
    }
}

/// One test item of the guide.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// GB/T 28448-2019 test-item id, e.g. `L3-CES2-09`.
    pub id: String,
    pub layer: String,
    pub layer_en: String,
    pub control_point: String,
    pub control_point_en: String,
    /// `a`..`e`, or empty when the control point has a single requirement.
    pub clause: String,
    pub requirement: String,
    pub requirement_en: String,
    /// 要求解读 — the guide's interpretation (Chinese only).
    pub interpretation: String,
    pub test_method: String,
    pub test_method_en: String,
    pub expected_evidence: String,
    pub expected_evidence_en: String,
    pub criteria: Criteria,
    pub criteria_en: Criteria,
    pub responsibility: Responsibility,
    /// Provider-independent automation level; a provider's mappings may say more precisely.
    pub automation: Automation,
    pub automation_note: String,
    pub automation_note_en: String,
    /// What the assessor must collect by hand.
    pub checklist: Vec<Bilingual>,
}

/// Framework metadata (`framework.toml`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Framework {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub standard: String,
    pub test_items: String,
    pub guide: String,
    /// Layers in the guide's order; each `[[layer]]` names the id prefix of its items.
    pub layer: Vec<Layer>,
}

/// A layer (安全物理环境, ...) and the id prefix of its items (`L3-PES2`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    pub prefix: String,
    pub zh: String,
    pub en: String,
}

/// The loaded catalog: the framework and its items in the guide's order.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub framework: Framework,
    pub controls: Vec<Control>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlsFile {
    control: Vec<toml::Spanned<Control>>,
}

impl Catalog {
    /// Builds the catalog from `framework.toml` and `controls/*.toml` of one framework directory.
    /// `files` are that directory's TOML files (relative paths from the framework root).
    pub fn from_files(files: &[SourceFile]) -> Result<Self> {
        let fw_file = files
            .iter()
            .find(|f| f.rel == "framework.toml")
            .ok_or_else(|| {
                anyhow::anyhow!("framework.toml is missing from the framework directory")
            })?;
        let framework: Framework =
            toml::from_str(&fw_file.text).map_err(|e| toml_error(fw_file, &e))?;
        let mut controls: Vec<(Control, String)> = Vec::new();
        for f in files.iter().filter(|f| f.rel.starts_with("controls/")) {
            let parsed: ControlsFile = toml::from_str(&f.text).map_err(|e| toml_error(f, &e))?;
            for c in parsed.control {
                let (line, _) = line_col(&f.text, c.span().start);
                let at = format!("{}:{line}", f.display);
                validate_control(c.get_ref(), &framework, &at)?;
                controls.push((c.into_inner(), at));
            }
        }
        let mut seen = std::collections::BTreeMap::new();
        for (c, at) in &controls {
            if let Some(prev) = seen.insert(c.id.clone(), at.clone()) {
                bail!("{at}: control {} is defined twice (first at {prev})", c.id);
            }
        }
        let order = |id: &str| {
            let layer = framework
                .layer
                .iter()
                .position(|l| id.starts_with(&l.prefix))
                .unwrap_or(usize::MAX);
            (layer, id.to_string())
        };
        let mut controls: Vec<Control> = controls.into_iter().map(|(c, _)| c).collect();
        controls.sort_by_key(|c| order(&c.id));
        Ok(Self {
            framework,
            controls,
        })
    }

    /// The item with this id (case-insensitive).
    pub fn get(&self, id: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.id.eq_ignore_ascii_case(id))
    }
}

fn validate_control(c: &Control, fw: &Framework, at: &str) -> Result<()> {
    let Some(layer) = fw
        .layer
        .iter()
        .find(|l| c.id.starts_with(&format!("{}-", l.prefix)))
    else {
        bail!(
            "{at}: control id `{}` does not start with a layer prefix of framework.toml",
            c.id
        );
    };
    if c.layer != layer.zh || c.layer_en != layer.en {
        bail!(
            "{at}: control {} has layer `{}` but its id prefix {} belongs to `{}`",
            c.id,
            c.layer,
            layer.prefix,
            layer.zh
        );
    }
    let texts = [
        ("control_point", &c.control_point),
        ("control_point_en", &c.control_point_en),
        ("requirement", &c.requirement),
        ("requirement_en", &c.requirement_en),
        ("test_method", &c.test_method),
        ("test_method_en", &c.test_method_en),
        ("expected_evidence", &c.expected_evidence),
        ("expected_evidence_en", &c.expected_evidence_en),
        ("criteria.compliant", &c.criteria.compliant),
        ("criteria.non_compliant", &c.criteria.non_compliant),
        ("criteria_en.compliant", &c.criteria_en.compliant),
        ("criteria_en.non_compliant", &c.criteria_en.non_compliant),
        ("automation_note", &c.automation_note),
        ("automation_note_en", &c.automation_note_en),
    ];
    for (name, value) in texts {
        if value.trim().is_empty() {
            bail!("{at}: control {} has an empty `{name}`", c.id);
        }
    }
    if c.criteria.partially_compliant.is_some() != c.criteria_en.partially_compliant.is_some() {
        bail!("{at}: control {}: criteria and criteria_en must both have, or both lack, partially_compliant", c.id);
    }
    if c.checklist.is_empty() {
        bail!(
            "{at}: control {} has an empty checklist; say what an assessor must collect by hand",
            c.id
        );
    }
    Ok(())
}

/// Formats a TOML parse error as `file:line:col: message`.
pub fn toml_error(f: &SourceFile, e: &toml::de::Error) -> anyhow::Error {
    let (line, col) = e
        .span()
        .map(|s| line_col(&f.text, s.start))
        .unwrap_or((0, 0));
    anyhow::anyhow!("{}:{line}:{col}: {}", f.display, e.message().trim())
}
