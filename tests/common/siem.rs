//! Real receivers for the SIEM delivery tests, started by the tests on 127.0.0.1 and stopped when
//! dropped: rsyslog (Debian's package, TCP and TLS inputs writing JSON lines), the local Splunk HEC
//! endpoint and the webhook receiver (tests/siem/*.py), and test certificates (openssl CLI).
//!
//! Without `rsyslogd`, `openssl` or `python3` the tests skip, unless DENGBAO_REQUIRE_SIEM=1
//! (scripts/test.sh sets it and installs them): then they fail.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// True when the tools are there; false (skip) when not and not required; panics when required.
pub fn tools() -> bool {
    let have = |c: &str, arg: &str| {
        Command::new(c)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    let missing: Vec<&str> = [
        ("rsyslogd", "-v"),
        ("openssl", "version"),
        ("python3", "-V"),
    ]
    .into_iter()
    .filter(|(c, a)| !have(c, a))
    .map(|(c, _)| c)
    .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("DENGBAO_REQUIRE_SIEM").as_deref() == Ok("1") {
        panic!("DENGBAO_REQUIRE_SIEM=1 but {missing:?} missing (scripts/test.sh installs them)");
    }
    eprintln!("skipped: {missing:?} missing (set DENGBAO_REQUIRE_SIEM=1 to fail instead)");
    false
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_listening(port: u16, what: &str) {
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, made with the openssl CLI.
pub struct Certs {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Certs {
    pub fn generate(dir: &Path) -> Certs {
        std::fs::create_dir_all(dir).unwrap();
        // An EC P-256 CA; a server certificate for 127.0.0.1 and a client certificate, signed by it.
        let script = r#"set -e
key="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
openssl req -x509 $key -keyout ca.key -out ca.pem -days 2 -subj "/CN=dengbao test CA"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' > server.ext
printf 'extendedKeyUsage=clientAuth\n' > client.ext
for name in server client; do
  openssl req $key -keyout $name.key -out $name.csr -subj "/CN=dengbao-$name"
  openssl x509 -req -in $name.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $name.pem -days 2 -extfile $name.ext
done
"#;
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(dir)
            .output()
            .unwrap();
        let why = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "making test certificates with openssl: {why}"
        );
        Certs {
            ca: dir.join("ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        }
    }
}

/// rsyslogd with a TCP input and a TLS input (client certificates required), each writing every
/// message's RFC 5424 fields as one JSON line.
pub struct Rsyslog {
    child: Child,
    pub tcp_port: u16,
    pub tls_port: u16,
    pub tcp_file: PathBuf,
    pub tls_file: PathBuf,
}

impl Rsyslog {
    /// Starts on `tcp_port` (0: a free one); `max_message` is rsyslog's maxMessageSize.
    pub fn start(dir: &Path, certs: &Certs, tcp_port: u16, max_message: usize) -> Rsyslog {
        let work = dir.join("rsyslog-work");
        std::fs::create_dir_all(&work).unwrap();
        let tcp_port = if tcp_port == 0 { free_port() } else { tcp_port };
        let tls_port = free_port();
        let (tcp_file, tls_file) = (dir.join("tcp.jsonl"), dir.join("tls.jsonl"));
        let conf = format!(
            r#"global(workDirectory="{work}" maxMessageSize="{max_message}"
  defaultNetstreamDriverCAFile="{ca}" defaultNetstreamDriverCertFile="{cert}" defaultNetstreamDriverKeyFile="{key}")
module(load="imtcp" maxSessions="200")
template(name="fields" type="list" option.jsonf="on") {{
  property(outname="pri" name="pri" format="jsonf")
  property(outname="version" name="protocol-version" format="jsonf")
  property(outname="timestamp" name="timestamp" dateFormat="rfc3339" format="jsonf")
  property(outname="hostname" name="hostname" format="jsonf")
  property(outname="app_name" name="app-name" format="jsonf")
  property(outname="procid" name="procid" format="jsonf")
  property(outname="msgid" name="msgid" format="jsonf")
  property(outname="sd" name="structured-data" format="jsonf")
  property(outname="msg" name="msg" format="jsonf")
}}
ruleset(name="tcp") {{ action(type="omfile" file="{tcp}" template="fields") }}
ruleset(name="tls") {{ action(type="omfile" file="{tls}" template="fields") }}
input(type="imtcp" address="127.0.0.1" port="{tcp_port}" ruleset="tcp")
input(type="imtcp" address="127.0.0.1" port="{tls_port}" ruleset="tls" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")
"#,
            work = work.display(),
            ca = certs.ca.display(),
            cert = certs.server_cert.display(),
            key = certs.server_key.display(),
            tcp = tcp_file.display(),
            tls = tls_file.display(),
        );
        let child = Rsyslog::spawn(dir, &conf);
        wait_listening(tcp_port, "rsyslog (tcp)");
        wait_listening(tls_port, "rsyslog (tls)");
        Rsyslog {
            child,
            tcp_port,
            tls_port,
            tcp_file,
            tls_file,
        }
    }

    /// Starts with the configuration `conf` (a user's, e.g. the one docs/siem.md gives), which
    /// listens for TCP on `tcp_port` and writes to `file`.
    pub fn start_with(dir: &Path, conf: &str, tcp_port: u16, file: PathBuf) -> Rsyslog {
        let child = Rsyslog::spawn(dir, conf);
        wait_listening(tcp_port, "rsyslog (tcp)");
        Rsyslog {
            child,
            tcp_port,
            tls_port: 0,
            tcp_file: file.clone(),
            tls_file: file,
        }
    }

    fn spawn(dir: &Path, conf: &str) -> Child {
        let conf_path = dir.join("rsyslog.conf");
        std::fs::write(&conf_path, conf).unwrap();
        Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("rsyslogd.log")).unwrap())
            .spawn()
            .expect("rsyslogd starts")
    }

    /// The JSON lines of `file`, once there are at least `n` (waits up to 20 s).
    pub fn wait_lines(file: &Path, n: usize) -> Vec<serde_json::Value> {
        let start = Instant::now();
        loop {
            let lines = read_json_lines(file);
            if lines.len() >= n || start.elapsed() > Duration::from_secs(20) {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON lines of a file (none when it does not exist).
pub fn read_json_lines(file: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", file.display())))
        .collect()
}

/// A Python receiver of tests/siem/ that prints its port on its first line.
pub struct PyServer {
    child: Child,
    pub port: u16,
}

impl PyServer {
    pub fn start(script: &str, args: &[&str], env: &[(&str, &str)]) -> PyServer {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/siem")
            .join(script);
        let (child, line) = super::spawn_first_line(
            Command::new("python3")
                .arg(path)
                .args(args)
                .envs(env.iter().copied()),
        );
        let port = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{script} printed no port: {line:?}"));
        wait_listening(port, script);
        PyServer { child, port }
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The secrets the tests use (only ever through the environment).
pub const HEC_TOKEN: &str = "5F0C6E5A-7B1D-4C43-9E43-D3B6A1C2F00D";
pub const HOOK_SECRET: &str = "hook-secret-0f8e2d7c9b";

/// A finished dengbao run.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    /// Asserts the exit code.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "{self}");
        self
    }
    /// Asserts that stdout or stderr says `needle`.
    pub fn says(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle) || self.stderr.contains(needle),
            "expected {needle:?} in:\n{self}"
        );
        self
    }
    /// Word `col` (from 0) of the first stdout line holding `row`.
    pub fn cell(&self, row: &str, col: usize) -> String {
        let line = self.stdout.lines().find(|l| l.contains(row));
        let line = line.unwrap_or_else(|| panic!("no line with {row:?}:\n{self}"));
        line.split_whitespace()
            .nth(col)
            .unwrap_or_default()
            .to_string()
    }

    /// The number in column `col` of the summary row of the sink whose URL starts with `sink`.
    pub fn n(&self, sink: &str, col: &str) -> u64 {
        let header: Vec<&str> = self
            .stdout
            .lines()
            .find(|l| l.contains("delivered"))
            .unwrap_or_else(|| panic!("no summary table:\n{self}"))
            .split_whitespace()
            .collect();
        let at = header.iter().position(|h| *h == col).unwrap();
        let row = self
            .stdout
            .lines()
            .find(|l| l.trim_start().starts_with(sink));
        let row = row.unwrap_or_else(|| panic!("no row for {sink}:\n{self}"));
        row.split_whitespace().nth(at).unwrap().parse().unwrap()
    }
}

/// Runs dengbao with `args` (in `dir`, when given); the secrets only from `env`.
pub fn dengbao_in(dir: Option<&Path>, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(super::bin());
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    // An empty history for every run: the events sent are compared with files written by other runs,
    // and the OCSF first/last-seen times would otherwise come from whatever the suite scanned before.
    let history = tempfile::tempdir().unwrap();
    let o = cmd
        .env("XDG_DATA_HOME", history.path())
        .args(args)
        .env_remove("DENGBAO_HEC_TOKEN")
        .env_remove("DENGBAO_WEBHOOK_SECRET")
        .envs(env.iter().copied())
        .output()
        .unwrap();
    Run {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Runs dengbao with `args`; the secrets only from `env`.
pub fn dengbao(args: &[&str], env: &[(&str, &str)]) -> Run {
    dengbao_in(None, args, env)
}

/// The demo's results in `dir/demo`, and its OCSF events by uid (from `dengbao report`).
pub struct Demo {
    pub results: PathBuf,
    pub events: std::collections::BTreeMap<String, serde_json::Value>,
    pub pack: String,
}

impl Demo {
    pub fn new(dir: &Path) -> Demo {
        let out = dir.join("demo");
        dengbao(&["scan", "--demo", "--out", out.to_str().unwrap()], &[]).expect(0);
        let results = out.join("results.json");
        let ocsf = out.join("ocsf");
        let args = [
            "report",
            results.to_str().unwrap(),
            "--format",
            "ocsf",
            "--out",
            ocsf.to_str().unwrap(),
        ];
        dengbao(&args, &[]).expect(0);
        let events: std::collections::BTreeMap<_, _> =
            read_json_lines(&ocsf.join("findings.ocsf.jsonl"))
                .into_iter()
                .map(|e| (e["finding_info"]["uid"].as_str().unwrap().to_string(), e))
                .collect();
        assert!(events.len() > 50, "the demo has many findings");
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
        let pack = r["scan"]["pack_digest"].as_str().unwrap().to_string();
        Demo {
            results,
            events,
            pack,
        }
    }

    /// The results path as an argument.
    pub fn arg(&self) -> &str {
        self.results.to_str().unwrap()
    }

    /// `dengbao send RESULTS --to URL… --spool SPOOL EXTRA…` with `env`.
    pub fn send(&self, urls: &[&str], spool: &Path, extra: &[&str], env: &[(&str, &str)]) -> Run {
        let mut args = vec!["send", self.arg(), "--spool", spool.to_str().unwrap()];
        for u in urls {
            args.extend(["--to", u]);
        }
        args.extend(extra);
        dengbao(&args, env)
    }

    /// Every uid, but `except`.
    pub fn uids_except(&self, except: &str) -> std::collections::BTreeSet<String> {
        self.events
            .keys()
            .filter(|u| *u != except)
            .cloned()
            .collect()
    }

    /// Checks an event received against the one `dengbao report` wrote: equal, or trimmed to fit
    /// with the marker and the same identity and verdict. True when trimmed.
    pub fn same_event(&self, got: &serde_json::Value) -> bool {
        let uid = got["finding_info"]["uid"].as_str().expect("a finding uid");
        let want = &self.events[uid];
        let Some(t) = got.get("unmapped") else {
            assert_eq!(
                got, want,
                "the event sent is the event of findings.ocsf.jsonl"
            );
            return false;
        };
        let removed = t["dengbao_trimmed"]["removed"]
            .as_array()
            .expect("the trim marker");
        assert!(!removed.is_empty());
        for key in ["class_uid", "time", "severity_id", "metadata", "cloud"] {
            assert_eq!(got[key], want[key], "{key} of a trimmed event");
        }
        for key in ["status_code", "control"] {
            assert_eq!(got["compliance"][key], want["compliance"][key]);
        }
        true
    }
}

/// Compares rsyslog's view of every message, field by field; returns the uids and how many were trimmed.
pub fn check_syslog(lines: &[serde_json::Value], demo: &Demo) -> (Vec<String>, usize) {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let mut uids = Vec::new();
    let mut trimmed = 0;
    for l in lines {
        let msg = l["msg"].as_str().unwrap();
        let json = msg
            .strip_prefix('\u{feff}')
            .expect("MSG starts with the BOM (RFC 5424 §6.4)");
        let got: serde_json::Value =
            serde_json::from_str(json).expect("the message is whole JSON, never cut");
        trimmed += usize::from(demo.same_event(&got));
        let uid = got["finding_info"]["uid"].as_str().unwrap().to_string();
        let want = &demo.events[&uid];
        let sev = [6, 6, 5, 4, 3, 2][want["severity_id"].as_u64().unwrap().min(5) as usize];
        assert_eq!(
            l["pri"],
            (16 * 8 + sev).to_string(),
            "local0 and the finding's severity"
        );
        assert_eq!(l["version"], "1");
        let ts = chrono::DateTime::from_timestamp_millis(want["time"].as_i64().unwrap()).unwrap();
        assert_eq!(
            l["timestamp"],
            ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        assert_eq!(l["hostname"], host.trim());
        assert_eq!(l["app_name"], "dengbao");
        assert!(l["procid"].as_str().unwrap().parse::<u32>().is_ok());
        assert_eq!(l["msgid"], want["metadata"]["event_code"]);
        let (item, verdict) = (
            &want["compliance"]["control"],
            &want["compliance"]["status_code"],
        );
        let sd = format!(
            "[dengbao@32473 item={item} verdict={verdict} pack=\"{}\" uid=\"{uid}\"]",
            demo.pack
        );
        assert_eq!(l["sd"], sd);
        uids.push(uid);
    }
    (uids, trimmed)
}

/// Validates events with pydantic-ocsf (tests/python/check_ocsf.py) against the results.
pub fn validate_ocsf(events: &[serde_json::Value], results: &Path, dir: &Path) {
    let Ok(py) = std::env::var("DENGBAO_REPORT_PYTHON") else {
        let required = std::env::var("DENGBAO_REQUIRE_SIEM").as_deref() == Ok("1");
        assert!(
            !required,
            "DENGBAO_REPORT_PYTHON is needed to validate the events sent"
        );
        eprintln!("skipped OCSF validation: DENGBAO_REPORT_PYTHON not set");
        return;
    };
    let file = dir.join("sent.ocsf.jsonl");
    std::fs::write(
        &file,
        events.iter().map(|e| format!("{e}\n")).collect::<String>(),
    )
    .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_ocsf.py");
    let o = Command::new(py)
        .arg(script)
        .arg(&file)
        .arg(results)
        .output()
        .unwrap();
    let says = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "OCSF validation of the events sent: {says}"
    );
}
