//! A broken rule file names the file, the line and what is wrong.

mod common;
use common::rules;

fn errors(text: &str) -> Vec<String> {
    rules(text).expect_err("should be rejected")
}

const FILE: &str = "mappings/mlps2-l3-cloud/t/rules.toml";

#[test]
fn toml_syntax_error_has_file_line_and_column() {
    let e = errors("[[rule]]\nid = \"x\"\ntitle = { zh = \"a\", en = \"b\" \n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with(&format!("{FILE}:3:")), "{}", e[0]);
}

#[test]
fn unknown_field_is_named() {
    let e = errors("[[rule]]\nid = \"x\"\ntitle = { zh = \"a\", en = \"b\" }\nevidence = \"t.svc.a\"\nrequire = { path = \"$.a\", eq = 1 }\nseverity = \"high\"\n");
    assert!(e[0].starts_with(&format!("{FILE}:6:")), "{}", e[0]);
    assert!(e[0].contains("unknown field `severity`"), "{}", e[0]);
}

#[test]
fn bad_condition_points_at_its_line() {
    let text = r#"
[[rule]]
id = "x"
title = { zh = "a", en = "b" }
evidence = "t.svc.a"
require = { all_of = [
    { path = "$.a", eq = 1 },
    { path = "$.b", eq = 1, gt = 2 },
] }
"#;
    let e = errors(text);
    assert!(e[0].starts_with(&format!("{FILE}:8:")), "{}", e[0]);
    assert!(
        e[0].contains("rule `x`") && e[0].contains("mixes operators eq, gt"),
        "{}",
        e[0]
    );
}

#[test]
fn bad_jsonpath_unknown_probe_unknown_control_and_missing_rule() {
    let text = r#"
[[rule]]
id = "bad-path"
title = { zh = "a", en = "b" }
evidence = "t.svc.a"
require = { path = "$.a[", eq = 1 }

[[rule]]
id = "bad-probe"
title = { zh = "a", en = "b" }
evidence = "t.svc.nope"
require = { path = "$.a", eq = 1 }

[[control]]
id = "L3-XXX2-99"
automation = "full"
rules = ["bad-path"]
rationale = { zh = "a", en = "b" }

[[control]]
id = "L3-ABS2-01"
automation = "full"
rules = ["no-such-rule"]
rationale = { zh = "a", en = "b" }
"#;
    let e = errors(text).join("\n");
    assert!(
        e.contains(&format!("{FILE}:6:")) && e.contains("invalid JSONPath `$.a[`"),
        "{e}"
    );
    assert!(e.contains("no probe `t.svc.nope` is declared"), "{e}");
    assert!(
        e.contains(&format!("{FILE}:14:")) && e.contains("`L3-XXX2-99` is not a test item"),
        "{e}"
    );
    assert!(
        e.contains(&format!("{FILE}:20:")) && e.contains("names rule `no-such-rule`"),
        "{e}"
    );
}

#[test]
fn duplicate_rule_and_bad_verdict_mapping() {
    let rule = |id: &str, extra: &str| {
        format!("[[rule]]\nid = \"{id}\"\ntitle = {{ zh = \"a\", en = \"b\" }}\nevidence = \"t.svc.a\"\nrequire = {{ path = \"$.a\", eq = 1 }}\n{extra}\n")
    };
    let e = errors(&format!("{}{}", rule("dup", ""), rule("dup", ""))).join("\n");
    assert!(
        e.contains(&format!("{FILE}:7:")) && e.contains("already defined at"),
        "{e}"
    );
    let e = errors(&rule("v", "verdict = { all_fail = \"compliant\" }")).join("\n");
    assert!(
        e.contains("verdict.all_fail must be non_compliant or partially_compliant"),
        "{e}"
    );
    let e = errors(&rule("v", "verdict = { all_fail = \"passed\" }")).join("\n");
    assert!(e.contains("unknown variant `passed`"), "{e}");
}

#[test]
fn the_shipped_mappings_are_valid() {
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").expect("built-in mappings load");
    assert!(loaded.rules.rules.len() >= 10);
    for m in &loaded.rules.mappings {
        assert!(
            !m.rationale.zh.is_empty() && !m.rationale.en.is_empty(),
            "{}",
            m.control
        );
    }
}

#[test]
fn named_conditions_are_checked() {
    let rule = |cond: &str| {
        format!(
            "[[rule]]\nid = \"r\"\ntitle = {{ zh = \"z\", en = \"e\" }}\nevidence = \"t.svc.a\"\nrequire = {cond}\n\n[[control]]\nid = \"L3-ABS2-05\"\nautomation = \"partial\"\nrules = [\"r\"]\nrationale = {{ zh = \"z\", en = \"e\" }}\n"
        )
    };
    // A name no [[define]] gives.
    let e = errors(&rule(r#"{ use = "nothing" }"#));
    assert!(
        e.iter().any(|m| m.contains("no condition named `nothing`")),
        "{e:?}"
    );
    // A definition that uses itself is refused where it is defined.
    let looped = format!(
        "[[define]]\nname = \"a\"\ncondition = {{ not = {{ use = \"a\" }} }}\n\n{}",
        rule(r#"{ use = "a" }"#)
    );
    let e = errors(&looped);
    assert!(e.iter().any(|m| m.contains("uses itself")), "{e:?}");
    // A good one compiles into the rule.
    let good = format!(
        "[[define]]\nname = \"b\"\ncondition = {{ path = \"$.x\", eq = 1 }}\n\n{}",
        rule(r#"{ not = { use = "b" } }"#)
    );
    assert!(common::rules(&good).is_ok());
}
