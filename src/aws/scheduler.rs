//! Runs probes concurrently: regions and services in parallel, bounded by a semaphore and a token
//! bucket per service and region; pages followed; fan-out driven by the recorded documents.
//!
//! Every call's answer goes to the pack as it arrives (memory stays bounded by what is in flight).
//! Every probe gets a run entry per region, including runs that produced nothing and runs that could
//! not start because the probe they fan out from failed (`UpstreamFailed`), so the evaluator can tell
//! "nothing there" from "could not look".

use super::capture::{error_from_body, Recorder};
use super::ops::{self, Call, Clients};
use super::ratelimit::TokenBucket;
use crate::pack::{BlobStore, EvidenceRecord, PackWriter, ProbeError};
use crate::probes::ProbeSpec;
use crate::rules::path::{KeyContext, KeyExpr, Query};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Most pages followed for one call chain; a token that never ends is a service bug, not an estate.
const MAX_PAGES: usize = 100_000;

/// Shared state of one scan.
pub struct Scheduler {
    /// The probes and the outcome of each run (the manifest's `probes`).
    pub ledger: crate::run_ledger::RunLedger,
    pub base: aws_types::SdkConfig,
    pub guard: super::capture::ReadOnlyGuard,
    pub path_style: bool,
    pub partition: String,
    pub account: String,
    pub writer: Arc<Mutex<PackWriter>>,
    blobs: BlobStore,
    pub semaphore: Semaphore,
    /// Fan-out calls spawned but not finished, at most (see [`crate::tasks::spawn_windowed`]).
    pub fan_out_window: usize,
    pub rate: f64,
    clients: Mutex<HashMap<String, Clients>>,
    buckets: Mutex<HashMap<(String, String), Arc<TokenBucket>>>,
    bucket_regions: Mutex<HashMap<String, String>>,
    pub calls: std::sync::atomic::AtomicU64,
    pub progress: Option<indicatif::ProgressBar>,
}

/// The outcome of one call, as the scheduler sees it.
pub struct Answer {
    pub record: Option<EvidenceRecord>,
    pub body: Vec<u8>,
    pub next: Option<String>,
    pub error: Option<ProbeError>,
}

impl Scheduler {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        probes: Vec<ProbeSpec>,
        base: aws_types::SdkConfig,
        guard: super::capture::ReadOnlyGuard,
        path_style: bool,
        writer: Arc<Mutex<PackWriter>>,
        concurrency: usize,
        rate: f64,
        progress: Option<indicatif::ProgressBar>,
    ) -> Self {
        let blobs = writer.lock().expect("writer lock").blobs();
        Self {
            ledger: crate::run_ledger::RunLedger::new(probes),
            base,
            guard,
            path_style,
            partition: String::new(),
            account: String::new(),
            blobs,
            writer,
            semaphore: Semaphore::new(concurrency.max(1)),
            fan_out_window: 4 * concurrency.max(1),
            rate,
            clients: Mutex::new(HashMap::new()),
            buckets: Mutex::new(HashMap::new()),
            bucket_regions: Mutex::new(HashMap::new()),
            calls: Default::default(),
            progress,
        }
    }

    fn clients(&self, region: &str) -> Clients {
        let mut map = self.clients.lock().expect("clients lock");
        map.entry(region.to_string())
            .or_insert_with(|| {
                let conf = self
                    .base
                    .to_builder()
                    .region(aws_types::region::Region::new(region.to_string()))
                    .build();
                Clients::new(&conf, &self.guard, self.path_style)
            })
            .clone()
    }

    fn bucket(&self, service: &str, region: &str) -> Arc<TokenBucket> {
        let mut map = self.buckets.lock().expect("bucket lock");
        map.entry((service.to_string(), region.to_string()))
            .or_insert_with(|| Arc::new(TokenBucket::new(self.rate, self.rate.max(1.0))))
            .clone()
    }

    /// The request parameters recorded for a call: the manifest's, the fan-out key and the page token.
    fn parameters(spec: &ProbeSpec, key: Option<&str>, token: Option<&str>) -> Value {
        let mut m: Map<String, Value> = spec
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), crate::rules::condition::toml_to_json(v)))
            .collect();
        if let (Some(f), Some(k)) = (&spec.fan_out, key) {
            m.insert(f.param.clone(), Value::String(k.to_string()));
        }
        if let Some(t) = token {
            m.insert(spec.page_token.clone(), Value::String(t.to_string()));
        }
        Value::Object(m)
    }

    /// Sends one call and records its answer (if any) in the pack.
    pub async fn call(
        &self,
        spec: &ProbeSpec,
        region: &str,
        key: Option<&str>,
        token: Option<String>,
    ) -> Answer {
        let function = ops::function(&spec.id)
            .expect("every declared probe has a function (checked at start)");
        // The token first, then the permit: a call waiting for its service's bucket must not hold one
        // of the permits that calls to other services (or regions) could use meanwhile.
        self.bucket(&spec.service, region).acquire().await;
        let permit = self.semaphore.acquire().await.expect("semaphore open");
        let rec = Recorder::default();
        let params = Self::parameters(spec, key, token.as_deref());
        let result = function(Call {
            clients: self.clients(region),
            rec: rec.clone(),
            key: key.map(str::to_string),
            token,
            page_size: spec
                .parameters
                .get("MaxResults")
                .and_then(toml::Value::as_integer)
                .and_then(|n| i32::try_from(n).ok()),
        })
        .await;
        drop(permit);
        self.calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(p) = &self.progress {
            p.inc(1);
            p.set_message(format!("{} {region}", spec.operation));
        }
        let capture = rec.take();
        let (next, call_failure) = match result {
            Ok(next) => (next, None),
            Err(f) => (None, Some(f)),
        };
        let Some(cap) = capture else {
            let f = call_failure.unwrap_or(ops::Failure {
                code: "NoResponse".into(),
                message: "the call returned no response".into(),
            });
            tracing::warn!(probe = %spec.id, region, code = %f.code, "call failed without a response");
            return Answer {
                record: None,
                body: Vec::new(),
                next: None,
                error: Some(ProbeError {
                    code: f.code,
                    message: f.message,
                }),
            };
        };
        let mut error = None;
        let mut absent = false;
        if cap.status >= 300 {
            // The body's own code when it has one; else the HTTP status (an emulator's HTML error page,
            // a proxy's 502), with what the SDK said as the message.
            let (code, message) =
                error_from_body(&cap.media_type, &cap.body).unwrap_or_else(|| {
                    let said = call_failure
                        .as_ref()
                        .map(|f| f.message.as_str())
                        .unwrap_or("");
                    (
                        format!("HTTP{}", cap.status),
                        format!("HTTP status {} {said}", cap.status)
                            .trim()
                            .to_string(),
                    )
                });
            absent = spec.absent_codes.contains(&code);
            if !absent {
                error = Some(ProbeError { code, message });
            }
        } else if let Some(f) = &call_failure {
            // 2xx the SDK could not parse: the bytes are kept, but pagination stops here.
            error = Some(ProbeError {
                code: f.code.clone(),
                message: f.message.clone(),
            });
        }
        let record = EvidenceRecord {
            probe: (spec.id.clone()).into(),
            provider: "aws".into(),
            partition: (self.partition.clone()).into(),
            account: (self.account.clone()).into(),
            region: (region.to_string()).into(),
            service: (spec.service.clone()).into(),
            operation: (spec.operation.clone()).into(),
            parameters: params.into(),
            captured_at: cap.captured_at.clone(),
            request_id: cap.request_id.clone(),
            http_status: Some(cap.status),
            media_type: (cap.media_type.clone()).into(),
            sha256: Default::default(),
            size: 0,
            error: error.clone(),
        };
        tracing::debug!(probe = %spec.id, region, status = cap.status, attempts = cap.attempts, absent, "recorded");
        Answer {
            record: Some(record),
            body: cap.body,
            next: if error.is_none() { next } else { None },
            error,
        }
    }

    /// Stores an answer and notes it in the probe's run.
    pub fn record_answer(&self, spec: &ProbeSpec, region: &str, answer: &Answer) {
        self.store(answer);
        self.ledger.note_run(
            &spec.id,
            region,
            u64::from(answer.record.is_some()),
            answer.error.clone(),
        );
    }

    fn store(&self, answer: &Answer) {
        if let Some(rec) = &answer.record {
            match self.blobs.put(&answer.body) {
                Ok(digest) => self.add_stored(rec.clone(), digest, answer.body.len() as u64),
                Err(e) => tracing::error!("could not write evidence: {e:#}"),
            }
        }
    }

    fn add_stored(&self, rec: EvidenceRecord, digest: crate::pack::Digest, size: u64) {
        self.writer
            .lock()
            .expect("writer lock")
            .add_stored_record(rec, digest, size);
    }

    /// Stores one answer's body on the blocking pool (hashing, writing and syncing a large page must
    /// not stall the runtime's workers), then adds its record; only the latter takes the writer's lock.
    async fn store_off_runtime(&self, record: Option<EvidenceRecord>, body: Vec<u8>) {
        let Some(rec) = record else { return };
        let blobs = self.blobs.clone();
        let size = body.len() as u64;
        match tokio::task::spawn_blocking(move || blobs.put(&body)).await {
            Ok(Ok(digest)) => self.add_stored(rec, digest, size),
            Ok(Err(e)) => tracing::error!("could not write evidence: {e:#}"),
            Err(e) => tracing::error!("could not write evidence: {e}"),
        }
    }

    /// Runs `spec` in `region` (for one fan-out `key`), follows its pages, then its fan-out children.
    pub fn run(
        self: Arc<Self>,
        spec: ProbeSpec,
        region: String,
        key: Option<String>,
    ) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(async move {
            let children = self.ledger.children(&spec.id);
            let mut keys: Vec<Vec<String>> = vec![Vec::new(); children.len()];
            let mut token: Option<String> = None;
            for _ in 0..MAX_PAGES {
                let Answer {
                    record,
                    body,
                    next,
                    error,
                } = self
                    .call(&spec, &region, key.as_deref(), token.take())
                    .await;
                if let (None, Some(rec)) = (&error, &record) {
                    self.collect_keys(&spec, &children, rec, &body, &mut keys);
                }
                let recorded = u64::from(record.is_some());
                self.store_off_runtime(record, body).await;
                self.ledger.note_run(&spec.id, &region, recorded, error);
                match next {
                    Some(n) if !n.is_empty() => token = Some(n),
                    _ => break,
                }
            }
            // Keys in the order first seen, each once (a key may be listed on several pages).
            for list in &mut keys {
                let mut seen = HashSet::with_capacity(list.len());
                list.retain(|k| seen.insert(k.clone()));
            }
            let source_error = self.ledger.run_failed(&spec.id, &region);
            let mut tasks = tokio::task::JoinSet::new();
            for (child, child_keys) in children.into_iter().zip(keys) {
                // The child (and its own children) ran here, even if there was nothing to ask about.
                self.ledger.note_ran(&child, &region);
                for k in child_keys {
                    let r = self.region_for(&child, &k, &region);
                    let task = self.clone().run(child.clone(), r, Some(k));
                    crate::tasks::spawn_windowed(&mut tasks, self.fan_out_window, task).await;
                }
                if let Some(e) = &source_error {
                    self.ledger
                        .mark_upstream_failed(&child, &region, &spec.id, e);
                }
            }
            while tasks.join_next().await.is_some() {}
        })
    }

    /// S3 per-bucket calls go to the bucket's region once GetBucketLocation told it.
    fn region_for(&self, child: &ProbeSpec, key: &str, region: &str) -> String {
        if child.service == "s3" && child.id != "aws.s3.get_bucket_location" {
            if let Some(r) = self.bucket_regions.lock().expect("lock").get(key) {
                return r.clone();
            }
        }
        region.to_string()
    }

    /// Applies each child's `fan_out` (items, key, key_matches) to the document of one answer.
    fn collect_keys(
        &self,
        spec: &ProbeSpec,
        children: &[ProbeSpec],
        rec: &EvidenceRecord,
        body: &[u8],
        keys: &mut [Vec<String>],
    ) {
        if children.is_empty() && spec.id != "aws.s3.get_bucket_location" {
            return; // nothing fans out from this answer: no need to convert it
        }
        let Ok(doc) = crate::convert::to_document(&rec.media_type, body) else {
            return;
        };
        if spec.id == "aws.s3.get_bucket_location" {
            if let (Some(bucket), Some(loc)) = (
                rec.parameters
                    .get("Bucket")
                    .as_ref()
                    .and_then(Value::as_str),
                doc.as_str(),
            ) {
                self.note_bucket_region(bucket, &s3_location_region(loc));
            }
        }
        for (child, out) in children.iter().zip(keys.iter_mut()) {
            let f = child.fan_out.as_ref().expect("children fan out");
            let (Ok(items), Ok(key)) = (Query::compile(&f.items), KeyExpr::parse(&f.key)) else {
                continue;
            };
            let filter = f
                .key_matches
                .as_deref()
                .and_then(|r| regex::Regex::new(r).ok());
            for item in items.values(&doc) {
                let ctx = KeyContext {
                    params: &rec.parameters,
                    region: &rec.region,
                    account: &rec.account,
                    resource: Some(item),
                };
                for k in key.values(item, &ctx) {
                    if filter.as_ref().is_none_or(|re| re.is_match(&k)) {
                        out.push(k);
                    }
                }
            }
        }
    }

    /// Remembers where a bucket lives, from a GetBucketLocation answer.
    pub fn note_bucket_region(&self, bucket: &str, region: &str) {
        self.bucket_regions
            .lock()
            .expect("lock")
            .insert(bucket.to_string(), region.to_string());
    }
}

/// GetBucketLocation's answer as a region: empty means us-east-1, `EU` the legacy name of eu-west-1.
pub fn s3_location_region(loc: &str) -> String {
    match loc.trim() {
        "" => "us-east-1".into(),
        "EU" => "eu-west-1".into(),
        other => other.to_string(),
    }
}
