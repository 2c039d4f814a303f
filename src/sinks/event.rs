//! The events sinks deliver: the OCSF Compliance Findings of [`crate::report::ocsf`] (one source of
//! OCSF truth), each with the few fields a transport needs beside it, and trimming for sinks whose
//! messages have a size limit.
//!
//! **Trimming.** An event whose encoding exceeds a sink's limit loses its bulky details, in this
//! order, until it fits: the evidence records (`evidences[].data.records`), the evidences, the
//! resources after the first, the rule checks, the status details after the first, the remaining
//! resources, then the long texts are shortened (at a character boundary, never mid-JSON). What was
//! removed is listed in `unmapped.dengbao_trimmed` with the event's size before trimming, so the SIEM
//! knows the event is partial (the full event is in `findings.ocsf.jsonl` and the results). An event
//! that still does not fit is rejected for that sink, reported, and never dropped silently.

use crate::report::ocsf::{self, SeenTimes};
use crate::report::ReportInput;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One event to deliver: the OCSF event and what transports put beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// `finding_info.uid`: stable across scans, so a SIEM can de-duplicate re-deliveries.
    pub uid: String,
    /// `metadata.event_code`: `dengbao.control` or `dengbao.resource`.
    pub kind: String,
    /// The test item (`compliance.control`).
    pub item: String,
    /// The dengbao verdict or resource status (`compliance.status_code`).
    pub verdict: String,
    /// `sha256:` digest of the evidence pack the finding came from.
    pub pack: String,
    /// Event time (`time`), milliseconds since the epoch.
    pub time: i64,
    /// `severity_id` (1 Informational … 5 Critical).
    pub severity_id: u8,
    /// The OCSF event.
    pub event: Value,
}

impl Finding {
    /// Wraps an OCSF event built by [`ocsf::each_event`].
    pub fn from_event(event: Value, pack: &str) -> Finding {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Finding {
            uid: text(&event["finding_info"]["uid"]),
            kind: text(&event["metadata"]["event_code"]),
            item: text(&event["compliance"]["control"]),
            verdict: text(&event["compliance"]["status_code"]),
            pack: pack.to_string(),
            time: event["time"].as_i64().unwrap_or_default(),
            severity_id: event["severity_id"].as_u64().unwrap_or(1).min(6) as u8,
            event,
        }
    }
}

/// Every finding of `input`, in the order of `findings.ocsf.jsonl`, handed to `f` one at a time.
pub fn each_finding(
    input: &ReportInput<'_>,
    seen: &dyn SeenTimes,
    f: &mut dyn FnMut(Finding) -> Result<()>,
) -> Result<()> {
    let pack = input.results.scan.pack_digest.clone();
    ocsf::each_event(input, seen, &mut |e| f(Finding::from_event(e, &pack)))
}

/// Longest text kept in a trimmed event's descriptions and titles (characters).
const SHORT_TEXT: usize = 200;

/// One trimming step: removes or shortens something; false when there was nothing to do.
type Step = fn(&mut Value) -> bool;

const STEPS: [(&str, Step); 8] = [
    ("evidences[].data.records", |e| {
        let mut did = false;
        for ev in at(e, "/evidences")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            did |= remove(ev.get_mut("data"), "records");
        }
        did
    }),
    ("evidences", |e| remove(Some(e), "evidences")),
    ("resources[1..]", |e| truncate(at(e, "/resources"), 1)),
    ("compliance.checks", |e| {
        remove(at(e, "/compliance"), "checks")
    }),
    ("compliance.status_details[1..]", |e| {
        truncate(at(e, "/compliance/status_details"), 1)
    }),
    ("resources", |e| remove(Some(e), "resources")),
    ("texts", |e| {
        let mut did = false;
        for p in [
            "/finding_info/desc",
            "/finding_info/title",
            "/message",
            "/compliance/desc",
        ] {
            did |= shorten(at(e, p));
        }
        for p in ["/compliance/requirements", "/compliance/status_details"] {
            for v in at(e, p).and_then(Value::as_array_mut).into_iter().flatten() {
                did |= shorten(Some(v));
            }
        }
        did
    }),
    ("finding_info.data_sources", |e| {
        remove(at(e, "/finding_info"), "data_sources")
    }),
];

/// The value at a JSON pointer, if there (never creates one, as `IndexMut` would).
fn at<'a>(e: &'a mut Value, pointer: &str) -> Option<&'a mut Value> {
    e.pointer_mut(pointer)
}

fn remove(v: Option<&mut Value>, key: &str) -> bool {
    v.and_then(Value::as_object_mut)
        .is_some_and(|o| o.remove(key).is_some())
}

fn truncate(v: Option<&mut Value>, keep: usize) -> bool {
    match v.and_then(Value::as_array_mut) {
        Some(a) if a.len() > keep => {
            a.truncate(keep);
            true
        }
        _ => false,
    }
}

fn shorten(v: Option<&mut Value>) -> bool {
    let Some(v) = v else { return false };
    match v.as_str() {
        Some(s) if s.chars().count() > SHORT_TEXT => {
            let cut: String = s.chars().take(SHORT_TEXT).collect();
            *v = json!(format!("{cut}…"));
            true
        }
        _ => false,
    }
}

/// The encoding of `finding` (by `encode`) that fits in `max` bytes, and whether it was trimmed: as
/// is when it fits, else with details trimmed (see the module docs). `Err` says why even the most
/// trimmed event does not fit.
pub fn fit(
    finding: &Finding,
    max: usize,
    encode: &dyn Fn(&Finding, &Value) -> Vec<u8>,
) -> Result<(Vec<u8>, bool), String> {
    let whole = encode(finding, &finding.event);
    if whole.len() <= max {
        return Ok((whole, false));
    }
    let mut event = finding.event.clone();
    let mut trimmed: Vec<&str> = Vec::new();
    for (name, step) in STEPS {
        if !step(&mut event) {
            continue;
        }
        trimmed.push(name);
        event["unmapped"] = json!({"dengbao_trimmed": {
            "removed": trimmed,
            "original_bytes": whole.len(),
            "limit_bytes": max,
        }});
        let bytes = encode(finding, &event);
        if bytes.len() <= max {
            return Ok((bytes, true));
        }
    }
    Err(format!(
        "event {} is {} bytes and still over the limit of {max} bytes after trimming its details; raise the sink's limit",
        finding.uid,
        whole.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding() -> Finding {
        let evidences: Vec<Value> = (0..50)
            .map(|i| json!({"uid": format!("sha256:{i:064}"), "data": {"digest": "x", "records": [{"probe": "p".repeat(100)}]}}))
            .collect();
        let event = json!({
            "time": 1, "severity_id": 3, "message": "m".repeat(1000),
            "metadata": {"event_code": "dengbao.control"},
            "finding_info": {"uid": "u", "title": "标题".repeat(300), "desc": "d".repeat(3000)},
            "compliance": {"control": "L3-X", "status_code": "error", "status_details": ["a", "b"]},
            "evidences": evidences,
        });
        Finding::from_event(event, "sha256:p")
    }

    fn plain(_: &Finding, e: &Value) -> Vec<u8> {
        serde_json::to_vec(e).unwrap()
    }

    #[test]
    fn small_events_are_untouched_and_large_ones_trimmed_to_valid_json() {
        let f = finding();
        let whole = plain(&f, &f.event);
        assert_eq!(
            fit(&f, whole.len(), &plain).unwrap(),
            (whole.clone(), false)
        );
        for max in [8192, 4096, 2048] {
            let (bytes, trimmed) = fit(&f, max, &plain).unwrap();
            assert!(trimmed);
            assert!(bytes.len() <= max, "{} > {max}", bytes.len());
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            let removed = &v["unmapped"]["dengbao_trimmed"]["removed"];
            assert!(removed.as_array().is_some_and(|a| !a.is_empty()), "{v}");
            assert_eq!(v["finding_info"]["uid"], "u");
            assert_eq!(
                v["unmapped"]["dengbao_trimmed"]["original_bytes"],
                whole.len()
            );
        }
        let err = fit(&f, 100, &plain).unwrap_err();
        assert!(err.contains("still over the limit"), "{err}");
    }
}
