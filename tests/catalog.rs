//! The catalog holds all 46 test items of the guide, complete, in the guide's order.

mod common;
use dengbao::catalog::Automation;

#[test]
fn all_46_items_with_the_expected_ids() {
    let cat = common::catalog();
    let ids: Vec<&str> = cat.controls.iter().map(|c| c.id.as_str()).collect();
    let mut expected = vec!["L3-PES2-01".to_string()];
    for (prefix, n) in [
        ("L3-CNS2", 5),
        ("L3-ABS2", 8),
        ("L3-CES2", 19),
        ("L3-SMC2", 4),
        ("L3-CMS2", 8),
        ("L3-MMS2", 1),
    ] {
        expected.extend((1..=n).map(|i| format!("{prefix}-{i:02}")));
    }
    assert_eq!(ids, expected);
}

#[test]
fn every_field_is_filled() {
    for c in &common::catalog().controls {
        for (name, v) in [
            ("layer", &c.layer),
            ("control_point", &c.control_point),
            ("control_point_en", &c.control_point_en),
            ("requirement", &c.requirement),
            ("requirement_en", &c.requirement_en),
            ("interpretation", &c.interpretation),
            ("test_method", &c.test_method),
            ("test_method_en", &c.test_method_en),
            ("expected_evidence", &c.expected_evidence),
            ("expected_evidence_en", &c.expected_evidence_en),
            ("criteria.compliant", &c.criteria.compliant),
            ("criteria.non_compliant", &c.criteria.non_compliant),
            ("criteria_en.compliant", &c.criteria_en.compliant),
            ("criteria_en.non_compliant", &c.criteria_en.non_compliant),
        ] {
            assert!(!v.trim().is_empty(), "{} has an empty {name}", c.id);
        }
        assert!(!c.checklist.is_empty(), "{} has no checklist", c.id);
        assert!(
            c.checklist
                .iter()
                .all(|i| !i.zh.trim().is_empty() && !i.en.trim().is_empty()),
            "{}",
            c.id
        );
    }
}

#[test]
fn control_points_follow_the_guide_including_its_misplaced_rows() {
    let cat = common::catalog();
    let cp = |id: &str| cat.get(id).unwrap().control_point.clone();
    // 数据备份恢复 a) is printed right after 数据完整性和保密性 d) in the guide; it belongs to 数据备份恢复.
    assert_eq!(cp("L3-CES2-13"), "数据完整性和保密性");
    assert_eq!(cp("L3-CES2-14"), "数据备份恢复");
    assert_eq!(cat.get("L3-CES2-14").unwrap().clause, "a");
    // 云服务商选择 a) and b) are printed before their label.
    assert_eq!(cp("L3-CMS2-01"), "云服务商选择");
    assert_eq!(cp("L3-CMS2-02"), "云服务商选择");
    assert_eq!(cp("L3-SMC2-04"), "集中管控");
    assert_eq!(cp("L3-CES2-09"), "镜像和快照保护");
    assert_eq!(cat.get("L3-ABS2-01").unwrap().layer, "安全区域边界");
    assert!(cat
        .controls
        .iter()
        .any(|c| c.automation == Automation::Full));
}

/// The guide, when it is beside the repository (as in CI): `../shared/seeds/*.txt`.
fn guide() -> Option<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seeds");
    let entry = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "txt"))?;
    std::fs::read_to_string(entry.path()).ok()
}

#[test]
fn chinese_text_is_exactly_the_guides() {
    let Some(text) = guide() else {
        eprintln!(
            "the assessment guide is not at ../shared/seeds; skipping the verbatim comparison"
        );
        return;
    };
    let rows: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|f| f.len() == 6)
        .skip(1)
        .collect();
    let cat = common::catalog();
    assert_eq!(
        rows.len(),
        cat.controls.len(),
        "the guide has one row per test item"
    );
    for (row, c) in rows.iter().zip(&cat.controls) {
        let req = row[1].trim();
        let req = match req.split_once(')') {
            Some((clause, rest)) if clause.len() == 1 => rest.trim(),
            _ => req,
        };
        assert_eq!(c.requirement, req, "{} requirement", c.id);
        assert_eq!(c.interpretation, row[2].trim(), "{} interpretation", c.id);
        assert_eq!(c.test_method, row[3].trim(), "{} test method", c.id);
        assert_eq!(
            c.expected_evidence,
            row[4].trim(),
            "{} expected evidence",
            c.id
        );
        assert!(row[5].contains(&c.criteria.compliant), "{} criteria", c.id);
        assert!(
            row[5].contains(&c.criteria.non_compliant),
            "{} criteria",
            c.id
        );
        if let Some(p) = &c.criteria.partially_compliant {
            assert!(row[5].contains(p.as_str()), "{} criteria", c.id);
        }
    }
}

/// The levels a non-context rule can give its item: its `pass` verdict, its `all_fail` verdict,
/// its `empty` verdict, and `some_fail` unless one passing resource is enough (`expect = "any"`).
fn reachable_levels(rule: &dengbao::rules::Rule) -> Vec<dengbao::verdict::Verdict> {
    use dengbao::rules::Expect;
    let mut v = vec![rule.verdict.pass, rule.verdict.all_fail, rule.verdict.empty];
    if rule.expect != Expect::Any {
        v.push(rule.verdict.some_fail);
    }
    v
}

/// A mapped item may only reach the levels its criteria define (`error`, `not_applicable` and
/// `manual` aside: they say that the scale could not be applied, not where on it the item stands).
#[test]
fn every_mapped_item_reaches_only_the_levels_its_criteria_define() {
    use dengbao::verdict::Verdict;
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").expect("built-in data loads");
    let mut off_scale = std::collections::BTreeSet::new();
    for m in &loaded.rules.mappings {
        let item = loaded.catalog.get(&m.control).expect("mapped item exists");
        for rule in m.rules.iter().map(|r| &loaded.rules.rules[r]) {
            if rule.context {
                continue;
            }
            for level in reachable_levels(rule) {
                let defined = match level {
                    Verdict::Compliant | Verdict::NonCompliant => true,
                    Verdict::PartiallyCompliant => item.criteria.partially_compliant.is_some(),
                    Verdict::Error | Verdict::NotApplicable | Verdict::Manual => true,
                };
                if defined {
                    continue;
                }
                off_scale.insert(format!(
                    "{} ({}) can give {} to {}, whose criteria define only 符合 and 不符合",
                    rule.id,
                    rule.defined_at,
                    level.as_str(),
                    item.id
                ));
            }
        }
    }
    assert!(
        off_scale.is_empty(),
        "levels the guide does not define for these items:\n  {}",
        off_scale.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}
