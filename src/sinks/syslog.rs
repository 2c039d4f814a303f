//! Syslog: RFC 5424 messages over TCP with octet-counting framing (RFC 6587 §3.4.1), optionally in
//! TLS (RFC 5425; rustls, the sink's CA or the system's roots, an optional client certificate).
//!
//! One message per event:
//!
//! ```text
//! <PRI>1 TIMESTAMP HOSTNAME dengbao PROCID MSGID [dengbao@32473 item="…" verdict="…" pack="sha256:…" uid="…"] BOM{OCSF event}
//! ```
//!
//! PRI is the facility (default `local0`) × 8 plus the severity of the finding (OCSF 1 Informational
//! → 6, 2 Low → 5, 3 Medium → 4, 4 High → 3, 5 Critical → 2); TIMESTAMP is the scan's time in UTC
//! with milliseconds; MSGID is the event kind (`dengbao.control`, `dengbao.resource`); the MSG is
//! UTF-8 with its BOM (RFC 5424 §6.4) followed by the OCSF event as compact JSON. A message is at
//! most `max_message_bytes` (default 8192, rsyslog's default `maxMessageSize`); larger events are
//! trimmed ([`super::event::fit`]).
//!
//! **Confirmation.** Syslog has no acknowledgement. A batch is one connection: every frame is
//! written, then dengbao closes its sending side (TLS: `close_notify`) and waits for the receiver to
//! close the connection, which it does only after reading everything sent. Only then do the events
//! count as delivered; a reset, a timeout or a refused connection leaves them spooled.

use super::config::{SinkConfig, FACILITIES};
use super::{Answer, Finding, Limits, Sink};
use anyhow::{Context, Result};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types};

/// The syslog sink.
pub struct SyslogSink {
    sink: SinkConfig,
    tls: Option<(tokio_rustls::TlsConnector, pki_types::ServerName<'static>)>,
    hostname: String,
    procid: String,
    facility: u8,
}

impl SyslogSink {
    /// A sink for `sink` (TLS set up, files read; nothing is connected yet).
    pub fn new(sink: &SinkConfig) -> Result<SyslogSink> {
        let tls = if sink.tls {
            let name = pki_types::ServerName::try_from(sink.host.clone())
                .with_context(|| format!("`{}` is not a valid TLS server name", sink.host))?;
            Some((tls_connector(sink)?, name))
        } else {
            None
        };
        let facility = FACILITIES
            .iter()
            .position(|f| *f == sink.options.facility)
            .unwrap_or(16) as u8;
        Ok(SyslogSink {
            sink: sink.clone(),
            tls,
            hostname: header_field(&super::http::hostname(), 255),
            procid: std::process::id().to_string(),
            facility,
        })
    }

    async fn send_over<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
        batch: &[&[u8]],
    ) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(batch.iter().map(|m| m.len() + 8).sum());
        for m in batch {
            out.extend_from_slice(format!("{} ", m.len()).as_bytes());
            out.extend_from_slice(m);
        }
        stream.write_all(&out).await?;
        stream.flush().await?;
        stream.shutdown().await?;
        // The receiver closes only after reading everything: wait for that.
        let mut sink = [0u8; 512];
        loop {
            match stream.read(&mut sink).await {
                Ok(0) => return Ok(()),
                Ok(_) => continue,
                // A TLS peer that closes without close_notify has still read all we sent.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

fn tls_connector(sink: &SinkConfig) -> Result<tokio_rustls::TlsConnector> {
    use pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = &sink.options.ca {
        for cert in pki_types::CertificateDer::pem_file_iter(ca)
            .with_context(|| format!("reading {}", ca.display()))?
        {
            roots
                .add(cert.with_context(|| format!("{} is not PEM", ca.display()))?)
                .with_context(|| format!("{}: unusable CA certificate", ca.display()))?;
        }
    } else {
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_root_certificates(roots);
    let config = match (&sink.options.client_cert, &sink.options.client_key) {
        (Some(cert), Some(key)) => {
            let chain = pki_types::CertificateDer::pem_file_iter(cert)
                .with_context(|| format!("reading {}", cert.display()))?
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("{} is not PEM", cert.display()))?;
            let key = pki_types::PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("reading the private key {}", key.display()))?;
            builder
                .with_client_auth_cert(chain, key)
                .context("the client certificate and key do not match")?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// A header field: printable US-ASCII, no spaces, at most `max` characters, `-` when empty.
fn header_field(s: &str, max: usize) -> String {
    let v: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if v.is_empty() {
        "-".into()
    } else {
        v
    }
}

/// A PARAM-VALUE with `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
fn param_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Syslog severity of an OCSF severity_id.
fn severity(ocsf: u8) -> u8 {
    match ocsf {
        0 | 1 => 6,
        2 => 5,
        3 => 4,
        4 => 3,
        _ => 2,
    }
}

impl Sink for SyslogSink {
    fn limits(&self) -> Limits {
        Limits {
            max_event_bytes: self.sink.options.max_message_bytes,
            max_batch_bytes: 8 * 1024 * 1024,
            batch_events: self.sink.options.batch_events,
        }
    }

    fn encode(&self, f: &Finding, event: &Value) -> Vec<u8> {
        let pri = u32::from(self.facility) * 8 + u32::from(severity(f.severity_id));
        let ts = chrono::DateTime::from_timestamp_millis(f.time)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let sd = format!(
            "[{} item=\"{}\" verdict=\"{}\" pack=\"{}\" uid=\"{}\"]",
            self.sink.options.sd_id,
            param_value(&f.item),
            param_value(&f.verdict),
            param_value(&f.pack),
            param_value(&f.uid)
        );
        let mut msg = format!(
            "<{pri}>1 {ts} {} dengbao {} {} {sd} \u{feff}",
            self.hostname,
            self.procid,
            header_field(&f.kind, 32)
        )
        .into_bytes();
        serde_json::to_writer(&mut msg, event).expect("JSON values serialize");
        msg
    }

    async fn send(&mut self, batch: &[&[u8]]) -> Answer {
        let timeout = Duration::from_secs(self.sink.options.timeout_secs);
        let addr = (self.sink.host.as_str(), self.sink.port);
        let attempt = async {
            let tcp = TcpStream::connect(addr).await?;
            tcp.set_nodelay(true)?;
            match &self.tls {
                Some((connector, name)) => {
                    let tls = connector.connect(name.clone(), tcp).await?;
                    self.send_over(tls, batch).await
                }
                None => self.send_over(tcp, batch).await,
            }
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(())) => Answer::Delivered,
            Ok(Err(e)) => Answer::Retry {
                after: None,
                why: format!("{}: {e}", self.sink.url),
            },
            Err(_) => Answer::Retry {
                after: None,
                why: format!("{}: no answer within {}s", self.sink.url, timeout.as_secs()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_rfc_5424() {
        let cfg =
            super::super::config::parse_url("syslog+tcp://127.0.0.1:514?facility=local4").unwrap();
        let sink = SyslogSink::new(&cfg).unwrap();
        let event = serde_json::json!({"time": 1764590400123i64, "severity_id": 4,
            "metadata": {"event_code": "dengbao.resource"},
            "finding_info": {"uid": "abc"}, "compliance": {"control": "L3-CES2-09", "status_code": "fail\"]"}});
        let f = Finding::from_event(event.clone(), "sha256:00");
        let msg = String::from_utf8(sink.encode(&f, &event)).unwrap();
        let want_head = format!(
            "<163>1 2025-12-01T12:00:00.123Z {} dengbao {} dengbao.resource [dengbao@32473 item=\"L3-CES2-09\" verdict=\"fail\\\"\\]\" pack=\"sha256:00\" uid=\"abc\"] \u{feff}",
            sink.hostname, sink.procid
        );
        assert!(msg.starts_with(&want_head), "{msg}");
        let json: Value = serde_json::from_str(&msg[want_head.len()..]).unwrap();
        assert_eq!(json, event);
    }
}
