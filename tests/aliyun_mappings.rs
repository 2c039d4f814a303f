//! Every machine-judged MLPS item on Alibaba Cloud reaches its verdict levels, scanned from the local test
//! server's estates (tests/aliyun/estates.py): `clean`, `partial`, `noncompliant`, `empty`, and single
//! tweaks for the traps — a Drop of lower priority does not override an Accept, a Drop of equal priority
//! does, and cn-hongkong is not the mainland. `error` on a failed call is in tests/aliyun_scan.rs.

mod common;
use common::aliyun::*;
use dengbao::results::Results;
use dengbao::verdict::Verdict::{self, *};

fn scanned(py: &str, server_args: &[&str], regions: &str) -> Results {
    let s = start(py, server_args);
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(&s.endpoint, d.path(), &["--regions", regions], &[]);
    assert_eq!(code, 0, "{server_args:?}: {log}");
    assert!(
        s.requests().iter().all(|r| r.get("rejected").is_none()),
        "the server refused a signature"
    );
    results(d.path())
}

fn expect(r: &Results, scenario: &str, table: &[(&str, Verdict)]) {
    let mut wrong = Vec::new();
    for (id, want) in table {
        let c = r.controls.iter().find(|c| c.id == *id).unwrap();
        if c.verdict != *want {
            wrong.push(format!(
                "{scenario} {id}: expected {want}, got {} — {:?}",
                c.verdict,
                c.reasons.iter().map(|x| &x.en).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

const HZ_SH: &str = "cn-hangzhou,cn-shanghai";

#[test]
fn partial_estate() {
    let Some(py) = python() else { return };
    let r = scanned(&py, &["--estate", "partial"], HZ_SH);
    expect(
        &r,
        "partial",
        &[
            ("L3-ABS2-01", PartiallyCompliant),
            ("L3-ABS2-02", PartiallyCompliant),
            ("L3-ABS2-03", PartiallyCompliant),
            ("L3-ABS2-04", PartiallyCompliant),
            ("L3-ABS2-05", PartiallyCompliant),
            ("L3-ABS2-06", PartiallyCompliant),
            ("L3-ABS2-07", PartiallyCompliant),
            ("L3-CES2-01", PartiallyCompliant),
            ("L3-CES2-03", PartiallyCompliant),
            ("L3-CES2-06", PartiallyCompliant),
            ("L3-CES2-09", PartiallyCompliant),
            ("L3-CES2-10", PartiallyCompliant),
            ("L3-CES2-13", PartiallyCompliant),
            ("L3-CES2-15", PartiallyCompliant),
            ("L3-CES2-16", PartiallyCompliant),
            ("L3-CNS2-02", PartiallyCompliant),
            ("L3-SMC2-02", PartiallyCompliant),
            ("L3-SMC2-03", PartiallyCompliant),
            ("L3-PES2-01", Compliant),
            // The bundle's single-region trail detects launches in cn-hangzhou only: no longer 符合 (issue #14: one
            // trail must cover every region); the CloudMonitor alert is there, so 部分符合, not 不符合.
            ("L3-CES2-05", PartiallyCompliant),
            ("L3-CNS2-04", Compliant),
            ("L3-MMS2-01", Compliant),
        ],
    );
}

#[test]
fn noncompliant_estate() {
    let Some(py) = python() else { return };
    let r = scanned(
        &py,
        &["--estate", "noncompliant"],
        "cn-hangzhou,cn-shanghai,cn-hongkong",
    );
    expect(
        &r,
        "noncompliant",
        &[
            ("L3-PES2-01", NonCompliant),
            ("L3-CES2-10", NonCompliant),
            ("L3-ABS2-01", NonCompliant),
            ("L3-ABS2-03", NonCompliant),
            ("L3-ABS2-04", NonCompliant),
            ("L3-ABS2-05", NonCompliant),
            ("L3-ABS2-06", NonCompliant),
            ("L3-ABS2-07", NonCompliant),
            ("L3-CES2-01", NonCompliant),
            ("L3-CES2-05", NonCompliant),
            ("L3-CES2-06", NonCompliant),
            ("L3-CES2-09", NonCompliant),
            ("L3-MMS2-01", NonCompliant),
            // No trail, but the provider audits its own part: 部分符合 "云服务客户不能收集自身的日志"; 不符合 needs
            // both sides collecting nothing (issue #15: was NonCompliant).
            ("L3-SMC2-03", PartiallyCompliant),
            ("L3-CES2-03", PartiallyCompliant),
            ("L3-CES2-13", PartiallyCompliant),
            ("L3-CES2-16", PartiallyCompliant),
            ("L3-CNS2-02", PartiallyCompliant),
            ("L3-ABS2-02", PartiallyCompliant),
            ("L3-SMC2-02", PartiallyCompliant),
        ],
    );
    // The unreachable Cloud Firewall did not decide ABS2-04: the free Security Center edition did.
    let abs4 = r.controls.iter().find(|c| c.id == "L3-ABS2-04").unwrap();
    assert!(
        abs4.reasons
            .iter()
            .any(|x| x.en.contains("ErrorNoFirewallInstance")),
        "{:?}",
        abs4.reasons
    );
}

#[test]
fn empty_estate() {
    let Some(py) = python() else { return };
    let r = scanned(&py, &["--estate", "empty"], HZ_SH);
    expect(
        &r,
        "empty",
        &[
            ("L3-PES2-01", NotApplicable),
            ("L3-CES2-10", NotApplicable),
            ("L3-ABS2-01", NotApplicable),
            ("L3-ABS2-02", NotApplicable),
            ("L3-CNS2-02", NotApplicable),
            ("L3-CNS2-04", NotApplicable),
            ("L3-CES2-03", NotApplicable),
            ("L3-CES2-15", NotApplicable),
            ("L3-CES2-16", NotApplicable),
            ("L3-SMC2-02", NotApplicable),
            ("L3-ABS2-05", NotApplicable),
            ("L3-CES2-01", Compliant),
            ("L3-ABS2-07", NonCompliant),
            ("L3-CES2-05", NonCompliant),
            // No trail, but the provider audits its own part: 部分符合 "云服务客户不能收集自身的日志"; 不符合 needs
            // both sides collecting nothing (issue #15: was NonCompliant).
            ("L3-SMC2-03", PartiallyCompliant),
            ("L3-MMS2-01", NonCompliant),
            ("L3-ABS2-03", NonCompliant),
            ("L3-CES2-09", PartiallyCompliant),
            ("L3-CES2-13", PartiallyCompliant),
        ],
    );
}

#[test]
fn security_group_priorities_decide_exposure() {
    let Some(py) = python() else { return };
    // A Drop at priority 100 does not override an Accept at priority 1: SSH is open to the internet.
    let r = scanned(
        &py,
        &["--estate", "clean", "--tweak", "weak-drop"],
        "cn-hangzhou",
    );
    expect(
        &r,
        "weak-drop",
        &[
            ("L3-ABS2-01", PartiallyCompliant),
            ("L3-CES2-01", PartiallyCompliant),
        ],
    );
    let abs1 = r.controls.iter().find(|c| c.id == "L3-ABS2-01").unwrap();
    let rule = abs1
        .rules
        .iter()
        .find(|x| x.id == "aliyun-sg-exposed-admin-or-db-ports")
        .unwrap();
    let failing: Vec<_> = rule
        .resources
        .iter()
        .filter(|x| x.status == dengbao::results::ResourceStatus::Fail)
        .collect();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].id, "sg-hz-web");
    // At equal priority Drop wins: still closed.
    let r = scanned(
        &py,
        &["--estate", "clean", "--tweak", "equal-priority"],
        "cn-hangzhou",
    );
    expect(
        &r,
        "equal-priority",
        &[("L3-ABS2-01", Compliant), ("L3-CES2-01", Compliant)],
    );
    // Everything open from anywhere on a vSwitch without an ACL: no effective boundary.
    let r = scanned(
        &py,
        &["--estate", "clean", "--tweak", "expose-all-no-acl"],
        "cn-hangzhou",
    );
    expect(&r, "expose-all-no-acl", &[("L3-ABS2-01", NonCompliant)]);
}

#[test]
fn hong_kong_is_not_the_mainland() {
    let Some(py) = python() else { return };
    let r = scanned(
        &py,
        &["--estate", "clean", "--tweak", "hongkong"],
        "cn-hangzhou,cn-hongkong",
    );
    expect(
        &r,
        "hongkong",
        &[
            ("L3-PES2-01", NonCompliant),
            ("L3-CES2-10", NonCompliant),
            ("L3-MMS2-01", NonCompliant),
        ],
    );
    let pes = r.controls.iter().find(|c| c.id == "L3-PES2-01").unwrap();
    let failing: Vec<_> = pes
        .rules
        .iter()
        .flat_map(|x| &x.resources)
        .filter(|x| x.status == dengbao::results::ResourceStatus::Fail)
        .map(|x| x.id.clone())
        .collect();
    assert!(
        failing.iter().any(|x| x == "i-hk-1") && failing.iter().any(|x| x == "d-hk-1"),
        "{failing:?}"
    );
    // Backups and snapshot copies to Hong Kong or abroad are data leaving the mainland.
    let r = scanned(
        &py,
        &[
            "--estate",
            "clean",
            "--tweak",
            "backup-to-hongkong",
            "--tweak",
            "copy-abroad",
        ],
        "cn-hangzhou",
    );
    expect(
        &r,
        "backups-abroad",
        &[("L3-PES2-01", Compliant), ("L3-CES2-10", NonCompliant)],
    );
}

#[test]
fn remaining_levels_from_single_tweaks() {
    let Some(py) = python() else { return };
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, Verdict)]);
    let cases: &[Case] = &[
        // No instance at all: the groups exist but none is in use.
        (&["no-instances"], &[("L3-CNS2-04", PartiallyCompliant)]),
        // A stopped trail is no trail.
        (
            &["no-trail"],
            &[("L3-CES2-05", NonCompliant), ("L3-ABS2-07", NonCompliant)],
        ),
        // A multi-region trail homed in a region that is not scanned is still asked about (there).
        (
            &["trail-home-elsewhere"],
            &[("L3-ABS2-07", Compliant), ("L3-SMC2-03", Compliant)],
        ),
        // Cloud Firewall unreachable, but the Security Center agent watches the public instance.
        (&["no-cloudfw"], &[("L3-ABS2-04", Compliant)]),
        (
            &["sas-free"],
            &[("L3-CES2-06", NonCompliant), ("L3-ABS2-06", NonCompliant)],
        ),
        (&["root-without-mfa"], &[("L3-CES2-01", NonCompliant)]),
    ];
    for (tweaks, table) in cases {
        let mut args = vec!["--estate", "clean"];
        for t in *tweaks {
            args.extend(["--tweak", t]);
        }
        let r = scanned(&py, &args, HZ_SH);
        expect(&r, &tweaks.join("+"), table);
    }
}
