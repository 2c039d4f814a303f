//! Scheduled self-checks as a scheduler runs them: history, drift, exceptions and exit codes.
//!
//! The moto tests seed a clean estate (tests/moto/seed.py), scan it, make one change with boto3
//! (tests/moto/tweaks.py: an unencrypted volume and its snapshot), and scan again. The expected
//! verdicts come from the guide: L3-CES2-09 asks for images and snapshots to be encrypted, so the
//! unencrypted snapshot fails. No rule asks a single volume to be encrypted (volumes are judged by the
//! region's encryption-by-default setting, which the change leaves alone), so the volume appears,
//! passing, and only the snapshot newly fails.

mod common;
use common::bin;
use common::moto::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&str], history: &Path) -> Output {
    Command::new(bin())
        .args(args)
        .arg("--history")
        .arg(history)
        .env("COLUMNS", "200")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Every resource id a diff names, whatever the list.
fn resources_named(d: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for list in [
        "newly_failing",
        "fixed",
        "appeared",
        "disappeared",
        "status_changed",
    ] {
        for c in d[list].as_array().unwrap() {
            out.insert(c["resource"].as_str().unwrap().to_string());
        }
    }
    out
}

fn ids(d: &Value, list: &str) -> BTreeSet<String> {
    d[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["resource"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn two_scans_one_change_diff_fail_on_new_and_exceptions() {
    let Some(m) = moto() else { return };
    let _g = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    seed(&m, &m.endpoint, &["clean"]);
    let d = tempfile::tempdir().unwrap();
    let history = d.path().join("h/history.sqlite3");
    let h = history.to_str().unwrap();
    let scan_into = |name: &str| {
        scan(
            &m.endpoint,
            &d.path().join(name),
            ("testing", "testing"),
            &["--history", h, "--fail-on", "new", "--format", "ocsf"],
        )
    };

    // First scan: nothing to compare with, so `new` cannot match.
    let (c1, log1) = scan_into("s1");
    assert_eq!(c1, 0, "{log1}");
    assert!(log1.contains("no previous comparable scan"), "{log1}");

    let change = tweak(&m, "unencrypted-snapshot");
    let (vol, snap) = (
        change["created"]["volume"].as_str().unwrap().to_string(),
        change["created"]["snapshot"].as_str().unwrap().to_string(),
    );
    let (c2, log2) = scan_into("s2");
    assert_eq!(
        c2, 4,
        "a resource newly fails: --fail-on new exits 4\n{log2}"
    );
    assert!(log2.contains("--fail-on new:"), "{log2}");

    let (c3, log3) = scan_into("s3");
    assert_eq!(c3, 0, "nothing changed since the second scan\n{log3}");

    // OCSF first/last seen come from the history: an item's finding was first seen in the first
    // scan, the snapshot's in the second; both were last seen in the third.
    let time = |scan: &str| {
        let r = common::moto::results(&d.path().join(scan));
        chrono::DateTime::parse_from_rfc3339(&r.scan.finished_at)
            .unwrap()
            .timestamp_millis()
    };
    let events: Vec<Value> = std::fs::read_to_string(d.path().join("s3/findings.ocsf.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let seen = |e: &Value| {
        (
            e["finding_info"]["first_seen_time"].as_i64().unwrap(),
            e["finding_info"]["last_seen_time"].as_i64().unwrap(),
        )
    };
    let item = events
        .iter()
        .find(|e| {
            e["compliance"]["control"] == "L3-CES2-09"
                && e["metadata"]["event_code"] == "dengbao.control"
        })
        .unwrap();
    assert_eq!(seen(item), (time("s1"), time("s3")), "{item:#}");
    let snapshot = events
        .iter()
        .find(|e| {
            e["resources"][0]["uid"] == snap.as_str()
                && e["metadata"]["event_code"] == "dengbao.resource"
        })
        .unwrap();
    assert_eq!(seen(snapshot), (time("s2"), time("s3")), "{snapshot:#}");

    // A change of deciding values only: the group still passes every rule, so `new` does not
    // match, and diff names the group (and nothing else) with the values that moved.
    let widened = tweak(&m, "internal-8443");
    let sg = widened["created"]["security_group"]
        .as_str()
        .unwrap()
        .to_string();
    let (c4, log4) = scan_into("s4");
    assert_eq!(c4, 0, "no resource newly fails\n{log4}");
    let o = run(&["diff", "3", "4", "--format", "json"], &history);
    let diff: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(diff["values_not_compared"].is_null(), "{diff:#}");
    assert_eq!(resources_named(&diff), BTreeSet::new(), "{diff:#}");
    let moved: Vec<&Value> = diff["values_changed"].as_array().unwrap().iter().collect();
    assert!(!moved.is_empty(), "{diff:#}");
    for c in &moved {
        assert_eq!(c["resource"], sg.as_str(), "{diff:#}");
        assert_eq!(c["status"], "pass", "{diff:#}");
        let change = &c["changes"][0];
        assert_eq!(
            change["path"], "$['securityGroupInfo'][*]['ipPermissions']",
            "{diff:#}"
        );
        assert_ne!(change["old"], change["new"], "{diff:#}");
    }
    // The same from the two results.json files (their packs beside them give the values).
    let o = run(
        &[
            "diff",
            d.path().join("s3/results.json").to_str().unwrap(),
            d.path().join("s4/results.json").to_str().unwrap(),
        ],
        &history,
    );
    let t = text(&o);
    assert!(
        t.contains("deciding values changed") && t.contains(&sg),
        "{t}"
    );
    assert!(!t.contains("not compared"), "{t}");

    // diff names exactly the change: the new volume and snapshot, nothing else.
    for (old, new) in [
        ("1".to_string(), "2".to_string()),
        (
            d.path().join("s1/results.json").display().to_string(),
            d.path().join("s2/results.json").display().to_string(),
        ),
    ] {
        let o = run(&["diff", &old, &new, "--format", "json"], &history);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let diff: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(diff["not_comparable"], serde_json::json!([]));
        // Both appear (the volume under the data-location rule); only the snapshot fails.
        let both: BTreeSet<String> = [vol.clone(), snap.clone()].into();
        assert_eq!(resources_named(&diff), both, "{diff:#}");
        assert_eq!(ids(&diff, "appeared"), both, "{diff:#}");
        assert_eq!(
            ids(&diff, "newly_failing"),
            [snap.clone()].into(),
            "{diff:#}"
        );
        assert!(ids(&diff, "fixed").is_empty() && ids(&diff, "disappeared").is_empty());
    }
    let o = run(&["diff", "2", "3"], &history);
    assert!(text(&o).contains("no change"), "{}", text(&o));

    // History lists the four scans, newest first.
    let o = run(&["history", "list", "--provider", "aws"], &history);
    let listed: Vec<&str> = std::str::from_utf8(&o.stdout).unwrap().lines().collect();
    assert_eq!(listed.len(), 4, "{}", text(&o));
    assert!(listed[0].starts_with("#4"), "{listed:?}");

    // An exception covering the change: the second scan, judged again, exits 0, and every report
    // still shows the failing resources, marked excepted.
    let exceptions = |dir: &Path, expires: &str| {
        let p = dir.join(format!("exceptions-{expires}.toml"));
        std::fs::write(
            &p,
            format!(
                "[[exception]]\nid = \"EX-1\"\nresource = \"{snap}\"\nreason = \"test snapshot\"\napprover = \"CISO\"\nticket = \"SEC-1\"\nexpires = \"{expires}\"\n\n\
                 [[exception]]\nid = \"EX-2\"\nresource = \"{vol}\"\nreason = \"test volume\"\napprover = \"CISO\"\nticket = \"SEC-2\"\nexpires = \"{expires}\"\n"
            ),
        )
        .unwrap();
        p
    };
    let evaluate = |history: &Path, pack: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "evaluate".to_string(),
            d.path().join(pack).join("pack").display().to_string(),
            "--out".into(),
            d.path().join(out).display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args, history)
    };
    for (expires, want, expired) in [("2999-12-31", 0, false), ("2000-01-01", 4, true)] {
        let hist = d.path().join(format!("h-{expires}.sqlite3"));
        let o = evaluate(&hist, "s1", &format!("e1-{expires}"), &[]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let file = exceptions(d.path(), expires);
        let out = format!("e2-{expires}");
        let o = evaluate(
            &hist,
            "s2",
            &out,
            &[
                "--exceptions",
                file.to_str().unwrap(),
                "--fail-on",
                "new",
                "--format",
                "html,md",
            ],
        );
        assert_eq!(code(&o), want, "expires {expires}\n{}", text(&o));
        let results = common::moto::results(&d.path().join(&out));
        assert_eq!(results.schema, "dengbao.results/v2");
        let applied = results.exceptions.as_ref().unwrap();
        let mut marked = BTreeSet::new();
        for c in &results.controls {
            for r in &c.rules {
                for x in &r.excepted {
                    // The resource keeps its failing status.
                    assert!(r.resources.iter().any(|res| res.id == x.resource
                        && res.status == dengbao::results::ResourceStatus::Fail));
                    marked.insert(x.resource.clone());
                }
            }
        }
        let html = std::fs::read_to_string(d.path().join(&out).join("report.html")).unwrap();
        let md = std::fs::read_to_string(d.path().join(&out).join("summary.md")).unwrap();
        if expired {
            assert!(marked.is_empty());
            assert!(applied.exceptions.iter().all(|x| x.state == "expired"));
            assert!(
                text(&o).contains("exception `EX-1` expired on 2000-01-01"),
                "{}",
                text(&o)
            );
        } else {
            assert_eq!(marked, [snap.clone()].into());
            // L3-CES2-09 (images and snapshots encrypted): its 判定标准 know 符合 and 不符合 only
            // ("未采用加密技术对虚拟机镜像、快照进行加密…" is 不符合), so the unencrypted snapshot makes
            // it 不符合 without the exceptions; with them it is 符合 again, as in the first scan. Both
            // are kept.
            let item = results
                .controls
                .iter()
                .find(|c| c.id == "L3-CES2-09")
                .unwrap();
            assert_eq!(item.verdict, dengbao::verdict::Verdict::NonCompliant);
            assert_eq!(
                item.verdict_with_exceptions,
                Some(dengbao::verdict::Verdict::Compliant)
            );
            // EX-2 names the volume, which fails no rule: reported as unused, never silently kept.
            let ex2 = applied.exceptions.iter().find(|x| x.id == "EX-2").unwrap();
            assert_eq!(ex2.state, "unused");
            assert!(
                text(&o).contains("exception `EX-2` covers no failing resource"),
                "{}",
                text(&o)
            );
            // Markdown escapes brackets and underscores.
            let md_escape = |s: &str| {
                s.replace('[', "\\[")
                    .replace(']', "\\]")
                    .replace('_', "\\_")
            };
            let lines = [
                format!("{snap} [cn-north-1] fail, excepted (EX-1)"),
                "L3-CES2-09: non_compliant without exceptions, compliant with exceptions".into(),
            ];
            for line in lines {
                assert!(html.contains(&line), "{line} missing from report.html");
                let line = md_escape(&line);
                assert!(md.contains(&line), "{line} missing from\n{md}");
            }
        }
    }
}

#[test]
fn concurrent_scans_share_a_history_and_a_damaged_one_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let history = d.path().join("history.sqlite3");
    // Two scans started at once, writing to one new database (created by whichever comes first).
    let spawned: Vec<_> = (0..2)
        .map(|i| {
            Command::new(bin())
                .args(["scan", "--demo", "--out"])
                .arg(d.path().join(format!("demo{i}")))
                .arg("--history")
                .arg(&history)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in spawned {
        let o = child.wait_with_output().unwrap();
        assert_eq!(code(&o), 0, "{}", text(&o));
    }
    let o = run(&["history", "list"], &history);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).lines().count(),
        2,
        "{}",
        text(&o)
    );

    // A truncated copy: a clear error naming the file, and the file is left as it was.
    let bytes = std::fs::read(&history).unwrap();
    let damaged = d.path().join("truncated.sqlite3");
    std::fs::write(&damaged, &bytes[..bytes.len() / 2]).unwrap();
    // Not SQLite at all, and an empty file: the same.
    let foreign = d.path().join("notes.txt");
    std::fs::write(&foreign, "my notes, not a database\n".repeat(10)).unwrap();
    let empty = d.path().join("empty.sqlite3");
    std::fs::write(&empty, "").unwrap();
    for bad in [&damaged, &foreign, &empty] {
        let before = std::fs::read(bad).unwrap();
        let o = Command::new(bin())
            .args(["scan", "--demo", "--out"])
            .arg(d.path().join("never"))
            .arg("--history")
            .arg(bad)
            .output()
            .unwrap();
        assert_eq!(code(&o), 1, "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(&bad.display().to_string()), "{err}");
        assert!(err.contains("left untouched"), "{err}");
        assert_eq!(
            std::fs::read(bad).unwrap(),
            before,
            "{} was written",
            bad.display()
        );
        assert!(
            !d.path().join("never/pack").exists(),
            "nothing collected before the check"
        );
    }
}

/// The documented precedence, through the binary: when several exit codes apply, the first of 130, 1,
/// 3, 2, 5, 4 wins (src/exit.rs; every pair is checked there). Each case makes `--fail-on` (4) match
/// and adds one other condition.
#[test]
fn exit_codes_combine_in_the_documented_order() {
    let d = tempfile::tempdir().unwrap();
    let at = |name: &str| d.path().join(name);
    let go = |args: &[&str]| {
        let o = Command::new(bin())
            .args(args)
            .arg("--no-history")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env_remove("AWS_PROFILE")
            .output()
            .unwrap();
        (code(&o), text(&o))
    };
    // The demo estate has 不符合 items: --fail-on non_compliant alone gives 4.
    let demo = at("demo");
    let (c, log) = go(&[
        "scan",
        "--demo",
        "--out",
        demo.to_str().unwrap(),
        "--fail-on",
        "non_compliant",
    ]);
    assert_eq!(c, 4, "{log}");
    assert!(log.contains("--fail-on non_compliant:"), "{log}");
    let pack = demo.join("pack");

    // 5 (events left in the spool: nothing listens on the port) wins over 4.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sink = format!("syslog+tcp://127.0.0.1:{closed}");
    let (c, log) = go(&[
        "evaluate",
        pack.to_str().unwrap(),
        "--out",
        at("sent").to_str().unwrap(),
        "--fail-on",
        "non_compliant",
        "--send",
        &sink,
        "--spool",
        at("spool").to_str().unwrap(),
    ]);
    assert_eq!(c, 5, "{log}");
    assert!(
        log.contains("--fail-on non_compliant:"),
        "4 matched too: {log}"
    );

    // 3 (nothing collected: a closed port) wins over 4 (every machine-judged item is an error).
    let (c, log) = go(&[
        "scan",
        "--provider",
        "aws",
        "--endpoint-url",
        &format!("http://127.0.0.1:{closed}"),
        "--regions",
        "cn-north-1",
        "--max-attempts",
        "1",
        "--timeout",
        "5",
        "--out",
        at("nothing").to_str().unwrap(),
        "--fail-on",
        "error",
    ]);
    assert_eq!(c, 3, "{log}");
    assert!(log.contains("--fail-on error:"), "4 matched too: {log}");

    // 1 (a malformed exceptions file) wins over everything the run would have given; nothing runs.
    let bad = at("bad.toml");
    std::fs::write(&bad, "[[exception]]\nid = \"A\"\n").unwrap();
    let (c, log) = go(&[
        "evaluate",
        pack.to_str().unwrap(),
        "--out",
        at("bad").to_str().unwrap(),
        "--fail-on",
        "non_compliant",
        "--exceptions",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(c, 1, "{log}");
    assert!(log.contains("bad.toml:1:1"), "{log}");
    assert!(!at("bad/results.json").exists());
}
