//! Runs Alibaba Cloud probes concurrently: regions and products in parallel, bounded by a semaphore and
//! a token bucket per product and region; pages followed as each probe's `pagination` says; fan-out
//! driven by the recorded documents.
//!
//! As for AWS, every answer goes to the pack as it arrives, every probe gets a run entry per region
//! (also when it produced nothing), and a fan-out whose source failed is recorded as `UpstreamFailed`.

use super::client::{error_from_body, CallSpec, OpenApi};
use super::sign::flatten_params;
use crate::aws::ratelimit::TokenBucket;
use crate::pack::{EvidenceRecord, PackWriter, ProbeError};
use crate::probes::{PageStyle, ProbeSpec, Scope};
use crate::rules::path::{scalar_string, KeyContext, KeyExpr, Query};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// Most pages followed for one call chain; a token that never ends is a service bug, not an estate.
const MAX_PAGES: usize = 100_000;

/// Shared state of one scan.
pub struct Scheduler {
    /// The probes and the outcome of each run (the manifest's `probes`).
    pub ledger: crate::run_ledger::RunLedger,
    pub api: OpenApi,
    pub account: String,
    pub writer: Arc<Mutex<PackWriter>>,
    pub semaphore: Semaphore,
    /// Fan-out calls spawned but not finished, at most (see [`crate::tasks::spawn_windowed`]).
    pub fan_out_window: usize,
    pub rate: f64,
    buckets: Mutex<HashMap<(String, String), Arc<TokenBucket>>>,
    /// Fan-out calls already started, by (probe, region, key): a multi-region trail listed in every
    /// region is asked about once, in its home region.
    fanned: Mutex<HashSet<(String, String, String)>>,
    pub calls: AtomicU64,
    pub progress: Option<indicatif::ProgressBar>,
}

/// The outcome of one call.
pub struct Answer {
    pub record: Option<EvidenceRecord>,
    pub body: Vec<u8>,
    /// The converted document of a successful answer.
    pub doc: Option<Value>,
    pub error: Option<ProbeError>,
}

impl Scheduler {
    pub fn new(
        probes: Vec<ProbeSpec>,
        api: OpenApi,
        writer: Arc<Mutex<PackWriter>>,
        concurrency: usize,
        rate: f64,
        progress: Option<indicatif::ProgressBar>,
    ) -> Self {
        Self {
            ledger: crate::run_ledger::RunLedger::new(probes),
            api,
            account: String::new(),
            writer,
            semaphore: Semaphore::new(concurrency.max(1)),
            fan_out_window: 4 * concurrency.max(1),
            rate,
            buckets: Mutex::new(HashMap::new()),
            fanned: Mutex::new(HashSet::new()),
            calls: AtomicU64::new(0),
            progress,
        }
    }

    fn bucket(&self, product: &str, region: &str) -> Arc<TokenBucket> {
        let mut map = self.buckets.lock().expect("bucket lock");
        map.entry((product.to_string(), region.to_string()))
            .or_insert_with(|| Arc::new(TokenBucket::new(self.rate, self.rate.max(1.0))))
            .clone()
    }

    /// The business parameters of a call: the manifest's, the region, the fan-out key and the page.
    pub fn parameters(spec: &ProbeSpec, region: &str, key: Option<&str>) -> Map<String, Value> {
        let mut m: Map<String, Value> = spec
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), crate::rules::condition::toml_to_json(v)))
            .collect();
        if let Some(api) = &spec.api {
            if spec.scope == Scope::Regional && !api.region_param.is_empty() {
                m.entry(api.region_param.clone())
                    .or_insert_with(|| Value::String(region.to_string()));
            }
        }
        if let (Some(f), Some(k)) = (&spec.fan_out, key) {
            m.insert(f.param.clone(), Value::String(k.to_string()));
        }
        m
    }

    /// Sends one call with these parameters and builds its record (not yet stored).
    pub async fn call(&self, spec: &ProbeSpec, region: &str, params: Map<String, Value>) -> Answer {
        let api = spec
            .api
            .as_ref()
            .expect("aliyun probes carry their API facts");
        let permit = self.semaphore.acquire().await.expect("semaphore open");
        self.bucket(&spec.service, region).acquire().await;
        let result = self
            .api
            .call(&CallSpec {
                product: &spec.service,
                api,
                region,
                action: &spec.operation,
                params: flatten_params(&params),
            })
            .await;
        drop(permit);
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(p) = &self.progress {
            p.inc(1);
            p.set_message(format!("{} {region}", spec.operation));
        }
        let resp = match result {
            Ok(r) => r,
            Err(f) => {
                tracing::warn!(probe = %spec.id, region, code = %f.code, "call failed without an answer");
                return Answer {
                    record: None,
                    body: Vec::new(),
                    doc: None,
                    error: Some(ProbeError {
                        code: f.code,
                        message: f.message,
                    }),
                };
            }
        };
        let mut error = None;
        if resp.status >= 300 {
            let (code, message) = error_from_body(&resp.body).unwrap_or_else(|| {
                (
                    format!("HTTP{}", resp.status),
                    format!("HTTP status {}", resp.status),
                )
            });
            if !spec.absent_codes.contains(&code) {
                error = Some(ProbeError { code, message });
            }
        }
        let mut doc = None;
        if error.is_none() && resp.status < 300 {
            match crate::convert::to_document(&resp.media_type, &resp.body) {
                Ok(d) => doc = Some(d),
                Err(e) => {
                    error = Some(ProbeError {
                        code: "UnparsableResponse".into(),
                        message: e.to_string(),
                    })
                }
            }
        }
        tracing::debug!(probe = %spec.id, region, status = resp.status, attempts = resp.attempts, "recorded");
        Answer {
            record: Some(EvidenceRecord {
                probe: (spec.id.clone()).into(),
                provider: "aliyun".into(),
                partition: "aliyun".into(),
                account: (self.account.clone()).into(),
                region: (region.to_string()).into(),
                service: (spec.service.clone()).into(),
                operation: (spec.operation.clone()).into(),
                parameters: Value::Object(params).into(),
                captured_at: resp.captured_at,
                request_id: resp.request_id,
                http_status: Some(resp.status),
                media_type: (resp.media_type).into(),
                sha256: Default::default(),
                size: 0,
                error: error.clone(),
            }),
            body: resp.body,
            doc,
            error,
        }
    }

    /// Stores an answer and notes it in the probe's run.
    pub fn record_answer(&self, spec: &ProbeSpec, region: &str, answer: &Answer) {
        if let Some(rec) = &answer.record {
            if let Err(e) = self
                .writer
                .lock()
                .expect("writer lock")
                .add_record(rec.clone(), &answer.body)
            {
                tracing::error!("could not write evidence: {e:#}");
            }
        }
        self.ledger.note_run(
            &spec.id,
            region,
            u64::from(answer.record.is_some()),
            answer.error.clone(),
        );
    }

    /// Calls `spec` page by page; returns the documents of the successful pages.
    pub async fn pages(
        &self,
        spec: &ProbeSpec,
        region: &str,
        key: Option<&str>,
    ) -> Vec<(EvidenceRecord, Value)> {
        let base = Self::parameters(spec, region, key);
        let mut out = Vec::new();
        let mut page_no: u64 = 1;
        let mut seen: u64 = 0;
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = base.clone();
            match spec.pagination.as_ref().map(|p| (p, p.style)) {
                Some((p, PageStyle::Page)) => {
                    params.insert(p.page_param().to_string(), Value::from(page_no));
                }
                Some((p, PageStyle::Token)) => {
                    if let Some(t) = &token {
                        params.insert(p.token_param().to_string(), Value::String(t.clone()));
                    }
                }
                None => {}
            }
            let answer = self.call(spec, region, params).await;
            self.record_answer(spec, region, &answer);
            let (Some(rec), Some(doc)) = (answer.record, answer.doc) else {
                break;
            };
            let more = self.next_page(spec, &doc, page_no, &mut seen, token.as_deref());
            out.push((rec, doc));
            match more {
                Some(Next::Page) => page_no += 1,
                Some(Next::Token(t)) => token = Some(t),
                None => break,
            }
        }
        out
    }

    /// Whether another page follows `doc`, and how to ask for it.
    fn next_page(
        &self,
        spec: &ProbeSpec,
        doc: &Value,
        page_no: u64,
        seen: &mut u64,
        token: Option<&str>,
    ) -> Option<Next> {
        let p = spec.pagination.as_ref()?;
        let first = |path: &str| {
            Query::compile(path)
                .ok()?
                .select(doc)
                .into_iter()
                .next()
                .and_then(|(v, _)| scalar_string(v))
        };
        match p.style {
            PageStyle::Page => {
                let total: f64 = first(p.total_path())?.parse().ok()?;
                if let Some(items) = &p.items {
                    let n = Query::compile(items).ok()?.select(doc).len() as u64;
                    *seen += n;
                    return (n > 0 && (*seen as f64) < total).then_some(Next::Page);
                }
                let size = spec.parameters.get(p.size_param()).and_then(|v| {
                    v.as_integer()
                        .map(|i| i as f64)
                        .or_else(|| v.as_str()?.parse().ok())
                })?;
                (size > 0.0 && (page_no as f64) * size < total).then_some(Next::Page)
            }
            PageStyle::Token => {
                let next = first(p.next_path()).filter(|t| !t.is_empty())?;
                if let Some(flag) = &p.truncated {
                    if !first(flag).is_some_and(|f| f.eq_ignore_ascii_case("true")) {
                        return None;
                    }
                }
                // A service repeating the token it was given would loop forever.
                (Some(next.as_str()) != token).then_some(Next::Token(next))
            }
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
            let pages = self.pages(&spec, &region, key.as_deref()).await;
            let mut keys: Vec<Vec<(String, String)>> = vec![Vec::new(); children.len()];
            for (rec, doc) in &pages {
                collect_keys(&children, rec, doc, &region, &mut keys);
            }
            let source_error = self.ledger.run_failed(&spec.id, &region);
            let mut tasks = tokio::task::JoinSet::new();
            for (child, child_keys) in children.into_iter().zip(keys) {
                // The child (and its own children) ran here, even if there was nothing to ask about.
                self.ledger.note_ran(&child, &region);
                for (k, target) in child_keys {
                    let first = self.fanned.lock().expect("fanned lock").insert((
                        child.id.clone(),
                        target.clone(),
                        k.clone(),
                    ));
                    if first {
                        let task = self.clone().run(child.clone(), target, Some(k));
                        crate::tasks::spawn_windowed(&mut tasks, self.fan_out_window, task).await;
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

enum Next {
    Page,
    Token(String),
}

/// Applies each child's `fan_out` (items, key, key_matches, home_region) to one answer's document:
/// the keys to call with, each with the region to call in (the item's home region when the fan-out names
/// one, even when that region is not among those scanned; else this region).
fn collect_keys(
    children: &[ProbeSpec],
    rec: &EvidenceRecord,
    doc: &Value,
    region: &str,
    keys: &mut [Vec<(String, String)>],
) {
    for (child, out) in children.iter().zip(keys.iter_mut()) {
        let f = child.fan_out.as_ref().expect("children fan out");
        let (Ok(items), Ok(key)) = (Query::compile(&f.items), KeyExpr::parse(&f.key)) else {
            continue;
        };
        let filter = f
            .key_matches
            .as_deref()
            .and_then(|r| regex::Regex::new(r).ok());
        let home = f
            .home_region
            .as_deref()
            .and_then(|h| Query::compile(h).ok());
        for (item, _) in items.select(doc) {
            let target = home
                .as_ref()
                .and_then(|h| {
                    h.select(item)
                        .into_iter()
                        .find_map(|(v, _)| scalar_string(v))
                })
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| region.to_string());
            let ctx = KeyContext {
                params: &rec.parameters,
                region: &rec.region,
                account: &rec.account,
                resource: Some(item),
            };
            for k in key.values(item, &ctx) {
                let entry = (k, target.clone());
                if filter.as_ref().is_none_or(|re| re.is_match(&entry.0)) && !out.contains(&entry) {
                    out.push(entry);
                }
            }
        }
    }
}
