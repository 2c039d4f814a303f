//! The moto harness seen from Rust: servers started by scripts/test.sh, states seeded by
//! tests/moto/seed.py and tweaks.py (boto3, never dengbao), scans run as a user runs them.
#![allow(dead_code)]

use super::bin;
use dengbao::results::{ResourceStatus, Results};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

pub static MOTO: Mutex<()> = Mutex::new(());

pub struct Moto {
    pub endpoint: String,
    pub denied: String,
    /// A server with moto's public Amazon AMIs (and their snapshots, owned by other accounts) loaded.
    pub amis: String,
    pub python: String,
}

pub fn moto() -> Option<Moto> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        get("DENGBAO_MOTO_ENDPOINT"),
        get("DENGBAO_MOTO_DENIED_ENDPOINT"),
        get("DENGBAO_MOTO_AMIS_ENDPOINT"),
        get("DENGBAO_MOTO_PYTHON"),
    ) {
        (Some(endpoint), Some(denied), Some(amis), Some(python)) => Some(Moto {
            endpoint,
            denied,
            amis,
            python,
        }),
        _ if std::env::var("DENGBAO_REQUIRE_MOTO").as_deref() == Ok("1") => {
            panic!("moto is required but DENGBAO_MOTO_* is not set")
        }
        _ => {
            eprintln!("moto is not running (run scripts/test.sh); skipping");
            None
        }
    }
}

pub fn seed(m: &Moto, endpoint: &str, args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto/seed.py");
    let out = Command::new(&m.python)
        .arg(script)
        .arg("--endpoint")
        .arg(endpoint)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "seed {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs a scan with only the given credentials (no shared files, no instance metadata).
pub fn scan(endpoint: &str, out: &Path, key: (&str, &str), extra: &[&str]) -> (i32, String) {
    // Both China regions unless the caller names its own.
    let regions: &[&str] = if extra.contains(&"--regions") {
        &[]
    } else {
        &["--regions", "cn-north-1,cn-northwest-1"]
    };
    let o = Command::new(bin())
        .args(["scan", "--provider", "aws", "--endpoint-url", endpoint])
        .args(regions)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", key.0)
        .env("AWS_SECRET_ACCESS_KEY", key.1)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("COLUMNS", "200")
        .output()
        .unwrap();
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

pub fn control<'a>(r: &'a Results, id: &str) -> &'a dengbao::results::ControlResult {
    r.controls.iter().find(|c| c.id == id).unwrap()
}

pub fn failing(r: &Results, control_id: &str, rule: &str) -> Vec<String> {
    let c = control(r, control_id);
    let rule = c
        .rules
        .iter()
        .find(|x| x.id == rule)
        .unwrap_or_else(|| panic!("{control_id} has no rule {rule}"));
    rule.resources
        .iter()
        .filter(|x| x.status == ResourceStatus::Fail)
        .map(|x| x.id.clone())
        .collect()
}

pub fn ids(v: &Value, path: &[&str]) -> Vec<String> {
    let mut node = v;
    for p in path {
        node = &node[*p];
    }
    match node {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        Value::Object(o) => o
            .values()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// Applies a tweak from tests/moto/tweaks.py on top of the current state.
pub fn tweak(m: &Moto, name: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto/tweaks.py");
    let out = Command::new(&m.python)
        .arg(script)
        .arg("--endpoint")
        .arg(&m.endpoint)
        .arg(name)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tweak {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// tests/moto/latency_proxy.py in front of moto, stopped when dropped.
pub struct Proxy {
    child: std::process::Child,
    pub endpoint: String,
}

impl Proxy {
    /// Starts the proxy (no added latency) with these options, e.g. `--throttle-first OP=N`.
    pub fn start(m: &Moto, args: &[&str]) -> Proxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto/latency_proxy.py");
        let child = Command::new(&m.python)
            .arg(script)
            .args(["--port", &port.to_string(), "--upstream", &m.endpoint])
            .args(["--delay-ms", "0"])
            .args(args)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let proxy = Proxy {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return proxy;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the latency proxy did not start on port {port}");
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
