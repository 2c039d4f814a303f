//! Runs probes concurrently: regions and services in parallel, each call first taking a token from its
//! service and region's bucket, then one of `--concurrency` permits; pages followed; fan-out driven by
//! the recorded documents.
//!
//! Every answer goes to the pack as it arrives, hashed and written off the async runtime (memory stays
//! bounded by what is in flight). Every probe gets a run entry per region, including runs that produced
//! nothing and runs that could not start because the probe they fan out from failed (`UpstreamFailed`),
//! so the evaluator can tell "nothing there" from "could not look".

use super::fan_out::{collect_targets, foreign_reason, FanKey, Started, Targets};
use super::ledger::RunLedger;
use super::paging::{self, Cursor};
use super::ratelimit::{RateController, RateStats};
use super::{Failure, Provider, RawAnswer, Request, RetryReason};
use crate::pack::{BlobStore, EvidenceRecord, PackWriter, ProbeError};
use crate::probes::ProbeSpec;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Most pages followed for one call chain; a token that never ends is a service bug, not an estate.
const MAX_PAGES: usize = 100_000;

/// The pause before sending a call again after a server error: 100 ms, doubled per attempt, at most 5 s.
fn server_error_pause(attempt: u32) -> std::time::Duration {
    std::time::Duration::from_millis(100u64.saturating_mul(1 << attempt.min(6)))
        .min(std::time::Duration::from_secs(5))
}

/// Shared state of one scan.
pub struct Scheduler {
    /// The provider's name, stamped on every record.
    name: &'static str,
    pub provider: Arc<dyn Provider>,
    /// The probes and the outcome of each run (the manifest's `probes`).
    pub ledger: RunLedger,
    /// Stamped on every record: known once the identity probe answered.
    pub account: String,
    pub partition: String,
    writer: Arc<Mutex<PackWriter>>,
    blobs: BlobStore,
    semaphore: Semaphore,
    /// Fan-out calls spawned but not finished, at most (see [`super::tasks::spawn_windowed`]).
    fan_out_window: usize,
    rate: f64,
    max_attempts: u32,
    controllers: Mutex<HashMap<(String, String), Arc<RateController>>>,
    started: Started,
    pub calls: AtomicU64,
    pub progress: Option<indicatif::ProgressBar>,
}

/// The outcome of one call, as the scheduler sees it.
pub struct Answer {
    pub record: Option<EvidenceRecord>,
    pub body: Vec<u8>,
    /// Whether the answer is a readable success: its document may be read (keys, pages, identity).
    pub usable: bool,
    pub next_token: Option<String>,
    pub document: Option<Value>,
    pub error: Option<ProbeError>,
}

impl Scheduler {
    pub fn new(
        name: &'static str,
        provider: Arc<dyn Provider>,
        probes: Vec<ProbeSpec>,
        writer: Arc<Mutex<PackWriter>>,
        limits: &super::Options,
        partition: String,
    ) -> Self {
        let blobs = writer.lock().expect("writer lock").blobs();
        let concurrency = limits.concurrency.max(1);
        Self {
            name,
            provider,
            ledger: RunLedger::new(probes),
            account: String::new(),
            partition,
            writer,
            blobs,
            semaphore: Semaphore::new(concurrency),
            fan_out_window: 4 * concurrency,
            rate: limits.rate,
            max_attempts: limits.max_attempts.max(1),
            controllers: Mutex::new(HashMap::new()),
            started: Started::default(),
            calls: AtomicU64::new(0),
            progress: limits.progress.then(super::progress_bar),
        }
    }

    /// The rate controller of `service` in `region`: `--rate`, with the service's documented burst
    /// (scaled down when `--rate` is below its documented refill rate).
    fn controller(&self, service: &str, region: &str) -> Arc<RateController> {
        let mut map = self.controllers.lock().expect("controller lock");
        map.entry((service.to_string(), region.to_string()))
            .or_insert_with(|| {
                let burst = self.provider.bucket(service).map_or(self.rate, |b| {
                    b.burst * (self.rate / b.refill.max(0.001)).min(1.0)
                });
                Arc::new(RateController::new(self.rate, burst.max(1.0)))
            })
            .clone()
    }

    /// What each service and region's rate controller saw, by (service, region).
    pub async fn rate_stats(&self) -> Vec<(String, String, RateStats)> {
        let controllers: Vec<_> = {
            let map = self.controllers.lock().expect("controller lock");
            map.iter().map(|(k, c)| (k.clone(), c.clone())).collect()
        };
        let mut out = Vec::with_capacity(controllers.len());
        for ((service, region), c) in controllers {
            out.push((service, region, c.stats().await));
        }
        out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        out
    }

    /// A call's parameters before paging: the manifest's, the provider's additions, the fan-out key.
    fn base_parameters(
        &self,
        spec: &ProbeSpec,
        region: &str,
        key: Option<&FanKey>,
    ) -> Map<String, Value> {
        let mut m: Map<String, Value> = spec
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), crate::convert::toml_to_json(v)))
            .collect();
        self.provider.add_parameters(spec, region, &mut m);
        if let (Some(f), Some(k)) = (&spec.fan_out, key) {
            m.insert(f.param.clone(), Value::String(k.key.clone()));
            for (p, v) in &k.with {
                m.insert(p.clone(), Value::String(v.clone()));
            }
        }
        m
    }

    /// Sends one call and builds its record (not yet stored). Throttling answers and server errors are
    /// sent again, through the service and region's rate controller, until `--max-attempts`; the
    /// last answer is the one recorded.
    pub async fn call(&self, spec: &ProbeSpec, region: &str, params: Map<String, Value>) -> Answer {
        let control = self.controller(&spec.service, region);
        let mut attempt = 1;
        let result = loop {
            let result = self
                .send(&control, spec, region, &params, attempt > 1)
                .await;
            let reason = match &result {
                Ok(raw) if raw.status >= 300 => self.retry_reason(raw),
                _ => None,
            };
            match reason {
                Some(RetryReason::Throttled) => control.throttled().await,
                _ => control.answered().await,
            }
            if reason.is_none() || attempt >= self.max_attempts {
                break result;
            }
            tracing::debug!(probe = %spec.id, region, attempt, ?reason, "sending again");
            if reason == Some(RetryReason::ServerError) {
                tokio::time::sleep(server_error_pause(attempt)).await;
            }
            attempt += 1;
        };
        match result {
            Ok(raw) => self.answer(spec, region, params, raw),
            Err(f) => {
                tracing::warn!(probe = %spec.id, region, code = %f.code, "call failed without an answer");
                Answer {
                    record: None,
                    body: Vec::new(),
                    usable: false,
                    next_token: None,
                    document: None,
                    error: Some(ProbeError {
                        code: f.code,
                        message: f.message,
                    }),
                }
            }
        }
    }

    /// Sends one attempt: a token from the controller first, then a permit — a call waiting for its
    /// service's rate must not hold one of the permits that calls to other services could use.
    async fn send(
        &self,
        control: &RateController,
        spec: &ProbeSpec,
        region: &str,
        params: &Map<String, Value>,
        retry: bool,
    ) -> Result<RawAnswer, Failure> {
        control.acquire(retry).await;
        let permit = self.semaphore.acquire().await.expect("semaphore open");
        let result = self
            .provider
            .call(Request {
                probe: spec,
                region,
                params,
            })
            .await;
        drop(permit);
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = &self.progress {
            p.inc(1);
            p.set_message(format!("{} {region}", spec.operation));
        }
        result
    }

    /// Whether an error answer is sent again, as the provider reads its code.
    fn retry_reason(&self, raw: &RawAnswer) -> Option<RetryReason> {
        let code = self.provider.error_code(&raw.media_type, &raw.body);
        self.provider
            .retry_reason(raw.status, code.as_ref().map(|(c, _)| c.as_str()))
    }

    /// Classifies what came back: an error answer's code (unless the probe declares it "absent"), an
    /// unreadable success, or an answer; and its record.
    fn answer(
        &self,
        spec: &ProbeSpec,
        region: &str,
        params: Map<String, Value>,
        raw: RawAnswer,
    ) -> Answer {
        let mut error = None;
        let mut absent = false;
        if raw.status >= 300 {
            // The body's own code when it has one; else the HTTP status (an emulator's HTML error page,
            // a proxy's 502), with what the client said as the message.
            let (code, message) = self
                .provider
                .error_code(&raw.media_type, &raw.body)
                .unwrap_or_else(|| {
                    let said = raw.complaint.as_ref().map_or("", |f| f.message.as_str());
                    let message = format!("HTTP status {} {said}", raw.status);
                    (format!("HTTP{}", raw.status), message.trim().to_string())
                });
            absent = spec.absent_codes.contains(&code);
            if !absent {
                error = Some(ProbeError { code, message });
            }
        } else if let Some(f) = &raw.complaint {
            error = Some(ProbeError {
                code: f.code.clone(),
                message: f.message.clone(),
            });
        }
        let record = EvidenceRecord {
            probe: spec.id.clone().into(),
            provider: self.name.to_string().into(),
            partition: self.partition.clone().into(),
            account: self.account.clone().into(),
            region: region.to_string().into(),
            service: spec.service.clone().into(),
            operation: spec.operation.clone().into(),
            parameters: Value::Object(params).into(),
            captured_at: raw.captured_at,
            request_id: raw.request_id,
            http_status: Some(raw.status),
            media_type: raw.media_type.into(),
            sha256: Default::default(),
            size: 0,
            error: error.clone(),
        };
        tracing::debug!(probe = %spec.id, region, status = raw.status, attempts = raw.attempts, absent, "recorded");
        let usable = error.is_none() && raw.status < 300;
        Answer {
            record: Some(record),
            body: raw.body,
            usable,
            next_token: raw.next_token.filter(|_| error.is_none()),
            document: raw.document.filter(|_| usable),
            error,
        }
    }

    /// Stores one answer's body on the blocking pool (hashing, writing and syncing a large page must
    /// not stall the runtime's workers), then adds its record; only the latter takes the writer's lock.
    async fn store(&self, record: Option<EvidenceRecord>, body: Vec<u8>) {
        let Some(rec) = record else { return };
        let blobs = self.blobs.clone();
        let size = body.len() as u64;
        match tokio::task::spawn_blocking(move || blobs.put(&body)).await {
            Ok(Ok(digest)) => self
                .writer
                .lock()
                .expect("writer lock")
                .add_stored_record(rec, digest, size),
            Ok(Err(e)) => tracing::error!("could not write evidence: {e:#}"),
            Err(e) => tracing::error!("could not write evidence: {e}"),
        }
    }

    /// Calls `spec` in `region` (for one fan-out `key`) page by page, recording each answer in the pack
    /// and its run. `read` sees the record and document of every readable page (documents are only
    /// converted when `read` needs them: `wants_documents`, or the manifest's paging does).
    pub async fn pages(
        &self,
        spec: &ProbeSpec,
        region: &str,
        key: Option<&FanKey>,
        wants_documents: bool,
        mut read: impl FnMut(&mut EvidenceRecord, &Value),
    ) {
        let base = self.base_parameters(spec, region, key);
        let convert = wants_documents || spec.pagination.is_some();
        let mut cursor = Cursor::first(spec);
        let mut seen = 0;
        for _ in 0..MAX_PAGES {
            let mut params = base.clone();
            cursor.apply(spec, &mut params);
            let mut answer = self.call(spec, region, params).await;
            let document = match (convert && answer.usable, answer.document.take()) {
                (false, _) => None,
                (true, Some(doc)) => Some(doc),
                (true, None) => answer.record.as_ref().and_then(|rec| {
                    crate::convert::to_document(&rec.media_type, &answer.body).ok()
                }),
            };
            if let (Some(rec), Some(doc)) = (answer.record.as_mut(), &document) {
                read(rec, doc);
            }
            let next = answer.usable.then(|| {
                paging::next(
                    spec,
                    answer.next_token.as_deref(),
                    document.as_ref(),
                    &cursor,
                    &mut seen,
                )
            });
            drop(document);
            let recorded = u64::from(answer.record.is_some());
            self.store(answer.record, answer.body).await;
            self.ledger
                .note_run(&spec.id, region, recorded, answer.error);
            match next.flatten() {
                Some(c) => cursor = c,
                None => break,
            }
        }
    }

    /// The provider's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Runs `spec` in `region` and follows its pages, but none of its fan-out: a sweeping probe in a
    /// region that is not scanned.
    pub fn list_only(
        self: Arc<Self>,
        spec: ProbeSpec,
        region: String,
    ) -> super::BoxFuture<'static, ()> {
        Box::pin(async move { self.pages(&spec, &region, None, false, |_, _| {}).await })
    }

    /// Runs `spec` in `region` (for one fan-out `key`), follows its pages, then its fan-out children.
    pub fn run(
        self: Arc<Self>,
        spec: ProbeSpec,
        region: String,
        key: Option<FanKey>,
    ) -> super::BoxFuture<'static, ()> {
        Box::pin(async move {
            let children = self.ledger.children(&spec.id);
            let mut targets: Vec<Targets> = vec![Targets::default(); children.len()];
            let provider = self.provider.clone();
            self.pages(
                &spec,
                &region,
                key.as_ref(),
                !children.is_empty(),
                |rec, doc| collect_targets(&*provider, &children, rec, doc, &region, &mut targets),
            )
            .await;
            let source_error = self.ledger.run_failed(&spec.id, &region);
            let mut tasks = tokio::task::JoinSet::new();
            for (child, child_targets) in children.into_iter().zip(targets) {
                // The child (and its own children) ran here, even if there was nothing to ask about.
                self.ledger.note_ran(&child, &region);
                if child_targets.skipped_foreign > 0 {
                    let path = child.fan_out.as_ref().and_then(|f| f.owner.as_deref());
                    self.ledger.note_skipped(
                        &child.id,
                        &region,
                        child_targets.skipped_foreign,
                        foreign_reason(path.unwrap_or_default()),
                    );
                }
                for (k, target_region) in child_targets.calls {
                    if self
                        .started
                        .first_time(&child.id, &target_region, &k.identity())
                    {
                        let task = self.clone().run(child.clone(), target_region, Some(k));
                        super::tasks::spawn_windowed(&mut tasks, self.fan_out_window, task).await;
                    }
                }
                if let Some(e) = &source_error {
                    self.ledger
                        .mark_upstream_failed(&child, &region, &spec.id, e);
                }
            }
            while tasks.join_next().await.is_some() {}
        })
    }
}
