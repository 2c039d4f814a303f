//! Pack writing speed, in MB/s of evidence: blobs hashed and written (content-addressed, written beside
//! and renamed), records added, the manifest written.
//!
//!     cargo bench --bench pack
//!
//! * `pack/large pages`: 40 distinct DescribeSecurityGroups pages of ~1.8 MB.
//! * `pack/small answers`: 2,000 distinct DescribeSnapshotAttribute answers of ~300 bytes (the fan-out
//!   case, where the cost per record dominates).

mod support;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dengbao::pack::{EvidenceRecord, PackWriter, ScanInfo};
use serde_json::json;

fn scan() -> ScanInfo {
    ScanInfo {
        provider: "aws".into(),
        partition: "aws-cn".into(),
        accounts: vec![support::ACCOUNT.into()],
        regions: vec!["cn-north-1".into()],
        started_at: "2026-11-25T00:00:00.000Z".into(),
        finished_at: "2026-11-25T00:10:00.000Z".into(),
        sweep: None,
    }
}

fn record(i: usize) -> EvidenceRecord {
    EvidenceRecord {
        probe: "aws.ec2.describe_snapshot_attribute".into(),
        provider: "aws".into(),
        partition: "aws-cn".into(),
        account: support::ACCOUNT.into(),
        region: "cn-north-1".into(),
        service: "ec2".into(),
        operation: "DescribeSnapshotAttribute".into(),
        parameters:
            json!({"Attribute": "createVolumePermission", "SnapshotId": support::snapshot_id(i)})
                .into(),
        captured_at: "2026-11-25T00:00:00.000Z".into(),
        request_id: Some(format!("req-{i}")),
        http_status: Some(200),
        media_type: "text/xml;charset=UTF-8".into(),
        sha256: Default::default(),
        size: 0,
        error: None,
    }
}

fn write(c: &mut Criterion) {
    let mut g = c.benchmark_group("pack");
    g.sample_size(10);
    let large: Vec<String> = (0..40)
        .map(|p| support::sg_page(p * 1000, 1000, 10))
        .collect();
    let small: Vec<String> = (0..2000)
        .map(|i| support::snapshot_attribute(i, i % 200 == 0))
        .collect();
    for (name, bodies) in [("large pages", &large), ("small answers", &small)] {
        let bytes: usize = bodies.iter().map(String::len).sum();
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(name, |b| {
            b.iter_batched(
                || tempfile::tempdir().unwrap(),
                |dir| {
                    let mut w = PackWriter::create(&dir.path().join("pack"), scan()).unwrap();
                    for (i, body) in bodies.iter().enumerate() {
                        w.add_record(record(i), body.as_bytes()).unwrap();
                    }
                    w.finish().unwrap();
                    dir
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, write);
criterion_main!(benches);
