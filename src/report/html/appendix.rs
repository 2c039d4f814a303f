//! The evidence appendix: one collapsible block per evidence blob with the records that produced it,
//! the items that cite it and its body (pretty-printed, escaped), or why the body is not shown.

use super::{b, bi, esc};
use crate::report::{control_digests, evidence::ev_anchor, Availability, Body, ReportInput};
use std::collections::BTreeMap;
use std::fmt::Write;
pub(super) fn evidence(o: &mut String, input: &ReportInput<'_>) {
    let r = input.results;
    let ev = input.evidence;
    let _ = write!(
        o,
        "<section id=\"evidence\"><h2>{}</h2>",
        bi("证据", "Evidence")
    );
    match &ev.availability {
        Availability::Pack => {
            let _ = write!(
                o,
                "<p>{}</p>",
                bi(
                    &format!("本报告引用 {} 份证据，原始响应取自证据包 {}（已核对摘要）。以下为格式化后的内容；摘要针对原始字节。", ev.len(), r.scan.pack_digest),
                    &format!("The results cite {} evidence blobs; bodies are taken from pack {} (digests checked). They are shown pretty-printed; digests are of the raw bytes.", ev.len(), r.scan.pack_digest)
                )
            );
        }
        Availability::Absent(why) => {
            let _ = write!(o, "<p class=\"warn\" id=\"no-pack\">{}</p>", b(why));
        }
    }
    let mut cited: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for c in &r.controls {
        for d in control_digests(c) {
            cited.entry(d).or_default().push(&c.id);
        }
    }
    for e in ev.iter() {
        let first = e.records.first();
        let _ = write!(
            o,
            "<details class=\"ev\" id=\"ev-{}\"><summary><code>{}</code> {}</summary><div class=\"ev-body\">",
            ev_anchor(&e.digest),
            esc(&e.digest),
            first
                .map(|rec| format!("{} · {}:{} · {}", esc(&rec.probe), esc(&rec.service), esc(&rec.operation), esc(&rec.region)))
                .unwrap_or_default()
        );
        if !e.records.is_empty() {
            let _ = write!(
                o,
                "<table class=\"recs\"><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
                bi("探针", "Probe"),
                bi("操作", "Operation"),
                bi("区域 / 账号", "Region / account"),
                bi("采集时间", "Captured"),
                bi("请求", "Request"),
                bi("参数", "Parameters"),
                bi("错误", "Error")
            );
            for rec in &e.records {
                let _ = write!(
                    o,
                    "<tr><td><code>{}</code></td><td>{}:{}</td><td>{} / {}</td><td><time>{}</time></td><td>{} {} {}</td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(&rec.probe),
                    esc(&rec.service),
                    esc(&rec.operation),
                    esc(&rec.region),
                    esc(&rec.account),
                    esc(&rec.captured_at),
                    rec.http_status.map(|s| s.to_string()).unwrap_or_default(),
                    esc(rec.request_id.as_deref().unwrap_or("")),
                    esc(&rec.media_type),
                    esc(rec.parameters.as_json()),
                    rec.error.as_ref().map(|e| format!("<code>{}</code> {}", esc(&e.code), esc(&e.message))).unwrap_or_default()
                );
            }
            o.push_str("</tbody></table>");
        }
        if let Some(ids) = cited.get(e.digest.as_str()) {
            let _ = write!(
                o,
                "<p class=\"cited\">{} {}</p>",
                bi("引用于", "Cited by"),
                ids.iter()
                    .map(|id| format!("<a href=\"#item-{0}\">{0}</a>", esc(id)))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
        body(o, &e.body, r.scan.document_conversion.as_str());
        o.push_str("</div></details>\n");
    }
    o.push_str("</section>\n");
}

fn body(o: &mut String, body: &Body, conversion: &str) {
    match body {
        Body::Text {
            syntax,
            pretty,
            truncated,
            document,
        } => {
            let _ = write!(
                o,
                "<h5>{}</h5><pre class=\"body lang-{syntax}\">{}</pre>",
                bi("原始响应（格式化）", "Raw body (pretty-printed)"),
                esc(pretty)
            );
            if *truncated {
                let _ = write!(
                    o,
                    "<p class=\"note\">{}</p>",
                    bi(
                        "内容过长，已截断；完整内容见证据包。",
                        "Truncated; the pack holds the whole body."
                    )
                );
            }
            if let Some(doc) = document {
                let _ = write!(
                    o,
                    "<h5>{} <code>{}</code></h5><pre class=\"body lang-json\">{}</pre>",
                    bi(
                        "规则读取的文档（定位路径指向此处）",
                        "Document rules read (locations point here)"
                    ),
                    esc(conversion),
                    esc(doc)
                );
            }
        }
        Body::Empty => {
            let _ = write!(
                o,
                "<p class=\"note\">{}</p>",
                bi("响应体为空。", "The body is empty.")
            );
        }
        Body::Binary { size } => {
            let _ = write!(
                o,
                "<p class=\"note\">{}</p>",
                bi(
                    &format!("非文本内容（{size} 字节），未显示。"),
                    &format!("Not text ({size} bytes); not shown.")
                )
            );
        }
        Body::Altered { actual } => {
            let _ = write!(
                o,
                "<p class=\"warn\">{}</p>",
                bi(
                    &format!("证据文件已被改动：实际摘要为 {actual}，未显示。"),
                    &format!("The blob was altered: it hashes to {actual}; not shown.")
                )
            );
        }
        Body::OverBudget { size } => {
            let _ = write!(
                o,
                "<p class=\"note\">{}</p>",
                bi(
                    &format!("本报告嵌入的原始响应已达上限，此项（{size} 字节）未嵌入，见证据包。"),
                    &format!("This report's budget for embedded bodies is used up; this one ({size} bytes) is in the pack.")
                )
            );
        }
        Body::TooLarge { size } => {
            let _ = write!(
                o,
                "<p class=\"warn\">{}</p>",
                bi(
                    &format!("原始响应过大（{size} 字节），超过单个响应的上限，未读取；其规则判定为无法判定。"),
                    &format!("The body is too large ({size} bytes, over the limit for one body); not read, and the rules reading it could not judge it.")
                )
            );
        }
        Body::Unavailable => {
            let _ = write!(
                o,
                "<p class=\"note\">{}</p>",
                bi("原始响应不可用。", "Raw body not available.")
            );
        }
    }
}
