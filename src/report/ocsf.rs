//! OCSF: `findings.ocsf.jsonl`, one [OCSF 1.7.0](https://schema.ocsf.io/1.7.0/classes/compliance_finding)
//! Compliance Finding event (`class_uid` 2003, category 2 Findings, activity 1 Create,
//! `type_uid` 200301) per line, for SIEMs and data lakes.
//!
//! 1.7.0 is the newest version the validator in the test suite (pydantic-ocsf) supports; 1.5.0 was the
//! first whose Compliance Finding has `evidences`, which is how each event points at the evidence pack.
//! The cloud profile is applied (`metadata.profiles = ["cloud"]`). The same events go to SIEMs
//! ([`crate::sinks`]): this module is the one place they are built.
//!
//! **Which events.** For every test item, in results order: one event for the item itself, then one
//! event per resource that failed or could not be read under the item's rules (a resource failing
//! several rules of the item is one event, listing the rules as `compliance.checks`). Passing
//! resources get no event of their own; they are counted in the item's event.
//!
//! `metadata.event_code` tells them apart: `dengbao.control` for an item, `dengbao.resource` for a
//! resource.
//!
//! **De-duplication.** `finding_info.uid` is the SHA-256 of framework, test item and resource
//! (provider/partition/accounts, plus region and resource id for resource events). It is the same in
//! every scan of the same thing, so a SIEM updates one finding per item and resource instead of
//! piling up duplicates. `metadata.uid` adds the pack digest: it names this event, from this pack.
//!
//! **Mapping.**
//!
//! | dengbao | `compliance.status_id` | `severity_id` |
//! |---|---|---|
//! | `compliant` | 1 Pass | 1 Informational |
//! | `partially_compliant` | 3 Fail | 3 Medium |
//! | `non_compliant` | 3 Fail | 4 High |
//! | `error` | 2 Warning ("did not yield a result due to missing information") | 3 Medium |
//! | `not_applicable` | 99 Other, status `Not Applicable` | 1 Informational |
//! | `manual` | 99 Other, status `Manual Review` | 1 Informational |
//!
//! A resource event has status Fail (`fail`) or Warning (`error`) and the severity of the worst rule
//! verdict it failed under. The dengbao verdict itself is `compliance.status_code`, the reasons are
//! `compliance.status_details`. `compliance.standards` is `["GB/T 22239-2019"]`, `compliance.control`
//! the test-item id, `compliance.requirements` its requirement text. Rules are `compliance.checks`.
//! `time` (and `finding_info.created_time`) is the scan's `finished_at` in milliseconds.
//! `finding_info.first_seen_time` / `last_seen_time` come from a [`SeenTimes`] source (the scan
//! history) when there is one; without one, both are the scan's time. The event
//! `status_id` is 1 New: triage status belongs to the consumer — except for a resource an accepted
//! risk covers (results v2 exceptions): its compliance status stays Fail, and the event's
//! `status_id` is 3 Suppressed with the exception (id, reason, approver, ticket, expiry) in
//! `status_detail`. An item event with exceptions applied adds its verdict with them to
//! `compliance.status_details`.
//!
//! `evidences[]` has one entry per evidence digest (`uid` = `sha256:…`), with the JSONPath locations
//! that decided the status, and, when the pack was at hand, the API call (`api.operation`,
//! `api.service.name`, `api.request.uid` = request id) and every record's probe, region and capture
//! time in `data.records`. An item event lists at most [`MAX_LISTED`] resources and evidences.

use super::{control_digests, for_each_problem, rfc3339_millis, Files, Problem, ReportInput};
use crate::results::{ControlResult, ResourceStatus, RuleOutcome};
use crate::verdict::Verdict;
use anyhow::{Context, Result};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// File name of the OCSF JSON Lines output.
pub const FILE: &str = "findings.ocsf.jsonl";
/// The OCSF schema version the events follow.
pub const OCSF_VERSION: &str = "1.7.0";
/// Compliance Finding.
pub const CLASS_UID: u32 = 2003;
/// Findings.
pub const CATEGORY_UID: u32 = 2;
/// Create.
pub const ACTIVITY_ID: u32 = 1;
/// `class_uid * 100 + activity_id`.
pub const TYPE_UID: u32 = CLASS_UID * 100 + ACTIVITY_ID;
/// `metadata.event_code` of a test item's event.
pub const EVENT_CODE_CONTROL: &str = "dengbao.control";
/// `metadata.event_code` of a resource's event.
pub const EVENT_CODE_RESOURCE: &str = "dengbao.resource";
/// Most resources and evidences listed in one item event (resource events carry the rest).
pub const MAX_LISTED: usize = 100;

/// `(status_id, status)` of `compliance` for a verdict.
pub fn compliance_status(v: Verdict) -> (u8, &'static str) {
    match v {
        Verdict::Compliant => (1, "Pass"),
        Verdict::PartiallyCompliant | Verdict::NonCompliant => (3, "Fail"),
        Verdict::Error => (2, "Warning"),
        Verdict::NotApplicable => (99, "Not Applicable"),
        Verdict::Manual => (99, "Manual Review"),
    }
}

/// `(severity_id, severity)` for a verdict.
pub fn severity(v: Verdict) -> (u8, &'static str) {
    match v {
        Verdict::NonCompliant => (4, "High"),
        Verdict::PartiallyCompliant | Verdict::Error => (3, "Medium"),
        Verdict::Compliant | Verdict::NotApplicable | Verdict::Manual => (1, "Informational"),
    }
}

fn check_status(o: RuleOutcome) -> (u8, &'static str) {
    match o {
        RuleOutcome::Pass => (1, "Pass"),
        RuleOutcome::Fail => (3, "Fail"),
        RuleOutcome::Error => (2, "Warning"),
        RuleOutcome::NotApplicable => (99, "Not Applicable"),
    }
}

/// The stable finding uid: hex SHA-256 of the framework, the test item and the resource key.
pub fn finding_uid(framework: &str, control: &str, resource: &str) -> String {
    let mut h = Sha256::new();
    for part in ["dengbao.finding/v1", framework, control, resource] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    crate::pack::hex_lower(&h.finalize())
}

fn sha_hex(s: &str) -> String {
    crate::pack::sha256_hex(s.as_bytes())
}

/// When a finding was first and last seen, in milliseconds since the epoch, by `finding_info.uid`.
///
/// The scan history implements it; an event whose uid it does not know was first seen now.
pub trait SeenTimes {
    /// `(first_seen, last_seen)` of the finding `uid`, if the history knows it.
    fn seen(&self, uid: &str) -> Option<(i64, i64)>;
}

/// No history: every finding is first and last seen at the scan's time.
pub struct NoHistory;

impl SeenTimes for NoHistory {
    fn seen(&self, _uid: &str) -> Option<(i64, i64)> {
        None
    }
}

impl SeenTimes for std::collections::HashMap<String, (i64, i64)> {
    fn seen(&self, uid: &str) -> Option<(i64, i64)> {
        self.get(uid).copied()
    }
}

/// Writes `findings.ocsf.jsonl`, each event as it is made, with first/last-seen times from
/// `input.seen` when given (scan/evaluate read them from the history).
pub fn write(input: &ReportInput<'_>, files: &mut Files) -> Result<()> {
    files.write(FILE, |out| {
        each_event(input, input.seen.unwrap_or(&NoHistory), &mut |e| {
            serde_json::to_writer(&mut *out, &e)?;
            out.write_all(b"\n")?;
            Ok(())
        })
    })
}

/// What an item's finding uid is keyed on besides framework and item: provider/partition/accounts.
fn scope_key(r: &crate::results::Results) -> String {
    format!(
        "{}/{}/{}",
        r.scan.provider,
        r.scan.partition,
        r.scan.accounts.join(",")
    )
}

/// What a resource's finding uid is keyed on: the scope, then region and resource id.
fn resource_key(scope: &str, p: &Problem<'_>) -> String {
    format!("{scope}/{}/{}", p.region, p.id)
}

/// Gives `f` the `finding_info.uid` of every event [`each_event`] gives for `r`, in the same order,
/// one at a time (the history records when each was first and last seen; a huge estate has a
/// finding per failing resource, so they are never all held).
pub fn for_each_finding_uid(
    r: &crate::results::Results,
    mut f: impl FnMut(String) -> Result<()>,
) -> Result<()> {
    let scope = scope_key(r);
    for c in &r.controls {
        f(finding_uid(&r.framework.id, &c.id, &scope))?;
        for_each_problem(c, |p| {
            f(finding_uid(
                &r.framework.id,
                &c.id,
                &resource_key(&scope, &p),
            ))
        })?;
    }
    Ok(())
}

/// Every event, in order (an item's event, then its resources'), without history.
pub fn events(input: &ReportInput<'_>) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    each_event(input, &NoHistory, &mut |e| {
        out.push(e);
        Ok(())
    })?;
    Ok(out)
}

/// Hands every event to `f`, in order (an item's event, then its resources'), one at a time: a large
/// scan's events are never all held. `seen` gives first/last-seen times.
pub fn each_event(
    input: &ReportInput<'_>,
    seen: &dyn SeenTimes,
    f: &mut dyn FnMut(Value) -> Result<()>,
) -> Result<()> {
    let r = input.results;
    let time = rfc3339_millis(&r.scan.finished_at)
        .with_context(|| format!("scan.finished_at `{}` is not RFC 3339", r.scan.finished_at))?;
    let scope = scope_key(r);
    let with_seen = |mut e: Value| {
        let uid = e["finding_info"]["uid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (first, last) = seen.seen(&uid).unwrap_or((time, time));
        e["finding_info"]["first_seen_time"] = json!(first.min(time));
        e["finding_info"]["last_seen_time"] = json!(last.max(time));
        e
    };
    for c in &r.controls {
        f(with_seen(control_event(input, c, time, &scope)?))?;
        let statuses = rule_statuses(c);
        for_each_problem(c, |p| {
            let uid = finding_uid(&r.framework.id, &c.id, &resource_key(&scope, &p));
            let worst = c
                .rules
                .iter()
                .filter(|rule| p.rules.contains(&rule.id.as_str()))
                .map(|rule| {
                    if p.status == ResourceStatus::Error {
                        Verdict::Error
                    } else {
                        rule.verdict
                    }
                })
                .max_by_key(|v| v.severity())
                .unwrap_or(Verdict::Error);
            let (status_id, status) = if p.status == ResourceStatus::Fail {
                (3, "Fail")
            } else {
                (2, "Warning")
            };
            let (zh, en) = super::status_label(p.status);
            let checks: Vec<Value> = c
                .rules
                .iter()
                .enumerate()
                .filter(|(_, rule)| p.rules.contains(&rule.id.as_str()))
                .map(|(k, rule)| {
                    // The status of the rule's first resource of this key (passing ones included).
                    let st = statuses
                        .get(&p.region)
                        .and_then(|m| m.get(&p.id))
                        .and_then(|slots| slots[k].first)
                        .unwrap_or(p.status);
                    let (sid, s) = if st == ResourceStatus::Fail {
                        (3, "Fail")
                    } else {
                        (2, "Warning")
                    };
                    json!({"uid": rule.id, "name": rule.title.en, "desc": rule.title.zh,
                           "status_id": sid, "status": s, "standards": [r.framework.standard]})
                })
                .collect();
            let mut details: Vec<String> = p.reasons.iter().map(|s| s.to_string()).collect();
            details.extend(p.rules.iter().filter_map(|id| {
                c.rules
                    .iter()
                    .find(|x| x.id == *id)
                    .map(|x| format!("{} / {}", x.title.zh, x.title.en))
            }));
            let compliance = json!({
                "standards": [r.framework.standard],
                "control": c.id,
                "requirements": [c.requirement],
                "desc": c.requirement_en,
                "category": format!("{} / {}", c.layer, c.control_point),
                "status_id": status_id,
                "status": status,
                "status_code": super::status_str(p.status),
                "status_details": details,
                "checks": checks,
            });
            let title = format!(
                "{} {}: {zh} {en} — {} {}",
                c.id, p.id, c.control_point, c.control_point_en
            );
            let desc = format!(
                "{} {} under rule(s) {} of {} ({}).",
                p.id,
                if p.status == ResourceStatus::Fail {
                    "fails"
                } else {
                    "could not be read"
                },
                p.rules.join(", "),
                c.id,
                c.requirement_en
            );
            let resources = json!([{"uid": p.id, "name": p.id, "region": p.region,
                                     "cloud_partition": r.scan.partition}]);
            let evidences: Vec<Value> = p
                .evidence
                .iter()
                .map(|d| evidence(input, d, &p.locations))
                .collect();
            let mut e = event(
                input,
                &uid,
                time,
                worst,
                title,
                desc,
                compliance,
                resources,
                evidences,
                Some(&p.region),
                EVENT_CODE_RESOURCE,
            );
            mark_excepted(&mut e, r, c, &p, &statuses);
            f(with_seen(e))
        })?;
    }
    Ok(())
}

/// An excepted resource (results v2: every rule it fails under has an exception covering it) keeps
/// its Fail compliance status; the event's own status becomes 3 Suppressed, with the exceptions in
/// `status_detail`. `statuses` says, per rule of `c`, whether the resource fails it (looked up, not
/// searched: a rule's resources may be a spilled list of millions).
fn mark_excepted(
    e: &mut Value,
    r: &crate::results::Results,
    c: &ControlResult,
    p: &Problem<'_>,
    statuses: &RuleStatuses,
) {
    if p.status != ResourceStatus::Fail {
        return;
    }
    let slots = statuses.get(&p.region).and_then(|m| m.get(&p.id));
    let mut by = Vec::new();
    for (k, rule) in c.rules.iter().enumerate() {
        if !p.rules.contains(&rule.id.as_str()) {
            continue;
        }
        let failing = slots.is_some_and(|s| s[k].fails);
        match rule.exception_for(&p.id, &p.region) {
            Some(id) => by.push(format!(
                "{}: excepted by {}",
                rule.id,
                r.describe_exception(id)
            )),
            None if failing => return,
            None => {}
        }
    }
    if by.is_empty() {
        return;
    }
    e["status_id"] = json!(3);
    e["status"] = json!("Suppressed");
    e["status_detail"] = json!(format!(
        "accepted risk; the resource still fails: {}",
        by.join("; ")
    ));
}

/// Region → id → per rule of `c`, the status of the rule's first resource of that key and whether
/// any resource of that key fails the rule, for every key that fails or errs under some rule of `c`
/// (only those: a rule passing a million resources adds nothing here).
type RuleStatuses = HashMap<String, HashMap<String, Box<[RuleSlot]>>>;

/// One rule's view of one resource key (see [`RuleStatuses`]).
#[derive(Clone, Copy, Default)]
struct RuleSlot {
    first: Option<ResourceStatus>,
    fails: bool,
}

fn rule_statuses(c: &ControlResult) -> RuleStatuses {
    let mut out: RuleStatuses = HashMap::new();
    for rule in &c.rules {
        for r in rule
            .resources
            .iter()
            .filter(|r| r.status != ResourceStatus::Pass)
        {
            let r = r.into_owned();
            out.entry(r.region)
                .or_default()
                .entry(r.id)
                .or_insert_with(|| vec![RuleSlot::default(); c.rules.len()].into_boxed_slice());
        }
    }
    if out.is_empty() {
        return out;
    }
    for (k, rule) in c.rules.iter().enumerate() {
        for r in &rule.resources {
            if let Some(slots) = out.get_mut(&r.region).and_then(|m| m.get_mut(&r.id)) {
                slots[k].first.get_or_insert(r.status);
                slots[k].fails |= r.status == ResourceStatus::Fail;
            }
        }
    }
    out
}

fn control_event(
    input: &ReportInput<'_>,
    c: &ControlResult,
    time: i64,
    scope: &str,
) -> Result<Value> {
    let r = input.results;
    let uid = finding_uid(&r.framework.id, &c.id, scope);
    let (status_id, status) = compliance_status(c.verdict);
    let checks: Vec<Value> = c
        .rules
        .iter()
        .map(|rule| {
            let (sid, s) = check_status(rule.outcome);
            json!({"uid": rule.id, "name": rule.title.en, "desc": rule.title.zh,
                   "status_id": sid, "status": s, "standards": [r.framework.standard]})
        })
        .collect();
    let mut compliance = json!({
        "standards": [r.framework.standard],
        "control": c.id,
        "requirements": [c.requirement],
        "desc": c.requirement_en,
        "category": format!("{} / {}", c.layer, c.control_point),
        "status_id": status_id,
        "status": status,
        "status_code": c.verdict.as_str(),
        "status_details": c.reasons.iter().map(|b| format!("{} / {}", b.zh, b.en)).collect::<Vec<_>>(),
    });
    if let Some(w) = c.verdict_with_exceptions {
        // results v2: the verdict once accepted risks count; status_code stays the verdict without.
        compliance["status_details"]
            .as_array_mut()
            .expect("a list")
            .push(json!(format!(
                "计入例外后 / with exceptions: {} {}",
                w.zh(),
                w.as_str()
            )));
    }
    if !checks.is_empty() {
        compliance["checks"] = Value::Array(checks);
    }
    let mut resources: Vec<Value> = Vec::new();
    let mut all_locations: Vec<String> = Vec::new();
    for_each_problem(c, |p| {
        if resources.len() < MAX_LISTED {
            resources.push(json!({"uid": p.id, "name": p.id, "region": p.region, "cloud_partition": r.scan.partition}));
        }
        all_locations.extend(p.locations);
        Ok(())
    })?;
    let evidences: Vec<Value> = control_digests(c)
        .into_iter()
        .take(MAX_LISTED)
        .map(|d| evidence(input, &d, &all_locations))
        .collect();
    let title = format!(
        "{} {} {} — {} {}",
        c.id,
        c.control_point,
        c.control_point_en,
        c.verdict.zh(),
        c.verdict.as_str()
    );
    let mut desc = c.requirement_en.clone();
    for b in &c.reasons {
        desc.push('\n');
        desc.push_str(&b.en);
    }
    let region = match r.scan.regions.as_slice() {
        [only] => Some(only.as_str()),
        _ => None,
    };
    Ok(event(
        input,
        &uid,
        time,
        c.verdict,
        title,
        desc,
        compliance,
        Value::Array(resources),
        evidences,
        region,
        EVENT_CODE_CONTROL,
    ))
}

/// One `evidences[]` entry for a digest; `locations` are filtered to that digest.
fn evidence(input: &ReportInput<'_>, digest: &str, locations: &[String]) -> Value {
    let prefix = format!("{digest}#");
    let locs: Vec<&str> = locations
        .iter()
        .map(String::as_str)
        .filter(|l| l.starts_with(&prefix))
        .collect();
    let records = input.evidence.records(digest);
    let mut data = Map::new();
    data.insert("digest".into(), json!(digest));
    if !locs.is_empty() {
        data.insert("locations".into(), json!(locs));
    }
    if !records.is_empty() {
        data.insert(
            "records".into(),
            Value::Array(
                records
                    .iter()
                    .map(|rec| {
                        json!({"probe": rec.probe, "operation": rec.operation, "region": rec.region,
                               "account": rec.account, "captured_at": rec.captured_at,
                               "request_id": rec.request_id, "parameters": rec.parameters})
                    })
                    .collect(),
            ),
        );
    }
    let mut e = json!({"uid": digest, "data": Value::Object(data)});
    if let Some(rec) = records.first() {
        e["name"] = json!(rec.probe);
        let mut api = json!({"operation": rec.operation, "service": {"name": rec.service}});
        if let Some(id) = &rec.request_id {
            api["request"] = json!({"uid": id});
        }
        e["api"] = api;
    }
    e
}

#[allow(clippy::too_many_arguments)]
fn event(
    input: &ReportInput<'_>,
    uid: &str,
    time: i64,
    verdict: Verdict,
    title: String,
    desc: String,
    compliance: Value,
    resources: Value,
    evidences: Vec<Value>,
    region: Option<&str>,
    event_code: &str,
) -> Value {
    let r = input.results;
    let (severity_id, severity) = severity(verdict);
    let mut cloud = json!({"provider": r.scan.provider, "cloud_partition": r.scan.partition});
    if let [account] = r.scan.accounts.as_slice() {
        let mut a = json!({"uid": account});
        if let Some((type_id, name)) =
            crate::providers::by_name(&r.scan.provider).and_then(|p| p.ocsf_account_type)
        {
            a["type_id"] = json!(type_id);
            a["type"] = json!(name);
        }
        cloud["account"] = a;
    }
    if let Some(region) = region {
        cloud["region"] = json!(region);
    }
    let mut e = json!({
        "activity_id": ACTIVITY_ID,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": TYPE_UID,
        "type_name": "Compliance Finding: Create",
        "severity_id": severity_id,
        "severity": severity,
        "status_id": 1,
        "status": "New",
        "time": time,
        "message": title,
        "metadata": {
            "version": OCSF_VERSION,
            "event_code": event_code,
            "uid": sha_hex(&format!("{uid}\0{}", r.scan.pack_digest)),
            "profiles": ["cloud"],
            "product": {"name": r.tool.name, "vendor_name": "dengbao", "version": r.tool.version},
        },
        "cloud": cloud,
        "finding_info": {
            "uid": uid,
            "title": title,
            "desc": desc,
            "types": [r.framework.name_en],
            "created_time": time,
            "data_sources": [format!("dengbao evidence pack {}", r.scan.pack_digest)],
        },
        "compliance": compliance,
    });
    if resources.as_array().is_some_and(|a| !a.is_empty()) {
        e["resources"] = resources;
    }
    if !evidences.is_empty() {
        e["evidences"] = Value::Array(evidences);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_is_stable_and_separates_parts() {
        let a = finding_uid(
            "mlps2-l3-cloud",
            "L3-CES2-09",
            "aws/aws-cn/1/cn-north-1/snap-1",
        );
        assert_eq!(
            a,
            finding_uid(
                "mlps2-l3-cloud",
                "L3-CES2-09",
                "aws/aws-cn/1/cn-north-1/snap-1"
            )
        );
        assert_eq!(a.len(), 64);
        assert_ne!(finding_uid("ab", "c", "x"), finding_uid("a", "bc", "x"));
    }

    #[test]
    fn every_verdict_maps_to_an_ocsf_status() {
        for v in Verdict::ALL {
            let (id, _) = compliance_status(v);
            assert!([1, 2, 3, 99].contains(&id));
        }
        assert_eq!(TYPE_UID, 200301);
    }
}
