//! `dengbao scan --provider aliyun` against the local test server (tests/aliyun/server.py), which checks
//! every signature with the official SDK and answers as the API reference shows: paging in every style,
//! STS tokens, profiles and AssumeRole, retries, failures, and no secret anywhere in what is kept.
//! The read-only guard test needs no server. What every provider's scan promises (fan-out and home
//! regions, failures, UpstreamFailed, Ctrl-C, no secret, reproducible results) is tests/scan_contract.rs.

mod common;
use common::aliyun::*;
use dengbao::pack::Pack;
use dengbao::verdict::Verdict;

fn records<'a>(
    pack: &'a Pack,
    probe: &str,
    region: &str,
) -> Vec<&'a dengbao::pack::EvidenceRecord> {
    pack.manifest
        .records
        .iter()
        .filter(|r| r.probe == probe && r.region == region)
        .collect()
}

#[test]
fn clean_scan_pages_in_every_style_and_names_regions_on_regional_calls() {
    let Some(py) = python() else { return };
    let s = start(&py, &["--estate", "clean"]);
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(&s.endpoint, d.path(), &[], &[]);
    assert_eq!(code, 0, "{log}");
    let pack = Pack::open(&d.path().join("pack")).unwrap();
    let m = &pack.manifest;
    assert_eq!(m.scan.provider, "aliyun");
    assert_eq!(m.scan.accounts, vec!["1234567890123456".to_string()]);
    assert_eq!(m.scan.regions, vec!["cn-hangzhou", "cn-shanghai"]);
    assert!(
        m.probes
            .iter()
            .all(|p| p.status == dengbao::pack::ProbeStatus::Ok),
        "{:?}",
        m.probes
            .iter()
            .filter(|p| p.error.is_some())
            .collect::<Vec<_>>()
    );
    // NextToken/MaxResults: 3 instances, pages of 2.
    let inst = records(&pack, "aliyun.ecs.describe_instances", "cn-hangzhou");
    assert_eq!(inst.len(), 2);
    assert!(inst.iter().any(|r| r.parameters.value()["NextToken"] == "2"
        && r.parameters.value()["RegionId"] == "cn-hangzhou"));
    // PageNumber/PageSize/TotalCount (VPC's counts are strings).
    let vpcs = records(&pack, "aliyun.vpc.describe_vpcs", "cn-hangzhou");
    assert_eq!(vpcs.len(), 1, "2 VPCs fit one page of 2");
    let fl = records(&pack, "aliyun.vpc.describe_flow_logs", "cn-hangzhou");
    assert_eq!(fl.len(), 1);
    // Marker/MaxItems/IsTruncated: 3 users.
    let users = records(&pack, "aliyun.ram.list_users", "cn-hangzhou");
    assert_eq!(users.len(), 2);
    assert!(users.iter().any(|r| r.parameters.value()["Marker"] == "2"));
    // CurrentPage/PageInfo.TotalCount: 4 servers.
    let sas = records(
        &pack,
        "aliyun.sas.describe_cloud_center_instances",
        "cn-hangzhou",
    );
    assert_eq!(sas.len(), 2);
    assert!(sas.iter().any(|r| r.parameters.value()["CurrentPage"] == 2));
    // Fan-out, and `absent_codes`: bob has no console login (404 EntityNotExist.User.LoginProfile).
    let lp = records(&pack, "aliyun.ram.get_login_profile", "cn-hangzhou");
    assert_eq!(lp.len(), 3);
    assert!(lp.iter().all(|r| r.error.is_none()));
    assert!(lp.iter().any(|r| r.http_status == Some(404)));
    // Regional OpenAPI calls name their region; global ones do not (OSS and SLS calls, logged with their
    // `service`, name theirs in the host and signature scope).
    for req in s.requests().iter().filter(|r| r.get("service").is_none()) {
        let q = &req["query"];
        let regional = !matches!(
            req["action"].as_str().unwrap(),
            "GetCallerIdentity"
                | "DescribeRegions"
                | "ListUsers"
                | "GetLoginProfile"
                | "ListVirtualMFADevices"
                | "GetAccountSecurityPracticeReport"
                | "GetSecurityPreference"
                | "ListRoles"
                | "GetRole"
                | "DescribeVersionConfig"
                | "DescribeCloudCenterInstances"
                | "DescribeAssetList"
                | "DescribeCens"
                | "DescribeCenAttachedChildInstances"
                | "DescribeNoticeConfig"
                | "DescribeEventRuleList"
                | "DescribeEventRuleTargetList"
        );
        assert_eq!(q.get("RegionId").is_some(), regional, "{req}");
        assert!(req.get("rejected").is_none(), "{req}");
    }
    // The AccessKey id is in no file and no output either.
    assert!(!(common::files_text(d.path()) + &log).contains(KEY_ID));
    // Every mapped item is compliant on the clean estate.
    let r = results(d.path());
    for id in common::decided_items("aliyun") {
        let c = r.controls.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, Verdict::Compliant, "{id}: {:?}", c.reasons);
    }
}

#[test]
fn throttling_and_5xx_are_retried_with_fresh_signatures() {
    let Some(py) = python() else { return };
    let s = start(
        &py,
        &[
            "--estate",
            "clean",
            "--throttle",
            "DescribeVpcs=2",
            "--fail5xx",
            "DescribeDisks=1",
        ],
    );
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(&s.endpoint, d.path(), &["--regions", "cn-hangzhou"], &[]);
    assert_eq!(code, 0, "{log}");
    let pack = Pack::open(&d.path().join("pack")).unwrap();
    for p in ["aliyun.vpc.describe_vpcs", "aliyun.ecs.describe_disks"] {
        let recs = records(&pack, p, "cn-hangzhou");
        assert!(
            !recs.is_empty() && recs.iter().all(|r| r.error.is_none()),
            "{p}"
        );
    }
    let seen = s.requests();
    let vpc_calls = seen
        .iter()
        .filter(|r| r["action"] == "DescribeVpcs")
        .count();
    assert!(vpc_calls >= 3, "two throttled attempts, then an answer");
    // The server refuses a reused nonce, so every retry was signed anew.
    assert!(seen.iter().all(|r| r.get("rejected").is_none()));
}

#[test]
fn sts_token_from_the_environment() {
    let Some(py) = python() else { return };
    let s = start(&py, &["--estate", "clean"]);
    let d = tempfile::tempdir().unwrap();
    let env = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", "STS.testing"),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "sts-secret"),
        ("ALIBABA_CLOUD_SECURITY_TOKEN", "sts-token-1"),
    ];
    let (code, log) = scan(
        &s.endpoint,
        d.path(),
        &["--regions", "cn-hangzhou", "-vvv", "--log-format", "json"],
        &env,
    );
    assert_eq!(code, 0, "{log}");
    for secret in ["sts-secret", "sts-token-1", "Signature="] {
        assert!(!log.contains(secret), "{secret} in the trace log");
    }
    // Every call carries the token: x-acs-security-token (OpenAPI, SLS) or x-oss-security-token (OSS).
    assert!(s.requests().iter().all(|r| r["headers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h == "x-acs-security-token" || h == "x-oss-security-token")));
    assert!(!common::files_text(d.path()).contains("sts-token-1"));
    // A wrong token is refused by the server, and every call records the refusal.
    let d2 = tempfile::tempdir().unwrap();
    let bad = [
        env[0],
        env[1],
        ("ALIBABA_CLOUD_SECURITY_TOKEN", "not-the-token"),
    ];
    let (code, _) = scan(
        &s.endpoint,
        d2.path(),
        &["--regions", "cn-hangzhou", "--max-attempts", "1"],
        &bad,
    );
    assert_eq!(code, 3);
}

#[test]
fn profiles_and_assumed_roles() {
    let Some(py) = python() else { return };
    let s = start(&py, &["--estate", "clean"]);
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(home.path().join(".aliyun")).unwrap();
    let config = serde_json::json!({
        "current": "ci",
        "profiles": [
            { "name": "ci", "mode": "AK", "access_key_id": "LTAI-profile", "access_key_secret": "profile-secret", "region_id": "cn-hangzhou" },
            { "name": "auditor", "mode": "RamRoleArn", "access_key_id": "LTAI-profile", "access_key_secret": "profile-secret",
              "ram_role_arn": "acs:ram::1234567890123456:role/dengbao-readonly", "ram_session_name": "mlps-audit" }
        ]
    });
    std::fs::write(home.path().join(".aliyun/config.json"), config.to_string()).unwrap();
    let no_env = [
        ("ALIBABA_CLOUD_ACCESS_KEY_ID", ""),
        ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""),
    ];
    // The current profile, when no key is in the environment.
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan_home(
        &s.endpoint,
        d.path(),
        &["--regions", "cn-hangzhou"],
        &no_env,
        home.path(),
    );
    assert_eq!(code, 0, "{log}");
    // A RamRoleArn profile: AssumeRole (signed with the profile's key), then every call with the STS key.
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan_home(
        &s.endpoint,
        d.path(),
        &["--regions", "cn-hangzhou", "--profile", "auditor"],
        &no_env,
        home.path(),
    );
    assert_eq!(code, 0, "{log}");
    let seen = s.requests();
    let assumed: Vec<_> = seen
        .iter()
        .filter(|r| r["action"] == "AssumeRole")
        .collect();
    assert_eq!(assumed.len(), 1, "one AssumeRole, credentials cached");
    assert_eq!(assumed[0]["query"]["RoleSessionName"], "mlps-audit");
    let pack = Pack::open(&d.path().join("pack")).unwrap();
    assert!(
        pack.manifest
            .records
            .iter()
            .all(|r| r.operation != "AssumeRole"),
        "the credential exchange is never recorded"
    );
    assert!(!common::files_text(d.path()).contains("profile-secret"));
    // --role-arn on top of environment keys.
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(
        &s.endpoint,
        d.path(),
        &[
            "--regions",
            "cn-hangzhou",
            "--role-arn",
            "acs:ram::1234567890123456:role/dengbao-readonly",
        ],
        &[],
    );
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        s.requests()
            .iter()
            .filter(|r| r["action"] == "AssumeRole")
            .count(),
        2
    );
    // A role that cannot be assumed: every call fails with the cause, and STS is asked once, not per call.
    let d = tempfile::tempdir().unwrap();
    let before = s
        .requests()
        .iter()
        .filter(|r| r["action"] == "AssumeRole")
        .count();
    let (code, log) = scan(
        &s.endpoint,
        d.path(),
        &[
            "--regions",
            "cn-hangzhou",
            "--role-arn",
            "not-an-arn",
            "--max-attempts",
            "1",
        ],
        &[],
    );
    assert_eq!(code, 3, "{log}");
    assert_eq!(
        s.requests()
            .iter()
            .filter(|r| r["action"] == "AssumeRole")
            .count(),
        before + 1
    );
    let pack = Pack::open(&d.path().join("pack")).unwrap();
    assert!(pack.manifest.probes.iter().all(|p| p
        .error
        .as_ref()
        .is_some_and(
            |e| e.message.contains("InvalidParameter.RoleArn") || e.code == "UpstreamFailed"
        )));
    // A profile that does not exist is an input error.
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan_home(
        &s.endpoint,
        d.path(),
        &["--profile", "nope"],
        &no_env,
        home.path(),
    );
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("no profile `nope`"), "{log}");
}

#[test]
fn per_product_endpoint_overrides_the_global_one() {
    let Some(py) = python() else { return };
    let s = start(&py, &["--estate", "clean"]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = tempfile::tempdir().unwrap();
    let sts = format!("sts={}", s.endpoint);
    let (code, log) = scan(
        &format!("http://127.0.0.1:{closed}"),
        d.path(),
        &[
            "--regions",
            "cn-hangzhou",
            "--endpoint",
            &sts,
            "--max-attempts",
            "1",
            "--timeout",
            "5",
        ],
        &[],
    );
    assert_eq!(code, 0, "the identity call reached the STS endpoint: {log}");
    let pack = Pack::open(&d.path().join("pack")).unwrap();
    assert_eq!(
        pack.manifest.scan.accounts,
        vec!["1234567890123456".to_string()]
    );
    let failed = pack
        .manifest
        .probes
        .iter()
        .filter(|p| p.error.is_some())
        .count();
    assert!(failed > 20, "everything else went to the closed port");
}

#[tokio::test]
async fn the_guard_refuses_a_write_before_anything_is_sent() {
    use dengbao::aliyun::client::{CallSpec, Endpoints, Guard, OpenApi, Retry};
    use dengbao::aliyun::credentials::{CredentialSource, Credentials};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").unwrap();
    let probes = dengbao::aliyun::aliyun_probes(&loaded.probes).unwrap();
    let api = OpenApi::new(
        Guard::for_probes(&probes),
        Endpoints {
            all: Some(url),
            per_product: Default::default(),
        },
        std::sync::Arc::new(CredentialSource::Static(Credentials {
            access_key_id: KEY_ID.into(),
            access_key_secret: SECRET.into(),
            security_token: None,
        })),
        Retry {
            max_attempts: 1,
            timeout: std::time::Duration::from_secs(5),
            base_delay: std::time::Duration::from_millis(1),
        },
    )
    .unwrap();
    let ecs = probes
        .iter()
        .find(|p| p.service == "ecs")
        .unwrap()
        .api
        .clone()
        .unwrap();
    let trail = probes
        .iter()
        .find(|p| p.service == "actiontrail")
        .unwrap()
        .api
        .clone()
        .unwrap();
    for (product, api_info, action) in [
        ("ecs", &ecs, "DeleteInstance"),
        ("ecs", &ecs, "AuthorizeSecurityGroup"),
        ("ecs", &ecs, "ModifyImageSharePermission"),
        ("actiontrail", &trail, "StopLogging"),
        ("actiontrail", &trail, "DeleteTrail"),
        ("sts", &ecs, "AssumeRole"),
        ("ecs", &ecs, "DescribeInstanceAttribute"), // a read, but no probe declares it
    ] {
        let f = api
            .call(&CallSpec {
                product,
                api: api_info,
                region: "cn-hangzhou",
                action,
                params: vec![],
            })
            .await
            .unwrap_err();
        assert_eq!(f.code, "RefusedByReadOnlyGuard", "{action}");
    }
    // OSS and SLS (REST, GET only): writes and undeclared reads are refused the same way, before anything
    // is mapped to a resource or sent.
    let rest_api = |service: &str| {
        probes
            .iter()
            .find(|p| p.service == service)
            .unwrap()
            .api
            .clone()
            .unwrap()
    };
    let (oss, log) = (rest_api("oss"), rest_api("log"));
    let params = serde_json::json!({"bucket": "b", "project": "p", "logstore": "l"});
    for (product, api_info, action) in [
        ("oss", &oss, "PutBucketLifecycle"),
        ("oss", &oss, "DeleteBucket"),
        ("oss", &oss, "PutBucketReplication"),
        ("oss", &oss, "GetObject"), // a read, but no probe declares it
        ("log", &log, "DeleteLogStore"),
        ("log", &log, "UpdateLogStore"),
        ("log", &oss, "GetBucketInfo"), // declared for oss, not for log
    ] {
        let f = api
            .rest_call(
                product,
                api_info,
                "cn-hangzhou",
                action,
                params.as_object().unwrap(),
            )
            .await
            .unwrap_err();
        assert_eq!(f.code, "RefusedByReadOnlyGuard", "{product}:{action}");
    }
    assert!(listener.accept().is_err(), "no connection was ever made");
    // Manifests that name a write are refused at load.
    let text = "provider = \"aliyun\"\nservice = \"ecs\"\napi_version = \"2014-05-26\"\nendpoint = \"ecs.{region}.aliyuncs.com\"\n[[probe]]\nid = \"aliyun.ecs.x\"\noperation = \"DeleteInstance\"\nscope = \"regional\"\niam_action = \"ecs:DeleteInstance\"\ndescription = \"d\"\n";
    let err = dengbao::probes::ProbeCatalog::from_files(&[dengbao::embedded::SourceFile {
        display: "probes/aliyun/ecs.toml".into(),
        rel: "aliyun/ecs.toml".into(),
        text: text.into(),
    }])
    .unwrap_err()
    .to_string();
    assert!(err.contains("not a read operation"), "{err}");
}

#[test]
fn ram_policy_lists_exactly_the_probes_actions() {
    let o = std::process::Command::new(common::bin())
        .args(["iam-policy", "--provider", "aliyun"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(p["Version"], "1");
    let st = &p["Statement"][0];
    assert!(st.get("Sid").is_none(), "RAM statements take no Sid");
    assert_eq!(st["Effect"], "Allow");
    assert_eq!(st["Resource"], "*");
    let actions: Vec<&str> = st["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    for a in [
        "ecs:DescribeInstances",
        "ecs:DescribeSecurityGroupAttribute",
        "actiontrail:GetTrailStatus",
        "yundun-sas:DescribeVersionConfig",
        "ram:GetAccountSecurityPracticeReport",
        "kms:DescribeKey",
        "rds:DescribeDBInstances",
        "oss:ListBuckets",
        "oss:GetBucketInfo",
        "oss:GetBucketReplication",
        "oss:GetBucketLifecycle",
        "log:ListLogStores",
        "log:GetLogStore",
    ] {
        assert!(actions.contains(&a), "{a}");
    }
    let loaded = dengbao::app::load(None, None, "mlps2-l3-cloud").unwrap();
    let probes = dengbao::aliyun::aliyun_probes(&loaded.probes).unwrap();
    assert_eq!(
        actions.len(),
        probes
            .iter()
            .map(|p| &p.iam_action)
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    );
    for a in &actions {
        let (_, action) = a.split_once(':').unwrap();
        assert!(
            dengbao::probes::READ_ONLY_PREFIXES
                .iter()
                .any(|r| action.starts_with(r)),
            "{a}"
        );
    }
}

#[test]
fn no_credentials_is_a_clear_input_error() {
    // No key, no profile, the instance role disabled: nothing is sent (100.100.100.200 is never asked).
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(
        "http://127.0.0.1:9",
        d.path(),
        &["--regions", "cn-hangzhou"],
        &[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", ""),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", ""),
        ],
    );
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("no Alibaba Cloud credentials"), "{log}");
    assert!(!d.path().join("pack").exists());
}
