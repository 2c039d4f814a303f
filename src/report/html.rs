//! HTML: `report.html`, one self-contained page for people.
//!
//! * **Self-contained.** CSS and JavaScript are inline (from `src/report/assets/`), charts are inline
//!   SVG, fonts are the system's. The page loads nothing: its Content-Security-Policy is
//!   `default-src 'none'` and admits only the page's own `<style>` and `<script>`, by SHA-256 hash,
//!   so even injected markup could neither run nor fetch anything.
//! * **Bilingual.** Every text is rendered in Chinese and English (`<span class="zh">`, `<span
//!   class="en">`); CSS shows one language, Chinese by default, and the 中文/English button switches.
//! * **Content.** The scan, counts per verdict, stacked bars per layer and per control point, and a
//!   table of the test items that sorts (click a header), filters (verdict, layer, text search) and
//!   expands. An expanded item shows the requirement, the guide's test method and criteria (from the
//!   catalog), the reasons, the resources that failed or could not be read, every rule with its
//!   resources and JSONPath locations, and links to the evidence. Manual and partially automated
//!   items show their checklist.
//! * **Evidence.** An appendix lists every evidence blob the results name: digest, the records that
//!   produced it (probe, API operation, region, account, capture time, request id, parameters, error)
//!   and, when the pack was at hand, the body pretty-printed (and, for XML, the JSON document rules
//!   read, which the JSONPath locations point into). Without the pack the page says so.
//! * **Print.** `@media print` drops the controls and prints every shown item expanded, evidence
//!   bodies included.
//! * **Safe.** Every text from results, catalog and pack is HTML-escaped (evidence bodies are
//!   untrusted); no text is ever placed in a script or style context, and no element has inline
//!   event handlers or style attributes.
//! * **Deterministic.** The only time shown is the scan's; the same inputs give the same bytes.

mod appendix;
mod detail;

use super::{status_label, verdict_en, Files, ReportInput};
use crate::catalog::Bilingual;
use crate::results::{ControlResult, ResourceStatus};
use crate::verdict::Verdict;
use anyhow::Result;
use std::collections::BTreeMap;
use std::fmt::Write;

/// File name of the HTML report.
pub const FILE: &str = "report.html";
/// Most resource rows shown per rule; the rest are counted (findings.csv has them all).
pub const MAX_ROWS_PER_RULE: usize = 200;

const CSS: &str = include_str!("assets/report.css");
const JS: &str = include_str!("assets/report.js");

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Inline text in both languages (one is shown at a time).
fn bi(zh: &str, en: &str) -> String {
    format!(
        "<span class=\"zh\" lang=\"zh-CN\">{}</span><span class=\"en\" lang=\"en\">{}</span>",
        esc(zh),
        esc(if en.is_empty() { zh } else { en })
    )
}

/// A paragraph in both languages.
fn bip(zh: &str, en: &str) -> String {
    format!(
        "<p class=\"zh\" lang=\"zh-CN\">{}</p><p class=\"en\" lang=\"en\">{}</p>",
        esc(zh),
        esc(if en.is_empty() { zh } else { en })
    )
}

fn b(t: &Bilingual) -> String {
    bi(&t.zh, &t.en)
}

fn verdict_badge(v: Verdict) -> String {
    format!(
        "<span class=\"verdict v-{}\">{}</span>",
        v.as_str(),
        bi(v.zh(), verdict_en(v))
    )
}

fn status_badge(s: ResourceStatus) -> String {
    let (zh, en) = status_label(s);
    format!("<span class=\"status s-{en}\">{}</span>", bi(zh, en))
}

/// Standard base64 (for the CSP hashes).
fn base64(bytes: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::new();
    for ch in bytes.chunks(3) {
        let n = (ch[0] as u32) << 16
            | (*ch.get(1).unwrap_or(&0) as u32) << 8
            | *ch.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= ch.len() {
                o.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

fn csp_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("'sha256-{}'", base64(&Sha256::digest(text.as_bytes())))
}

/// Writes `report.html`, streamed as it is made.
pub fn write(input: &ReportInput<'_>, files: &mut Files) -> Result<()> {
    files.write(FILE, |out| page(input, out))
}

/// The page being written: text is gathered in a buffer and handed to the output in large pieces.
pub(crate) struct Page<'w> {
    buf: String,
    out: &'w mut dyn std::io::Write,
    failed: Option<std::io::Error>,
}

impl<'w> Page<'w> {
    const FLUSH_AT: usize = 256 * 1024;

    fn new(out: &'w mut dyn std::io::Write) -> Self {
        Page {
            buf: String::with_capacity(Self::FLUSH_AT + 4096),
            out,
            failed: None,
        }
    }

    fn push_str(&mut self, s: &str) {
        self.buf.push_str(s);
        if self.buf.len() >= Self::FLUSH_AT {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if self.failed.is_none() {
            if let Err(e) = self.out.write_all(self.buf.as_bytes()) {
                self.failed = Some(e);
            }
        }
        self.buf.clear();
    }

    /// Writes what is left; the first write error, if any.
    fn finish(mut self) -> std::io::Result<()> {
        self.flush();
        self.failed.map_or(Ok(()), Err)
    }
}

impl std::fmt::Write for Page<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// Writes the whole page to `out`.
fn page(input: &ReportInput<'_>, out: &mut dyn std::io::Write) -> Result<()> {
    let r = input.results;
    let title_zh = format!("等级保护测评报告 — {}", r.framework.name);
    let title_en = format!("MLPS 2.0 assessment report — {}", r.framework.name_en);
    let mut o = Page::new(out);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"zh-CN\" data-lang=\"zh\" data-title-zh=\"{tz}\" data-title-en=\"{te}\">\n<head>\n\
<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src {css}; script-src {js}; img-src 'none'; base-uri 'none'; form-action 'none'\">\n\
<meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"generator\" content=\"{gen}\">\n<title>{tz}</title>\n<style>{CSS}</style>\n</head>\n<body>\n",
        tz = esc(&title_zh),
        te = esc(&title_en),
        css = csp_hash(CSS),
        js = csp_hash(JS),
        gen = esc(&format!("{} {}", r.tool.name, r.tool.version)),
    );
    header(&mut o, input);
    summary(&mut o, input);
    o.push_str(&super::drift::exceptions_html(r));
    if let Some(d) = input.diff {
        o.push_str(&super::drift::html_section(d));
    }
    items(&mut o, input);
    appendix::evidence(&mut o, input);
    let _ = write!(
        o,
        "<footer>{} <code>{}</code> · {}</footer>\n<script>{JS}</script>\n</body>\n</html>\n",
        bi(
            &format!(
                "由 {} {} 依据 results.json 生成",
                r.tool.name, r.tool.version
            ),
            &format!(
                "Rendered by {} {} from results.json",
                r.tool.name, r.tool.version
            )
        ),
        esc(&r.schema),
        bi(
            "证据摘要为原始字节的 SHA-256，可用 dengbao verify 复核",
            "evidence digests are SHA-256 of the raw bytes; check them with dengbao verify"
        ),
    );
    Ok(o.finish()?)
}

fn header(o: &mut Page<'_>, input: &ReportInput<'_>) {
    let r = input.results;
    let s = &r.scan;
    let _ = writeln!(
        o,
        "<header class=\"page-head\"><div><h1>{}</h1><p class=\"fw\">{} · {} · {}</p></div>\
<div class=\"tools no-print\"><button type=\"button\" id=\"lang-toggle\" data-zh=\"English\" data-en=\"中文\">English</button></div></header>",
        bi("等级保护测评报告", "MLPS 2.0 assessment report"),
        bi(&r.framework.name, &r.framework.name_en),
        esc(&r.framework.standard),
        bi(
            &format!("测评项依据 {}", r.framework.test_items),
            &format!("test items per {}", r.framework.test_items)
        ),
    );
    let rows: [(&str, &str, String); 7] = [
        (
            "云服务商 / 分区",
            "Provider / partition",
            format!("{} / {}", s.provider, s.partition),
        ),
        ("账号", "Accounts", s.accounts.join(", ")),
        ("区域", "Regions", s.regions.join(", ")),
        (
            "扫描时间",
            "Scanned",
            format!("{} → {}", s.started_at, s.finished_at),
        ),
        ("证据包摘要", "Pack digest", s.pack_digest.clone()),
        (
            "文档转换",
            "Document conversion",
            s.document_conversion.clone(),
        ),
        (
            "工具",
            "Tool",
            format!("{} {}", r.tool.name, r.tool.version),
        ),
    ];
    o.push_str("<section class=\"scan\"><dl>");
    for (zh, en, v) in rows {
        let _ = write!(o, "<div><dt>{}</dt><dd>{}</dd></div>", bi(zh, en), esc(&v));
    }
    o.push_str("</dl></section>\n");
}

/// One stacked bar: segments per verdict, as percentages of `total`.
fn bar(counts: &BTreeMap<Verdict, u64>, label: &str) -> String {
    let total: u64 = counts.values().sum();
    let mut o = format!(
        "<svg class=\"bar\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{}\">",
        esc(label)
    );
    let mut x = 0.0_f64;
    for v in Verdict::ALL {
        let n = counts.get(&v).copied().unwrap_or(0);
        if n == 0 || total == 0 {
            continue;
        }
        let w = n as f64 * 100.0 / total as f64;
        let _ = write!(
            o,
            "<rect class=\"f-{}\" x=\"{x:.3}\" y=\"0\" width=\"{w:.3}\" height=\"10\"><title>{} {} {n}</title></rect>",
            v.as_str(),
            v.zh(),
            verdict_en(v)
        );
        x += w;
    }
    o.push_str("</svg>");
    o
}

fn chart(o: &mut Page<'_>, title: (&str, &str), groups: &[(Bilingual, BTreeMap<Verdict, u64>)]) {
    let _ = write!(
        o,
        "<figure class=\"chart\"><figcaption>{}</figcaption>",
        bi(title.0, title.1)
    );
    for (name, counts) in groups {
        let total: u64 = counts.values().sum();
        let label = format!(
            "{}: {}",
            name.zh,
            Verdict::ALL
                .iter()
                .filter_map(|v| counts
                    .get(v)
                    .filter(|n| **n > 0)
                    .map(|n| format!("{} {n}", v.zh())))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = write!(
            o,
            "<div class=\"bar-row\"><span class=\"bar-label\" title=\"{}\">{}</span>{}<span class=\"bar-n\">{total}</span></div>",
            esc(&format!("{} / {}", name.zh, name.en)),
            b(name),
            bar(counts, &label)
        );
    }
    o.push_str("</figure>");
}

fn summary(o: &mut Page<'_>, input: &ReportInput<'_>) {
    let r = input.results;
    let _ = write!(
        o,
        "<section id=\"summary\"><h2>{}</h2><div class=\"cards\">",
        bi("结论汇总", "Summary")
    );
    for v in Verdict::ALL {
        let _ = write!(
            o,
            "<button type=\"button\" class=\"card v-{v}\" data-verdict=\"{v}\"><span class=\"n\">{}</span><span class=\"l\">{}</span></button>",
            r.summary.get(v),
            bi(v.zh(), verdict_en(v)),
            v = v.as_str()
        );
    }
    let _ = write!(
        o,
        "<div class=\"card total\"><span class=\"n\">{}</span><span class=\"l\">{}</span></div></div>",
        r.summary.total,
        bi("测评项", "test items")
    );
    o.push_str("<ul class=\"legend\">");
    for v in Verdict::ALL {
        let _ = write!(
            o,
            "<li><span class=\"sw f-{}\"></span>{}</li>",
            v.as_str(),
            bi(v.zh(), verdict_en(v))
        );
    }
    o.push_str("</ul><div class=\"charts\">");
    let mut layers: Vec<(Bilingual, BTreeMap<Verdict, u64>)> = Vec::new();
    let mut points: Vec<(Bilingual, BTreeMap<Verdict, u64>)> = Vec::new();
    for c in &r.controls {
        // A control point is named within its layer (入侵防范 is in two layers).
        let point_zh = format!("{} · {}", c.control_point, c.layer);
        let point_en = format!("{} · {}", c.control_point_en, c.layer_en);
        for (list, zh, en) in [
            (&mut layers, &c.layer, &c.layer_en),
            (&mut points, &point_zh, &point_en),
        ] {
            let i = match list.iter().position(|(n, _)| &n.zh == zh) {
                Some(i) => i,
                None => {
                    list.push((
                        Bilingual {
                            zh: zh.clone(),
                            en: en.clone(),
                        },
                        BTreeMap::new(),
                    ));
                    list.len() - 1
                }
            };
            *list[i].1.entry(c.verdict).or_default() += 1;
        }
    }
    chart(o, ("各层面结论", "Verdicts per layer"), &layers);
    chart(o, ("各控制点结论", "Verdicts per control point"), &points);
    o.push_str("</div></section>\n");
}

fn layer_index(input: &ReportInput<'_>, c: &ControlResult) -> usize {
    input
        .catalog
        .framework
        .layer
        .iter()
        .position(|l| l.zh == c.layer)
        .unwrap_or(usize::MAX / 2)
}

fn items(o: &mut Page<'_>, input: &ReportInput<'_>) {
    let r = input.results;
    let _ = write!(
        o,
        "<section id=\"items\"><h2>{}</h2>",
        bi("测评项", "Test items")
    );
    // Toolbar. Option and button labels are switched by the script (data-zh / data-en).
    let opt = |value: &str, zh: &str, en: &str| {
        format!(
            "<option value=\"{}\" data-zh=\"{}\" data-en=\"{}\">{}</option>",
            esc(value),
            esc(zh),
            esc(en),
            esc(zh)
        )
    };
    let _ = write!(
        o,
        "<div class=\"toolbar no-print\"><label>{} <select id=\"f-verdict\">{}",
        bi("结论", "Verdict"),
        opt("", "全部", "All")
    );
    for v in Verdict::ALL {
        o.push_str(&opt(v.as_str(), v.zh(), verdict_en(v)));
    }
    let _ = write!(
        o,
        "</select></label><label>{} <select id=\"f-layer\">{}",
        bi("层面", "Layer"),
        opt("", "全部", "All")
    );
    let mut seen = Vec::new();
    for c in &r.controls {
        let i = layer_index(input, c);
        if !seen.contains(&i) {
            seen.push(i);
            o.push_str(&opt(&i.to_string(), &c.layer, &c.layer_en));
        }
    }
    let _ = write!(
        o,
        "</select></label><label>{} <input id=\"f-text\" type=\"search\" autocomplete=\"off\" placeholder=\"编号、控制点、资源、原因…\" \
data-ph-zh=\"编号、控制点、资源、原因…\" data-ph-en=\"id, control point, resource, reason…\"></label>\
<button type=\"button\" id=\"expand-all\" data-zh=\"全部展开\" data-en=\"Expand all\">全部展开</button>\
<button type=\"button\" id=\"collapse-all\" data-zh=\"全部收起\" data-en=\"Collapse all\">全部收起</button>\
<span id=\"count\" aria-live=\"polite\"></span></div><p class=\"print-only\" id=\"print-filter\"></p>",
        bi("搜索", "Search")
    );
    let th = |key: &str, zh: &str, en: &str| {
        format!("<th scope=\"col\" aria-sort=\"none\"><button type=\"button\" class=\"sort\" data-key=\"{key}\">{}</button></th>", bi(zh, en))
    };
    let _ = write!(
        o,
        "<table id=\"items-table\"><thead><tr>{}{}{}<th scope=\"col\">{}</th>{}{}</tr></thead>",
        th("order", "测评项", "Item"),
        th("layer", "层面", "Layer"),
        th("cp", "控制点", "Control point"),
        bi("安全要求", "Requirement"),
        th("auto", "自动化", "Automation"),
        th("sev", "结论", "Verdict"),
    );
    let mut cps: Vec<(&str, &str)> = Vec::new();
    for (order, c) in r.controls.iter().enumerate() {
        let key = (c.layer.as_str(), c.control_point.as_str());
        let cp = match cps.iter().position(|x| *x == key) {
            Some(i) => i,
            None => {
                cps.push(key);
                cps.len() - 1
            }
        };
        let auto = match c.automation.as_str() {
            "full" => 0,
            "partial" => 1,
            _ => 2,
        };
        let id = esc(&c.id);
        let _ = write!(
            o,
            "<tbody class=\"item\" id=\"item-{id}\" data-id=\"{id}\" data-order=\"{order}\" data-layer=\"{}\" data-cp=\"{cp}\" data-auto=\"{auto}\" \
data-verdict=\"{}\" data-sev=\"{}\"><tr class=\"row\"><td class=\"id\"><button type=\"button\" class=\"toggle\" aria-expanded=\"false\" aria-controls=\"d-{id}\" \
aria-label=\"{id}\"></button><code>{id}</code></td><td>{}</td><td>{}</td><td class=\"req\">{}</td><td>{}</td><td>{}</td></tr>\
<tr class=\"detail\" id=\"d-{id}\" hidden><td colspan=\"6\">",
            layer_index(input, c),
            c.verdict.as_str(),
            c.verdict.severity(),
            bi(&c.layer, &c.layer_en),
            bi(&c.control_point, &c.control_point_en),
            bi(&c.requirement, &c.requirement_en),
            bi(automation_zh(&c.automation), &c.automation),
            verdict_cell(c),
        );
        detail::detail(o, input, c, input.control(c));
        o.push_str("</td></tr></tbody>\n");
    }
    o.push_str("</table></section>\n");
}

/// The verdict column: the machine's verdict, the assessor's beside it (labelled) when there is one,
/// and a mark on an item nobody decided.
fn verdict_cell(c: &crate::results::ControlResult) -> String {
    use crate::results::Origin;
    let machine = verdict_badge(c.verdict);
    match c.final_verdict() {
        (v, Origin::Assessor) => format!(
            "{machine}<br><span class=\"origin\">{}</span> {}",
            bi("测评人员", "Assessor"),
            verdict_badge(v)
        ),
        (_, Origin::Open) => format!(
            "{machine}<br><b class=\"open\">{}</b>",
            bi("待判定", "Open")
        ),
        (_, Origin::Machine) => machine,
    }
}

fn automation_zh(a: &str) -> &'static str {
    match a {
        "full" => "自动",
        "partial" => "部分自动",
        _ => "人工",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc("<img src=x onerror='a'>&\""),
            "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;"
        );
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
