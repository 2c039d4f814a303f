//! `--fail-on LEVELS`: when a scheduled scan should make its scheduler act (exit code
//! [`crate::exit::FAIL_ON`]). The default — no `--fail-on` — never fails on verdicts.

use crate::results::Results;
use crate::verdict::Verdict;
use std::fmt;

/// One condition of `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// An item is 不符合 (after exceptions).
    NonCompliant,
    /// An item is 部分符合 (after exceptions).
    PartiallyCompliant,
    /// An item could not be judged (errors are never excepted).
    Error,
    /// A resource fails that did not fail in the previous comparable scan (and is not excepted).
    New,
}

impl Level {
    pub const NAMES: [&'static str; 4] = ["non_compliant", "partially_compliant", "error", "new"];

    /// Parses `non_compliant,new,...`.
    pub fn parse_list(s: &str) -> Result<Vec<Level>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p {
                "non_compliant" => Ok(Level::NonCompliant),
                "partially_compliant" => Ok(Level::PartiallyCompliant),
                "error" => Ok(Level::Error),
                "new" => Ok(Level::New),
                other => Err(format!(
                    "unknown --fail-on level `{other}`; use any of {}",
                    Level::NAMES.join(", ")
                )),
            })
            .collect()
    }

    fn verdict(self) -> Option<Verdict> {
        match self {
            Level::NonCompliant => Some(Verdict::NonCompliant),
            Level::PartiallyCompliant => Some(Verdict::PartiallyCompliant),
            Level::Error => Some(Verdict::Error),
            Level::New => None,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = *self as usize;
        f.write_str(Level::NAMES[i])
    }
}

/// Which of `levels` matched, each with a line saying why. `newly_failing` is the number of resources
/// newly failing since the previous comparable scan (`None`: no such scan to compare with).
pub fn matched(levels: &[Level], results: &Results, newly_failing: Option<usize>) -> Vec<String> {
    let mut out = Vec::new();
    for &level in levels {
        if let Some(v) = level.verdict() {
            let items: Vec<&str> = results
                .controls
                .iter()
                .filter(|c| c.verdict_with_exceptions.unwrap_or(c.verdict) == v)
                .map(|c| c.id.as_str())
                .collect();
            if !items.is_empty() {
                out.push(format!("{level}: {}", items.join(", ")));
            }
        } else if let Some(n) = newly_failing.filter(|&n| n > 0) {
            out.push(format!(
                "{level}: {n} resource(s) newly failing since the previous comparable scan"
            ));
        }
    }
    out
}
