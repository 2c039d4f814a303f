//! Reports: every format agrees with results.json, renders deterministically, escapes hostile
//! evidence, and passes third-party checks (headless Chromium, openpyxl, an OCSF validator).
//!
//! The third-party checks need tools that `scripts/report-checks.sh` installs and names in
//! `DENGBAO_CHROMIUM` and `DENGBAO_REPORT_PYTHON` (a venv with pinned openpyxl and pydantic-ocsf). Without
//! them those tests are skipped with a note, unless `DENGBAO_REQUIRE_TOOLS=1`, which the script sets:
//! then a missing tool fails the test. Artifacts (screenshots, PDF, the rendered reports) go to
//! `DENGBAO_ARTIFACTS`, default `<target>/test-artifacts`.

mod common;
use common::*;
use dengbao::report::{EvidenceSet, Format, ReportInput};
use dengbao::results::{ResourceStatus, Results};
use dengbao::verdict::Verdict;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const ALL_FILES: [&str; 7] = [
    "report.html",
    "assessment-record.xlsx",
    "controls.csv",
    "findings.csv",
    "summary.md",
    "findings.ocsf.jsonl",
    "results.json",
];

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .args(args)
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn read_results(dir: &Path) -> Results {
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

/// `dengbao scan --demo --out dir --format all`.
fn demo(dir: &Path) -> Results {
    let (code, out, err) = run(&["scan", "--demo", "--out", s(dir), "--format", "all"]);
    assert_eq!(code, 0, "{err}");
    for f in ALL_FILES {
        assert!(dir.join(f).is_file(), "{f} written");
        if f != "results.json" {
            assert!(out.contains(f), "{f} listed in the output:\n{out}");
        }
    }
    read_results(dir)
}

fn artifacts() -> PathBuf {
    let dir = std::env::var_os("DENGBAO_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .parent()
                .unwrap()
                .join("test-artifacts")
        });
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tool named by an environment variable, or None (skip) unless DENGBAO_REQUIRE_TOOLS=1.
fn tool(var: &str) -> Option<PathBuf> {
    let required = std::env::var("DENGBAO_REQUIRE_TOOLS").as_deref() == Ok("1");
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None if required => {
            panic!("{var} is not set and DENGBAO_REQUIRE_TOOLS=1; run scripts/report-checks.sh")
        }
        None => {
            eprintln!("skipped: {var} is not set (scripts/report-checks.sh installs the tool and sets it)");
            None
        }
    }
}

fn python_check(script: &str, args: &[&str]) -> String {
    let Some(py) = tool("DENGBAO_REPORT_PYTHON") else {
        return String::new();
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(script);
    let out = Command::new(&py)
        .arg(&path)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {}: {e}", py.display());
        });
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{script} failed:\n{so}\n{se}");
    eprintln!("{so}");
    so.into_owned()
}

fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "{} has a BOM",
        path.display()
    );
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn xlsx_sheet(path: &Path, name: &str) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    let range = wb.worksheet_range(name).unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

fn ocsf_events(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_format_agrees_with_results_json() {
    let d = tempfile::tempdir().unwrap();
    let r = demo(d.path());
    let verdict_of: BTreeMap<&str, Verdict> = r
        .controls
        .iter()
        .map(|c| (c.id.as_str(), c.verdict))
        .collect();
    let findings: usize = r
        .controls
        .iter()
        .flat_map(|c| &c.rules)
        .map(|rule| rule.resources.len())
        .sum();
    let non_pass: BTreeSet<(String, String, String)> = r
        .controls
        .iter()
        .flat_map(|c| {
            c.rules.iter().flat_map(move |rule| {
                rule.resources
                    .iter()
                    .filter(|x| x.status != ResourceStatus::Pass)
                    .map(move |x| (c.id.clone(), x.id.clone(), x.region.clone()))
            })
        })
        .collect();
    assert!(!non_pass.is_empty());

    // HTML: 46 items with their verdicts, the counts on the cards.
    let html = std::fs::read_to_string(d.path().join("report.html")).unwrap();
    let item =
        regex::Regex::new(r#"<tbody class="item" id="item-([^"]+)"[^>]* data-verdict="([a-z_]+)""#)
            .unwrap();
    let items: Vec<(String, String)> = item
        .captures_iter(&html)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    assert_eq!(items.len(), 46);
    for (id, v) in &items {
        assert_eq!(verdict_of[id.as_str()].as_str(), v, "{id} in HTML");
    }
    let card =
        regex::Regex::new(r#"data-verdict="([a-z_]+)"><span class="n">(\d+)</span>"#).unwrap();
    let cards: BTreeMap<String, u64> = card
        .captures_iter(&html)
        .map(|c| (c[1].to_string(), c[2].parse().unwrap()))
        .collect();
    for v in Verdict::ALL {
        assert_eq!(cards[v.as_str()], r.summary.get(v), "card {v}");
    }
    let external = regex::Regex::new(r#"(?i)(src|href|action)\s*=\s*"?(https?:|//)"#).unwrap();
    assert!(
        !external.is_match(&html),
        "the page links nothing outside itself"
    );

    // XLSX: one row per item with the verdict; the evidence index covers every resource result.
    let xlsx = d.path().join("assessment-record.xlsx");
    let rows = xlsx_sheet(&xlsx, "测评记录表");
    assert_eq!(
        rows[0][..7],
        [
            "测评项编号",
            "层面",
            "控制点",
            "测评指标",
            "测评方法",
            "结果记录",
            "符合情况"
        ]
    );
    assert_eq!(rows.len(), 47);
    for row in &rows[1..] {
        let v = verdict_of[row[0].as_str()];
        // Without an assessment, a manual item is open: nobody decided it yet.
        let shown = match v {
            Verdict::Manual => format!("{}（待判定）", v.zh()),
            _ => v.zh().to_string(),
        };
        assert_eq!(
            (row[6].as_str(), row[7].as_str()),
            (shown.as_str(), v.as_str()),
            "{}",
            row[0]
        );
        assert!(!row[4].is_empty(), "{} has a test method", row[0]);
    }
    // 结果记录 names every resource that failed or erred, and every evidence digest.
    for c in &r.controls {
        let record = &rows.iter().find(|row| row[0] == c.id).unwrap()[5];
        for rule in &c.rules {
            for x in &rule.resources {
                if x.status != ResourceStatus::Pass {
                    assert!(record.contains(&x.id), "{}: {} missing", c.id, x.id);
                }
                for e in &x.evidence {
                    assert!(record.contains(e.as_str()), "{}: {e} missing", c.id);
                }
            }
        }
    }
    let index = xlsx_sheet(&xlsx, "证据索引");
    let expected_index: usize = r
        .controls
        .iter()
        .flat_map(|c| &c.rules)
        .flat_map(|rule| &rule.resources)
        .map(|x| x.evidence.len().max(1))
        .sum();
    assert_eq!(index.len() - 1, expected_index);
    let scan = xlsx_sheet(&xlsx, "扫描信息");
    assert!(scan.iter().any(|row| row[1] == r.scan.pack_digest));

    // CSV: controls and findings.
    let controls = csv_rows(&d.path().join("controls.csv"));
    assert_eq!(controls.len(), 46);
    for row in &controls {
        assert_eq!(verdict_of[row["id"].as_str()].as_str(), row["verdict"]);
    }
    let frows = csv_rows(&d.path().join("findings.csv"));
    assert_eq!(frows.len(), findings);
    for c in &r.controls {
        for rule in &c.rules {
            let mine: Vec<_> = frows
                .iter()
                .filter(|f| f["control"] == c.id && f["rule"] == rule.id)
                .collect();
            let n = |st: &str| mine.iter().filter(|f| f["status"] == st).count() as u64;
            assert_eq!(
                (n("pass"), n("fail"), n("error")),
                (rule.passed, rule.failed, rule.errored),
                "{}",
                rule.id
            );
        }
    }

    // Markdown: the counts table, every problem item, the manual count.
    let md = std::fs::read_to_string(d.path().join("summary.md")).unwrap();
    for v in Verdict::ALL {
        let line = format!("| {} `{}` | {} |", v.zh(), v.as_str(), r.summary.get(v));
        assert!(md.contains(&line), "missing {line}");
    }
    assert!(md.contains(&format!("| **合计 Total** | **{}** |", r.summary.total)));
    for c in &r.controls {
        let listed = md.contains(&format!("### `{}`", c.id));
        let problem = matches!(
            c.verdict,
            Verdict::NonCompliant | Verdict::PartiallyCompliant | Verdict::Error
        );
        assert_eq!(listed, problem, "{} listed in summary.md", c.id);
    }
    assert!(md.contains(&format!("## 需人工核查 `manual` ({})", r.summary.manual)));

    // OCSF: one event per item with its verdict, one per resource that failed or erred.
    let events = ocsf_events(&d.path().join("findings.ocsf.jsonl"));
    let time = dengbao::report::rfc3339_millis(&r.scan.finished_at).unwrap();
    let mut controls_seen = BTreeMap::new();
    let mut resources_seen = BTreeSet::new();
    let mut uids = BTreeSet::new();
    for e in &events {
        assert_eq!(
            (
                e["class_uid"].as_u64(),
                e["category_uid"].as_u64(),
                e["type_uid"].as_u64()
            ),
            (Some(2003), Some(2), Some(200301))
        );
        assert_eq!(e["time"].as_i64(), Some(time));
        assert_eq!(e["compliance"]["standards"], json!(["GB/T 22239-2019"]));
        assert!(
            uids.insert(e["finding_info"]["uid"].as_str().unwrap().to_string()),
            "uids unique"
        );
        let control = e["compliance"]["control"].as_str().unwrap().to_string();
        match e["metadata"]["event_code"].as_str().unwrap() {
            "dengbao.control" => {
                controls_seen.insert(
                    control,
                    e["compliance"]["status_code"].as_str().unwrap().to_string(),
                );
            }
            "dengbao.resource" => {
                let res = &e["resources"][0];
                resources_seen.insert((
                    control,
                    res["uid"].as_str().unwrap().to_string(),
                    res["region"].as_str().unwrap().to_string(),
                ));
            }
            other => panic!("event code {other}"),
        }
    }
    assert_eq!(controls_seen.len(), 46);
    for (id, v) in &controls_seen {
        assert_eq!(verdict_of[id.as_str()].as_str(), v);
    }
    assert_eq!(resources_seen, non_pass);
}

#[test]
fn renderings_are_byte_identical_across_runs_and_commands() {
    let d = tempfile::tempdir().unwrap();
    let (a, b, c) = (d.path().join("a"), d.path().join("b"), d.path().join("c"));
    // Without the history: its first/last-seen times are an input `report` does not read (OCSF).
    let (code, _, err) = run(&[
        "scan",
        "--demo",
        "--no-history",
        "--out",
        s(&a),
        "--format",
        "all",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "evaluate",
        "--no-history",
        s(&a.join("pack")),
        "--out",
        s(&b),
        "--format",
        "all",
    ]);
    assert_eq!(code, 0, "{err}");
    // A second later, so a clock in any renderer (XLSX keeps seconds) would show.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (code, _, err) = run(&["report", s(&a.join("results.json")), "--out", s(&c)]);
    assert_eq!(code, 0, "{err}");
    for f in ALL_FILES {
        let x = std::fs::read(a.join(f)).unwrap();
        assert_eq!(
            x,
            std::fs::read(b.join(f)).unwrap(),
            "{f}: scan vs evaluate"
        );
        if f != "results.json" {
            assert_eq!(x, std::fs::read(c.join(f)).unwrap(), "{f}: scan vs report");
        }
    }
    // No render date either: unless the demo was scanned today, today's date appears in no report.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let scanned_today = read_results(&a).scan.finished_at.starts_with(&today);
    for f in ALL_FILES
        .iter()
        .filter(|f| !f.ends_with(".xlsx") && !scanned_today)
    {
        let text = std::fs::read_to_string(a.join(f)).unwrap();
        assert!(!text.contains(&today), "{f} contains today's date");
    }
}

#[test]
fn report_without_the_pack_says_so_and_a_foreign_pack_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let scan = d.path().join("scan");
    demo(&scan);
    let alone = d.path().join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(scan.join("results.json"), alone.join("results.json")).unwrap();
    let out = d.path().join("out");
    let (code, _, err) = run(&[
        "report",
        s(&alone.join("results.json")),
        "--out",
        s(&out),
        "--format",
        "html,ocsf",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("No evidence pack"), "{err}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("id=\"no-pack\""));
    assert!(
        !html.contains("<pre class=\"body"),
        "no bodies without a pack"
    );
    assert!(html.contains("sha256:"), "digests are still listed");
    assert!(
        !out.join("summary.md").exists(),
        "only the formats asked for"
    );
    // The same results with the pack given explicitly embed the bodies.
    let (code, _, err) = run(&[
        "report",
        s(&alone.join("results.json")),
        "--out",
        s(&out),
        "--format",
        "html",
        "--pack",
        s(&scan.join("pack")),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(out.join("report.html"))
        .unwrap()
        .contains("<pre class=\"body"));
    // A pack the results were not computed from is refused when named...
    let other = d.path().join("other");
    write_pack(&other, &["r1"], vec![ok("t.svc.a", "r1", json!({}))]);
    let (code, _, err) = run(&[
        "report",
        s(&alone.join("results.json")),
        "--out",
        s(&out),
        "--pack",
        s(&other),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("the results were computed from"), "{err}");
    // ...and ignored, with the reason in the page, when it merely sits beside results.json.
    std::fs::rename(&other, alone.join("pack")).unwrap();
    let (code, _, err) = run(&[
        "report",
        s(&alone.join("results.json")),
        "--out",
        s(&out),
        "--format",
        "html",
    ]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("is not the sha256:") && !html.contains("<pre class=\"body"));
    // Bad arguments.
    let (code, _, err) = run(&[
        "report",
        s(&alone.join("results.json")),
        "--out",
        s(&out),
        "--format",
        "pdf",
    ]);
    assert_eq!(code, 2, "clap usage error");
    assert!(err.contains("unknown report format `pdf`"), "{err}");
}

const HOSTILE: &str = r#"
[[rule]]
id = "hostile"
title = { zh = "所有 VPC 已加密", en = "every VPC encrypted" }
evidence = "t.svc.a"
resources = "$.vpcs[*]"
resource_id = "$.id"
require = { path = "$.encrypted", eq = true }

[[control]]
id = "L3-ABS2-05"
automation = "full"
rules = ["hostile"]
rationale = { zh = "理由", en = "why" }
"#;

/// Renders a report from evidence full of markup and spreadsheet formulas.
fn hostile_reports(dir: &Path) -> (Results, Vec<dengbao::report::Output>) {
    let pack_dir = dir.join("pack");
    let pack = write_pack(
        &pack_dir,
        &["r1"],
        vec![ok(
            "t.svc.a",
            "r1",
            json!({"vpcs": [
                {"id": "<script>window.__dengbao_xss=1</script>", "encrypted": false},
                {"id": "\"><img src=x onerror=\"window.__dengbao_xss=2\">", "encrypted": false},
                {"id": "=HYPERLINK(\"http://evil.example\",\"x\")", "encrypted": false},
                {"id": "ok-vpc", "encrypted": true, "note": "</pre></details><script>window.__dengbao_xss=3</script>"}
            ]}),
        )],
    );
    let results = evaluate(&pack, HOSTILE);
    let catalog = catalog();
    let evidence = EvidenceSet::from_pack(&pack, &results).unwrap();
    let input = ReportInput {
        results: &results,
        catalog: &catalog,
        evidence: &evidence,
        diff: None,
        seen: None,
    };
    let outputs = dengbao::report::render(&Format::ALL, &input).unwrap();
    dengbao::report::write_outputs(dir, &outputs).unwrap();
    std::fs::write(dir.join("results.json"), results.to_json_bytes()).unwrap();
    (results, outputs)
}

#[test]
fn hostile_evidence_is_escaped_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    let (results, outputs) = hostile_reports(d.path());
    assert_eq!(
        results
            .controls
            .iter()
            .find(|c| c.id == "L3-ABS2-05")
            .unwrap()
            .verdict,
        Verdict::PartiallyCompliant
    );
    let get = |name: &str| {
        String::from_utf8_lossy(&outputs.iter().find(|o| o.name == name).unwrap().bytes)
            .into_owned()
    };
    let html = get("report.html");
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the page's own script"
    );
    assert!(
        !html.contains("<img") && !html.contains("onerror=\""),
        "no injected element or handler"
    );
    assert!(html.contains("&lt;script&gt;window.__dengbao_xss=1&lt;/script&gt;"));
    assert!(
        html.contains("&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;"),
        "the body is shown, escaped"
    );
    let md = get("summary.md");
    assert!(
        md.contains("`<script>window.__dengbao_xss=1</script>`"),
        "ids are code spans"
    );
    let prose = regex::Regex::new(r"`[^`]*`").unwrap().replace_all(&md, "");
    assert!(
        !prose.contains('<'),
        "markup outside code spans is escaped:\n{prose}"
    );
    let csv = get("findings.csv");
    assert!(csv.contains("'=HYPERLINK"), "formula neutralised:\n{csv}");
    for line in get("findings.ocsf.jsonl").lines() {
        serde_json::from_str::<Value>(line).expect("OCSF lines stay valid JSON");
    }
    let rows = xlsx_sheet(&d.path().join("assessment-record.xlsx"), "证据索引");
    assert!(
        rows.iter()
            .any(|r| r[2] == "=HYPERLINK(\"http://evil.example\",\"x\")"),
        "kept verbatim as text"
    );
}

#[test]
fn browser_shows_filters_and_expands_the_report() {
    let Some(chromium) = tool("DENGBAO_CHROMIUM") else {
        return;
    };
    let Some(python) = tool("DENGBAO_REPORT_PYTHON") else {
        return;
    };
    let art = artifacts();
    let demo_dir = art.join("demo");
    let _ = std::fs::remove_dir_all(&demo_dir);
    demo(&demo_dir);
    let hostile_dir = art.join("hostile");
    let _ = std::fs::remove_dir_all(&hostile_dir);
    hostile_reports(&hostile_dir);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/check_report.py");
    let out = Command::new(&python)
        .arg(&script)
        .args([
            "--chromium",
            s(&chromium),
            "--html",
            s(&demo_dir.join("report.html")),
        ])
        .args([
            "--results",
            s(&demo_dir.join("results.json")),
            "--artifacts",
            s(&art),
        ])
        .args(["--xss-html", s(&hostile_dir.join("report.html"))])
        .output()
        .unwrap();
    let (so, se) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "browser check failed:\n{so}\n{se}");
    eprintln!("{so}");
    for f in ["report.png", "report-zh.png", "report.pdf"] {
        assert!(
            std::fs::metadata(art.join(f)).unwrap().len() > 1000,
            "{f} saved"
        );
    }
}

#[test]
fn openpyxl_reads_the_assessment_record() {
    let d = tempfile::tempdir().unwrap();
    demo(d.path());
    python_check(
        "tests/python/check_xlsx.py",
        &[
            s(&d.path().join("assessment-record.xlsx")),
            s(&d.path().join("results.json")),
        ],
    );
}

#[test]
fn ocsf_events_pass_a_third_party_validator() {
    let d = tempfile::tempdir().unwrap();
    demo(d.path());
    python_check(
        "tests/python/check_ocsf.py",
        &[
            s(&d.path().join("findings.ocsf.jsonl")),
            s(&d.path().join("results.json")),
        ],
    );
    // Hostile evidence, and a report without the pack (digests only, no api objects), validate too.
    let h = d.path().join("hostile");
    hostile_reports(&h);
    python_check(
        "tests/python/check_ocsf.py",
        &[
            s(&h.join("findings.ocsf.jsonl")),
            s(&h.join("results.json")),
        ],
    );
    let alone = d.path().join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(d.path().join("results.json"), alone.join("results.json")).unwrap();
    let (code, _, err) = run(&[
        "report",
        s(&alone.join("results.json")),
        "--out",
        s(&alone),
        "--format",
        "ocsf",
    ]);
    assert_eq!(code, 0, "{err}");
    python_check(
        "tests/python/check_ocsf.py",
        &[
            s(&alone.join("findings.ocsf.jsonl")),
            s(&alone.join("results.json")),
        ],
    );
}

/// An exception (results v2) shows in every format, and never hides the status: CSV's `excepted` and
/// `verdict_with_exceptions` columns, the workbook's 例外 and `verdict_with_exceptions` columns and its
/// 结果记录, and OCSF's Suppressed event whose compliance status stays Fail.
#[test]
fn exceptions_show_in_csv_xlsx_and_ocsf() {
    let d = tempfile::tempdir().unwrap();
    let plain = demo(&d.path().join("plain"));
    // The first failing resource of the demo estate, whatever it is.
    let (rule, res) = plain
        .controls
        .iter()
        .flat_map(|c| &c.rules)
        .find_map(|rule| {
            let failing = rule
                .resources
                .iter()
                .find(|x| x.status == ResourceStatus::Fail)?;
            Some((rule.id.clone(), failing.into_owned()))
        })
        .unwrap();
    let file = d.path().join("exceptions.toml");
    std::fs::write(
        &file,
        format!(
            "[[exception]]\nid = \"EX-9\"\nrule = \"{rule}\"\nresource = \"{}\"\nreason = \"legacy\"\n\
             approver = \"CISO\"\nticket = \"SEC-9\"\nexpires = \"2999-12-31\"\n",
            res.id
        ),
    )
    .unwrap();
    let out = d.path().join("excepted");
    let pack = d.path().join("plain/pack");
    let (code, _, err) = run(&[
        "evaluate",
        s(&pack),
        "--out",
        s(&out),
        "--no-history",
        "--exceptions",
        s(&file),
        "--format",
        "all",
    ]);
    assert_eq!(code, 0, "{err}");
    let r = read_results(&out);
    assert_eq!(r.schema, "dengbao.results/v2");
    let marked = |rule_id: &str, id: &str, region: &str| {
        r.controls
            .iter()
            .flat_map(|c| &c.rules)
            .any(|x| x.id == rule_id && x.exception_for(id, region) == Some("EX-9"))
    };
    assert!(marked(&rule, &res.id, &res.region));

    // CSV.
    let frows = csv_rows(&out.join("findings.csv"));
    for f in &frows {
        let excepted = f["rule"] == rule && f["resource"] == res.id && f["region"] == res.region;
        assert_eq!(f["excepted"], if excepted { "EX-9" } else { "" }, "{f:?}");
        if excepted {
            assert_eq!(f["status"], "fail", "the status stays");
        }
    }
    assert!(frows.iter().any(|f| f["excepted"] == "EX-9"));
    let controls = csv_rows(&out.join("controls.csv"));
    for (row, c) in controls.iter().zip(&r.controls) {
        assert_eq!(row["verdict"], c.verdict.as_str());
        let with = c.verdict_with_exceptions.expect("every item has one in v2");
        assert_eq!(row["verdict_with_exceptions"], with.as_str());
    }
    let plain_controls = csv_rows(&d.path().join("plain/controls.csv"));
    assert!(plain_controls
        .iter()
        .all(|row| row["verdict_with_exceptions"].is_empty()));

    // XLSX.
    let xlsx = out.join("assessment-record.xlsx");
    let index = xlsx_sheet(&xlsx, "证据索引");
    assert_eq!(index[0][11], "例外");
    let rows: Vec<_> = index.iter().filter(|row| row[11] == "EX-9").collect();
    assert!(!rows.is_empty());
    assert!(rows
        .iter()
        .all(|row| row[1] == rule && row[2] == res.id && row[4] == "fail"));
    let record = xlsx_sheet(&xlsx, "测评记录表");
    assert_eq!(record[0][8], "verdict_with_exceptions");
    let with_note: Vec<_> = record
        .iter()
        .filter(|row| row[5].contains("已接受风险（例外）") && row[5].contains(&res.id))
        .collect();
    assert!(!with_note.is_empty());
    assert!(with_note.iter().all(|row| row[5].contains("SEC-9")));

    // OCSF: the resource's events are Suppressed, their compliance still Fail; no other is.
    let events = ocsf_events(&out.join("findings.ocsf.jsonl"));
    let mut suppressed = 0;
    for e in &events {
        if e["status"] == "Suppressed" {
            suppressed += 1;
            assert_eq!(e["resources"][0]["uid"], res.id.as_str(), "{e:#}");
            assert_eq!(e["compliance"]["status"], "Fail", "{e:#}");
            assert!(
                e["status_detail"].as_str().unwrap().contains("EX-9"),
                "{e:#}"
            );
        } else {
            assert_eq!(e["status"], "New", "{e:#}");
        }
    }
    assert!(suppressed > 0);
}

/// The 测评记录表 round trip: an assessor fills the assessor columns with openpyxl (as a spreadsheet
/// program would), `judgements import` writes the judgements file, and the next evaluation carries
/// every judgement; a workbook with an unknown item, a non-verdict and a verdict outside an item's
/// criteria is refused row by row, writing nothing.
#[test]
fn judgements_round_trip_through_a_workbook_edited_by_openpyxl() {
    let Some(python) = tool("DENGBAO_REPORT_PYTHON") else {
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let r = demo(d.path());
    let pack = d.path().join("pack");
    let open: Vec<&str> = r
        .controls
        .iter()
        .filter(|c| c.verdict == Verdict::Manual)
        .map(|c| c.id.as_str())
        .collect();
    assert!(open.len() > 10, "the demo leaves items to people");
    let fill = |mode: &[&str], out: &Path| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/fill_record.py");
        let o = Command::new(&python)
            .arg(&script)
            .arg(d.path().join("assessment-record.xlsx"))
            .arg(out)
            .args(mode)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };

    // Refused: each problem names its row; no judgements file appears.
    let catalog = catalog();
    let no_partial = catalog
        .controls
        .iter()
        .find(|c| c.criteria.partially_compliant.is_none() && open[2..].contains(&c.id.as_str()))
        .expect("an open item without 部分符合");
    let bad = d.path().join("bad.xlsx");
    fill(&["bad", &no_partial.id], &bad);
    let (code, _, err) = run(&["judgements", "import", s(&bad), "--pack", s(&pack)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no test item `L3-NOPE-01`"), "{err}");
    assert!(err.contains("`maybe` is not a verdict"), "{err}");
    assert!(
        err.contains(&format!(
            "item `{}`: verdict `partially_compliant` is not on its scale (compliant, non_compliant)",
            no_partial.id
        )),
        "{err}"
    );
    assert!(err.contains("测评记录表 row "), "{err}");
    assert!(!pack.join("assessment/judgements.toml").exists());

    // Accepted: every open item judged, in either spelling, with a date cell or date text.
    let good = d.path().join("good.xlsx");
    fill(&["good"], &good);
    let (code, out, err) = run(&["judgements", "import", s(&good), "--pack", s(&pack)]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("imported: {} judgement(s)", open.len())),
        "{out}"
    );
    let again = d.path().join("again");
    let (code, _, err) = run(&["evaluate", s(&pack), "--out", s(&again), "--format", "xlsx"]);
    assert_eq!(code, 0, "{err}");
    let after = read_results(&again);
    assert_eq!(after.schema, "dengbao.results/v2");
    for (n, id) in open.iter().enumerate() {
        let c = after.controls.iter().find(|c| c.id == *id).unwrap();
        let a = c.assessor.as_ref().unwrap_or_else(|| panic!("{id} judged"));
        let want = if n % 2 == 0 {
            Verdict::Compliant
        } else {
            Verdict::NonCompliant
        };
        assert_eq!(
            (a.verdict, a.assessor.as_str()),
            (want, "王敏 (XX测评中心)"),
            "{id}"
        );
        assert_eq!(
            a.date,
            if n == 0 { "2026-12-01" } else { "2026-12-02" },
            "{id}"
        );
        assert_eq!(
            c.verdict,
            Verdict::Manual,
            "{id}: the machine's verdict stays"
        );
    }
    let rows = xlsx_sheet(&again.join("assessment-record.xlsx"), "测评记录表");
    assert!(
        rows[1..].iter().all(|row| !row[6].contains("待判定")),
        "no row is left open"
    );
    python_check(
        "tests/python/check_xlsx.py",
        &[
            s(&again.join("assessment-record.xlsx")),
            s(&again.join("results.json")),
        ],
    );
}
