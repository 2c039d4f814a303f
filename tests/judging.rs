//! Judging documents: resources judged as their XML or JSON document converts give the results the
//! ordinary way gives (documents converted first, then judged), including documents whose list
//! turns out not to be the plain list the rules name, and huge lists left out of the document as
//! they are judged; a body cut off after many items is an error for every rule; and what a
//! quantifier cites.

mod common;
use common::*;
use dengbao::engine::{evaluate, evaluate_index, EvidenceIndex, Scope};
use dengbao::results::{ResourceStatus, Results};
use dengbao::verdict::Verdict;
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
    let streamed = judged_both_ways_in(&["r1", "r2"], calls, RULES);

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
    let streamed = judged_both_ways(calls, RULES);
    let c = control(&streamed, "L3-ABS2-05");
    assert_eq!(c.rules[0].resources.len(), 5000);
    // Every 7th has flow logs off (0, 7, …, 4998: 715 of them); every one opens SSH to any address.
    assert_eq!(c.rules[0].failed, 715);
    assert_eq!(c.rules[1].failed, 5000);
}

/// [`RULES`] without the rule over ids: rules that all name one list (as every rule over
/// `DescribeSnapshots` does), so a huge list of it is left out of its document as it converts.
fn one_list_rules() -> String {
    let (two, ids) = RULES.split_once("[[rule]]\nid = \"vpc-ids\"").unwrap();
    let control = &ids[ids.find("[[control]]").unwrap()..];
    format!("{two}{}", control.replace(r#", "vpc-ids""#, ""))
}

/// More items than are judged while a document converts before its list is left out.
const HUGE: usize = 5000;

/// VPC `n`'s flow logs and the address its one rule opens SSH to: every 7th has flow logs off,
/// every 3rd opens SSH to any address.
fn vpc_settings(n: usize) -> (&'static str, &'static str) {
    let flow = if n.is_multiple_of(7) { "NONE" } else { "ALL" };
    let cidr = ["0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/8"][n % 3];
    (flow, cidr)
}

/// VPC `n` as JSON text.
fn vpc_json(n: usize) -> String {
    let (flow, cidr) = vpc_settings(n);
    format!(r#"{{"id":"v{n}","flow":"{flow}","rules":[{{"cidr":"{cidr}","port":22}}]}}"#)
}

/// VPC `n` as XML, the same as [`vpc_json`].
fn vpc_xml(n: usize) -> String {
    let (flow, cidr) = vpc_settings(n);
    vpc(&format!("v{n}"), flow, &[(cidr, 22)])
}

fn items(n: usize, item: fn(usize) -> String, sep: &str) -> String {
    (0..n).map(item).collect::<Vec<_>>().join(sep)
}

/// Evaluates `calls` streamed from the pack and converted whole first, checks both give the same
/// bytes, and gives the streamed results.
fn judged_both_ways(calls: Vec<Call>, rule_text: &str) -> Results {
    judged_both_ways_in(&["r1"], calls, rule_text)
}

/// [`judged_both_ways`] over a scan of `regions`.
fn judged_both_ways_in(regions: &[&str], calls: Vec<Call>, rule_text: &str) -> Results {
    let d = tempfile::tempdir().unwrap();
    let pack = write_pack(d.path(), regions, calls);
    let set = rules(rule_text).unwrap();
    let streamed = evaluate(&pack, &catalog(), &set).unwrap();
    let mut index = EvidenceIndex::build(&pack).unwrap();
    let converted = evaluate_index(&mut index, &catalog(), &set, &Scope::default()).unwrap();
    assert_eq!(
        String::from_utf8(streamed.to_json_bytes()).unwrap(),
        String::from_utf8(converted.to_json_bytes()).unwrap()
    );
    streamed
}

/// A huge plain list, XML and JSON: its items past the first 4,096 are left out of the document
/// and judged in a second conversion, with the results of the document judged whole.
#[test]
fn a_huge_list_left_out_as_it_is_judged_gives_the_ordinary_results() {
    for json in [false, true] {
        let body = if json {
            let list = items(HUGE, vpc_json, ",");
            Value::String(format!(
                r#"{{"requestId":"r","vpcs":[{list}],"next":null}}"#
            ))
        } else {
            xml(&format!("<vpcs>{}</vpcs>", items(HUGE, vpc_xml, "")))
        };
        let r = judged_both_ways(vec![ok("t.svc.a", "r1", body)], &one_list_rules());
        let c = control(&r, "L3-ABS2-05");
        let flow = c.rules[0].resources.to_vec();
        assert_eq!(flow.len(), HUGE);
        assert_eq!(
            (flow[0].id.as_str(), flow[HUGE - 1].id.as_str()),
            ("v0", "v4999")
        );
        // 0, 7, …, 4998 have flow logs off; 0, 3, …, 4998 open SSH to any address.
        assert_eq!(
            (c.rules[0].failed, c.rules[0].passed),
            (715, 4285),
            "json: {json}"
        );
        assert_eq!(
            (c.rules[1].failed, c.rules[1].passed),
            (1667, 3333),
            "json: {json}"
        );
    }
}

/// Huge lists that turn out not to be the plain list the rules name (after their items were left
/// out), or whose items are not all objects: judged the ordinary way, with the same results.
#[test]
fn a_huge_list_that_is_not_plain_gives_the_ordinary_results() {
    let xml_list = items(HUGE, vpc_xml, "");
    let json_list = items(HUGE, vpc_json, ",");
    let calls = vec![
        // Another element beside the items: the wrapper is an object.
        ok(
            "t.svc.a",
            "r1",
            xml(&format!("<vpcs>{xml_list}<note><id>n</id></note></vpcs>")),
        ),
        // Two lists of the same name: an array of arrays.
        ok(
            "t.svc.a",
            "r1",
            xml(&format!(
                "<vpcs>{xml_list}</vpcs><vpcs>{}</vpcs>",
                vpc_xml(1)
            )),
        ),
        // A member named twice keeps its last value: the second list, or the first when the
        // second is the short one.
        ok(
            "t.svc.a",
            "r1",
            Value::String(format!(r#"{{"vpcs":[],"vpcs":[{json_list}]}}"#)),
        ),
        ok(
            "t.svc.a",
            "r1",
            Value::String(format!(
                r#"{{"vpcs":[{json_list}],"vpcs":[{}]}}"#,
                vpc_json(9)
            )),
        ),
        // Items that are not objects, past the first 4,096 and before.
        ok(
            "t.svc.a",
            "r1",
            Value::String(format!(r#"{{"vpcs":[{json_list},null,"v",[1]]}}"#)),
        ),
        ok(
            "t.svc.a",
            "r1",
            Value::String(format!(r#"{{"vpcs":[null,{json_list}]}}"#)),
        ),
    ];
    let r = judged_both_ways(calls, &one_list_rules());
    let c = control(&r, "L3-ABS2-05");
    // The mixed wrapper is an object (its `item` array and its note), the two lists an array of
    // two arrays; then 5000 + 1 + 5003 + 5001 JSON items.
    assert_eq!(c.rules[0].resources.len(), 2 + 2 + 5000 + 1 + 5003 + 5001);
}

/// A body cut off after many items, some of which would pass: every rule over it is `error`,
/// never a pass of the items read before the cut.
#[test]
fn a_huge_body_cut_off_is_an_error_for_every_rule() {
    for json in [false, true] {
        let body = if json {
            format!(r#"{{"vpcs":[{},{{"id":"cut"#, items(HUGE, vpc_json, ","))
        } else {
            format!("<R><vpcs>{}<item><id>cut", items(HUGE, vpc_xml, ""))
        };
        let d = tempfile::tempdir().unwrap();
        let pack = write_pack(
            d.path(),
            &["r1"],
            vec![ok("t.svc.a", "r1", Value::String(body))],
        );
        let r: Results = evaluate(&pack, &catalog(), &rules(&one_list_rules()).unwrap()).unwrap();
        let c = control(&r, "L3-ABS2-05");
        assert_eq!(c.verdict, Verdict::Error, "json: {json}");
        for rule in &c.rules {
            assert_eq!(rule.verdict, Verdict::Error, "{}", rule.id);
            assert_eq!(rule.passed, 0, "{}", rule.id);
            let resources = rule.resources.to_vec();
            assert!(
                resources.iter().all(|r| r.status == ResourceStatus::Error),
                "{resources:?}"
            );
            let reason = resources[0].reason.as_deref().unwrap_or("");
            assert!(reason.contains("UnparsableResponse"), "{reason}");
        }
    }
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

/// The history records a scan's resources as they are read back, without holding them, and what it
/// records is what a snapshot of the results holds: every resource (the first of a key wins) with
/// the deciding values read from the pack — a huge list's items as they convert, a list that turns
/// out not to be plain from the whole document. Its drift counts are those of the diff of the two
/// snapshots.
#[test]
fn the_history_records_what_a_snapshot_of_the_results_holds() {
    use dengbao::drift::{self, values, Snapshot};
    use dengbao::history::{DriftCounts, History};
    let huge_json = Value::String(format!(
        r#"{{"requestId":"r","vpcs":[{}],"next":null}}"#,
        items(HUGE, vpc_json, ",")
    ));
    let huge_xml = xml(&format!("<vpcs>{}</vpcs>", items(HUGE, vpc_xml, "")));
    // A member named twice keeps its last value: not the list whose items were shown first.
    let not_plain = Value::String(format!(
        r#"{{"vpcs":[{}],"vpcs":[{}]}}"#,
        items(10, vpc_json, ","),
        vpc_json(9)
    ));
    let mixed = xml(&format!(
        "<vpcs>{}<note><id>n</id></note></vpcs>",
        vpc("v3", "NONE", &[])
    ));
    let d = tempfile::tempdir().unwrap();
    let mut h = History::open(&d.path().join("history.sqlite3")).unwrap();
    let set = rules(RULES).unwrap();
    let mut recorded = Vec::new();
    for (n, bodies) in [
        vec![huge_json, not_plain.clone()],
        vec![huge_xml, not_plain, mixed],
    ]
    .into_iter()
    .enumerate()
    {
        let calls = bodies.into_iter().map(|b| ok("t.svc.a", "r1", b)).collect();
        let pack = write_pack(&d.path().join(format!("p{n}")), &["r1"], calls);
        let results = evaluate(&pack, &catalog(), &set).unwrap();
        let id = h.record(&results, &pack, None).unwrap();
        let want = Snapshot::of(&results, String::new())
            .with_values(values::read(&pack, &results).unwrap());
        let got = h.snapshot(id).unwrap();
        assert_eq!(got.items, want.items);
        assert_eq!(got.values_unknown, want.values_unknown);
        assert_eq!(got.resources.len(), want.resources.len());
        for ((gk, gs), (wk, ws)) in got.resources.iter().zip(&want.resources) {
            assert_eq!((gk, gs), (wk, ws));
        }
        recorded.push((id, want));
    }
    let [(old, a), (new, b)] = <[_; 2]>::try_from(recorded).ok().unwrap();
    let diff = drift::diff(&a, &b);
    let counts = h.drift_counts(old, new).unwrap();
    assert_eq!(
        counts,
        DriftCounts {
            items_changed: diff.items_changed.len(),
            newly_failing: diff.newly_failing.len(),
            new_failures: diff.new_failures(),
            fixed: diff.fixed.len(),
            appeared: diff.appeared.len(),
            disappeared: diff.disappeared.len(),
            values_changed: diff.values_changed.len(),
        }
    );
    // XML gives text where JSON gives numbers (the port), and the mixed wrapper's note is new.
    assert!(counts.values_changed > 0 && counts.appeared > 0 && counts.newly_failing > 0);
}
