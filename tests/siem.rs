//! SIEM delivery end to end (issue #18), against real receivers started here on 127.0.0.1: rsyslog
//! (TCP, and TLS with client certificates), a local Splunk HEC endpoint written from Splunk's
//! reference (its documented examples replayed as fixtures), and a webhook receiver checking the
//! HMAC. Fault tests: receiver down then back, sender killed mid-batch, one bad event refused.
//!
//! Needs rsyslogd, openssl and python3 (scripts/test.sh installs them and sets DENGBAO_REQUIRE_SIEM=1,
//! so they fail rather than skip); the sent events are validated with pydantic-ocsf when
//! DENGBAO_REPORT_PYTHON is set (required with DENGBAO_REQUIRE_SIEM=1).

mod common;

use common::siem::{
    check_syslog, dengbao, dengbao_in, free_port, read_json_lines, tools, validate_ocsf, Certs,
    Demo, PyServer, Rsyslog, HEC_TOKEN, HOOK_SECRET,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary directory and the demo's results, or None (skip) without the tools.
fn setup() -> Option<(tempfile::TempDir, Demo)> {
    if !tools() {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let demo = Demo::new(tmp.path());
    Some((tmp, demo))
}

/// The local HEC endpoint (token HEC_TOKEN) with `extra` arguments, and the file it indexes into.
fn hec(dir: &Path, extra: &[&str]) -> (PyServer, PathBuf) {
    let out = dir.join("hec.jsonl");
    let mut args = vec!["--out", out.to_str().unwrap(), "--token", HEC_TOKEN];
    args.extend(extra);
    (PyServer::start("hec_server.py", &args, &[]), out)
}

/// The webhook receiver (secret HOOK_SECRET) with `extra` arguments, and the file it stores into.
fn hook(dir: &Path, extra: &[&str]) -> (PyServer, PathBuf) {
    let out = dir.join("hook.jsonl");
    let mut args = vec!["--out", out.to_str().unwrap()];
    args.extend(extra);
    let env = [("WEBHOOK_SECRET", HOOK_SECRET)];
    (PyServer::start("webhook_server.py", &args, &env), out)
}

/// The uids of the events in a receiver's file, at `pointer` in each line, each checked.
fn received(file: &Path, pointer: &str, demo: &Demo) -> BTreeSet<String> {
    read_json_lines(file)
        .iter()
        .map(|l| {
            let e = l.pointer(pointer).unwrap();
            demo.same_event(e);
            e["finding_info"]["uid"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn syslog_over_tcp_and_tls_delivers_every_finding_field_by_field() {
    let Some((tmp, demo)) = setup() else { return };
    let certs = Certs::generate(&tmp.path().join("certs"));
    // rsyslog's limit is the sink's: 8192 bytes, the default of both.
    let rs = Rsyslog::start(tmp.path(), &certs, 0, 8192);
    let tcp = format!("syslog+tcp://127.0.0.1:{}", rs.tcp_port);
    let tls = format!("syslog+tls://127.0.0.1:{}", rs.tls_port);
    let (ca, cc, ck) = (
        certs.ca.display(),
        certs.client_cert.display(),
        certs.client_key.display(),
    );
    let tls_opts = format!("{tls}?ca={ca}&client_cert={cc}&client_key={ck}");
    let spool = tmp.path().join("spool");
    let run = demo.send(&[&tcp, &tls_opts], &spool, &[], &[]).expect(0);
    let n = demo.events.len();
    for (sink, file) in [(&tcp, &rs.tcp_file), (&tls, &rs.tls_file)] {
        assert_eq!(run.n(sink, "events"), n as u64);
        assert_eq!(run.n(sink, "delivered"), n as u64);
        assert_eq!(run.n(sink, "spooled"), 0);
        let (uids, trimmed) = check_syslog(&Rsyslog::wait_lines(file, n), &demo);
        assert_eq!(uids.len(), n, "each finding once");
        assert_eq!(
            uids.into_iter().collect::<BTreeSet<_>>(),
            demo.uids_except("")
        );
        assert!(
            trimmed > 0,
            "the demo has events over 8192 bytes: sent trimmed, whole JSON"
        );
        assert_eq!(run.n(sink, "trimmed"), trimmed as u64);
    }
    let events: Vec<Value> = read_json_lines(&rs.tcp_file)
        .iter()
        .map(|l| {
            serde_json::from_str(l["msg"].as_str().unwrap().trim_start_matches('\u{feff}')).unwrap()
        })
        .collect();
    validate_ocsf(&events, &demo.results, tmp.path());
}

#[test]
fn receiver_down_leaves_events_spooled_and_a_flush_delivers_them_all() {
    let Some((tmp, demo)) = setup() else { return };
    let certs = Certs::generate(&tmp.path().join("certs"));
    let port = free_port();
    let url = format!("syslog+tcp://127.0.0.1:{port}?max_attempts=2");
    let sp = tmp.path().join("spool");
    let sp = sp.to_str().unwrap();
    // Down: nothing listens. scan --send spools and exits 5.
    let out = tmp.path().join("scan2");
    let run = dengbao(
        &[
            "scan",
            "--demo",
            "--out",
            out.to_str().unwrap(),
            "--send",
            &url,
            "--spool",
            sp,
        ],
        &[],
    );
    let run = run.expect(5);
    run.says("`dengbao send --flush` delivers them");
    let n = demo.events.len() as u64;
    assert_eq!(
        (
            run.n("syslog+tcp", "spooled"),
            run.n("syslog+tcp", "retries")
        ),
        (n, 1)
    );
    let status = dengbao(&["spool", "status", "--spool", sp], &[]).expect(0);
    status.says(&format!(" {n} ")).says("refused");
    // Still down: a flush keeps them (exit 5), nothing lost.
    dengbao(&["send", "--flush", "--spool", sp], &[]).expect(5);
    // Back: the flush delivers every one.
    let rs = Rsyslog::start(tmp.path(), &certs, port, 8192);
    dengbao(&["send", "--flush", "--spool", sp], &[]).expect(0);
    let (uids, _) = check_syslog(&Rsyslog::wait_lines(&rs.tcp_file, n as usize), &demo);
    let got: BTreeSet<String> = uids.into_iter().collect();
    assert_eq!(
        got,
        demo.uids_except(""),
        "each uid at least once, none missing"
    );
    let status = dengbao(&["spool", "status", "--spool", sp], &[]).expect(0);
    assert_eq!(status.cell("syslog+tcp", 2), "0", "nothing waits: {status}");
}

#[test]
fn hec_documented_examples_hold() {
    if !tools() {
        return;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/siem");
    let o = Command::new("python3")
        .arg(dir.join("hec_server.py"))
        .arg("--selftest")
        .arg(dir.join("hec_examples.json"))
        .output()
        .unwrap();
    let says = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && says.contains(" 0 problem(s)"),
        "{says}"
    );
}

#[test]
fn hec_acknowledges_retries_when_busy_and_refuses_only_the_bad_event() {
    let Some((tmp, demo)) = setup() else { return };
    let bad = demo.events.keys().nth(7).unwrap().clone();
    let (server, out) = hec(tmp.path(), &["--ack", "--busy", "2", "--reject-uid", &bad]);
    let url = format!(
        "splunk-hec+http://127.0.0.1:{}?index=mlps&batch_events=50",
        server.port
    );
    let spool = tmp.path().join("spool");
    let (sp, env) = (spool.to_str().unwrap(), [("DENGBAO_HEC_TOKEN", HEC_TOKEN)]);
    let run = demo.send(&[&url], &spool, &[], &env).expect(5);
    let n = demo.events.len() as u64;
    assert_eq!(
        run.n("splunk-hec", "retries"),
        2,
        "two 503 Server is busy, Retry-After honoured"
    );
    assert_eq!(run.n("splunk-hec", "delivered"), n - 1);
    assert_eq!(
        (
            run.n("splunk-hec", "rejected"),
            run.n("splunk-hec", "spooled")
        ),
        (1, 0)
    );
    run.says(&format!("{bad}: ")).says("Invalid data format");
    assert_eq!(
        received(&out, "/event/event", &demo),
        demo.uids_except(&bad),
        "the rest delivered"
    );
    let indexed = read_json_lines(&out);
    for l in &indexed {
        assert!(l["ack_id"].is_u64(), "sent on an acknowledged channel");
        let (env, time) = (&l["event"], l["event"]["event"]["time"].as_i64().unwrap());
        assert_eq!(
            (&env["index"], &env["sourcetype"], &env["source"]),
            (&"mlps".into(), &"dengbao:ocsf".into(), &"dengbao".into())
        );
        assert_eq!(env["time"].as_f64().unwrap(), time as f64 / 1000.0);
    }
    // Not retried forever: the next flush has nothing to send.
    dengbao(&["send", "--flush", "--spool", sp], &env).expect(0);
    assert_eq!(read_json_lines(&out).len(), indexed.len());
    let status = dengbao(&["spool", "status", "--spool", sp], &[]).expect(0);
    assert_eq!(
        status.cell("hec-http", 4),
        "1",
        "one rejected event: {status}"
    );
}

#[test]
fn hec_without_acknowledgement_keeps_events_spooled() {
    let Some((tmp, demo)) = setup() else { return };
    let (server, _) = hec(tmp.path(), &["--ack", "--ack-never"]);
    let opts = "ack_timeout_secs=1&max_attempts=2&batch_events=500";
    let url = format!("splunk-hec+http://127.0.0.1:{}?{opts}", server.port);
    let spool = tmp.path().join("spool");
    let sp = spool.to_str().unwrap();
    let run = demo.send(&[&url], &spool, &[], &[("DENGBAO_HEC_TOKEN", HEC_TOKEN)]);
    let run = run.expect(5);
    assert_eq!(
        run.n("splunk-hec", "delivered"),
        0,
        "received, never acknowledged: not delivered"
    );
    assert_eq!(run.n("splunk-hec", "spooled"), demo.events.len() as u64);
    run.says("not acknowledged within 1s");
    // A wrong token stops at once, everything stays spooled.
    let run = dengbao(
        &["send", "--flush", "--spool", sp],
        &[("DENGBAO_HEC_TOKEN", "wrong")],
    );
    run.expect(5).says("Invalid token");
}

#[test]
fn webhook_signs_retries_and_finds_the_refused_event() {
    let Some((tmp, demo)) = setup() else { return };
    let bad = demo.events.keys().nth(30).unwrap().clone();
    let (server, out) = hook(tmp.path(), &["--busy", "2", "--reject-uid", &bad]);
    let url = format!("webhook+http://127.0.0.1:{}/in/dengbao", server.port);
    let spool = tmp.path().join("spool");
    let secret = [("DENGBAO_WEBHOOK_SECRET", HOOK_SECRET)];
    let run = demo.send(&[&url], &spool, &[], &secret).expect(5);
    let n = demo.events.len() as u64;
    assert_eq!(
        run.n("webhook", "retries"),
        2,
        "429 and 503 with Retry-After"
    );
    assert_eq!(
        (run.n("webhook", "delivered"), run.n("webhook", "rejected")),
        (n - 1, 1)
    );
    run.says(&format!(
        "rejected by webhook-http-127.0.0.1-{}",
        server.port
    ))
    .says(&bad);
    assert_eq!(received(&out, "/event", &demo), demo.uids_except(&bad));
    // The bad one was tried alone once (after halving), never again.
    let requests = read_json_lines(&tmp.path().join("hook.jsonl.requests"));
    let alone = requests
        .iter()
        .filter(|r| r["status"] == 400 && r["events"] == 1)
        .count();
    assert_eq!(alone, 1, "{requests:?}");
    // A wrong secret: the receiver refuses the signature; nothing is lost.
    let wrong = [("DENGBAO_WEBHOOK_SECRET", "not-the-secret")];
    let run = demo.send(&[&url], &spool, &[], &wrong).expect(5);
    assert_eq!(run.n("webhook", "spooled"), n);
}

#[test]
fn a_sender_killed_mid_batch_loses_nothing() {
    let Some((tmp, demo)) = setup() else { return };
    let (hanging, out) = hook(tmp.path(), &["--hang", "1"]);
    let config = tmp.path().join("dengbao.toml");
    let write_config = |port: u16| {
        let sink = format!(
            "name = \"hook\"\nurl = \"webhook+http://127.0.0.1:{port}/in\"\nbatch_events = 40\n"
        );
        std::fs::write(
            &config,
            format!("spool_dir = \"spool\"\n\n[[sink]]\n{sink}"),
        )
        .unwrap();
    };
    write_config(hanging.port);
    let mut child = Command::new(common::bin())
        .args(["send", demo.arg(), "--config", config.to_str().unwrap()])
        .env("DENGBAO_WEBHOOK_SECRET", HOOK_SECRET)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the receiver holds the first batch without answering, then kill the sender.
    let requests = tmp.path().join("hook.jsonl.requests");
    let start = std::time::Instant::now();
    while read_json_lines(&requests).is_empty() {
        assert!(start.elapsed().as_secs() < 30, "the batch never arrived");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    drop(hanging);
    assert_eq!(
        read_json_lines(&out).len(),
        40,
        "the receiver got the batch the sender died on"
    );
    let (good, out) = hook(tmp.path(), &[]);
    write_config(good.port);
    let env = [("DENGBAO_WEBHOOK_SECRET", HOOK_SECRET)];
    let run = dengbao(
        &["send", "--flush", "--config", config.to_str().unwrap()],
        &env,
    )
    .expect(0);
    let n = demo.events.len() as u64;
    assert_eq!(
        run.n("webhook", "delivered"),
        n,
        "the unconfirmed batch is sent again"
    );
    let all = demo.uids_except("");
    assert_eq!(
        received(&out, "/event", &demo),
        all,
        "each uid at least once, none missing"
    );
}

#[test]
fn secrets_reach_no_log_spool_result_or_report() {
    if !tools() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (hec, hec_out) = hec(tmp.path(), &["--ack"]);
    let (hook, hook_out) = hook(tmp.path(), &[]);
    let run_dir = tmp.path().join("run");
    let spool = tmp.path().join("spool");
    let (out, sp) = (run_dir.to_str().unwrap(), spool.to_str().unwrap());
    let hec_url = format!("splunk-hec+http://127.0.0.1:{}", hec.port);
    let hook_url = format!("webhook+http://127.0.0.1:{}/hook", hook.port);
    let env = [
        ("DENGBAO_HEC_TOKEN", HEC_TOKEN),
        ("DENGBAO_WEBHOOK_SECRET", HOOK_SECRET),
    ];
    let scan = [
        "-vvv", "scan", "--demo", "--out", out, "--format", "all", "--spool", sp,
    ];
    let sends = ["--send", &hec_url, "--send", &hook_url];
    let a = dengbao(&[&scan[..], &sends[..]].concat(), &env).expect(0);
    let b = dengbao(
        &[
            "-vvv",
            "--log-format",
            "json",
            "send",
            "--flush",
            "--spool",
            sp,
        ],
        &env,
    )
    .expect(0);
    let mut haystack = format!("{a}{b}");
    assert!(
        haystack.contains("DEBUG") && haystack.contains("\"level\""),
        "-vvv logs: {haystack}"
    );
    for e in walkdir::WalkDir::new(tmp.path()).into_iter().flatten() {
        let p = e.path();
        let receivers = p.starts_with(&hec_out) || p.starts_with(&hook_out);
        if e.file_type().is_file() && !receivers && !p.to_string_lossy().ends_with(".requests") {
            haystack.push_str(&String::from_utf8_lossy(&std::fs::read(p).unwrap()));
        }
    }
    let sink_json = format!("\"url\": \"splunk-hec+http://127.0.0.1:{}\"", hec.port);
    assert!(
        haystack.contains(&sink_json),
        "the spool's sink.json was searched too"
    );
    for secret in [HEC_TOKEN, HOOK_SECRET] {
        assert!(!haystack.contains(secret), "the secret {secret} leaked");
    }
    // A secret on the command line is refused before anything runs.
    let leaky = format!("{hec_url}?token={HEC_TOKEN}");
    dengbao(&["send", "--flush", "--to", &leaky, "--spool", sp], &[])
        .expect(1)
        .says("would put a secret");
    // No token at all: a clear error, exit 1, nothing sent.
    let results = run_dir.join("results.json");
    let run = dengbao(
        &[
            "send",
            results.to_str().unwrap(),
            "--to",
            &hec_url,
            "--spool",
            sp,
        ],
        &[],
    );
    run.expect(1).says("DENGBAO_HEC_TOKEN");
}

#[test]
fn config_errors_and_a_full_spool_are_clear() {
    let Some((tmp, demo)) = setup() else { return };
    let config = tmp.path().join("bad.toml");
    let text = "[[sink]]\nurl = \"syslog+tcp://127.0.0.1:514\"\nmax_message_bytes = 100\nindex = \"main\"\n";
    std::fs::write(&config, text).unwrap();
    let run = dengbao(
        &["send", demo.arg(), "--config", config.to_str().unwrap()],
        &[],
    )
    .expect(1);
    run.says("bad.toml:3:21: must be between 2048");
    run.says("bad.toml:4:1: `index` is not an option of a syslog sink");
    // A full spool refuses new events with a clear error and keeps the old.
    let url = format!("syslog+tcp://127.0.0.1:{}?max_attempts=1", free_port());
    let spool = tmp.path().join("spool");
    demo.send(&[&url], &spool, &["--spool-max-bytes", "10000"], &[])
        .expect(5)
        .says("is full")
        .says("were not spooled");
}

#[test]
fn docs_quick_start_works_as_written() {
    let Some((tmp, demo)) = setup() else { return };
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/siem.md"))
        .unwrap();
    // rsyslog with the configuration the docs give, on a free port and writing into the test's directory.
    let conf = doc
        .split("<!-- rsyslog.conf")
        .nth(1)
        .and_then(|s| s.split("```\n").nth(1))
        .expect("docs/siem.md has the rsyslog configuration after its marker");
    let (port, syslog_out) = (free_port(), tmp.path().join("dengbao.jsonl"));
    let work = tmp.path().join("rsyslog-work");
    std::fs::create_dir_all(&work).unwrap();
    let conf = conf
        .replace(
            "global(",
            &format!("global(workDirectory=\"{}\" ", work.display()),
        )
        .replace(
            "port=\"5514\"",
            &format!("port=\"{port}\" address=\"127.0.0.1\""),
        )
        .replace("/var/log/dengbao.jsonl", syslog_out.to_str().unwrap());
    let rs = Rsyslog::start_with(tmp.path(), &conf, port, syslog_out);
    let (hec, hec_out) = hec(tmp.path(), &[]);
    let block = doc
        .split("<!-- quickstart")
        .nth(1)
        .and_then(|s| s.split_once("-->"))
        .and_then(|(_, s)| s.split("<!-- /quickstart -->").next())
        .expect("docs/siem.md has its quick start between markers");
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let data = tmp.path().join("data");
    let mut env = vec![("XDG_DATA_HOME".to_string(), data.display().to_string())];
    let mut runs = Vec::new();
    let commands = block
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("dengbao ") || l.starts_with("export "));
    for line in commands {
        let line = line
            .replace("127.0.0.1:5514", &format!("127.0.0.1:{}", rs.tcp_port))
            .replace("127.0.0.1:8088", &format!("127.0.0.1:{}", hec.port));
        if let Some((k, v)) = line.strip_prefix("export ").and_then(|a| a.split_once('=')) {
            env.push((k.into(), v.into()));
            continue;
        }
        // The shell's quoting, as the docs use it: 'word'.
        let words: Vec<&str> = line
            .split_whitespace()
            .skip(1)
            .map(|w| w.trim_matches('\''))
            .collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        runs.push(dengbao_in(Some(&work), &words, &env).expect(0));
    }
    assert_eq!(runs.len(), 4, "scan, two sends, spool status");
    // One OCSF event a line, each whole (trimmed ones with their marker), every finding.
    let lines = Rsyslog::wait_lines(&rs.tcp_file, demo.events.len());
    assert_eq!(lines.len(), demo.events.len());
    let trimmed = lines.iter().filter(|e| demo.same_event(e)).count();
    assert!(trimmed > 0, "the demo has events over 8k, sent trimmed");
    let uids = lines
        .iter()
        .map(|e| e["finding_info"]["uid"].as_str().unwrap().to_string());
    assert_eq!(uids.collect::<BTreeSet<_>>(), demo.uids_except(""));
    assert_eq!(read_json_lines(&hec_out).len(), demo.events.len());
    let status = runs.last().unwrap();
    status.says(&data.join("dengbao/spool").display().to_string());
    let waiting = status.stdout.lines().filter(|l| l.contains("://127.0.0.1"));
    assert!(
        waiting.clone().count() == 2
            && waiting
                .into_iter()
                .all(|l| l.split_whitespace().nth(2) == Some("0")),
        "{status}"
    );
}

#[test]
fn hec_over_https_trusts_the_given_ca_only() {
    let Some((tmp, demo)) = setup() else { return };
    let certs = Certs::generate(&tmp.path().join("certs"));
    let (cert, key) = (
        certs.server_cert.to_str().unwrap(),
        certs.server_key.to_str().unwrap(),
    );
    let (server, out) = hec(tmp.path(), &["--ack", "--tls-cert", cert, "--tls-key", key]);
    let url = format!("splunk-hec+https://127.0.0.1:{}", server.port);
    let env = [("DENGBAO_HEC_TOKEN", HEC_TOKEN)];
    // The system's roots do not know the test CA: refused, nothing lost.
    let strict = format!("{url}?max_attempts=1");
    let run = demo
        .send(&[&strict], &tmp.path().join("spool"), &[], &env)
        .expect(5);
    run.says("certificate");
    assert_eq!(run.n("splunk-hec", "spooled"), demo.events.len() as u64);
    assert!(read_json_lines(&out).is_empty());
    // With the CA: every finding, acknowledged.
    let trusted = format!("{url}?max_attempts=1&ca={}", certs.ca.display());
    let run = demo
        .send(&[&trusted], &tmp.path().join("spool2"), &[], &env)
        .expect(0);
    assert_eq!(run.n("splunk-hec", "delivered"), demo.events.len() as u64);
    assert_eq!(received(&out, "/event/event", &demo), demo.uids_except(""));
}
