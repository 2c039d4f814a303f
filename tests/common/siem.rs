//! Real receivers for the SIEM delivery tests, started by the tests on 127.0.0.1 and stopped when
//! dropped: rsyslog (Debian's package, TCP and TLS inputs writing JSON lines), the local Splunk HEC
//! endpoint and the webhook receiver (tests/siem/*.py), and test certificates (openssl CLI).
//!
//! Without `rsyslogd`, `openssl` or `python3` the tests skip, unless DENGBAO_REQUIRE_SIEM=1
//! (scripts/test.sh sets it and installs them): then they fail.

use std::io::{BufRead, BufReader};
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
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let key = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(key);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=dengbao test CA",
        ]);
        run(&ca);
        for (name, cn, ext) in [
            (
                "server",
                "/CN=127.0.0.1",
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
            ),
            (
                "client",
                "/CN=dengbao-client",
                "extendedKeyUsage=clientAuth\n",
            ),
        ] {
            std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
            let (k, csr, pem, extf) = (
                format!("{name}.key"),
                format!("{name}.csr"),
                format!("{name}.pem"),
                format!("{name}.ext"),
            );
            let mut req = vec!["req"];
            req.extend(key);
            req.extend(["-keyout", &k, "-out", &csr, "-subj", cn]);
            run(&req);
            run(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &pem,
                "-days",
                "2",
                "-extfile",
                &extf,
            ]);
        }
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
        let conf_path = dir.join("rsyslog.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new("rsyslogd")
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("rsyslogd.log")).unwrap())
            .spawn()
            .expect("rsyslogd starts");
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
        let mut child = Command::new("python3")
            .arg(path)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
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
