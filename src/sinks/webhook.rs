//! Webhook: a JSON batch `{"events": [OCSF event, …]}` POSTed to the URL (`webhook+https://host/path`
//! → `https://host/path`), signed with HMAC-SHA256 over the exact body bytes with the shared secret
//! (`DENGBAO_WEBHOOK_SECRET` or `secret_file`):
//!
//! ```text
//! X-Dengbao-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>
//! X-Dengbao-Delivery: <hex SHA-256 of the body>    (the same for every retry of a batch)
//! ```
//!
//! The receiver compares the signature in constant time before trusting the body. Answers: 2xx
//! delivered; 408, 429 and 5xx retried with back-off, honouring `Retry-After`; 401/403 stop (the
//! secret is wrong; all stays spooled); 413 and other 4xx refuse the batch, which is split until the
//! event at fault is found, refused alone and reported, and the others delivered.

use super::config::SinkConfig;
use super::http::{self, no_answer, retry_after};
use super::secret::Secret;
use super::{Answer, Finding, Limits, Sink};
use anyhow::Result;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;

/// Header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Dengbao-Signature-256";
/// Header carrying the batch's id.
pub const DELIVERY_HEADER: &str = "X-Dengbao-Delivery";

/// The webhook sink.
pub struct WebhookSink {
    sink: SinkConfig,
    client: reqwest::Client,
    url: String,
    secret: Secret,
}

impl WebhookSink {
    /// A sink for `sink`.
    pub fn new(sink: &SinkConfig) -> Result<WebhookSink> {
        Ok(WebhookSink {
            client: http::client(sink)?,
            url: format!("{}{}", http::base(sink), sink.path),
            secret: Secret::for_sink(sink)?,
            sink: sink.clone(),
        })
    }
}

/// `sha256=<hex>` of HMAC-SHA256(`secret`, `body`).
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(body);
    format!(
        "sha256={}",
        crate::pack::hex_lower(&mac.finalize().into_bytes())
    )
}

impl Sink for WebhookSink {
    fn limits(&self) -> Limits {
        let body = self.sink.options.max_body_bytes;
        Limits {
            max_event_bytes: body - 16,
            max_batch_bytes: body - 16,
            batch_events: self.sink.options.batch_events,
        }
    }

    fn encode(&self, _f: &Finding, event: &Value) -> Vec<u8> {
        serde_json::to_vec(event).expect("JSON values serialize")
    }

    async fn send(&mut self, batch: &[&[u8]]) -> Answer {
        let mut body = b"{\"events\":[".to_vec();
        for (i, e) in batch.iter().enumerate() {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(e);
        }
        body.extend_from_slice(b"]}");
        let sig = signature(self.secret.expose().as_bytes(), &body);
        let delivery = crate::pack::sha256_hex(&body);
        let resp = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sig)
            .header(DELIVERY_HEADER, delivery)
            .body(body)
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return no_answer(&e),
        };
        let status = resp.status();
        let after = retry_after(resp.headers());
        let text = resp.text().await.unwrap_or_default();
        let short: String = text.chars().take(300).collect();
        http::by_status(
            status,
            after,
            format!("{}: HTTP {status}: {short}", self.sink.url),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            super::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
