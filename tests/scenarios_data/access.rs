//! Third-party access to data (L3-CES2-11): role trust policies and IAM Access Analyzer findings, on hand-made packs.

use super::*;

/// ListRoles with these (name, trust policy) roles.
fn list_roles(trusts: &[(&str, Value)]) -> Answer {
    let list: Vec<Value> = trusts
        .iter()
        .map(|(name, doc)| {
            // IAM returns the trust policy URL-encoded.
            let encoded: String = doc
                .to_string()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            json!({"RoleName": name, "AssumeRolePolicyDocument": encoded})
        })
        .collect();
    let body = json!({"ListRolesResult": {"Roles": list}});
    ("aws.iam.list_roles", "cn-north-1", json!({}), body)
}

/// The roles, in an account without an access analyzer.
fn roles(trusts: &[(&str, Value)]) -> Results {
    judged(&[&[list_roles(trusts)][..], &analyzers(&[])].concat())
}

/// The account's own operations role only.
fn own_role() -> Answer {
    let own = trust(json!({"AWS": "arn:aws-cn:iam::111122223333:root"}), None);
    list_roles(&[("ops", own)])
}

// ---------------------------------------------------------------- IAM Access Analyzer (hand-made: moto
// 5.2.5 does not emulate the service; it answers 500)

const ANALYZER: &str = "arn:aws-cn:access-analyzer:cn-north-1:111122223333:analyzer/account";

/// ListAnalyzers in cn-north-1 with one active ACCOUNT analyzer holding `findings` (ListFindings), or
/// with no analyzer at all when `findings` is empty (ListFindings then ran with nothing to ask).
fn analyzers(findings: &[Value]) -> Vec<Answer> {
    if findings.is_empty() {
        return vec![
            (
                "aws.accessanalyzer.list_analyzers",
                "cn-north-1",
                json!({}),
                json!({ "analyzers": [] }),
            ),
            (
                "aws.accessanalyzer.list_findings",
                "cn-north-1",
                json!({}),
                Value::Null,
            ),
        ];
    }
    let list = json!({"analyzers": [{"arn": ANALYZER, "name": "account", "type": "ACCOUNT", "status": "ACTIVE"}]});
    vec![
        (
            "aws.accessanalyzer.list_analyzers",
            "cn-north-1",
            json!({}),
            list,
        ),
        (
            "aws.accessanalyzer.list_findings",
            "cn-north-1",
            json!({ "analyzerArn": ANALYZER }),
            json!({ "findings": findings }),
        ),
    ]
}

/// An external access finding on bucket `bucket` for `principal`, as ListFindings summarizes it.
fn finding(bucket: &str, principal: Value, public: bool, status: &str) -> Value {
    json!({"id": format!("f-{bucket}"), "resource": format!("arn:aws-cn:s3:::{bucket}"), "resourceType": "AWS::S3::Bucket",
           "principal": principal, "action": ["s3:GetObject"], "isPublic": public, "condition": {},
           "status": status, "resourceOwnerAccount": "111122223333"})
}

/// The account's own role beside the analyzer's findings.
fn with_findings(findings: &[Value]) -> Results {
    judged(&[&[own_role()][..], &analyzers(findings)].concat())
}

#[test]
fn access_analyzer_public_findings_are_access_no_one_authorized() {
    let vendor = finding(
        "vendor-share",
        json!({"AWS": "444455556666"}),
        false,
        "ACTIVE",
    );
    let reviewed = finding("website", json!({"AWS": "*"}), true, "ARCHIVED");
    let closed = finding("old-share", json!({"AWS": "*"}), true, "RESOLVED");
    // 符合: "只有在云服务客户授权下，云服务商或第三方才具有云服务客户数据管理权限": the vendor's access is
    // a grant the tenant wrote (listed for the assessor to match with its approval); the public website
    // bucket was reviewed and archived as intended; the resolved finding is access that no longer exists.
    let r = with_findings(&[vendor.clone(), reviewed.clone(), closed.clone()]);
    assert_eq!(item(&r, "L3-CES2-11").verdict, Compliant);
    let listed = failing(&r, "L3-CES2-11", "aws-active-external-access-findings");
    assert_eq!(listed, ["arn:aws-cn:s3:::vendor-share"]);
    assert!(failing(&r, "L3-CES2-11", "aws-access-analyzer-every-region").is_empty());
    // 不符合: "云服务商或第三方未经云服务客户授权下具有云服务客户数据管理权限": an active finding that
    // anyone can reach the bucket: no party was authorized, every third party has the access.
    let open = finding("exports", json!({"AWS": "*"}), true, "ACTIVE");
    let r = with_findings(&[vendor, reviewed, closed, open]);
    assert_eq!(item(&r, "L3-CES2-11").verdict, NonCompliant);
    let rule = "aws-no-active-public-access-findings";
    assert_eq!(failing(&r, "L3-CES2-11", rule), ["arn:aws-cn:s3:::exports"]);
}

#[test]
fn no_access_analyzer_is_context_never_a_pass() {
    // No analyzer in the region: nothing there was analyzed. The region is listed (context) and the
    // findings check has nothing to judge (不适用), never 符合; the item rests on the role trust policies.
    let r = with_findings(&[]);
    let c = item(&r, "L3-CES2-11");
    assert_eq!(c.verdict, Compliant);
    let unanalyzed = failing(&r, "L3-CES2-11", "aws-access-analyzer-every-region");
    assert_eq!(unanalyzed.len(), 1, "{unanalyzed:?}");
    let findings = rule_verdict(&r, "L3-CES2-11", "aws-no-active-public-access-findings");
    assert_eq!(findings, NotApplicable);
    // The findings could not be read (the analyzer list was denied): 无法判定, never 符合.
    let analyzers_then_findings = [
        ("aws.accessanalyzer.list_analyzers", "cn-north-1"),
        ("aws.accessanalyzer.list_findings", "cn-north-1"),
    ];
    let r = judged_denied(AWS_CN, &[own_role()], &analyzers_then_findings);
    assert_eq!(item(&r, "L3-CES2-11").verdict, Error);
}

fn trust(principal: Value, condition: Option<Value>) -> Value {
    let mut st = json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal});
    if let Some(c) = condition {
        st["Condition"] = c;
    }
    json!({"Version": "2012-10-17", "Statement": [st]})
}

#[test]
fn roles_anyone_may_assume_give_unauthorized_management_rights() {
    // moto's IAM does hold roles, but the judgement is on the trust document alone: hand-made, so the
    // URL-encoding IAM uses is exercised byte for byte.
    let own = (
        "ops",
        trust(json!({"AWS": "arn:aws-cn:iam::111122223333:root"}), None),
    );
    let service = (
        "ec2-role",
        trust(json!({"Service": "ec2.amazonaws.com.cn"}), None),
    );
    let vendor = (
        "vendor",
        trust(json!({"AWS": ["arn:aws-cn:iam::444455556666:root"]}), None),
    );
    let guarded = (
        "org-wide",
        trust(
            json!({"AWS": "*"}),
            Some(json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}})),
        ),
    );
    // 符合: "只有在云服务客户授权下，云服务商或第三方才具有云服务客户数据管理权限": a vendor's role was
    // set up by the tenant (an authorization, listed as context for the assessor).
    let r = roles(&[
        own.clone(),
        service.clone(),
        vendor.clone(),
        guarded.clone(),
    ]);
    assert_eq!(item(&r, "L3-CES2-11").verdict, Compliant);
    let listed = failing(&r, "L3-CES2-11", "aws-roles-trusted-by-other-accounts");
    assert_eq!(listed, ["vendor", "org-wide"]);
    // 不符合: "云服务商或第三方未经云服务客户授权下具有云服务客户数据管理权限": anyone may assume it.
    let open = ("open", trust(json!({"AWS": "*"}), None));
    let r = roles(&[own, service, vendor, guarded, open]);
    assert_eq!(item(&r, "L3-CES2-11").verdict, NonCompliant);
}
