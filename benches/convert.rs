//! XML → JSON conversion (`dengbao-xml/1`) speed, in MB/s of response body.
//!
//!     cargo bench --bench convert
//!
//! A DescribeSecurityGroups answer of 1,000 groups with 10 rules each (the largest page the scan asks
//! for, ~1.8 MB) and one of 200 groups; a DescribeSnapshots page of 1,000 snapshots; and, for scale, the
//! JSON parse of the converted document (what a JSON-protocol answer of the same content costs).

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use dengbao::convert::{to_document, xml_to_json};
use std::hint::black_box;

fn convert(c: &mut Criterion) {
    let mut g = c.benchmark_group("convert");
    let cases = [
        (
            "DescribeSecurityGroups 1000x10",
            support::sg_page(0, 1000, 10),
        ),
        (
            "DescribeSecurityGroups 200x10",
            support::sg_page(0, 200, 10),
        ),
        ("DescribeSnapshots 1000", support::snapshot_page(0, 1000)),
    ];
    for (name, xml) in &cases {
        g.throughput(Throughput::Bytes(xml.len() as u64));
        g.bench_function(format!("xml {name}"), |b| {
            b.iter(|| xml_to_json(black_box(xml.as_bytes())).unwrap())
        });
    }
    let json = serde_json::to_vec(&xml_to_json(cases[0].1.as_bytes()).unwrap()).unwrap();
    g.throughput(Throughput::Bytes(json.len() as u64));
    g.bench_function("json DescribeSecurityGroups 1000x10 (same content)", |b| {
        b.iter(|| to_document("application/x-amz-json-1.1", black_box(&json)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, convert);
criterion_main!(benches);
