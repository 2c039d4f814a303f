//! Helpers shared by the integration tests: small packs and rule sets built in temp directories.
#![allow(dead_code)]

pub mod aliyun;
pub mod moto;
pub mod siem;

use dengbao::catalog::Catalog;
use dengbao::embedded::SourceFile;
use dengbao::pack::{
    EvidenceRecord, Pack, PackWriter, ProbeError, ProbeRun, ProbeStatus, ScanInfo,
};
use dengbao::probes::ProbeCatalog;
use dengbao::results::Results;
use dengbao::rules::RuleSet;
use serde_json::Value;
use std::path::Path;

/// Spawns `cmd` with stdout piped and returns it with the first line it prints (the test servers
/// print their port there).
pub fn spawn_first_line(cmd: &mut std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {cmd:?}: {e}"));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line)
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_dengbao")
}

/// The built-in catalog (controls only).
pub fn catalog() -> Catalog {
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").expect("built-in data loads");
    loaded.catalog
}

/// Probes of a test provider `t`: service `svc`, operations List{A,B,C}.
pub fn test_probes() -> ProbeCatalog {
    let text = r#"
provider = "t"
service = "svc"
[[probe]]
id = "t.svc.a"
operation = "ListA"
scope = "regional"
iam_action = "svc:ListA"
description = "a"
[[probe]]
id = "t.svc.b"
operation = "ListB"
scope = "regional"
iam_action = "svc:ListB"
description = "b"
[[probe]]
id = "t.svc.c"
operation = "ListC"
scope = "regional"
iam_action = "svc:ListC"
description = "c"
"#;
    ProbeCatalog::from_files(&[SourceFile {
        display: "probes/t/svc.toml".into(),
        rel: "t/svc.toml".into(),
        text: text.into(),
    }])
    .unwrap()
}

/// Loads rule text as `t/rules.toml` against the built-in catalog and the test probes.
pub fn rules(text: &str) -> Result<RuleSet, Vec<String>> {
    let file = SourceFile {
        display: "mappings/mlps2-l3-cloud/t/rules.toml".into(),
        rel: "t/rules.toml".into(),
        text: text.into(),
    };
    dengbao::rules::load(&[file], &catalog(), &test_probes())
}

/// One call in a test pack: probe, region, JSON body (or XML, as a string starting with `<`; or JSON
/// text, as a string starting with `{`; or an error code).
pub struct Call {
    pub probe: &'static str,
    pub region: &'static str,
    pub body: Value,
    pub params: Value,
    pub error: Option<&'static str>,
}

pub fn ok(probe: &'static str, region: &'static str, body: Value) -> Call {
    Call {
        probe,
        region,
        body,
        params: Value::Object(Default::default()),
        error: None,
    }
}

/// A run of `probe` in `region` that had nothing to ask about (a fan-out whose source listed nothing):
/// the manifest shows it ran, with no record.
pub fn ran_empty(probe: &'static str, region: &'static str) -> Call {
    ok(probe, region, Value::Null)
}

pub fn failed(probe: &'static str, region: &'static str, code: &'static str) -> Call {
    Call {
        probe,
        region,
        body: serde_json::json!({"__type": code, "message": "denied"}),
        params: Value::Object(Default::default()),
        error: Some(code),
    }
}

/// Writes a pack of provider `t` with these calls into `dir`.
pub fn write_pack(dir: &Path, regions: &[&str], calls: Vec<Call>) -> Pack {
    write_provider_pack(dir, ("t", "t"), regions, calls)
}

/// Writes a pack of `(provider, partition)` with these calls into `dir` (a hand-made pack of a real
/// provider, for what its emulator cannot produce; the service is the probe id's second part).
pub fn write_provider_pack(
    dir: &Path,
    (provider, partition): (&str, &str),
    regions: &[&str],
    calls: Vec<Call>,
) -> Pack {
    let scan = ScanInfo {
        provider: provider.into(),
        partition: partition.into(),
        accounts: vec!["111122223333".into()],
        regions: regions.iter().map(|s| s.to_string()).collect(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:01:00Z".into(),
        sweep: None,
    };
    let mut w = PackWriter::create(dir, scan).unwrap();
    let mut runs: std::collections::BTreeMap<(String, String), ProbeRun> = Default::default();
    for (i, c) in calls.into_iter().enumerate() {
        let error = c.error.map(|code| ProbeError {
            code: code.into(),
            message: "denied".into(),
        });
        let run = runs
            .entry((c.probe.into(), c.region.into()))
            .or_insert(ProbeRun {
                id: c.probe.into(),
                region: c.region.into(),
                status: ProbeStatus::Ok,
                records: 0,
                error: None,
            });
        // A null body is a run with nothing to ask (a fan-out whose source listed nothing): no record.
        if c.body.is_null() && error.is_none() {
            continue;
        }
        run.records += 1;
        if error.is_some() {
            run.status = ProbeStatus::Error;
            run.error = error.clone();
        }
        // A string body starting with `<` is an XML answer, written as it is; one starting with `{`
        // is JSON text written as it is (for bodies a `Value` cannot be: a member named twice, text
        // cut off).
        let (media, body) = match &c.body {
            Value::String(x) if x.starts_with('<') => ("text/xml", x.clone().into_bytes()),
            Value::String(x) if x.starts_with('{') => ("application/json", x.clone().into_bytes()),
            v => ("application/json", serde_json::to_vec(v).unwrap()),
        };
        let rec = EvidenceRecord {
            probe: c.probe.into(),
            provider: provider.into(),
            partition: partition.into(),
            account: "111122223333".into(),
            region: c.region.into(),
            service: c.probe.split('.').nth(1).unwrap_or("svc").into(),
            operation: "List".into(),
            parameters: c.params.into(),
            captured_at: format!("2026-01-01T00:00:{i:02}Z"),
            request_id: Some(format!("req-{i}")),
            http_status: Some(if error.is_some() { 400 } else { 200 }),
            media_type: media.into(),
            sha256: Default::default(),
            size: 0,
            error,
        };
        w.add_record(rec, &body).unwrap();
    }
    for r in runs.into_values() {
        w.add_probe_run(r);
    }
    w.finish().unwrap();
    Pack::open(dir).unwrap()
}

/// Evaluates `pack` with rule text.
pub fn evaluate(pack: &Pack, rule_text: &str) -> Results {
    let set = rules(rule_text).unwrap_or_else(|e| panic!("rules load: {e:?}"));
    dengbao::engine::evaluate(pack, &catalog(), &set).unwrap()
}

/// The test items mapped for `provider` that some rule decides (an item judged by hand whose rules are
/// all context stays `manual` whatever its evidence, which its reasons name: it was never going to be
/// 符合, so unreadable evidence cannot turn into a false pass there).
pub fn decided_items(provider: &str) -> Vec<String> {
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").unwrap();
    loaded
        .rules
        .mappings
        .iter()
        .filter(|m| m.provider == provider)
        .filter(|m| m.rules.iter().any(|r| !loaded.rules.rules[r].context))
        .map(|m| m.control.clone())
        .collect()
}

pub fn control<'a>(r: &'a Results, id: &str) -> &'a dengbao::results::ControlResult {
    r.controls.iter().find(|c| c.id == id).unwrap()
}

/// Every resource any rule of item `id` judged.
pub fn resources_of(r: &Results, id: &str) -> Vec<dengbao::results::ResourceResult> {
    let rules = control(r, id).rules.iter();
    rules
        .flat_map(|x| x.resources.iter().map(|c| c.into_owned()))
        .collect()
}

/// The reasons of the resources of item `id` judged `error`, each after its region.
pub fn error_reasons(r: &Results, id: &str) -> Vec<String> {
    resources_of(r, id)
        .into_iter()
        .filter(|x| x.status == dengbao::results::ResourceStatus::Error)
        .map(|x| format!("{} {}", x.region, x.reason.clone().unwrap_or_default()))
        .collect()
}

/// Asserts item `id` has errors, each in `region` and naming `code` (the cause).
pub fn assert_errors_only_in(r: &Results, id: &str, region: &str, code: &str) {
    let reasons = error_reasons(r, id);
    let here = |x: &String| x.starts_with(&format!("{region} ")) && x.contains(code);
    assert!(
        !reasons.is_empty() && reasons.iter().all(here),
        "{id}: {reasons:?}"
    );
}

/// Every file under `dir` (a scan's pack and results), as text: to check that no secret is kept.
pub fn files_text(dir: &Path) -> String {
    let mut text = String::new();
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if e.file_type().is_file() {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
        }
    }
    text
}

/// The items of `r` whose verdict is not the one `table` expects, each with its reasons, as one message
/// (empty when every item matches).
pub fn verdict_mismatches(
    r: &Results,
    scenario: &str,
    table: &[(&str, dengbao::verdict::Verdict)],
) -> String {
    let mut wrong = Vec::new();
    for (id, want) in table {
        let c = r.controls.iter().find(|c| c.id == *id).unwrap();
        if c.verdict != *want {
            let reasons: Vec<&String> = c.reasons.iter().map(|x| &x.en).collect();
            wrong.push(format!(
                "{scenario} {id}: expected {want}, got {} — {reasons:?}",
                c.verdict
            ));
        }
    }
    wrong.join("\n")
}

/// Asserts the verdict of each test item in `table`, listing every one that differs with its reasons.
pub fn expect_verdicts(r: &Results, scenario: &str, table: &[(&str, dengbao::verdict::Verdict)]) {
    let wrong = verdict_mismatches(r, scenario, table);
    assert!(wrong.is_empty(), "\n{wrong}");
}
