//! Splunk HTTP Event Collector: `POST /services/collector/event` with `Authorization: Splunk
//! <token>`, a batch as concatenated JSON event objects (`time`, `host`, `source`, `sourcetype`,
//! `index`, `event`), on a channel (`X-Splunk-Request-Channel`, one GUID per spool, kept in its
//! `sink.json`).
//!
//! **Indexer acknowledgement.** When the token requires it, the answer carries an `ackId`; the batch
//! counts as delivered only when `POST /services/collector/ack?channel=…` with `{"acks":[id]}`
//! answers `true` for it. No acknowledgement within `ack_timeout_secs` sends the batch again.
//!
//! **Answers** (Splunk's status codes, `{"text": …, "code": N}`): 0 success; 9 server busy, 18–20
//! unhealthy, any 5xx, 429 → retried, honouring `Retry-After`; 1–4 token problems, 7 index not
//! allowed, 10/11/14 channel or acknowledgement set up wrongly → stop (all stays spooled, the
//! reason printed); 6, 12, 13, 15 (the data of one event) with `invalid-event-number` → that event
//! is refused and the rest sent again; another 4xx → the batch is split to find the event at fault.

use super::config::SinkConfig;
use super::http::{self, no_answer, retry_after};
use super::secret::Secret;
use super::{Answer, Finding, Limits, Sink};
use anyhow::Result;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The HEC sink.
pub struct HecSink {
    sink: SinkConfig,
    client: reqwest::Client,
    base: String,
    token: Secret,
    channel: String,
    host: String,
}

impl HecSink {
    /// A sink for `sink` on `channel` (a GUID).
    pub fn new(sink: &SinkConfig, channel: &str) -> Result<HecSink> {
        Ok(HecSink {
            client: http::client(sink)?,
            base: http::base(sink),
            token: Secret::for_sink(sink)?,
            channel: channel.to_string(),
            host: http::hostname(),
            sink: sink.clone(),
        })
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client
            .post(format!("{}{path}", self.base))
            .header(
                reqwest::header::AUTHORIZATION,
                format!("Splunk {}", self.token.expose()),
            )
            .header("X-Splunk-Request-Channel", &self.channel)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
    }

    /// Waits for indexer acknowledgement of `ack_id`.
    async fn acknowledged(&self, ack_id: u64) -> Answer {
        let deadline = Instant::now() + Duration::from_secs(self.sink.options.ack_timeout_secs);
        let mut wait = Duration::from_millis(100);
        loop {
            tokio::time::sleep(wait).await;
            let path = format!("/services/collector/ack?channel={}", self.channel);
            let r = self
                .post(&path)
                .body(json!({"acks": [ack_id]}).to_string())
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => {
                    let body: Value = json_body(resp).await;
                    if body["acks"][ack_id.to_string()] == Value::Bool(true) {
                        return Answer::Delivered;
                    }
                }
                Ok(resp) => {
                    let status = resp.status();
                    let body: Value = json_body(resp).await;
                    if matches!(status.as_u16(), 400 | 401 | 403) {
                        return Answer::Fatal(format!(
                            "{}: the acknowledgement endpoint answered {status}: {}",
                            self.sink.url, body
                        ));
                    }
                }
                Err(e) => tracing::debug!(error = %e, "acknowledgement query failed; asking again"),
            }
            if Instant::now() >= deadline {
                return Answer::Retry {
                    after: Some(Duration::ZERO),
                    why: format!(
                        "{}: ackId {ack_id} not acknowledged within {}s",
                        self.sink.url, self.sink.options.ack_timeout_secs
                    ),
                };
            }
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

/// The JSON body of an answer (`null` when there is none or it is not JSON).
async fn json_body(resp: reqwest::Response) -> Value {
    let bytes = resp.bytes().await.unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or_default()
}

/// The meaning of a HEC answer that is not a success.
fn classify(
    status: reqwest::StatusCode,
    body: &Value,
    after: Option<Duration>,
    url: &str,
) -> Answer {
    let code = body["code"].as_i64();
    let why = format!(
        "{url}: HTTP {status}, HEC code {}: {}",
        code.map(|c| c.to_string()).unwrap_or_else(|| "-".into()),
        body["text"].as_str().unwrap_or("(no text)")
    );
    match code {
        Some(9 | 18..=20) => Answer::Retry { after, why },
        Some(1..=4) => Answer::Fatal(format!(
            "{why}; check the token (DENGBAO_HEC_TOKEN or token_file)"
        )),
        Some(7) => Answer::Fatal(format!("{why}; the token may not write to this index")),
        Some(5 | 10 | 11 | 14 | 16) => Answer::Fatal(why),
        Some(6 | 12 | 13 | 15) => match body["invalid-event-number"].as_u64() {
            Some(n) => Answer::Rejected {
                which: Some(vec![n as usize]),
                why,
            },
            None => Answer::Rejected { which: None, why },
        },
        _ => http::by_status(status, after, why),
    }
}

impl Sink for HecSink {
    fn limits(&self) -> Limits {
        let body = self.sink.options.max_body_bytes;
        Limits {
            max_event_bytes: body,
            max_batch_bytes: body,
            batch_events: self.sink.options.batch_events,
        }
    }

    fn encode(&self, f: &Finding, event: &Value) -> Vec<u8> {
        let o = &self.sink.options;
        let mut e = json!({
            "time": f.time as f64 / 1000.0,
            "host": self.host,
            "source": o.source,
            "sourcetype": o.sourcetype,
            "event": event,
        });
        if let Some(index) = &o.index {
            e["index"] = json!(index);
        }
        serde_json::to_vec(&e).expect("JSON values serialize")
    }

    async fn send(&mut self, batch: &[&[u8]]) -> Answer {
        let body = batch.concat();
        let resp = match self
            .post("/services/collector/event")
            .body(body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return no_answer(&e),
        };
        let status = resp.status();
        let after = retry_after(resp.headers());
        let body: Value = json_body(resp).await;
        if status.is_success() && body["code"].as_i64().unwrap_or(0) == 0 {
            return match body["ackId"].as_u64() {
                Some(id) => self.acknowledged(id).await,
                None => Answer::Delivered,
            };
        }
        classify(status, &body, after, &self.sink.url)
    }
}

/// A new channel GUID (random enough to be unique per spool; HEC only needs it to be a GUID).
pub fn new_channel(seed: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let h = crate::pack::sha256_hex(format!("{seed}\0{nanos}\0{}", std::process::id()).as_bytes());
    let h = h.to_uppercase();
    format!(
        "{}-{}-4{}-A{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode as S;

    #[test]
    fn hec_codes_mean_what_splunk_documents() {
        let c = |s: S, body: Value| classify(s, &body, None, "u");
        assert!(matches!(
            c(
                S::SERVICE_UNAVAILABLE,
                json!({"text":"Server is busy","code":9})
            ),
            Answer::Retry { .. }
        ));
        assert!(matches!(
            c(S::FORBIDDEN, json!({"text":"Invalid token","code":4})),
            Answer::Fatal(_)
        ));
        assert!(matches!(
            c(S::BAD_REQUEST, json!({"text":"Incorrect index","code":7})),
            Answer::Fatal(_)
        ));
        assert_eq!(
            c(
                S::BAD_REQUEST,
                json!({"text":"Invalid data format","code":6,"invalid-event-number":2})
            ),
            Answer::Rejected {
                which: Some(vec![2]),
                why: "u: HTTP 400 Bad Request, HEC code 6: Invalid data format".into()
            }
        );
        assert!(matches!(
            c(
                S::INTERNAL_SERVER_ERROR,
                json!({"text":"Internal server error","code":8})
            ),
            Answer::Retry { .. }
        ));
        let g = new_channel("x");
        assert_eq!(g.len(), 36);
        assert_eq!(g.matches('-').count(), 4);
    }
}
