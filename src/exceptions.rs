//! Exceptions (accepted risks): a TOML file of item / rule / resource patterns, each with a reason, an
//! approver, a ticket and an expiry date. Applying them marks covered failing resources `excepted`
//! (their status stays `fail`) and gives each item a second verdict, `verdict_with_exceptions`; the
//! first verdict never changes. Expiry is compared with the scan's `finished_at`, never the clock, so
//! the same pack and file give byte-identical results.
//!
//! ```toml
//! [[exception]]
//! id = "EX-7"
//! item = "L3-CNS1-*"          # glob over test item ids (default `*`)
//! rule = "aws-sg-no-open-admin-ports"  # glob over rule ids (default `*`)
//! resource = "sg-0abc*"       # glob over resource ids (default `*`)
//! reason = "bastion, replaced in Q3"
//! approver = "Li Wei (CISO)"
//! ticket = "SEC-1234"
//! expires = "2025-09-30"      # last day it applies
//! ```

use crate::embedded::{line_col, SourceFile};
use crate::results::{Excepted, ExceptionUse, ExceptionsApplied, ResourceStatus, Results};
use crate::results::{RuleOutcome, RESULTS_SCHEMA_V2};
use crate::verdict::Verdict;
use anyhow::{bail, Result};
use serde::Deserialize;
use std::path::Path;

/// A parsed, validated exceptions file.
#[derive(Debug, Clone)]
pub struct ExceptionSet {
    digest: String,
    list: Vec<Exception>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    exception: Vec<toml::Spanned<Exception>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exception {
    id: String,
    #[serde(default = "any")]
    item: String,
    #[serde(default = "any")]
    rule: String,
    #[serde(default = "any")]
    resource: String,
    reason: String,
    approver: String,
    ticket: String,
    expires: String,
}

fn any() -> String {
    "*".into()
}

impl ExceptionSet {
    /// Reads and validates `path`; every problem is reported as `file:line:col: message`.
    pub fn read(path: &Path) -> Result<ExceptionSet> {
        let bytes = crate::limits::read_file(
            path,
            crate::limits::MAX_TOML_FILE_BYTES,
            "an exceptions file",
            "MAX_TOML_FILE_BYTES",
        )?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))?;
        let digest = format!("sha256:{}", crate::pack::sha256_hex(text.as_bytes()));
        let f = SourceFile {
            rel: path.display().to_string(),
            display: path.display().to_string(),
            text,
        };
        let parsed: File =
            toml::from_str(&f.text).map_err(|e| crate::catalog::toml_error(&f, &e))?;
        let mut problems = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for e in &parsed.exception {
            let (line, col) = line_col(&f.text, e.span().start);
            let at = format!("{}:{line}:{col}", f.display);
            let x = e.get_ref();
            if chrono::NaiveDate::parse_from_str(&x.expires, "%Y-%m-%d").is_err() {
                problems.push(format!(
                    "{at}: exception `{}`: expires `{}` is not a date like 2025-09-30",
                    x.id, x.expires
                ));
            }
            for (field, v) in [
                ("id", &x.id),
                ("reason", &x.reason),
                ("approver", &x.approver),
                ("ticket", &x.ticket),
            ] {
                if v.trim().is_empty() {
                    problems.push(format!("{at}: exception `{}`: `{field}` is empty", x.id));
                }
            }
            if [&x.item, &x.rule, &x.resource].iter().all(|p| *p == "*") {
                problems.push(format!("{at}: exception `{}` names no item, rule or resource; an exception accepts a named risk, not everything", x.id));
            }
            if !seen.insert(x.id.clone()) {
                problems.push(format!("{at}: exception id `{}` is used twice", x.id));
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        Ok(ExceptionSet {
            digest,
            list: parsed
                .exception
                .into_iter()
                .map(|e| e.into_inner())
                .collect(),
        })
    }
}

/// `*` matches any run of characters, `?` one; everything else itself.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Applies `set` to `results`: marks covered failing resources, sets each item's
/// `verdict_with_exceptions`, records what each exception did, and moves the results to v2.
/// Errors are never excepted: evidence that could not be read stays `error`.
pub fn apply(results: &mut Results, set: &ExceptionSet) {
    let as_of: String = results.scan.finished_at.chars().take(10).collect();
    let mut used = vec![0u64; set.list.len()];
    let mut would = vec![0u64; set.list.len()];
    for control in &mut results.controls {
        for rule in &mut control.rules {
            let mut excepted = Vec::new();
            for r in rule.resources.iter() {
                if r.status != ResourceStatus::Fail {
                    continue;
                }
                let matches = |x: &Exception| {
                    glob(&x.item, &control.id)
                        && glob(&x.rule, &rule.id)
                        && glob(&x.resource, &r.id)
                };
                for (i, x) in set.list.iter().enumerate().filter(|(_, x)| matches(x)) {
                    if x.expires.as_str() < as_of.as_str() {
                        would[i] += 1;
                        continue;
                    }
                    used[i] += 1;
                    excepted.push(Excepted {
                        resource: r.id.clone(),
                        region: r.region.clone(),
                        exception: x.id.clone(),
                    });
                    break;
                }
            }
            rule.excepted = excepted;
        }
        control.verdict_with_exceptions = Some(with_exceptions(control));
    }
    let exceptions = set
        .list
        .iter()
        .enumerate()
        .map(|(i, x)| ExceptionUse {
            id: x.id.clone(),
            item: x.item.clone(),
            rule: x.rule.clone(),
            resource: x.resource.clone(),
            reason: x.reason.clone(),
            approver: x.approver.clone(),
            ticket: x.ticket.clone(),
            expires: x.expires.clone(),
            state: if x.expires.as_str() < as_of.as_str() {
                "expired"
            } else if used[i] > 0 {
                "applied"
            } else {
                "unused"
            }
            .into(),
            resources: if used[i] > 0 { used[i] } else { would[i] },
        })
        .collect();
    results.exceptions = Some(ExceptionsApplied {
        file_digest: set.digest.clone(),
        as_of,
        exceptions,
    });
    results.schema = RESULTS_SCHEMA_V2.into();
}

/// The item's verdict once exceptions count: a failing rule whose every failing resource is excepted
/// (and that has no error) counts as compliant; anything else keeps its verdict.
fn with_exceptions(control: &crate::results::ControlResult) -> Verdict {
    if control.rules.is_empty() {
        return control.verdict;
    }
    crate::engine::combine(control.rules.iter().filter(|r| !r.context).map(|r| {
        let all_excepted = r.failed > 0 && r.excepted.len() as u64 == r.failed && r.errored == 0;
        if r.outcome == RuleOutcome::Fail && all_excepted {
            Verdict::Compliant
        } else {
            r.verdict
        }
    }))
}

/// One warning line per exception that expired or was not used.
pub fn warnings(applied: &ExceptionsApplied) -> Vec<String> {
    applied
        .exceptions
        .iter()
        .filter(|x| x.state != "applied")
        .map(|x| match x.state.as_str() {
            "expired" => format!(
                "warning: exception `{}` expired on {} (scan finished {}); it no longer applies{}",
                x.id,
                x.expires,
                applied.as_of,
                if x.resources > 0 {
                    format!(" — {} failing resource(s) it would cover are failing again", x.resources)
                } else {
                    String::new()
                }
            ),
            _ => format!(
                "warning: exception `{}` covers no failing resource (unused); remove it or fix its patterns",
                x.id
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs() {
        assert!(glob("sg-*", "sg-123"));
        assert!(glob("*", ""));
        assert!(glob("L3-?NS1-0*", "L3-CNS1-01"));
        assert!(!glob("sg-*", "vol-1"));
        assert!(glob("a*b*c", "aXXbYYc"));
        assert!(!glob("a*b*c", "aXXbYY"));
    }
}
