//! Judging documents: resources judged as their XML document converts give the results the
//! ordinary way gives (documents converted first, then judged), including documents whose list
//! turns out not to be the plain list the rules name; and what a quantifier cites.

mod common;
use common::*;
use dengbao::engine::{evaluate, evaluate_index, EvidenceIndex, Scope};
use serde_json::Value;

const RULES: &str = r#"
[[rule]]
id = "vpc-flow-all"
title = { zh = "流日志", en = "flow logs capture all traffic" }
evidence = "t.svc.a"
resources = "$.vpcs[*]"
resource_id = "$.id"
require = { path = "$.flow", eq = "ALL" }

[[rule]]
id = "vpc-no-open-rule"
title = { zh = "无开放规则", en = "no rule open to any address" }
evidence = "t.svc.a"
resources = "$.vpcs[*]"
resource_id = "$.id"
where = { path = "$.id", ne = "skipped" }
require = { none = "$.rules[*]", check = { all_of = [
    { any_of = [ { path = "$.cidr", any_address = true }, { path = "$.cidr6", any_address = true } ] },
    { path = "$.port", eq = 22 },
] } }

[[rule]]
id = "vpc-ids"
title = { zh = "标识", en = "every id is named" }
evidence = "t.svc.a"
resources = "$.vpcs[*].id"
require = { path = "$", ne = "" }

[[control]]
id = "L3-ABS2-05"
automation = "partial"
rules = ["vpc-flow-all", "vpc-no-open-rule", "vpc-ids"]
rationale = { zh = "理由", en = "why" }
"#;

fn xml(body: &str) -> Value {
    Value::String(format!(
        "<R xmlns=\"urn:t\"><requestId>r</requestId>{body}</R>"
    ))
}

fn vpc(id: &str, flow: &str, rules: &[(&str, u16)]) -> String {
    let rules: String = rules
        .iter()
        .map(|(cidr, port)| format!("<item><cidr>{cidr}</cidr><port>{port}</port></item>"))
        .collect();
    format!("<item><id>{id}</id><flow>{flow}</flow><rules>{rules}</rules></item>")
}

/// Streamed from the pack, each resource judged as the converter finishes it; and the same pack
/// converted whole first: the results are the same bytes.
#[test]
fn resources_judged_as_they_convert_give_the_ordinary_results() {
    let plain = format!(
        "<vpcs>{}{}{}</vpcs>",
        vpc("v1", "ALL", &[("10.0.0.0/8", 22), ("0.0.0.0/0", 443)]),
        vpc("v2", "REJECT", &[("0.0.0.0/0", 22)]),
        vpc("skipped", "ALL", &[])
    );
    let calls = vec![
        // A plain list: kept as judged.
        ok("t.svc.a", "r1", xml(&plain)),
        // Not a plain list (another element beside the items): judged again the ordinary way.
        ok(
            "t.svc.a",
            "r1",
            xml(&format!(
                "<vpcs>{}<note><id>n</id></note></vpcs>",
                vpc("v3", "ALL", &[])
            )),
        ),
        // Two lists of the same name (an array of arrays), and an item that is text.
        ok(
            "t.svc.a",
            "r2",
            xml(&format!(
                "<vpcs>{}</vpcs><vpcs>{}</vpcs>",
                vpc("v4", "ALL", &[]),
                vpc("v5", "NONE", &[])
            )),
        ),
        ok("t.svc.a", "r2", xml("<vpcs><item>v6</item></vpcs>")),
        ok("t.svc.a", "r2", xml("<vpcs/>")),
        // Not XML at all.
        ok(
            "t.svc.a",
            "r2",
            serde_json::json!({"vpcs": [{"id": "v7", "flow": "ALL"}]}),
        ),
    ];
    let streamed = judged_streamed_and_converted_alike(&["r1", "r2"], calls);

    let c = control(&streamed, "L3-ABS2-05");
    let flow = c.rules[0].resources.to_vec();
    let ids: Vec<&str> = flow.iter().map(|r| r.id.as_str()).collect();
    // The mixed wrapper is an object: `[*]` takes its members in name order (item, note). The two
    // lists are an array of arrays and the text item is text: none has an id, so they are named
    // by where they are.
    assert_eq!(
        ids,
        [
            "v1",
            "v2",
            "skipped",
            "v3",
            "n",
            "$['vpcs'][0]",
            "$['vpcs'][1]",
            "$['vpcs'][0]",
            "v7"
        ],
        "{flow:?}"
    );
    assert_eq!(
        c.rules[0].failed, 5,
        "v2 (REJECT), n and the three without a flow"
    );
    // `where` leaves out `skipped`; v2 opens SSH to any address.
    let open = c.rules[1].resources.to_vec();
    assert_eq!(
        open.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["v1", "v2", "v3", "n", "v7"]
    );
    assert_eq!(c.rules[1].failed, 1);
}

/// A list longer than judging holds results for while its document converts (4,096 items, so a
/// hostile body of a million does not hold a million results): judged the ordinary way once
/// converted, with the same results as a pack converted whole first.
#[test]
fn a_list_too_long_to_judge_while_converting_gives_the_ordinary_results() {
    let items: String = (0..5000)
        .map(|n| {
            vpc(
                &format!("v{n}"),
                if n % 7 == 0 { "NONE" } else { "ALL" },
                &[("0.0.0.0/0", 22)],
            )
        })
        .collect();
    let calls = vec![ok("t.svc.a", "r1", xml(&format!("<vpcs>{items}</vpcs>")))];
    let streamed = judged_streamed_and_converted_alike(&["r1"], calls);
    let c = control(&streamed, "L3-ABS2-05");
    assert_eq!(c.rules[0].resources.len(), 5000);
    // Every 7th has flow logs off (0, 7, …, 4998: 715 of them); every one opens SSH to any address.
    assert_eq!(c.rules[0].failed, 715);
    assert_eq!(c.rules[1].failed, 5000);
}

/// A quantifier that passes over a list cites the list; one that fails cites the items that
/// made it fail, each judged again to say where.
#[test]
fn quantifiers_cite_the_list_or_the_items_that_decided() {
    let body = format!(
        "<vpcs>{}{}</vpcs>",
        vpc("v1", "ALL", &[("10.0.0.0/8", 22), ("0.0.0.0/0", 443)]),
        vpc(
            "v2",
            "ALL",
            &[
                ("10.0.0.0/8", 80),
                ("0.0.0.0/0", 22),
                ("::/0", 80),
                ("0.0.0.0/0", 22)
            ]
        )
    );
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(d.path(), &["r1"], vec![ok("t.svc.a", "r1", xml(&body))]);
    let r = evaluate(&pack, &catalog(), &rules(RULES).unwrap()).unwrap();
    let open = control(&r, "L3-ABS2-05").rules[1].resources.to_vec();
    let digest = &open[0].evidence[0];
    let at = |l: &str| format!("{digest}#$['vpcs']{l}");
    // v1 passes: its rules list is cited, not each rule looked at.
    assert_eq!(open[0].locations, [at("[0]['rules']")]);
    // v2 fails: the two rules opening SSH to any address, with what made each match.
    assert_eq!(
        open[1].locations,
        [
            at("[1]['rules'][1]['cidr']"),
            at("[1]['rules'][1]['port']"),
            at("[1]['rules'][3]['cidr']"),
            at("[1]['rules'][3]['port']"),
        ]
    );
}

/// Judges a pack of `calls` as `evaluate` does (lists judged while they convert) and from documents
/// converted whole first; asserts both give the same bytes and returns the first.
fn judged_streamed_and_converted_alike(
    regions: &[&str],
    calls: Vec<Call>,
) -> dengbao::results::Results {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(d.path(), regions, calls);
    let set = rules(RULES).unwrap();
    let streamed = evaluate(&pack, &catalog(), &set).unwrap();
    let mut index = EvidenceIndex::build(&pack).unwrap();
    let converted = evaluate_index(&mut index, &catalog(), &set, &Scope::default()).unwrap();
    assert_eq!(
        String::from_utf8(streamed.to_json_bytes()).unwrap(),
        String::from_utf8(converted.to_json_bytes()).unwrap()
    );
    streamed
}
