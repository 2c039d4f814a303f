//! `dengbao judgements import assessment-record.xlsx`: reads the assessor columns of the 测评记录表 an
//! assessor filled in (in any spreadsheet program) back into a judgements file.
//!
//! Columns are found by their header (`测评项编号`, `assessor_verdict`, `测评人员`, `测评日期`,
//! `测评说明`, `采纳理由`, `附件`), so moved columns still read. A row with an empty
//! `assessor_verdict` is not judged. A verdict may be written as dengbao names it (`compliant`) or
//! as the guide does (`符合`, `部分符合`, `不符合`); a date as text (`2026-12-01`) or as a date cell.
//! Attachments are the `sha256:…` digests in the 附件 cell. Every problem names its row; nothing
//! is written unless every row is right.

use super::judgements::{self, Judgement};
use super::Attachment;
use crate::catalog::Catalog;
use crate::pack::Digest;
use crate::report::xlsx::RECORD_SHEET;
use crate::verdict::Verdict;
use anyhow::{bail, Context, Result};
use calamine::{Data, Reader};
use std::path::Path;

/// Largest workbook read.
const XLSX_LIMIT: u64 = 64 << 20;

/// The judgements in the record sheet of `xlsx`, validated against `catalog` and (when the pack is
/// known) the attachments of its assessment.
pub fn import(
    xlsx: &Path,
    catalog: &Catalog,
    attached: Option<&[Attachment]>,
) -> Result<Vec<Judgement>> {
    let bytes = crate::limits::read_file(xlsx, XLSX_LIMIT, "a workbook", "XLSX_LIMIT")?;
    let shown = xlsx.display().to_string();
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
        .with_context(|| format!("{shown}: not an XLSX workbook"))?;
    let range = wb.worksheet_range(RECORD_SHEET).with_context(|| {
        format!("{shown}: no sheet `{RECORD_SHEET}` (write one with `dengbao report RESULTS --format xlsx`)")
    })?;
    let mut rows = range.rows();
    let header: Vec<String> = rows
        .next()
        .map(|r| r.iter().map(text).collect())
        .unwrap_or_default();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .with_context(|| format!("{shown}: sheet `{RECORD_SHEET}` has no column `{name}`"))
    };
    let [id, verdict, assessor, date, notes, reason, files] = [
        col("测评项编号")?,
        col("assessor_verdict")?,
        col("测评人员")?,
        col("测评日期")?,
        col("测评说明")?,
        col("采纳理由")?,
        col("附件")?,
    ];
    let digest_re = regex::Regex::new(r"sha256:[0-9a-f]{64}").expect("a valid pattern");
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    for (i, row) in rows.enumerate() {
        let at = format!("{shown}: {RECORD_SHEET} row {}", i + 2);
        let cell = |c: usize| row.get(c).map(text).unwrap_or_default().trim().to_string();
        let given = cell(verdict);
        if given.is_empty() {
            continue;
        }
        let item = cell(id);
        let Some(v) = parse_verdict(&given) else {
            problems.push(format!(
                "{at}: item `{item}`: `{given}` is not a verdict (compliant / 符合, partially_compliant / 部分符合, non_compliant / 不符合)"
            ));
            continue;
        };
        let reason = cell(reason);
        let j = Judgement {
            item,
            verdict: v,
            assessor: cell(assessor),
            date: row.get(date).map(date_text).unwrap_or_default(),
            notes: cell(notes),
            attachments: digest_re
                .find_iter(&cell(files))
                .filter_map(|m| Digest::parse(m.as_str()).ok())
                .collect(),
            reason: (!reason.is_empty()).then_some(reason),
        };
        judgements::check(&j, catalog, attached, &at, &mut problems);
        out.push(j);
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    if out.is_empty() {
        bail!("{shown}: no row has an `assessor_verdict`: nothing to import");
    }
    Ok(out)
}

fn parse_verdict(s: &str) -> Option<Verdict> {
    Verdict::ALL
        .into_iter()
        .find(|v| v.as_str() == s || v.zh() == s)
}

fn text(d: &Data) -> String {
    match d {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(x) => x.as_f64().to_string(),
        Data::Error(e) => format!("#{e:?}"),
        Data::Empty => String::new(),
    }
}

/// A date cell as `YYYY-MM-DD`: text as written, a spreadsheet date (days since 1899-12-30) converted.
fn date_text(d: &Data) -> String {
    let serial = match d {
        Data::DateTime(x) => x.as_f64(),
        Data::DateTimeIso(s) => return s.chars().take(10).collect(),
        other => return text(other).trim().to_string(),
    };
    chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(serial.floor() as i64)))
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}
