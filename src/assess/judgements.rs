//! The assessor's verdicts: `assessment/judgements.toml`, validated like a rule file (every problem as
//! `file:line:col: …`, the whole file refused).
//!
//! ```toml
//! [[judgement]]
//! item = "L3-PES2-01"             # a test item of the catalog
//! verdict = "compliant"           # on the item's own scale: compliant, non_compliant, and
//!                                 # partially_compliant only where the guide defines 部分符合
//! assessor = "王敏 (XX测评中心)"
//! date = "2026-12-01"
//! notes = "查看了云服务商的等保备案证明"
//! attachments = ["sha256:…"]      # files attached with `dengbao attach` (optional)
//! reason = "…"                    # required when it differs from a machine non_compliant or error
//! ```
//!
//! The machine's verdict is never overwritten: results carry both, and the assessor's is adopted
//! over a machine `non_compliant` or `error` only with a `reason` (checked when results are built).

use super::Attachment;
use crate::catalog::{Catalog, Control};
use crate::embedded::line_col;
use crate::pack::Digest;
use crate::verdict::Verdict;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One verdict by an assessor, as written in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    pub item: String,
    pub verdict: Verdict,
    pub assessor: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Digest>,
    /// Why the assessor's verdict is adopted over the machine's `non_compliant` or `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[serde(default)]
    judgement: Vec<toml::Spanned<Judgement>>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    judgement: &'a [Judgement],
}

/// A validated judgements file.
#[derive(Debug, Clone)]
pub struct Judgements {
    /// `sha256:` of the file's bytes.
    pub digest: String,
    /// Each judgement with where it is (`judgements.toml:12:1`), in file order.
    pub list: Vec<(Judgement, String)>,
}

impl Judgements {
    /// The judgement on `item`, with where it is written.
    pub fn get(&self, item: &str) -> Option<&(Judgement, String)> {
        self.list.iter().find(|(j, _)| j.item == item)
    }
}

/// The verdicts an assessor may give `control`: the levels its criteria define.
pub fn scale(control: &Control) -> Vec<Verdict> {
    let mut levels = vec![Verdict::Compliant];
    if control.criteria.partially_compliant.is_some() {
        levels.push(Verdict::PartiallyCompliant);
    }
    levels.push(Verdict::NonCompliant);
    levels
}

/// Parses and validates the text of a judgements file named `name`. `attached` is the assessment's
/// attachment list: a judgement may only cite files attached to the pack.
pub fn parse(
    text: &str,
    name: &str,
    catalog: &Catalog,
    attached: &[Attachment],
) -> Result<Judgements> {
    let parsed: FileIn = toml::from_str(text).map_err(|e| {
        let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
        anyhow::anyhow!("{name}:{line}:{col}: {}", e.message())
    })?;
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    let mut list = Vec::new();
    for spanned in parsed.judgement {
        let (line, col) = line_col(text, spanned.span().start);
        let at = format!("{name}:{line}:{col}");
        let j = spanned.into_inner();
        check(&j, catalog, Some(attached), &at, &mut problems);
        if !seen.insert(j.item.clone()) {
            problems.push(format!("{at}: item `{}` is judged twice", j.item));
        }
        list.push((j, at));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(Judgements {
        digest: crate::pack::digest_ref(&crate::pack::sha256_hex(text.as_bytes())),
        list,
    })
}

/// Checks one judgement; `attached` (None: not known) are the files it may cite.
pub(super) fn check(
    j: &Judgement,
    catalog: &Catalog,
    attached: Option<&[Attachment]>,
    at: &str,
    problems: &mut Vec<String>,
) {
    let item = &j.item;
    match catalog.get(item) {
        None => problems.push(format!(
            "{at}: no test item `{item}`; `dengbao controls list` shows them all"
        )),
        Some(c) => {
            let levels = scale(c);
            if !levels.contains(&j.verdict) {
                let names: Vec<&str> = levels.iter().map(|v| v.as_str()).collect();
                problems.push(format!(
                    "{at}: item `{item}`: verdict `{}` is not on its scale ({}): the guide's 判定标准 for it defines only these",
                    j.verdict,
                    names.join(", ")
                ));
            }
        }
    }
    if j.assessor.trim().is_empty() {
        problems.push(format!("{at}: item `{item}`: `assessor` is empty"));
    }
    if chrono::NaiveDate::parse_from_str(&j.date, "%Y-%m-%d").is_err() {
        problems.push(format!(
            "{at}: item `{item}`: date `{}` is not a date like 2026-12-01",
            j.date
        ));
    }
    if j.reason.as_deref().is_some_and(|r| r.trim().is_empty()) {
        problems.push(format!("{at}: item `{item}`: `reason` is empty"));
    }
    for d in &j.attachments {
        if attached.is_some_and(|list| !list.iter().any(|a| &a.sha256 == d)) {
            problems.push(format!(
                "{at}: item `{item}`: attachment {d} is not attached to this pack (`dengbao attach PACK --item {item} --file F`)"
            ));
        }
    }
}

/// The text of a judgements file holding `list`, in the order given.
pub fn to_toml(list: &[Judgement]) -> Result<String> {
    let body = toml::to_string(&FileOut { judgement: list })?;
    Ok(format!(
        "# The assessor's verdicts on this pack (dengbao judgements; docs/formats/assessment.md).\n\n{body}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in catalog (read as the application layer does, without depending on it).
    fn catalog() -> Catalog {
        let files: Vec<_> =
            crate::embedded::toml_files(&crate::embedded::MAPPINGS, "mappings", None)
                .unwrap()
                .into_iter()
                .filter_map(|mut f| {
                    f.rel = f.rel.strip_prefix("mlps2-l3-cloud/")?.to_string();
                    Some(f)
                })
                .collect();
        Catalog::from_files(&files).unwrap()
    }

    #[test]
    fn verdicts_off_the_items_scale_and_unknown_items_are_named_with_their_line() {
        let c = catalog();
        let no_partial = c
            .controls
            .iter()
            .find(|c| c.criteria.partially_compliant.is_none())
            .unwrap();
        let text = format!(
            "[[judgement]]\nitem = \"{}\"\nverdict = \"partially_compliant\"\nassessor = \"a\"\ndate = \"2026-12-01\"\n\n\
             [[judgement]]\nitem = \"L3-XXX-99\"\nverdict = \"compliant\"\nassessor = \"a\"\ndate = \"2026-13-01\"\n\n\
             [[judgement]]\nitem = \"{}\"\nverdict = \"manual\"\nassessor = \" \"\ndate = \"2026-12-01\"\nattachments = [\"sha256:{}\"]\n",
            no_partial.id,
            c.controls[0].id,
            "a".repeat(64)
        );
        let e = parse(&text, "j.toml", &c, &[]).unwrap_err().to_string();
        assert!(e.contains(&format!("j.toml:1:1: item `{}`: verdict `partially_compliant` is not on its scale (compliant, non_compliant)", no_partial.id)), "{e}");
        assert!(e.contains("j.toml:7:1: no test item `L3-XXX-99`"), "{e}");
        assert!(e.contains("date `2026-13-01`"), "{e}");
        assert!(e.contains("j.toml:13:1: item"), "{e}");
        assert!(e.contains("verdict `manual` is not on its scale"), "{e}");
        assert!(e.contains("`assessor` is empty"), "{e}");
        assert!(e.contains("is not attached to this pack"), "{e}");
    }

    #[test]
    fn a_written_file_reads_back() {
        let c = catalog();
        let j = Judgement {
            item: c.controls[0].id.clone(),
            verdict: Verdict::NonCompliant,
            assessor: "王敏".into(),
            date: "2026-12-01".into(),
            notes: "line one\n\"quoted\"".into(),
            attachments: vec![],
            reason: Some("interview".into()),
        };
        let text = to_toml(std::slice::from_ref(&j)).unwrap();
        let back = parse(&text, "j.toml", &c, &[]).unwrap();
        assert_eq!(back.list[0].0, j);
        let e = parse("[[judgement]]\nitem = 3\n", "j.toml", &c, &[]).unwrap_err();
        assert!(e.to_string().starts_with("j.toml:2:"), "{e}");
    }
}
