//! What the HTTP sinks (Splunk HEC, webhook) share: the client (rustls; the system's roots, or only
//! the sink's `ca`), `Retry-After`, and the meaning of a status code nobody said more about.

use super::config::SinkConfig;
use super::Answer;
use anyhow::{Context, Result};
use std::time::Duration;

/// An HTTP client for `sink`: its timeout, and its CA when one is given.
pub fn client(sink: &SinkConfig) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .timeout(Duration::from_secs(sink.options.timeout_secs))
        .connect_timeout(Duration::from_secs(sink.options.timeout_secs.min(10)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("dengbao/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &sink.options.ca {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .with_context(|| format!("{} holds no PEM certificate", ca.display()))?;
        b = b.tls_certs_only(certs);
    }
    b.build().context("building the HTTP client")
}

/// The base URL (`http(s)://host:port`) of `sink`.
pub fn base(sink: &SinkConfig) -> String {
    let scheme = if sink.tls { "https" } else { "http" };
    let host = if sink.host.contains(':') {
        format!("[{}]", sink.host)
    } else {
        sink.host.clone()
    };
    format!("{scheme}://{host}:{}", sink.port)
}

/// `Retry-After`: delay-seconds or an HTTP date.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let ms = (at.timestamp_millis() - chrono::Utc::now().timestamp_millis()).max(0);
    Some(Duration::from_millis(ms as u64))
}

/// The answer a status code gives when the body says nothing more: 2xx delivered; 408, 429 and
/// 5xx retried; 401/403 fatal (credentials); 413 and other 4xx rejected (the batch is split to
/// find the event at fault).
pub fn by_status(status: reqwest::StatusCode, after: Option<Duration>, why: String) -> Answer {
    let code = status.as_u16();
    match code {
        200..=299 => Answer::Delivered,
        408 | 429 | 500..=599 => Answer::Retry { after, why },
        401 | 403 => Answer::Fatal(why),
        _ => Answer::Rejected { which: None, why },
    }
}

/// A request that got no answer (refused, reset, timed out): retried.
pub fn no_answer(e: &reqwest::Error) -> Answer {
    use std::error::Error;
    let mut why = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        why.push_str(": ");
        why.push_str(&s.to_string());
        src = s.source();
    }
    Answer::Retry { after: None, why }
}

/// This machine's host name (for syslog HOSTNAME and HEC `host`), or `-`.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()))
        .unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_mean_what_the_docs_say() {
        use reqwest::StatusCode as S;
        assert_eq!(by_status(S::OK, None, "x".into()), Answer::Delivered);
        assert!(matches!(
            by_status(S::SERVICE_UNAVAILABLE, None, "x".into()),
            Answer::Retry { .. }
        ));
        assert!(matches!(
            by_status(S::TOO_MANY_REQUESTS, None, "x".into()),
            Answer::Retry { .. }
        ));
        assert!(matches!(
            by_status(S::UNAUTHORIZED, None, "x".into()),
            Answer::Fatal(_)
        ));
        assert!(matches!(
            by_status(S::BAD_REQUEST, None, "x".into()),
            Answer::Rejected { which: None, .. }
        ));
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
    }
}
