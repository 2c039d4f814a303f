//! Property-based fuzzing on the stable toolchain (issue #12): the manifest reader, XML→JSON, JSON
//! documents through the engine, the rule/condition parser and the report renderers never panic,
//! never exceed their limits, and stay deterministic, on generated hostile input.
//!
//! Each property runs a fixed number of cases (`CASES_*` below; `PROPTEST_CASES` overrides them all),
//! about a minute in all on a debug build. A failing case proptest finds is written under
//! `proptest-regressions/` and committed: it is replayed first on every later run.

mod common;
use common::*;
use dengbao::convert::{to_document, xml_to_json};
use dengbao::limits::MAX_DOCUMENT_DEPTH;
use dengbao::report::pretty::{pretty_json_capped, pretty_xml_capped};
use dengbao::report::{EvidenceSet, Format, ReportInput};
use proptest::prelude::*;
use serde_json::{json, Value};

/// Cheap properties (pure functions on strings).
const CASES_CHEAP: u32 = 1024;
/// Properties that write a pack and evaluate or render it, or compile rules.
const CASES_PACK: u32 = 96;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        // Failing inputs are kept here, committed, and replayed first on every run.
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::Direct("proptest-regressions/fuzz.txt"),
        )),
        ..ProptestConfig::default()
    }
}

/// The built-in catalog and the test probes, loaded once.
fn catalog_and_probes() -> &'static (dengbao::catalog::Catalog, dengbao::probes::ProbeCatalog) {
    static ONCE: std::sync::OnceLock<(dengbao::catalog::Catalog, dengbao::probes::ProbeCatalog)> =
        std::sync::OnceLock::new();
    ONCE.get_or_init(|| (catalog(), test_probes()))
}

/// Depth of a JSON value, counted without recursion.
fn depth(v: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Array(a) => stack.extend(a.iter().map(|x| (x, d + 1))),
            Value::Object(m) => stack.extend(m.values().map(|x| (x, d + 1))),
            _ => {}
        }
    }
    max
}

/// XML-ish text: nested elements (sometimes very deep), attributes, text, entities, CDATA, junk.
fn xmlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zA-Z][a-zA-Z0-9:]{0,6}".prop_map(|n| format!("<{n}>")),
        "[a-zA-Z][a-zA-Z0-9]{0,6}".prop_map(|n| format!("</{n}>")),
        "[a-z]{1,4}".prop_map(|n| format!("<{n}/>")),
        ("[a-z]{1,4}", "[a-z]{1,4}", "[^\"<&]{0,8}")
            .prop_map(|(n, a, v)| format!("<{n} {a}=\"{v}\">")),
        Just("<item>".to_string()),
        Just("</item>".to_string()),
        Just("<member/>".to_string()),
        "[^<&]{0,12}",
        prop_oneof![
            Just("&amp;"),
            Just("&lt;"),
            Just("&#65;"),
            Just("&bogus;"),
            Just("&")
        ]
        .prop_map(String::from),
        "[^\\]]{0,8}".prop_map(|t| format!("<![CDATA[{t}]]>")),
        (1usize..400).prop_map(|n| "<d>".repeat(n)),
        (1usize..400).prop_map(|n| "</d>".repeat(n)),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

/// Arbitrary JSON values, a few levels deep, with hostile strings.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("=cmd|' /C calc'!A0"),
            Just("<script>alert(1)</script>"),
            Just("|`*_[]#")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z$.\\[\\]']{1,6}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config(CASES_CHEAP))]

    /// XML→JSON: never panics, never deeper than the limit, and what it makes reads back as JSON.
    #[test]
    fn xml_to_json_is_bounded(xml in xmlish()) {
        if let Ok(v) = xml_to_json(xml.as_bytes()) {
            prop_assert!(depth(&v) <= MAX_DOCUMENT_DEPTH);
            let text = serde_json::to_string(&v).unwrap();
            prop_assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), v);
        }
    }

    /// Any body under any media type: a document or an error, never a panic; never past the depth limit.
    #[test]
    fn bodies_convert_or_fail(body in prop::collection::vec(any::<u8>(), 0..256),
                              deep in 0usize..400,
                              media in prop_oneof![Just("application/json"), Just("text/xml"), Just("application/cbor"), Just("")]) {
        let mut body = body;
        if deep > 0 {
            let (open, close) = if media == "application/json" { ("[", "]") } else { ("<a>", "</a>") };
            body = [open.repeat(deep).into_bytes(), body, close.repeat(deep).into_bytes()].concat();
        }
        if let Ok(v) = to_document(media, &body) {
            prop_assert!(depth(&v) <= MAX_DOCUMENT_DEPTH);
        }
    }

    /// The report's pretty-printers stop at their cap, whatever the text.
    #[test]
    fn pretty_printers_respect_their_cap(text in ".{0,200}", deep in 0usize..2000, max in 1usize..300) {
        let text = format!("{}{text}{}", "[".repeat(deep), "]".repeat(deep / 2));
        let (s, _) = pretty_json_capped(&text, max);
        prop_assert!(s.chars().count() <= max);
        let xml = format!("{}{text}", "<a>".repeat(deep));
        if let Some((s, _)) = pretty_xml_capped(&xml, max) {
            prop_assert!(s.chars().count() <= max);
        }
    }

    /// Markdown and HTML escaping leave no markup behind.
    #[test]
    fn escaping_leaves_no_markup(s in ".{0,64}") {
        let md = dengbao::report::markdown::escape(&s);
        prop_assert!(!md.contains('<') && !md.contains('\n'));
        let html = dengbao::report::html::esc(&s);
        prop_assert!(!html.contains('<') && !html.contains('"'));
        prop_assert!(!dengbao::report::csv::guard(&s).starts_with(['=', '+', '-', '@']));
    }

}

proptest! {
    #![proptest_config(config(CASES_PACK * 4))]

    /// The condition parser: any condition text is a rule set or a list of errors, never a panic.
    #[test]
    fn conditions_compile_or_fail(cond in condition_text()) {
        let text = format!(
            "[[rule]]\nid = \"r\"\ntitle = {{ zh = \"z\", en = \"e\" }}\nevidence = \"t.svc.a\"\nresources = \"$.items[*]\"\nrequire = {cond}\n"
        );
        let file = dengbao::embedded::SourceFile {
            display: "t/rules.toml".into(),
            rel: "t/rules.toml".into(),
            text,
        };
        let (catalog, probes) = catalog_and_probes();
        let _ = dengbao::rules::load(&[file], catalog, probes);
    }
}

/// Condition text from the language's pieces, nested and recombined, with junk mixed in.
fn condition_text() -> impl Strategy<Value = String> {
    let path = prop_oneof![
        Just("$.a".to_string()),
        Just("$.a[*].b".to_string()),
        Just("$['x'][0]".to_string()),
        Just("param.Bucket".to_string()),
        "[$.\\[\\]*'a-z0-9]{0,10}",
    ];
    let op = prop_oneof![
        Just("eq"),
        Just("ne"),
        Just("gt"),
        Just("contains"),
        Just("matches"),
        Just("in"),
        Just("exists"),
        Just("bogus"),
    ];
    let value = prop_oneof![
        Just("1".to_string()),
        Just("\"x\"".to_string()),
        Just("true".to_string()),
        Just("[1, \"a\"]".to_string()),
        Just("\"(\"".to_string()),
        Just("{}".to_string()),
    ];
    let leaf =
        (path.clone(), op, value).prop_map(|(p, o, v)| format!("{{ path = \"{p}\", {o} = {v} }}"));
    leaf.prop_recursive(5, 32, 4, move |inner| {
        let path = path.clone();
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("{{ all_of = [{}] }}", v.join(", "))),
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|v| format!("{{ any_of = [{}] }}", v.join(", "))),
            inner.clone().prop_map(|c| format!("{{ not = {c} }}")),
            (path, inner.clone()).prop_map(|(p, c)| format!("{{ all = \"{p}\", check = {c} }}")),
            (inner, "[a-z{}=\\[\\], ]{0,6}").prop_map(|(c, junk)| format!("{c}{junk}")),
        ]
    })
}

const ENGINE_RULES: &str = r#"
[[rule]]
id = "fuzz-items"
title = { zh = "条目", en = "items" }
evidence = "t.svc.a"
resources = "$.items[*]"
resource_id = "$.id"
require = { any_of = [ { path = "$.ok", eq = true }, { all = "$.tags[*]", check = { path = "$.k", ne = "bad" } } ] }

[[rule]]
id = "fuzz-joined"
title = { zh = "关联", en = "joined" }
evidence = "t.svc.a"
resources = "$.items[*]"
require = { count = { join = "t.svc.b", items = "$.logs[*]", on = "$.vpc", equals = "$.id" }, ge = 1 }

[[control]]
id = "L3-ABS2-05"
automation = "partial"
rationale = { zh = "模糊测试", en = "fuzzing" }
rules = ["fuzz-items", "fuzz-joined"]
"#;

proptest! {
    #![proptest_config(config(CASES_PACK))]

    /// The manifest reader: a well-formed pack whose manifest has been tampered with (a field
    /// replaced by arbitrary JSON) opens with checked digests, or is refused; it never panics.
    #[test]
    fn manifest_reader_checks_or_refuses(field in 0usize..6, value in json_value(), digest in "sha256:[0-9a-f./]{0,70}") {
        let d = tempfile::tempdir().unwrap();
        write_pack(d.path(), &["r1"], vec![ok("t.svc.a", "r1", json!({"items": []}))]);
        let path = d.path().join("manifest.json");
        let mut m: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let rec = &mut m["records"][0];
        match field {
            0 => rec["sha256"] = digest.into(),
            1 => rec["size"] = value,
            2 => rec["parameters"] = value,
            3 => m["scan"] = value,
            4 => m["records"] = value,
            _ => m = value,
        }
        std::fs::write(&path, serde_json::to_vec(&m).unwrap()).unwrap();
        if let Ok(pack) = dengbao::pack::Pack::open(d.path()) {
            for r in &pack.manifest.records {
                prop_assert!(dengbao::pack::Digest::parse(r.sha256.as_str()).is_ok());
            }
            let _ = dengbao::pack::verify(d.path()).unwrap();
        }
    }

    /// JSON documents through the engine and every report renderer: no panic, the same results
    /// twice, and every format renders.
    #[test]
    fn documents_through_engine_and_reports(a in json_value(), items in prop::collection::vec(json_value(), 0..5), b in json_value()) {
        let d = tempfile::tempdir().unwrap();
        let doc_a = json!({"items": items, "extra": a});
        let pack = write_pack(d.path(), &["r1", "r2"], vec![
            ok("t.svc.a", "r1", doc_a),
            ok("t.svc.b", "r1", json!({"logs": b})),
        ]);
        static RULES: std::sync::OnceLock<dengbao::rules::RuleSet> = std::sync::OnceLock::new();
        let (catalog, probes) = catalog_and_probes();
        let set = RULES.get_or_init(|| {
            let file = dengbao::embedded::SourceFile {
                display: "t/rules.toml".into(),
                rel: "t/rules.toml".into(),
                text: ENGINE_RULES.into(),
            };
            dengbao::rules::load(&[file], catalog, probes).unwrap()
        });
        let results = dengbao::engine::evaluate(&pack, catalog, set).unwrap();
        prop_assert_eq!(
            serde_json::to_string(&dengbao::engine::evaluate(&pack, catalog, set).unwrap()).unwrap(),
            serde_json::to_string(&results).unwrap()
        );
        let evidence = EvidenceSet::from_pack(&pack, &results).unwrap();
        let input = ReportInput { results: &results, catalog, evidence: &evidence };
        for f in Format::ALL {
            let out = f.render(&input).unwrap();
            prop_assert!(!out.is_empty());
        }
    }
}
