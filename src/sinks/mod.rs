//! Delivery of findings to SIEMs: syslog (RFC 5424 over TCP or TLS), Splunk's HTTP Event Collector
//! and signed HTTPS webhooks, each behind one [`Sink`] trait, through a durable [`spool`].
//!
//! In the spirit of vector's sinks: a sink is configured on its own ([`config`]), and one shared
//! delivery loop ([`deliver`]) does batching, retries with back-off (honouring `Retry-After`),
//! splitting a rejected batch to find the event at fault, and moving the spool's cursor. A sink only
//! supplies narrow hooks: its [`Limits`], how to [`encode`](Sink::encode) one event, how to
//! [`send`](Sink::send) a batch, and what the receiver's answer means ([`Answer`]).
//!
//! Events are OCSF Compliance Findings built by [`crate::report::ocsf`] ([`event`]). [`run`] is the
//! one entry point the command line uses (`dengbao send`, `scan`/`evaluate --send`).

pub mod config;
pub mod config_file;
pub mod deliver;
pub mod event;
pub mod hec;
mod http;
pub mod run;
pub mod secret;
pub mod spool;
pub mod syslog;
pub mod webhook;

pub use config::{Kind, SinkConfig};
pub use event::Finding;

use serde_json::Value;
use std::time::Duration;

/// How much a sink takes at once.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest encoded event; larger ones are trimmed ([`event::fit`]).
    pub max_event_bytes: usize,
    /// Largest batch, all encoded events together.
    pub max_batch_bytes: usize,
    /// Most events in a batch.
    pub batch_events: usize,
}

/// What the receiver's answer to a batch means.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Every event of the batch was confirmed.
    Delivered,
    /// Nothing was confirmed; try the same batch again (after this long, when the receiver said).
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// The receiver refused the batch because of its content: the events at these indexes (when the
    /// receiver said which), else some event of it. Refused events are never retried.
    Rejected {
        which: Option<Vec<usize>>,
        why: String,
    },
    /// The sink cannot deliver anything now (bad token, wrong index…): stop, leave all spooled.
    Fatal(String),
}

/// A destination for findings.
#[allow(async_fn_in_trait)] // used through generics on one runtime; no Send bound is needed
pub trait Sink {
    /// How much this sink takes at once.
    fn limits(&self) -> Limits;
    /// The wire bytes of one event (`event` is `finding.event`, or a trimmed copy of it).
    fn encode(&self, finding: &Finding, event: &Value) -> Vec<u8>;
    /// Sends one batch of encoded events and says what the answer means.
    async fn send(&mut self, batch: &[&[u8]]) -> Answer;
}
