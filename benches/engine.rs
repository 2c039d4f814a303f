//! Rule engine throughput: resource-rule checks per second.
//!
//!     cargo bench --bench engine                      # 50,000 security groups (10 rules each) …
//!     DENGBAO_BENCH_SGS=5000 cargo bench --bench engine
//!
//! Throughput is in resource-rule checks: every resource judged by every rule that reads it. The
//! estate: 50,000 security groups of 10 rules, 20,000 snapshots with their attributes, 2,000 instances,
//! 200 VPCs (sizes from `DENGBAO_BENCH_SGS`, `DENGBAO_BENCH_SNAPSHOTS`, `DENGBAO_BENCH_INSTANCES`), in
//! pages of 500 (what a scan asks EC2 for security groups).
//!
//! * `engine/judge`: the shipped AWS rules over the pack on disk, as `dengbao evaluate` runs them (each
//!   document read and converted, its resources judged by every rule as they convert), counting the
//!   time spent judging only. Conversion is measured on its own by the `convert` bench.
//! * `engine/evaluate_index`: the same over documents all converted up front and kept (the whole
//!   estate, over a gigabyte of documents, far from the CPU's caches; not how evaluation runs).
//! * `engine/evaluate_pack`: end to end from the pack on disk (read, convert, judge), on a tenth of the
//!   estate.
//! * `condition/*`: single condition checks on one security group / snapshot.

mod support;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dengbao::engine::{evaluate, evaluate_index, evaluate_timed, EvidenceIndex, Scope};
use dengbao::rules::condition::Join;
use dengbao::rules::eval::{eval, JoinLookup, Node, Origin, Trace, Truth};
use serde_json::Value;
use std::hint::black_box;
use std::time::Duration;
use support::Sizes;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn sizes(scale: usize) -> Sizes {
    Sizes {
        sgs: env("DENGBAO_BENCH_SGS", 50_000) / scale,
        rules_per_sg: 10,
        snapshots: env("DENGBAO_BENCH_SNAPSHOTS", 20_000) / scale,
        instances: env("DENGBAO_BENCH_INSTANCES", 2_000) / scale,
        vpcs: 200,
        page: 500,
    }
}

fn engine(c: &mut Criterion) {
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").expect("shipped mappings");
    let scope = Scope::default();

    let dir = tempfile::tempdir().unwrap();
    let s = sizes(1);
    let pack = support::write_pack(&dir.path().join("pack"), s);
    let results = evaluate(&pack, &loaded.catalog, &loaded.rules).unwrap();
    let checks = support::checks(&results);
    drop(results);
    eprintln!("engine: {s:?}: {checks} resource-rule checks per evaluation");
    let mut g = c.benchmark_group("engine");
    g.sample_size(10);
    g.throughput(Throughput::Elements(checks));
    g.bench_function("judge", |b| {
        b.iter_custom(|iters| {
            let mut judging = Duration::ZERO;
            for _ in 0..iters {
                let mut index = EvidenceIndex::open(&pack);
                let (results, timings) =
                    evaluate_timed(&mut index, &loaded.catalog, &loaded.rules, &scope).unwrap();
                black_box(results);
                judging += timings.judging;
            }
            judging
        })
    });
    // Every document converted up front and kept.
    let mut index = EvidenceIndex::build(&pack).unwrap();
    g.bench_function("evaluate_index", |b| {
        b.iter_batched(
            || (),
            |_| evaluate_index(&mut index, &loaded.catalog, &loaded.rules, &scope).unwrap(),
            BatchSize::PerIteration,
        )
    });
    drop(index);
    drop(pack);

    let small = sizes(10);
    let pack = support::write_pack(&dir.path().join("small"), small);
    let checks = support::checks(&evaluate(&pack, &loaded.catalog, &loaded.rules).unwrap());
    eprintln!("engine/evaluate_pack: {small:?}: {checks} resource-rule checks per evaluation");
    g.throughput(Throughput::Elements(checks));
    g.bench_function("evaluate_pack", |b| {
        b.iter_batched(
            || (),
            |_| evaluate(&pack, &loaded.catalog, &loaded.rules).unwrap(),
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// No joins: the micro-benchmarks judge one document on its own.
struct NoJoins;
impl JoinLookup for NoJoins {
    fn lookup(
        &self,
        _: &Join,
        _: &str,
        _: &str,
        _: bool,
        _: &mut dyn FnMut(&Node<'_>) -> bool,
    ) -> Option<String> {
        None
    }
}

fn first_item(xml: &str, list: &str) -> Value {
    let doc = dengbao::convert::xml_to_json(xml.as_bytes()).unwrap();
    doc[list][0].clone()
}

fn conditions(c: &mut Criterion) {
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").expect("shipped mappings");
    let rule = |id: &str| loaded.rules.rules[id].require.clone();
    let params: dengbao::pack::Params = Value::Object(Default::default()).into();
    // Group 7 opens SSH to the internet (so `none` stops at its first permission), group 8 opens
    // nothing (every permission is examined).
    let open = first_item(&support::sg_page(7, 1, 10), "securityGroupInfo");
    let closed = first_item(&support::sg_page(8, 1, 10), "securityGroupInfo");
    let snap = first_item(&support::snapshot_page(0, 1), "snapshotSet");
    let cases: Vec<(&str, dengbao::rules::condition::Condition, &Value, Truth)> = vec![
        (
            "eq (snapshot encrypted)",
            rule("aws-ebs-snapshots-encrypted"),
            &snap,
            Truth::True,
        ),
        (
            "sg admin ports, 10 permissions, none open",
            rule("aws-sg-open-but-unexposed"),
            &closed,
            Truth::True,
        ),
        (
            "sg admin ports, first permission open",
            rule("aws-sg-open-but-unexposed"),
            &open,
            Truth::False,
        ),
        (
            "sg all traffic between VMs, 10 permissions",
            rule("aws-sg-no-all-traffic-between-vms"),
            &closed,
            Truth::True,
        ),
    ];
    let mut g = c.benchmark_group("condition");
    g.throughput(Throughput::Elements(1));
    for (name, cond, value, want) in &cases {
        let node = Node {
            value,
            location: "sha256:0000000000000000000000000000000000000000000000000000000000000000#$['securityGroupInfo'][0]".into(),
            origin: Origin {
                record: 0,
                region: "cn-north-1",
                account: support::ACCOUNT,
                params: &params,
                resource: value,
            },
        };
        assert_eq!(
            eval(cond, &node, &NoJoins, &mut Trace::default()),
            *want,
            "{name}"
        );
        g.bench_function(*name, |b| {
            b.iter(|| {
                let mut t = Trace::default();
                black_box(eval(black_box(cond), black_box(&node), &NoJoins, &mut t))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, conditions, engine);
criterion_main!(benches);
