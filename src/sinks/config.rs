//! Sink configuration: from a URL (`--to URL`, `--send URL`) or a `[[sink]]` table of a config file
//! (`--config FILE`), validated first and whole, each problem reported as `file:line:col` (the way
//! cargo-deny reports its config).
//!
//! URL forms: `syslog+tcp://HOST:PORT`, `syslog+tls://HOST:PORT`, `splunk-hec+http://HOST:PORT`,
//! `splunk-hec+https://HOST:PORT`, `webhook+http://HOST[:PORT]/PATH`, `webhook+https://…`. Options
//! go in the URL's query (`?ca=/etc/ca.pem&max_message_bytes=16384`) or as keys of the table; they
//! are the same options, checked by the same code. Secrets (the HEC token, the webhook's HMAC key)
//! are never options: they come from an environment variable (`DENGBAO_HEC_TOKEN`,
//! `DENGBAO_WEBHOOK_SECRET`, or the one named by `token_env` / `secret_env`) or a file
//! (`token_file`, `secret_file`), and a URL that carries one (user:password@, `?token=`) is refused.

use crate::embedded::line_col;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The transport of a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Syslog,
    SplunkHec,
    Webhook,
}

/// One sink, validated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SinkConfig {
    /// Its name: the spool directory's name (from `name`, else derived from the URL).
    pub name: String,
    /// The URL as given, without its query.
    pub url: String,
    pub kind: Kind,
    /// TLS (`syslog+tls`, `…+https`).
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query of the HTTP target (webhook).
    pub path: String,
    pub options: Options,
}

/// Options of a sink; each applies to the kinds its doc says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// Attempts per batch before the batch stays spooled (all).
    pub max_attempts: u32,
    /// Seconds one request (connect, send, answer) may take (all).
    pub timeout_secs: u64,
    /// Longest wait honoured between attempts, `Retry-After` included, in seconds (all).
    pub max_retry_wait_secs: u64,
    /// Events per batch (all).
    pub batch_events: usize,
    /// PEM file of the CA certificates to trust instead of the system's (TLS).
    pub ca: Option<PathBuf>,
    /// PEM files of a client certificate and its key (syslog+tls).
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Largest syslog message, header included (syslog). rsyslog's default is 8192.
    pub max_message_bytes: usize,
    /// Syslog facility name (syslog).
    pub facility: String,
    /// SD-ID of the structured data element (syslog).
    pub sd_id: String,
    /// Splunk index, sourcetype and source (splunk-hec).
    pub index: Option<String>,
    pub sourcetype: String,
    pub source: String,
    /// Seconds to wait for indexer acknowledgement before sending the batch again (splunk-hec).
    pub ack_timeout_secs: u64,
    /// Where the secret comes from: an environment variable or a file (splunk-hec, webhook).
    pub secret_env: Option<String>,
    pub secret_file: Option<PathBuf>,
    /// Largest request body (splunk-hec, webhook).
    pub max_body_bytes: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_attempts: 5,
            timeout_secs: 30,
            max_retry_wait_secs: 60,
            batch_events: 100,
            ca: None,
            client_cert: None,
            client_key: None,
            max_message_bytes: 8192,
            facility: "local0".into(),
            sd_id: "dengbao@32473".into(),
            index: None,
            sourcetype: "dengbao:ocsf".into(),
            source: "dengbao".into(),
            ack_timeout_secs: 120,
            secret_env: None,
            secret_file: None,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// Syslog facilities by name (RFC 5424 §6.2.1).
pub const FACILITIES: [&str; 24] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "ntp", "audit", "alert", "clock", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
];

/// A value of an option, from a TOML table (typed) or a URL query (text).
pub enum OptValue<'a> {
    Text(&'a str),
    Int(i64),
    Other,
}

impl OptValue<'_> {
    fn text(&self) -> Result<String, String> {
        match self {
            OptValue::Text(s) => Ok(s.to_string()),
            OptValue::Int(i) => Ok(i.to_string()),
            OptValue::Other => Err("expected a string".into()),
        }
    }
    fn int(&self, min: i64, max: i64) -> Result<i64, String> {
        let n = match self {
            OptValue::Int(i) => *i,
            OptValue::Text(s) => s
                .parse()
                .map_err(|_| format!("expected a number, got `{s}`"))?,
            OptValue::Other => return Err("expected a number".into()),
        };
        if n < min || n > max {
            return Err(format!("must be between {min} and {max}, got {n}"));
        }
        Ok(n)
    }
}

/// Keys that would carry a secret: refused wherever they appear.
const SECRET_KEYS: [&str; 5] = ["token", "secret", "password", "hmac_key", "key"];

impl Options {
    /// Sets option `key` for a sink of `kind`; the error says what is wrong with it.
    pub fn set(&mut self, kind: Kind, key: &str, v: OptValue<'_>) -> Result<(), String> {
        use Kind::*;
        let only = |kinds: &[Kind]| -> Result<(), String> {
            if kinds.contains(&kind) {
                Ok(())
            } else {
                Err(format!(
                    "`{key}` is not an option of a {} sink",
                    kind_name(kind)
                ))
            }
        };
        match key {
            k if SECRET_KEYS.contains(&k) => {
                return Err(format!(
                    "`{k}` would put a secret on the command line or in a config file; give it in an environment variable (`secret_env`, default {}) or a file (`secret_file` / `token_file`)",
                    default_secret_env(kind).unwrap_or("-")
                ))
            }
            "max_attempts" => self.max_attempts = v.int(1, 100)? as u32,
            "timeout_secs" => self.timeout_secs = v.int(1, 3600)? as u64,
            "max_retry_wait_secs" => self.max_retry_wait_secs = v.int(0, 3600)? as u64,
            "batch_events" => self.batch_events = v.int(1, 10_000)? as usize,
            "ca" => self.ca = Some(v.text()?.into()),
            "client_cert" => {
                only(&[Syslog])?;
                self.client_cert = Some(v.text()?.into())
            }
            "client_key" => {
                only(&[Syslog])?;
                self.client_key = Some(v.text()?.into())
            }
            "max_message_bytes" => {
                only(&[Syslog])?;
                // RFC 5425 §4.3.1: receivers must take 2048 octets.
                self.max_message_bytes = v.int(2048, 16 * 1024 * 1024)? as usize
            }
            "facility" => {
                only(&[Syslog])?;
                let f = v.text()?;
                if !FACILITIES.contains(&f.as_str()) {
                    return Err(format!("unknown facility `{f}`; one of {}", FACILITIES.join(", ")));
                }
                self.facility = f
            }
            "sd_id" => {
                only(&[Syslog])?;
                let s = v.text()?;
                if s.is_empty()
                    || s.len() > 32
                    || !s.bytes().all(|b| (33..=126).contains(&b) && !b"= ]\"".contains(&b))
                {
                    return Err("an SD-ID is 1 to 32 printable ASCII characters without `=`, `]`, `\"` or spaces (RFC 5424 §6.3.2)".into());
                }
                self.sd_id = s
            }
            "index" => {
                only(&[SplunkHec])?;
                self.index = Some(v.text()?)
            }
            "sourcetype" => {
                only(&[SplunkHec])?;
                self.sourcetype = v.text()?
            }
            "source" => {
                only(&[SplunkHec])?;
                self.source = v.text()?
            }
            "ack_timeout_secs" => {
                only(&[SplunkHec])?;
                self.ack_timeout_secs = v.int(1, 3600)? as u64
            }
            "token_env" | "secret_env" => {
                only(&[SplunkHec, Webhook])?;
                self.secret_env = Some(v.text()?)
            }
            "token_file" | "secret_file" => {
                only(&[SplunkHec, Webhook])?;
                self.secret_file = Some(v.text()?.into())
            }
            "max_body_bytes" => {
                only(&[SplunkHec, Webhook])?;
                self.max_body_bytes = v.int(4096, 1 << 30)? as usize
            }
            _ => return Err(format!("unknown option `{key}`; see docs/siem.md for each sink's options")),
        }
        Ok(())
    }
}

/// The name a user writes for a kind.
pub fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Syslog => "syslog",
        Kind::SplunkHec => "splunk-hec",
        Kind::Webhook => "webhook",
    }
}

/// The environment variable a kind's secret comes from by default.
pub fn default_secret_env(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::Syslog => None,
        Kind::SplunkHec => Some("DENGBAO_HEC_TOKEN"),
        Kind::Webhook => Some("DENGBAO_WEBHOOK_SECRET"),
    }
}

/// Parses a sink URL with its query options.
pub fn parse_url(text: &str) -> Result<SinkConfig, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    let (kind, tls) = match url.scheme() {
        "syslog+tcp" => (Kind::Syslog, false),
        "syslog+tls" => (Kind::Syslog, true),
        "splunk-hec+http" => (Kind::SplunkHec, false),
        "splunk-hec+https" => (Kind::SplunkHec, true),
        "webhook+http" => (Kind::Webhook, false),
        "webhook+https" => (Kind::Webhook, true),
        other => {
            return Err(format!(
                "unknown sink scheme `{other}`; use syslog+tcp, syslog+tls, splunk-hec+http(s) or webhook+http(s)"
            ))
        }
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a sink URL may not carry credentials (user:password@); secrets come from environment variables or files".into());
    }
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| format!("`{text}` names no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = match (url.port(), kind, tls) {
        (Some(p), _, _) => p,
        (None, Kind::Syslog, false) => return Err(format!("`{text}` needs a port (e.g. :514)")),
        (None, Kind::Syslog, true) => 6514,
        (None, Kind::SplunkHec, _) => 8088,
        (None, Kind::Webhook, true) => 443,
        (None, Kind::Webhook, false) => 80,
    };
    let mut options = Options::default();
    for (k, v) in url.query_pairs() {
        options
            .set(kind, &k, OptValue::Text(&v))
            .map_err(|e| format!("`{text}`: {e}"))?;
    }
    let mut bare = url.clone();
    bare.set_query(None);
    let path = if kind == Kind::Webhook {
        url.path().to_string()
    } else {
        String::new()
    };
    Ok(SinkConfig {
        name: derived_name(kind, tls, &host, port, &path),
        url: bare.to_string(),
        kind,
        tls,
        host,
        port,
        path,
        options,
    })
}

fn derived_name(kind: Kind, tls: bool, host: &str, port: u16, path: &str) -> String {
    let proto = match (kind, tls) {
        (Kind::Syslog, false) => "syslog-tcp",
        (Kind::Syslog, true) => "syslog-tls",
        (Kind::SplunkHec, false) => "hec-http",
        (Kind::SplunkHec, true) => "hec-https",
        (Kind::Webhook, false) => "webhook-http",
        (Kind::Webhook, true) => "webhook-https",
    };
    let mut name = format!("{proto}-{host}-{port}{path}");
    name = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    name.truncate(100);
    name
}

/// A config file: spool settings and `[[sink]]` tables.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    pub spool_dir: Option<PathBuf>,
    pub spool_max_bytes: Option<u64>,
    pub sinks: Vec<SinkConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    spool_dir: Option<Spanned<String>>,
    spool_max_bytes: Option<Spanned<i64>>,
    #[serde(default)]
    sink: Vec<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
}

/// Reads and validates a config file; every problem at once, as `file:line:col: message`.
pub fn load_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    parse_file(&path.display().to_string(), &text, path.parent())
}

/// Validates the text of a config file named `display`; relative paths are taken from `base`.
pub fn parse_file(display: &str, text: &str, base: Option<&Path>) -> Result<FileConfig> {
    let at = |span: std::ops::Range<usize>| {
        let (l, c) = line_col(text, span.start);
        format!("{display}:{l}:{c}")
    };
    let spec: FileSpec = toml::from_str(text).map_err(|e| {
        let where_ = e.span().map(&at).unwrap_or_else(|| display.to_string());
        anyhow::anyhow!("{where_}: {}", e.message().trim())
    })?;
    let mut errors = Vec::new();
    let mut out = FileConfig {
        spool_dir: spec.spool_dir.map(|s| resolve(base, s.into_inner())),
        ..FileConfig::default()
    };
    if let Some(m) = spec.spool_max_bytes {
        if *m.get_ref() < 4096 {
            errors.push(format!(
                "{}: spool_max_bytes must be at least 4096",
                at(m.span())
            ));
        } else {
            out.spool_max_bytes = Some(*m.get_ref() as u64);
        }
    }
    for table in &spec.sink {
        match sink_from_table(table, base, &at) {
            Ok(s) => {
                if let Some(prev) = out.sinks.iter().find(|p| p.name == s.name) {
                    errors.push(format!(
                        "{}: a second sink named `{}` ({}); give each a distinct `name`",
                        at(table.span()),
                        s.name,
                        prev.url
                    ));
                }
                out.sinks.push(s);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        bail!(
            "{} problem(s) in the config file:\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    Ok(out)
}

fn resolve(base: Option<&Path>, p: String) -> PathBuf {
    let p = PathBuf::from(p);
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p,
    }
}

fn sink_from_table(
    table: &Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    base: Option<&Path>,
    at: &dyn Fn(std::ops::Range<usize>) -> String,
) -> Result<SinkConfig, Vec<String>> {
    let map = table.get_ref();
    let Some((_, url)) = map.iter().find(|(k, _)| k.get_ref() == "url") else {
        return Err(vec![format!(
            "{}: a [[sink]] needs `url`",
            at(table.span())
        )]);
    };
    let mut sink = match url.get_ref().as_str() {
        Some(u) => parse_url(u).map_err(|e| vec![format!("{}: {e}", at(url.span()))])?,
        None => return Err(vec![format!("{}: `url` must be a string", at(url.span()))]),
    };
    let mut errors = Vec::new();
    for (key, value) in map {
        let k = key.get_ref().as_str();
        if k == "url" {
            continue;
        }
        if k == "name" {
            match value.get_ref().as_str() {
                Some(n) if valid_name(n) => sink.name = n.to_string(),
                _ => errors.push(format!(
                    "{}: `name` is 1 to 100 letters, digits, `-`, `_` or `.`",
                    at(value.span())
                )),
            }
            continue;
        }
        let v = match value.get_ref() {
            toml::Value::String(s) => OptValue::Text(s),
            toml::Value::Integer(i) => OptValue::Int(*i),
            _ => OptValue::Other,
        };
        let r = sink.options.set(sink.kind, k, v);
        if let Err(e) = r {
            let span = if e.starts_with("unknown option")
                || e.contains("not an option")
                || e.contains("would put a secret")
            {
                key.span()
            } else {
                value.span()
            };
            errors.push(format!("{}: {e}", at(span)));
        }
    }
    let o = &mut sink.options;
    for p in [
        &mut o.ca,
        &mut o.client_cert,
        &mut o.client_key,
        &mut o.secret_file,
    ]
    .into_iter()
    .flatten()
    {
        *p = resolve(base, p.to_string_lossy().into_owned());
    }
    if errors.is_empty() {
        Ok(sink)
    } else {
        Err(errors)
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 100
        && !n.starts_with('.')
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// Checks what a sink needs before anything is sent: its files exist, its secret is there.
pub fn check_ready(s: &SinkConfig) -> Result<()> {
    let o = &s.options;
    for (what, p) in [
        ("ca", &o.ca),
        ("client_cert", &o.client_cert),
        ("client_key", &o.client_key),
    ] {
        if let Some(p) = p {
            if !p.is_file() {
                bail!(
                    "sink {}: `{what}` file {} does not exist",
                    s.name,
                    p.display()
                );
            }
        }
    }
    if o.client_cert.is_some() != o.client_key.is_some() {
        bail!(
            "sink {}: give both client_cert and client_key, or neither",
            s.name
        );
    }
    if s.kind != Kind::Syslog {
        super::secret::Secret::for_sink(s)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_kinds_ports_and_options() {
        let s = parse_url("syslog+tls://127.0.0.1:6514?max_message_bytes=16384&facility=audit")
            .unwrap();
        assert_eq!((s.kind, s.tls, s.port), (Kind::Syslog, true, 6514));
        assert_eq!(s.options.max_message_bytes, 16384);
        assert_eq!(s.url, "syslog+tls://127.0.0.1:6514");
        let h = parse_url("splunk-hec+https://splunk.example.com?index=mlps").unwrap();
        assert_eq!(
            (h.kind, h.port, h.options.index.as_deref()),
            (Kind::SplunkHec, 8088, Some("mlps"))
        );
        let w = parse_url("webhook+https://hooks.example.com/in/dengbao").unwrap();
        assert_eq!((w.port, w.path.as_str()), (443, "/in/dengbao"));
        for bad in [
            "syslog+udp://h:514",
            "syslog+tcp://h",
            "splunk-hec+https://user:pw@h:8088",
            "splunk-hec+https://h:8088?token=abc",
            "webhook+https://h/x?secret=abc",
            "syslog+tcp://h:514?max_message_bytes=100",
            "syslog+tcp://h:514?index=main",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_config_file_reports_every_problem_with_its_place() {
        let text = r#"spool_dir = "spool"

[[sink]]
url = "syslog+tcp://127.0.0.1:514"
max_message_bytes = 10
colour = "red"

[[sink]]
url = "splunk-hec+https://splunk:8088"
token = "abc"

[[sink]]
name = "hooks"
url = "webhook+https://h/x"
secret_file = "hook.key"
"#;
        let err = parse_file("dengbao.toml", text, Some(Path::new("/etc/dengbao")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 problem(s)"), "{err}");
        assert!(
            err.contains("dengbao.toml:5:21: must be between 2048"),
            "{err}"
        );
        assert!(
            err.contains("dengbao.toml:6:1: unknown option `colour`"),
            "{err}"
        );
        assert!(
            err.contains("dengbao.toml:10:1: `token` would put a secret"),
            "{err}"
        );
        let ok = parse_file(
            "d.toml",
            "[[sink]]\nname = \"hooks\"\nurl = \"webhook+https://h/x\"\nsecret_file = \"k\"\n",
            Some(Path::new("/etc/d")),
        )
        .unwrap();
        assert_eq!(ok.sinks[0].name, "hooks");
        assert_eq!(
            ok.sinks[0].options.secret_file.as_deref(),
            Some(Path::new("/etc/d/k"))
        );
        let err = parse_file("d.toml", "[[sink]]\nurl = 3\n", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("d.toml:2:7: `url` must be a string"), "{err}");
        let err = parse_file("d.toml", "sinks = []\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("d.toml:1:1: unknown field `sinks`"),
            "{err}"
        );
    }
}
