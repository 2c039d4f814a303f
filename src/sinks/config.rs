//! Sink configuration: from a URL (`--to URL`, `--send URL`) or a `[[sink]]` table of a config file
//! (`--config FILE`, [`super::config_file`]).
//!
//! URL forms: `syslog+tcp://HOST:PORT`, `syslog+tls://HOST:PORT`, `splunk-hec+http://HOST:PORT`,
//! `splunk-hec+https://HOST:PORT`, `webhook+http://HOST[:PORT]/PATH`, `webhook+https://…`. Options
//! go in the URL's query (`?ca=/etc/ca.pem&max_message_bytes=16384`) or as keys of the table; they
//! are the same options, checked by the same code. Secrets (the HEC token, the webhook's HMAC key)
//! are never options: they come from an environment variable (`DENGBAO_HEC_TOKEN`,
//! `DENGBAO_WEBHOOK_SECRET`, or the one named by `token_env` / `secret_env`) or a file
//! (`token_file`, `secret_file`), and a URL that carries one (user:password@, `?token=`) is refused.

use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

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
            _ => return self.set_own(kind, key, v),
        }
        Ok(())
    }

    /// Sets an option that only some kinds of sink have.
    fn set_own(&mut self, kind: Kind, key: &str, v: OptValue<'_>) -> Result<(), String> {
        use Kind::*;
        let owner: &[Kind] = match key {
            "client_cert" | "client_key" | "max_message_bytes" | "facility" | "sd_id" => &[Syslog],
            "index" | "sourcetype" | "source" | "ack_timeout_secs" => &[SplunkHec],
            "token_env" | "secret_env" | "token_file" | "secret_file" | "max_body_bytes" => {
                &[SplunkHec, Webhook]
            }
            _ => {
                return Err(format!(
                    "unknown option `{key}`; see docs/siem.md for each sink's options"
                ))
            }
        };
        if !owner.contains(&kind) {
            return Err(format!(
                "`{key}` is not an option of a {} sink",
                kind_name(kind)
            ));
        }
        match key {
            "client_cert" => self.client_cert = Some(v.text()?.into()),
            "client_key" => self.client_key = Some(v.text()?.into()),
            // RFC 5425 §4.3.1: receivers must take 2048 octets.
            "max_message_bytes" => self.max_message_bytes = v.int(2048, 16 * 1024 * 1024)? as usize,
            "facility" => self.facility = facility(v.text()?)?,
            "sd_id" => self.sd_id = sd_id(v.text()?)?,
            "index" => self.index = Some(v.text()?),
            "sourcetype" => self.sourcetype = v.text()?,
            "source" => self.source = v.text()?,
            "ack_timeout_secs" => self.ack_timeout_secs = v.int(1, 3600)? as u64,
            "token_env" | "secret_env" => self.secret_env = Some(v.text()?),
            "token_file" | "secret_file" => self.secret_file = Some(v.text()?.into()),
            _ => self.max_body_bytes = v.int(4096, 1 << 30)? as usize,
        }
        Ok(())
    }
}

fn facility(f: String) -> Result<String, String> {
    if FACILITIES.contains(&f.as_str()) {
        Ok(f)
    } else {
        Err(format!(
            "unknown facility `{f}`; one of {}",
            FACILITIES.join(", ")
        ))
    }
}

fn sd_id(s: String) -> Result<String, String> {
    let printable = s
        .bytes()
        .all(|b| (33..=126).contains(&b) && !b"= ]\"".contains(&b));
    if s.is_empty() || s.len() > 32 || !printable {
        return Err("an SD-ID is 1 to 32 printable ASCII characters without `=`, `]`, `\"` or spaces (RFC 5424 §6.3.2)".into());
    }
    Ok(s)
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
}
