//! Assembles an evidence pack from hand-written response bodies (how `fixtures/demo-pack/` is built).
//!
//! ```text
//! cargo run --example assemble_pack -- fixtures/demo-src fixtures/demo-pack
//! ```
//!
//! `SRC/records.json` lists the calls (probe, service, operation, region, parameters, captured_at,
//! request_id, http_status, media_type, `body` file relative to SRC, optional `error`). Error codes a
//! probe declares as `absent_codes` ("not configured") become ordinary answers, as a live scan records them.

use anyhow::{Context, Result};
use dengbao::embedded::{toml_files, PROBES};
use dengbao::pack::{EvidenceRecord, PackWriter, ProbeError, ProbeRun, ProbeStatus, ScanInfo};
use dengbao::probes::ProbeCatalog;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Src {
    provider: String,
    partition: String,
    account: String,
    regions: Vec<String>,
    started_at: String,
    finished_at: String,
    records: Vec<SrcRecord>,
}

#[derive(Deserialize)]
struct SrcRecord {
    probe: String,
    service: String,
    operation: String,
    region: String,
    parameters: serde_json::Value,
    captured_at: String,
    request_id: Option<String>,
    http_status: Option<u16>,
    media_type: String,
    body: String,
    error: Option<ProbeError>,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [src, out] = args.as_slice() else {
        anyhow::bail!("usage: assemble_pack SRC_DIR OUT_DIR");
    };
    let (src_dir, out) = (PathBuf::from(src), PathBuf::from(out));
    let probes = ProbeCatalog::from_files(&toml_files(&PROBES, "probes", None)?)?;
    let spec: Src = serde_json::from_slice(&std::fs::read(src_dir.join("records.json"))?)
        .context("records.json")?;
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let scan = ScanInfo {
        provider: spec.provider.clone(),
        partition: spec.partition.clone(),
        accounts: vec![spec.account.clone()],
        regions: spec.regions.clone(),
        started_at: spec.started_at,
        finished_at: spec.finished_at,
    };
    let mut w = PackWriter::create(&out, scan)?;
    let mut runs: BTreeMap<(String, String), ProbeRun> = BTreeMap::new();
    for r in spec.records {
        let probe = probes
            .get(&r.probe)
            .with_context(|| format!("probe {} is not declared under probes/", r.probe))?;
        let error = r.error.filter(|e| !probe.absent_codes.contains(&e.code));
        let body = std::fs::read(src_dir.join(&r.body)).with_context(|| r.body.clone())?;
        let run = runs
            .entry((r.probe.clone(), r.region.clone()))
            .or_insert_with(|| ProbeRun {
                id: r.probe.clone(),
                region: r.region.clone(),
                status: ProbeStatus::Ok,
                records: 0,
                error: None,
            });
        run.records += 1;
        if let Some(e) = &error {
            run.status = ProbeStatus::Error;
            run.error = Some(e.clone());
        }
        let rec = EvidenceRecord {
            probe: r.probe,
            provider: spec.provider.clone(),
            partition: spec.partition.clone(),
            account: spec.account.clone(),
            region: r.region,
            service: r.service,
            operation: r.operation,
            parameters: r.parameters,
            captured_at: r.captured_at,
            request_id: r.request_id,
            http_status: r.http_status,
            media_type: r.media_type,
            sha256: String::new(),
            size: 0,
            error,
        };
        w.add_record(rec, &body)?;
    }
    // A fan-out probe cannot run where its source failed: record that, as a live scan does, so the
    // rules that read it say `error` instead of seeing "nothing there".
    let failed: Vec<(String, String, ProbeError)> = runs
        .values()
        .filter_map(|r| r.error.clone().map(|e| (r.id.clone(), r.region.clone(), e)))
        .collect();
    for (source, region, e) in failed {
        for p in probes
            .probes
            .values()
            .filter(|p| p.fan_out.as_ref().is_some_and(|f| f.from == source))
        {
            runs.entry((p.id.clone(), region.clone()))
                .or_insert_with(|| ProbeRun {
                    id: p.id.clone(),
                    region: region.clone(),
                    status: ProbeStatus::Error,
                    records: 0,
                    error: Some(ProbeError {
                        code: "UpstreamFailed".into(),
                        message: format!(
                            "not run: {source} failed in {region} ({}: {})",
                            e.code, e.message
                        ),
                    }),
                });
        }
    }
    for run in runs.into_values() {
        w.add_probe_run(run);
    }
    let m = w.finish()?;
    println!("wrote {} ({} records)", out.display(), m.records.len());
    Ok(())
}
