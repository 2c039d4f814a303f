//! The Alibaba Cloud test server seen from Rust: tests/aliyun/server.py started on 127.0.0.1 with the
//! venv of scripts/aliyun-checks.sh, and scans run as a user runs them (explicit credentials only: no
//! ~/.aliyun, and the ECS metadata service disabled, so 100.100.100.200 is never called).
#![allow(dead_code)]

use super::bin;
use dengbao::results::Results;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The test AccessKey (the server knows it); tests assert it never reaches the pack or the output.
pub const KEY_ID: &str = "LTAIdengbaoTest01";
pub const SECRET: &str = "dengbao-test-secret-0001";

/// The venv's python, or None (skip) unless DENGBAO_REQUIRE_ALIYUN=1.
pub fn python() -> Option<String> {
    match std::env::var("DENGBAO_ALIYUN_PYTHON")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(p) => Some(p),
        None if std::env::var("DENGBAO_REQUIRE_ALIYUN").as_deref() == Ok("1") => {
            panic!("the Alibaba Cloud checks are required but DENGBAO_ALIYUN_PYTHON is not set (run scripts/aliyun-checks.sh --env)")
        }
        None => {
            eprintln!("the Alibaba Cloud test server is not available (run scripts/aliyun-checks.sh); skipping");
            None
        }
    }
}

/// A running test server; killed (by its own pid) when dropped.
pub struct Server {
    child: Child,
    pub endpoint: String,
    pub log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The requests the server saw (one JSON object per line).
    pub fn requests(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// Starts tests/aliyun/server.py with these arguments (`--estate clean --tweak x …`).
pub fn start(python: &str, args: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("requests.jsonl");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aliyun/server.py");
    let (child, line) = super::spawn_first_line(
        Command::new(python)
            .arg(script)
            .args(args)
            .arg("--log")
            .arg(&log)
            .stderr(Stdio::inherit()),
    );
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .unwrap_or_else(|| panic!("server.py {args:?} did not start: {line:?}"))
        .to_string();
    Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        log,
        _dir: dir,
    }
}

/// Runs `dengbao scan --provider aliyun` against `endpoint` with the test key (or `env` overrides).
pub fn scan(endpoint: &str, out: &Path, extra: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let home = tempfile::tempdir().unwrap();
    scan_home(endpoint, out, extra, env, home.path())
}

/// As [`scan`], with `home` as $HOME (for ~/.aliyun/config.json profiles).
pub fn scan_home(
    endpoint: &str,
    out: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
    home: &Path,
) -> (i32, String) {
    let regions: &[&str] = if extra.contains(&"--regions") {
        &[]
    } else {
        &["--regions", "cn-hangzhou,cn-shanghai"]
    };
    let mut cmd = Command::new(bin());
    cmd.args(["scan", "--provider", "aliyun", "--endpoint-url", endpoint])
        .args(regions)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("HOME", home)
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", SECRET)
        .env_remove("ALIBABA_CLOUD_SECURITY_TOKEN")
        .env_remove("ALIBABA_CLOUD_PROFILE")
        .env_remove("ALIBABA_CLOUD_REGION_ID")
        .env_remove("ALIBABA_CLOUD_ECS_METADATA")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env("COLUMNS", "200");
    for (k, v) in env {
        if v.is_empty() {
            cmd.env_remove(k);
        } else {
            cmd.env(k, v);
        }
    }
    let o = cmd.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        format!(
            "{}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

pub fn results(dir: &Path) -> Results {
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

/// Scans the `clean` estate with these tweaks on a fresh local server (`scan_args` as `dengbao scan`
/// takes them), asserting the scan succeeded and the server accepted every signature.
pub fn scan_estate(python: &str, tweaks: &[&str], scan_args: &[&str]) -> Results {
    let mut args = vec!["--estate", "clean"];
    for t in tweaks {
        args.extend(["--tweak", t]);
    }
    let s = start(python, &args);
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(&s.endpoint, d.path(), scan_args, &[]);
    assert_eq!(code, 0, "{tweaks:?}: {log}");
    assert!(
        s.requests().iter().all(|r| r.get("rejected").is_none()),
        "the server refused a signature"
    );
    results(d.path())
}
