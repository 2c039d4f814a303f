//! The public verdict vocabulary. These six strings are part of the results contract: never rename them.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The judgement on one control (test item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 符合 — the evidence meets the guide's criteria for 符合.
    Compliant,
    /// 部分符合 — the evidence meets the guide's criteria for 部分符合.
    PartiallyCompliant,
    /// 不符合 — the evidence meets the guide's criteria for 不符合.
    NonCompliant,
    /// 不适用 — nothing in scope for this item (e.g. no resource of the kind the item is about).
    NotApplicable,
    /// 需人工核查 — the item cannot be judged from API evidence; a checklist says what to collect.
    Manual,
    /// 无法判定 — the evidence needed could not be read; the reasons name the cause.
    Error,
}

impl Verdict {
    /// Every verdict, in the order reports list them.
    pub const ALL: [Verdict; 6] = [
        Verdict::Compliant,
        Verdict::PartiallyCompliant,
        Verdict::NonCompliant,
        Verdict::NotApplicable,
        Verdict::Manual,
        Verdict::Error,
    ];

    /// The machine name used in `results.json` (`compliant`, `partially_compliant`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Compliant => "compliant",
            Verdict::PartiallyCompliant => "partially_compliant",
            Verdict::NonCompliant => "non_compliant",
            Verdict::NotApplicable => "not_applicable",
            Verdict::Manual => "manual",
            Verdict::Error => "error",
        }
    }

    /// The Chinese term the assessment guide uses.
    pub fn zh(self) -> &'static str {
        match self {
            Verdict::Compliant => "符合",
            Verdict::PartiallyCompliant => "部分符合",
            Verdict::NonCompliant => "不符合",
            Verdict::NotApplicable => "不适用",
            Verdict::Manual => "需人工核查",
            Verdict::Error => "无法判定",
        }
    }

    /// How strongly this verdict dominates when a control combines several rule verdicts.
    ///
    /// A known 不符合 is the worst possible answer, so it stands even when another rule could not be
    /// evaluated; an `error` beats every weaker verdict because the unseen evidence might have been
    /// worse (never a false pass).
    pub fn severity(self) -> u8 {
        match self {
            Verdict::NonCompliant => 5,
            Verdict::Error => 4,
            Verdict::PartiallyCompliant => 3,
            Verdict::Manual => 2,
            Verdict::Compliant => 1,
            Verdict::NotApplicable => 0,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_match_as_str() {
        for v in Verdict::ALL {
            let json = serde_json::to_string(&v).unwrap();
            assert_eq!(json, format!("\"{}\"", v.as_str()));
        }
    }

    #[test]
    fn non_compliant_outranks_error_outranks_partial() {
        assert!(Verdict::NonCompliant.severity() > Verdict::Error.severity());
        assert!(Verdict::Error.severity() > Verdict::PartiallyCompliant.severity());
        assert!(Verdict::PartiallyCompliant.severity() > Verdict::Compliant.severity());
        assert!(Verdict::Compliant.severity() > Verdict::NotApplicable.severity());
    }
}
