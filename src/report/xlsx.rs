//! XLSX: `assessment-record.xlsx`, the 测评记录表 an assessor fills in and signs, pre-filled with the
//! machine evidence.
//!
//! Sheets:
//!
//! 1. **测评记录表** — one row per test item, in the guide's order: 测评项编号 (item id), 层面 (layer),
//!    控制点 (control point), 测评指标 (the requirement), 测评方法 (the guide's test method, from the
//!    catalog), 结果记录 (the machine evidence summary: reasons, resources that failed or could not be
//!    read, evidence digests; the checklist for items that need manual review), 符合情况 (the verdict
//!    in Chinese, with a fill colour per verdict), `verdict` (the machine name, for scripts), and
//!    `verdict_with_exceptions` (results v2: the verdict once accepted risks count, empty without an
//!    exceptions file; 符合情况 and `verdict` stay the verdict without them). 结果记录 names every
//!    excepted resource with its exception (reason, approver, ticket, expiry). Results v2 with an
//!    assessment layer: 符合情况 is the final verdict (the assessor's where there is one, else the
//!    machine's), 结论来源 says whose (测评人员 / 自动检测 / 待判定 for an item nobody decided, shown
//!    in red), and the assessor columns (`assessor_verdict`, 测评人员, 测评日期, 测评说明, 采纳理由,
//!    附件) hold the judgement and the attachments by name and digest. `verdict` stays the machine's.
//!    The assessor columns round-trip: `dengbao judgements import` reads them back (`crate::assess`).
//! 2. **证据索引** — the evidence index: one row per test item × rule × resource × evidence digest,
//!    with the resource's region and status, the JSONPath locations inside that evidence, and (when
//!    the pack was at hand) the probe, API operation, region and capture time of the records, and 例外
//!    (the exception id covering a failing resource, which keeps its `fail` status).
//! 3. **扫描信息** — the scan: framework, provider, partition, accounts, regions, times, pack digest,
//!    tool version and the count per verdict.
//!
//! Every sheet has a bold frozen header row with an autofilter, wrapped text and column widths
//! suited to Chinese text. Text is written as text cells (never formulas), so evidence-derived
//! strings cannot run in a spreadsheet. A cell holds at most 32,767 characters; longer text is cut
//! with a note pointing at `findings.csv`. The document's creation time is the scan's `finished_at`,
//! so the file is byte-identical for the same results.

use super::{control_digests, for_each_problem, status_str, Files, ReportInput};
use crate::results::{ControlResult, Origin, ResourceResult, ResourceStatus, RuleResult};
use crate::verdict::Verdict;
use anyhow::{Context, Result};
use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
};
use std::fmt::Write;

/// File name of the workbook.
pub const FILE: &str = "assessment-record.xlsx";
/// Name of the record sheet.
pub const RECORD_SHEET: &str = "测评记录表";
/// Name of the evidence index sheet.
pub const EVIDENCE_SHEET: &str = "证据索引";
/// Name of the scan sheet.
pub const SCAN_SHEET: &str = "扫描信息";

/// Headers of the record sheet, in column order.
pub const RECORD_HEADERS: [&str; 16] = [
    "测评项编号",
    "层面",
    "控制点",
    "测评指标",
    "测评方法",
    "结果记录",
    "符合情况",
    "verdict",
    "verdict_with_exceptions",
    "结论来源",
    "assessor_verdict",
    "测评人员",
    "测评日期",
    "测评说明",
    "采纳理由",
    "附件",
];
const RECORD_WIDTHS: [f64; 16] = [
    13.0, 14.0, 16.0, 40.0, 50.0, 70.0, 11.0, 20.0, 24.0, 12.0, 20.0, 16.0, 12.0, 40.0, 30.0, 50.0,
];
/// The assessor columns of the record sheet (an assessor fills them; `judgements import` reads them).
pub const ASSESSOR_COLUMNS: std::ops::Range<usize> = 10..16;

/// Fill of the 符合情况 cell of an item nobody decided (manual, no assessor verdict).
const OPEN_FILL: u32 = 0xFF0000;

/// Headers of the evidence index sheet.
pub const EVIDENCE_HEADERS: [&str; 12] = [
    "测评项编号",
    "规则",
    "资源",
    "区域",
    "状态",
    "证据摘要",
    "定位",
    "探针",
    "操作",
    "采集区域",
    "采集时间",
    "例外",
];
const EVIDENCE_WIDTHS: [f64; 12] = [
    13.0, 30.0, 28.0, 15.0, 8.0, 74.0, 60.0, 34.0, 26.0, 15.0, 25.0, 12.0,
];

/// Excel's limit on the characters in one cell.
const MAX_CELL: usize = 32_767;
/// Rows a worksheet holds below its header: Excel's limit is 1,048,576 rows in all. A longer evidence
/// index goes on in 证据索引 (2), (3), … rather than failing the report.
const SHEET_ROWS: u32 = 1_048_575;

/// Fill colour of a verdict cell.
pub fn verdict_fill(v: Verdict) -> u32 {
    match v {
        Verdict::Compliant => 0xC6EFCE,
        Verdict::PartiallyCompliant => 0xFFEB9C,
        Verdict::NonCompliant => 0xFFC7CE,
        Verdict::NotApplicable => 0xE7E6E6,
        Verdict::Manual => 0xDDEBF7,
        Verdict::Error => 0xF8CBAD,
    }
}

fn cell_text(s: &str) -> String {
    if s.chars().count() <= MAX_CELL {
        return s.to_string();
    }
    let note = "\n…（内容过长已截断，完整内容见 findings.csv / truncated, see findings.csv）";
    let keep = MAX_CELL - note.chars().count();
    let mut out: String = s.chars().take(keep).collect();
    out.push_str(note);
    out
}

/// The 结果记录 text of one item.
pub fn result_record(input: &ReportInput<'_>, c: &ControlResult) -> String {
    let mut o = String::new();
    // A manual item with context rules shows their findings and evidence like any other item (they
    // can show non-compliance); one without rules is only its checklist.
    if c.verdict == Verdict::Manual && c.rules.is_empty() {
        let _ = writeln!(o, "本项无法由 API 证据判定，需按检查清单人工核查：");
    } else {
        for r in &c.reasons {
            let _ = writeln!(o, "{}", r.zh);
        }
        // Each list stops once it alone is past what a cell holds: the cell is cut there anyway.
        let mut lists: [(Vec<String>, usize); 2] = Default::default();
        for_each_problem(c, |p| {
            let (list, chars) = &mut lists[usize::from(p.status != ResourceStatus::Fail)];
            if *chars <= MAX_CELL {
                let entry = format!("{} ({})", p.id, p.region);
                *chars += entry.chars().count() + 1;
                list.push(entry);
            }
            Ok(())
        })
        .expect("gathering never fails");
        for ((list, _), label) in lists.into_iter().zip(["未通过资源", "无法读取"]) {
            if !list.is_empty() {
                let _ = writeln!(o, "{label}：{}", list.join("；"));
            }
        }
        for rule in &c.rules {
            for x in &rule.excepted {
                let _ = writeln!(
                    o,
                    "已接受风险（例外）：{} ({}) 规则 {}，仍为未通过，例外 {}",
                    x.resource,
                    x.region,
                    rule.id,
                    input.results.describe_exception(&x.exception)
                );
            }
        }
        if let Some(w) = c.verdict_with_exceptions.filter(|w| *w != c.verdict) {
            let _ = writeln!(
                o,
                "计入例外后：{} {}（符合情况一栏为未计入例外的结论）",
                w.zh(),
                w.as_str()
            );
        }
        let digests = control_digests(c);
        if !digests.is_empty() {
            let _ = writeln!(o, "证据：");
            for d in digests {
                let recs = input.evidence.records(&d);
                match recs.first() {
                    Some(rec) => {
                        let _ =
                            writeln!(o, "  {d}  {} {} {}", rec.probe, rec.region, rec.captured_at);
                    }
                    None => {
                        let _ = writeln!(o, "  {d}");
                    }
                }
            }
        }
        if !c.checklist.is_empty() {
            let _ = writeln!(o, "人工核查清单：");
        }
    }
    for (i, item) in c.checklist.iter().enumerate() {
        let _ = writeln!(o, "  {}. {}", i + 1, item.zh);
    }
    cell_text(o.trim_end())
}

/// The assessor columns of one item: verdict, name, date, notes, reason, attachments (one per line,
/// `name  sha256:…`).
fn assessor_cells(c: &ControlResult) -> [String; 6] {
    let files: Vec<String> = c
        .attachments
        .iter()
        .map(|a| format!("{}  {}", a.name, a.sha256))
        .collect();
    let files = files.join("\n");
    match &c.assessor {
        Some(a) => [
            a.verdict.as_str().to_string(),
            a.assessor.clone(),
            a.date.clone(),
            a.notes.clone(),
            a.reason.clone().unwrap_or_default(),
            files,
        ],
        None => [
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            files,
        ],
    }
}

/// The evidence index rows of one resource of a rule: one per evidence digest (one when it has none).
fn evidence_rows(
    input: &ReportInput<'_>,
    c: &ControlResult,
    rule: &RuleResult,
    res: &ResourceResult,
) -> Vec<[String; 12]> {
    let digests: Vec<Option<&String>> = if res.evidence.is_empty() {
        vec![None]
    } else {
        res.evidence.iter().map(Some).collect()
    };
    let mut rows = Vec::with_capacity(digests.len());
    for d in digests {
        let (locs, recs) = match d {
            Some(d) => {
                let prefix = format!("{d}#");
                let locs: Vec<&str> = res
                    .locations
                    .iter()
                    .filter(|l| l.starts_with(&prefix))
                    .map(|l| &l[prefix.len()..])
                    .collect();
                (locs.join("\n"), input.evidence.records(d))
            }
            None => (String::new(), &[][..]),
        };
        let col = |f: &dyn Fn(&crate::pack::EvidenceRecord) -> String| {
            let mut v: Vec<String> = recs.iter().map(f).collect();
            v.dedup();
            v.join("\n")
        };
        rows.push([
            c.id.clone(),
            rule.id.clone(),
            res.id.clone(),
            res.region.clone(),
            status_str(res.status).to_string(),
            d.cloned().unwrap_or_default(),
            locs,
            col(&|x| x.probe.to_string()),
            col(&|x| format!("{}:{}", x.service, x.operation)),
            col(&|x| x.region.to_string()),
            col(&|x| x.captured_at.clone()),
            rule.exception_for(&res.id, &res.region)
                .unwrap_or_default()
                .to_string(),
        ]);
    }
    rows
}

fn header_format() -> Format {
    Format::new()
        .set_bold()
        .set_text_wrap()
        .set_align(FormatAlign::VerticalCenter)
        .set_background_color(Color::RGB(0xD9E1F2))
        .set_border(FormatBorder::Thin)
}

fn body_format() -> Format {
    Format::new()
        .set_text_wrap()
        .set_align(FormatAlign::Top)
        .set_border(FormatBorder::Thin)
}

fn setup(ws: &mut Worksheet, headers: &[&str], widths: &[f64], rows: u32) -> Result<()> {
    let hf = header_format();
    for (i, (h, w)) in headers.iter().zip(widths).enumerate() {
        let col = i as u16;
        ws.write_string_with_format(0, col, *h, &hf)?;
        ws.set_column_width(col, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    ws.autofilter(0, 0, rows.max(1), headers.len() as u16 - 1)?;
    ws.set_landscape();
    ws.set_repeat_rows(0, 0)?;
    Ok(())
}

/// Writes `assessment-record.xlsx`. Its sheets are written row by row ("low memory" worksheets: a
/// row goes to a temporary file once the next is begun; only the shared strings stay in memory).
pub fn write(input: &ReportInput<'_>, files: &mut Files) -> Result<()> {
    let r = input.results;
    let mut wb = Workbook::new();
    let created = chrono::DateTime::parse_from_rfc3339(&r.scan.finished_at)
        .with_context(|| format!("scan.finished_at `{}` is not RFC 3339", r.scan.finished_at))?
        .with_timezone(&chrono::Utc);
    use chrono::{Datelike, Timelike};
    let when = ExcelDateTime::from_ymd(
        created.year() as u16,
        created.month() as u8,
        created.day() as u8,
    )?
    .and_hms(
        created.hour() as u16,
        created.minute() as u8,
        created.second() as f64,
    )?;
    let props = DocProperties::new()
        .set_title(format!("测评记录表 — {}", r.framework.name))
        .set_subject(format!(
            "{} / {} / {}",
            r.scan.provider,
            r.scan.partition,
            r.scan.accounts.join(",")
        ))
        .set_author(format!("{} {}", r.tool.name, r.tool.version))
        .set_comment(format!("pack {}", r.scan.pack_digest))
        .set_creation_datetime(&when);
    wb.set_properties(&props);

    let body = body_format();
    // The record sheet.
    let ws = wb.add_worksheet_with_low_memory();
    ws.set_name(RECORD_SHEET)?;
    setup(ws, &RECORD_HEADERS, &RECORD_WIDTHS, r.controls.len() as u32)?;
    for (i, c) in r.controls.iter().enumerate() {
        let row = i as u32 + 1;
        let cat = input.control(c);
        let requirement = match cat {
            Some(k) if !k.clause.is_empty() => format!("{}) {}", k.clause, c.requirement),
            _ => c.requirement.clone(),
        };
        let method = cat.map(|k| k.test_method.clone()).unwrap_or_default();
        let cells = [
            c.id.clone(),
            c.layer.clone(),
            c.control_point.clone(),
            requirement,
            method,
            result_record(input, c),
        ];
        for (col, text) in cells.iter().enumerate() {
            ws.write_string_with_format(row, col as u16, cell_text(text), &body)?;
        }
        let (shown, origin) = c.final_verdict();
        let (text, fill) = match origin {
            Origin::Open => (format!("{}（待判定）", shown.zh()), OPEN_FILL),
            _ => (shown.zh().to_string(), verdict_fill(shown)),
        };
        let vf = body_format()
            .set_bold()
            .set_background_color(Color::RGB(fill));
        ws.write_string_with_format(row, 6, text, &vf)?;
        ws.write_string_with_format(row, 7, c.verdict.as_str(), &body)?;
        if let Some(w) = c.verdict_with_exceptions {
            ws.write_string_with_format(row, 8, w.as_str(), &body)?;
        }
        ws.write_string_with_format(row, 9, origin.zh(), &body)?;
        for (col, text) in (ASSESSOR_COLUMNS.start..).zip(assessor_cells(c)) {
            ws.write_string_with_format(row, col as u16, cell_text(&text), &body)?;
        }
    }

    // The evidence index, over as many sheets as it needs.
    let mut count = 0u64;
    for c in &r.controls {
        for rule in &c.rules {
            for res in &rule.resources {
                count += res.evidence.len().max(1) as u64;
            }
        }
    }
    let mut index = IndexSheets::new(count, SHEET_ROWS);
    for c in &r.controls {
        for rule in &c.rules {
            for res in &rule.resources {
                for cells in evidence_rows(input, c, rule, &res) {
                    let (ws, row) = index.next_row(&mut wb)?;
                    for (col, text) in cells.iter().enumerate() {
                        ws.write_string_with_format(row, col as u16, cell_text(text), &body)?;
                    }
                }
            }
        }
    }
    index.finish(&mut wb)?;

    // The scan.
    let ws = wb.add_worksheet_with_low_memory();
    ws.set_name(SCAN_SHEET)?;
    let mut info: Vec<(String, String)> = vec![
        (
            "框架 Framework".into(),
            format!("{} ({})", r.framework.name, r.framework.id),
        ),
        ("标准 Standard".into(), r.framework.standard.clone()),
        (
            "测评项依据 Test items".into(),
            r.framework.test_items.clone(),
        ),
        ("云服务商 Provider".into(), r.scan.provider.clone()),
        ("分区 Partition".into(), r.scan.partition.clone()),
        ("账号 Accounts".into(), r.scan.accounts.join("\n")),
        ("区域 Regions".into(), r.scan.regions.join("\n")),
        ("开始时间 Started".into(), r.scan.started_at.clone()),
        ("结束时间 Finished".into(), r.scan.finished_at.clone()),
        ("证据包摘要 Pack digest".into(), r.scan.pack_digest.clone()),
        (
            "文档转换 Document conversion".into(),
            r.scan.document_conversion.clone(),
        ),
        (
            "工具 Tool".into(),
            format!("{} {}", r.tool.name, r.tool.version),
        ),
        ("结果格式 Results schema".into(), r.schema.clone()),
        ("测评项总数 Items".into(), r.summary.total.to_string()),
    ];
    for v in Verdict::ALL {
        info.push((
            format!("{} {}", v.zh(), v.as_str()),
            r.summary.get(v).to_string(),
        ));
    }
    setup(
        ws,
        &["项目 Field", "内容 Value"],
        &[30.0, 80.0],
        info.len() as u32,
    )?;
    for (i, (k, v)) in info.iter().enumerate() {
        ws.write_string_with_format(i as u32 + 1, 0, k, &body)?;
        ws.write_string_with_format(i as u32 + 1, 1, v, &body)?;
    }

    files.write(FILE, |out| Ok(wb.save_to_writer(out)?))
}

/// The evidence index's sheets: 证据索引, then 证据索引 (2), … when one sheet cannot hold every row.
struct IndexSheets {
    /// Rows in all, and rows per sheet below the header.
    total: u64,
    per_sheet: u32,
    /// The sheets begun so far, the workbook index of the last one, and its last row written.
    parts: u32,
    sheet: usize,
    row: u32,
}

impl IndexSheets {
    fn new(total: u64, per_sheet: u32) -> Self {
        IndexSheets {
            total,
            per_sheet,
            parts: 0,
            sheet: 0,
            row: 0,
        }
    }

    fn name(part: u32) -> String {
        match part {
            1 => EVIDENCE_SHEET.to_string(),
            n => format!("{EVIDENCE_SHEET} ({n})"),
        }
    }

    /// Begins the next sheet, sized for the rows left.
    fn begin(&mut self, wb: &mut Workbook) -> Result<()> {
        let written = u64::from(self.parts) * u64::from(self.per_sheet);
        let rows = self
            .total
            .saturating_sub(written)
            .min(u64::from(self.per_sheet)) as u32;
        self.parts += 1;
        let ws = wb.add_worksheet_with_low_memory();
        ws.set_name(Self::name(self.parts))?;
        setup(ws, &EVIDENCE_HEADERS, &EVIDENCE_WIDTHS, rows)?;
        self.sheet = wb.worksheets().len() - 1;
        self.row = 0;
        Ok(())
    }

    /// The sheet and row of the next index row, beginning a new sheet when the current one is full.
    fn next_row<'w>(&mut self, wb: &'w mut Workbook) -> Result<(&'w mut Worksheet, u32)> {
        if self.parts == 0 || self.row == self.per_sheet {
            self.begin(wb)?;
        }
        self.row += 1;
        Ok((wb.worksheet_from_index(self.sheet)?, self.row))
    }

    /// An index without rows still has its (empty) sheet.
    fn finish(&mut self, wb: &mut Workbook) -> Result<()> {
        if self.parts == 0 {
            self.begin(wb)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Reader, Xlsx};

    /// Writes `rows` index rows with `per_sheet` rows per sheet; the sheets' names and row counts.
    fn split(rows: u64, per_sheet: u32) -> Vec<(String, usize)> {
        let mut wb = Workbook::new();
        let mut index = IndexSheets::new(rows, per_sheet);
        for i in 0..rows {
            let (ws, row) = index.next_row(&mut wb).unwrap();
            ws.write_string(row, 0, format!("r{i}")).unwrap();
        }
        index.finish(&mut wb).unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let mut seen = Vec::new();
        let mut next = 0u64;
        for name in book.sheet_names() {
            let range = book.worksheet_range(&name).unwrap();
            let mut rows = range.rows();
            assert_eq!(rows.next().unwrap()[0].to_string(), EVIDENCE_HEADERS[0]);
            let mut n = 0;
            for r in rows {
                assert_eq!(
                    r[0].to_string(),
                    format!("r{next}"),
                    "rows keep their order"
                );
                next += 1;
                n += 1;
            }
            seen.push((name, n));
        }
        assert_eq!(next, rows, "every row written once");
        seen
    }

    #[test]
    fn an_index_longer_than_a_sheet_goes_on_in_numbered_sheets() {
        let named = |v: &[(&str, usize)]| -> Vec<(String, usize)> {
            v.iter().map(|(s, n)| (s.to_string(), *n)).collect()
        };
        assert_eq!(
            split(7, 3),
            named(&[("证据索引", 3), ("证据索引 (2)", 3), ("证据索引 (3)", 1)])
        );
        assert_eq!(split(6, 3), named(&[("证据索引", 3), ("证据索引 (2)", 3)]));
        assert_eq!(split(2, 3), named(&[("证据索引", 2)]));
        assert_eq!(split(0, 3), named(&[("证据索引", 0)]));
    }
}
