//! The "net" topic of issues #14/#15 on estates shaped like real tenants': exposure beyond a public IPv4
//! address (IPv6, load balancers, DNAT, elastic IPs on secondary interfaces, prefix lists), protocol-aware
//! ports (ping is not every port), Alibaba Cloud's "all TCP + all UDP", foreign ownership on the network
//! path, scope propagating along attachment, and CNS2-02 / CES2-09 / SMC2-02 on the guide's two levels.
//!
//! Alibaba Cloud: the local endpoint (tests/aliyun/server.py) with the tweaks of
//! tests/aliyun/estates_net.py on top of `clean`. AWS: moto with tests/moto/estates_net.py. Every
//! expectation quotes the guide's 判定标准 it is written from.

mod common;
use common::aliyun;
use common::moto::{self, Moto, MOTO};
use dengbao::results::{ResourceStatus, Results};
use dengbao::verdict::Verdict::{self, *};

// The guide's criteria, quoted where the expectations use them.
/// L3-ABS2-01 部分符合: "虚拟网络边界处部署访问控制措施…但不能通过访问控制规则仅允许必要的流量通过"
const ABS1_PARTIAL: Verdict = PartiallyCompliant;
/// L3-ABS2-01 不符合: "虚拟网络边界处未部署访问控制措施…不能通过访问控制规则仅允许必要的流量通过"
const ABS1_NONE: Verdict = NonCompliant;
/// L3-CNS2-02 不符合: "云服务客户系统/该系统未部署在独立VPC中…不同云服务客户未通过…进行网络隔离"
const CNS2_NOT_ISOLATED: Verdict = NonCompliant;
/// L3-CES2-09 不符合: "未采用加密技术对虚拟机镜像、快照进行加密…通过访问控制的方式限制虚拟机镜像、快照被非法访问"
const CES9_UNPROTECTED: Verdict = NonCompliant;

fn expect(r: &Results, scenario: &str, table: &[(&str, Verdict)]) {
    let wrong = common::verdict_mismatches(r, scenario, table);
    assert!(wrong.is_empty(), "\n{wrong}");
}

fn failing(r: &Results, item: &str, rule: &str) -> Vec<String> {
    let c = r.controls.iter().find(|c| c.id == item).unwrap();
    let rule = c.rules.iter().find(|x| x.id == rule).unwrap();
    rule.resources
        .iter()
        .filter(|x| x.status == ResourceStatus::Fail)
        .map(|x| x.id.clone())
        .collect()
}

fn aliyun_scan(py: &str, tweaks: &[&str], extra: &[&str]) -> Results {
    let mut scan_args = vec!["--regions", "cn-hangzhou,cn-shanghai"];
    scan_args.extend(extra);
    aliyun::scan_estate(py, tweaks, &scan_args)
}

#[test]
fn aliyun_exposure_paths_beyond_a_public_ip() {
    let Some(py) = aliyun::python() else { return };
    // The clean estate: nothing exposed, nothing isolated badly, images and snapshots protected.
    let r = aliyun_scan(&py, &[], &[]);
    expect(
        &r,
        "clean",
        &[
            ("L3-ABS2-01", Compliant),
            ("L3-CNS2-02", Compliant),
            ("L3-CES2-09", Compliant),
            ("L3-SMC2-02", Compliant),
            ("L3-ABS2-05", Compliant),
        ],
    );
    // SSH open to the world on the private application group is context while nothing reaches it, and a
    // finding (ABS2-01 部分符合) once the instance is reachable from the internet on any of these paths.
    for tweak in [
        "clb-backend-ssh",
        "clb-vgroup-ssh",
        "alb-backend-ssh",
        "nlb-backend-ssh",
        "dnat-ssh",
        "ipv6-ssh",
    ] {
        let r = aliyun_scan(&py, &[tweak], &[]);
        expect(&r, tweak, &[("L3-ABS2-01", ABS1_PARTIAL)]);
        assert_eq!(
            failing(&r, "L3-ABS2-01", "aliyun-sg-exposed-admin-or-db-ports"),
            ["sg-hz-app"],
            "{tweak}"
        );
    }
    // An elastic IP bound to a secondary interface: that interface's own group decides.
    let r = aliyun_scan(&py, &["eni-eip-ssh"], &[]);
    expect(&r, "eni-eip-ssh", &[("L3-ABS2-01", ABS1_PARTIAL)]);
    assert_eq!(
        failing(&r, "L3-ABS2-01", "aliyun-sg-exposed-admin-or-db-ports"),
        ["sg-hz-eni"]
    );
    // Behind an intranet CLB nothing is internet-facing: the open group is context only.
    let r = aliyun_scan(&py, &["internal-clb-ssh"], &[]);
    expect(&r, "internal-clb-ssh", &[("L3-ABS2-01", Compliant)]);
    assert_eq!(
        failing(&r, "L3-ABS2-01", "aliyun-sg-open-but-unexposed"),
        ["sg-hz-app"]
    );
}

#[test]
fn aliyun_ports_prefix_lists_and_allow_all() {
    let Some(py) = aliyun::python() else { return };
    // Ping (ICMP and ICMPv6 -1/-1) from anywhere next to HTTPS: ICMP opens no port; still 符合.
    let r = aliyun_scan(&py, &["ping-allowed"], &[]);
    expect(&r, "ping-allowed", &[("L3-ABS2-01", Compliant)]);
    // TCP 1/65535 + UDP 1/65535 from anywhere on a vSwitch without an ACL is everything: no effective
    // boundary (不符合), as protocol ALL would be.
    let r = aliyun_scan(&py, &["tcp-udp-all-no-acl"], &[]);
    expect(&r, "tcp-udp-all", &[("L3-ABS2-01", ABS1_NONE)]);
    // SSH from a prefix list holding 0.0.0.0/0 is SSH from anywhere; from an office range it is not.
    let r = aliyun_scan(&py, &["ssh-via-prefix-list"], &[]);
    expect(&r, "prefix-list", &[("L3-ABS2-01", ABS1_PARTIAL)]);
    let r = aliyun_scan(&py, &["ssh-via-office-prefix-list"], &[]);
    expect(&r, "office-prefix-list", &[("L3-ABS2-01", Compliant)]);
}

#[test]
fn aliyun_isolation_sharing_and_scale() {
    let Some(py) = aliyun::python() else { return };
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, Verdict)]);
    let cases: &[Case] = &[
        // Peering or CEN to another account's network: not isolated from that account.
        (&["foreign-peering"], &[("L3-CNS2-02", CNS2_NOT_ISOLATED)]),
        (&["own-peering"], &[("L3-CNS2-02", Compliant)]),
        (&["foreign-cen"], &[("L3-CNS2-02", CNS2_NOT_ISOLATED)]),
        // The classic network is shared between tenants: not a dedicated VPC.
        (&["classic-network"], &[("L3-CNS2-02", CNS2_NOT_ISOLATED)]),
        // A custom image shared with another account: access not restricted (不符合).
        (
            &["image-shared-with-account"],
            &[("L3-CES2-09", CES9_UNPROTECTED)],
        ),
        // A local disk cannot be encrypted: not counted against images and snapshots.
        (&["unencrypted-local-disk"], &[("L3-CES2-09", Compliant)]),
        // The default VPC has no interface: it needs no flow log (符合 stays).
        (
            &["empty-default-vpc-without-flow-log"],
            &[("L3-ABS2-05", Compliant)],
        ),
        // SMC2-02 符合 "保证…管理流量与…业务流量分离" / 不符合: SSH and HTTPS open to the internet on one group.
        (&["mgmt-and-business-open"], &[("L3-SMC2-02", NonCompliant)]),
    ];
    for (tweaks, table) in cases {
        let r = aliyun_scan(&py, tweaks, &[]);
        expect(&r, &tweaks.join("+"), table);
    }
}

#[test]
fn aliyun_scope_follows_attachment() {
    let Some(py) = aliyun::python() else { return };
    // Only instances carry the tag; the open web group and the unencrypted snapshot of an in-scope disk
    // are in scope through what they are attached to / taken from.
    let scope = ["--scope-tag", "system=payments"];
    let r = aliyun_scan(&py, &["scoped-untagged"], &scope);
    expect(
        &r,
        "scoped",
        &[
            ("L3-ABS2-01", ABS1_PARTIAL),
            ("L3-CES2-09", CES9_UNPROTECTED),
        ],
    );
    // A tag no resource has: rules say that everything was outside the scope.
    let r = aliyun_scan(&py, &[], &["--scope-tag", "system=nothing"]);
    let abs5 = r.controls.iter().find(|c| c.id == "L3-ABS2-05").unwrap();
    assert_eq!(abs5.verdict, NotApplicable);
    assert!(
        abs5.reasons
            .iter()
            .any(|x| x.en.contains("outside the scope")),
        "{:?}",
        abs5.reasons
    );
}

// --- AWS, on moto ----------------------------------------------------------------------------------

fn aws_scan(m: &Moto, estate: &str, extra: &[&str]) -> (Results, serde_json::Value) {
    let seeded = moto::seed(m, &m.endpoint, &["clean"]);
    let made = moto::tweak(m, estate);
    let _ = seeded;
    let d = tempfile::tempdir().unwrap();
    let (code, log) = moto::scan(&m.endpoint, d.path(), ("testing", "testing"), extra);
    assert_eq!(code, 0, "{log}");
    (moto::results(d.path()), made)
}

#[test]
fn aws_exposure_ports_and_prefix_lists() {
    let Some(m) = moto::moto() else { return };
    let _g = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    // HTTPS plus ping (icmp -1/-1, icmpv6 58) from anywhere on a public web server: 符合.
    let (r, _) = aws_scan(&m, "net-ping-allowed", &[]);
    expect(&r, "ping-allowed", &[("L3-ABS2-01", Compliant)]);
    // A private instance behind an internet-facing NLB / Classic ELB, its group open to SSH: 部分符合.
    for estate in ["net-nlb-ssh", "net-clb-ssh"] {
        let (r, made) = aws_scan(&m, estate, &[]);
        expect(&r, estate, &[("L3-ABS2-01", ABS1_PARTIAL)]);
        let sg = made["created"]["security_group"].as_str().unwrap();
        assert!(
            failing(&r, "L3-ABS2-01", "aws-sg-exposed-admin-or-db-ports").contains(&sg.to_string()),
            "{estate}"
        );
    }
    // The same instance behind an internal NLB: context only.
    let (r, _) = aws_scan(&m, "net-internal-nlb-ssh", &[]);
    expect(&r, "internal-nlb", &[("L3-ABS2-01", Compliant)]);
    // SSH from a managed prefix list holding 0.0.0.0/0 on a public instance: 部分符合.
    let (r, _) = aws_scan(&m, "net-prefix-list-ssh", &[]);
    expect(&r, "prefix-list", &[("L3-ABS2-01", ABS1_PARTIAL)]);
}

#[test]
fn aws_isolation_sharing_and_scope() {
    let Some(m) = moto::moto() else { return };
    let _g = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    // A snapshot shared with another account: access not restricted to the tenant (不符合).
    let (r, _) = aws_scan(&m, "net-snapshot-shared-with-account", &[]);
    expect(&r, "shared-snapshot", &[("L3-CES2-09", CES9_UNPROTECTED)]);
    // VPC peering to another account's VPC: not isolated (不符合).
    let (r, _) = aws_scan(&m, "net-foreign-peering", &[]);
    expect(&r, "foreign-peering", &[("L3-CNS2-02", CNS2_NOT_ISOLATED)]);
    // Only the instance carries the system's tag: its untagged open group and the unencrypted snapshot
    // of its volume are in scope through it; the VPC it runs in (no flow log) too.
    let (r, _) = aws_scan(
        &m,
        "net-scoped-untagged",
        &["--scope-tag", "system=payments"],
    );
    expect(
        &r,
        "scoped",
        &[
            ("L3-ABS2-01", ABS1_PARTIAL),
            ("L3-CES2-09", CES9_UNPROTECTED),
            // 不符合 "不能检测到…虚拟机与虚拟机之间的异常流量": the in-scope VPC has no flow log.
            ("L3-ABS2-05", NonCompliant),
        ],
    );
}
