//! `dengbao scan --provider aws` against moto on 127.0.0.1, started by scripts/test.sh.
//!
//! States are built by tests/moto/seed.py (a separate boto3 client: dengbao itself never writes).
//! The tests share one moto server, so they take a lock and reset it.

mod common;
use common::bin;
use common::moto::*;
use dengbao::pack::{Pack, ProbeStatus};
use dengbao::verdict::Verdict;
use std::process::Command;

#[test]
fn mixed_estate_scan_is_verifiable_reproducible_and_catches_the_traps() {
    let Some(m) = moto() else { return };
    let _g = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    let summary = seed(&m, &m.endpoint, &["mixed"]);
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("scan");
    let (code, log) = scan(&m.endpoint, &out, ("testing", "testing"), &[]);
    assert_eq!(code, 0, "{log}");

    // The pack verifies and re-evaluates to the same bytes.
    let report = dengbao::pack::verify(&out.join("pack")).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    let again = d.path().join("again");
    let st = Command::new(bin())
        .arg("evaluate")
        .arg(out.join("pack"))
        .arg("--out")
        .arg(&again)
        .output()
        .unwrap();
    assert!(st.status.success());
    assert_eq!(
        std::fs::read(out.join("results.json")).unwrap(),
        std::fs::read(again.join("results.json")).unwrap()
    );

    // Identity and partition come from the caller's ARN.
    let pack = Pack::open(&out.join("pack")).unwrap();
    let r = results(&out);
    assert_eq!(r.scan.partition, "aws-cn");
    assert_eq!(
        r.scan.accounts,
        vec![summary["caller"]["Account"].as_str().unwrap().to_string()]
    );
    assert_eq!(r.scan.regions, vec!["cn-north-1", "cn-northwest-1"]);
    // Every record says what was asked, where and when; EC2 bodies are the wire XML.
    for rec in &pack.manifest.records {
        assert!(
            rec.partition == "aws-cn"
                && !rec.captured_at.is_empty()
                && rec.sha256.starts_with("sha256:"),
            "{rec:?}"
        );
        assert!(rec.parameters.value().is_object());
        if rec.service == "ec2" && rec.error.is_none() {
            let body = pack.blob_bytes(rec).unwrap();
            assert!(
                body.starts_with(b"<?xml") || body.starts_with(b"<"),
                "{}",
                rec.probe
            );
        }
    }
    let sg_pages: Vec<_> = pack
        .manifest
        .records
        .iter()
        .filter(|r| r.probe == "aws.ec2.describe_security_groups")
        .collect();
    assert!(sg_pages
        .iter()
        .all(|r| r.parameters.value()["MaxResults"] == 200));
    // Every regional probe ran in both regions.
    for p in [
        "aws.ec2.describe_vpcs",
        "aws.guardduty.list_detectors",
        "aws.kms.list_keys",
        "aws.ec2.describe_flow_logs",
    ] {
        for region in ["cn-north-1", "cn-northwest-1"] {
            let run = pack
                .manifest
                .probes
                .iter()
                .find(|x| x.id == p && x.region == region)
                .unwrap_or_else(|| panic!("{p} {region}"));
            assert_eq!(run.status, ProbeStatus::Ok, "{run:?}");
        }
    }

    // Traps: IPv4 SSH, IPv6-only RDP and all-traffic groups open to the internet.
    let open = failing(&r, "L3-ABS2-01", "aws-sg-open-but-unexposed");
    let created = &summary["created"];
    let find_sg = |name: &str| -> Vec<String> {
        let mut found = Vec::new();
        for region in ["cn-north-1", "cn-northwest-1"] {
            found.extend(ids(&created["ec2"][region]["security_groups"], &[name]));
        }
        found
    };
    for name in ["ssh_open", "rdp_ipv6_open", "all_open"] {
        let sgs = find_sg(name);
        assert!(
            !sgs.is_empty(),
            "seed summary names {name}: {}",
            created["ec2"]
        );
        for sg in sgs {
            assert!(
                open.contains(&sg),
                "{name} {sg} should be flagged; flagged: {open:?}"
            );
        }
    }
    for sg in find_sg("restricted") {
        assert!(!open.contains(&sg), "the internal-only group is not open");
    }
    // Suspended detector in Ningxia: partial, and the region is named.
    assert_eq!(
        control(&r, "L3-ABS2-03").verdict,
        Verdict::PartiallyCompliant
    );
    assert_eq!(
        failing(&r, "L3-ABS2-03", "aws-guardduty-enabled-every-region"),
        vec!["cn-northwest-1"]
    );
    // A REJECT-only flow log does not count; the VPC with an ALL flow log passes.
    assert_eq!(
        control(&r, "L3-ABS2-05").verdict,
        Verdict::PartiallyCompliant
    );
    let no_flow = failing(&r, "L3-ABS2-05", "aws-vpc-flow-logs-all-traffic");
    let vpc = |region: &str, name: &str| {
        created["ec2"][region]["vpcs"][name]["VpcId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        no_flow.contains(&vpc("cn-north-1", "data")),
        "REJECT-only: {no_flow:?}"
    );
    assert!(
        no_flow.contains(&vpc("cn-north-1", "dev")),
        "none: {no_flow:?}"
    );
    assert!(
        !no_flow.contains(&vpc("cn-north-1", "app")),
        "ALL: {no_flow:?}"
    );
    // A public snapshot is 不符合.
    assert_eq!(control(&r, "L3-CES2-09").verdict, Verdict::NonCompliant);
    // The multi-region, validated, encrypted, logging trail satisfies the audit rule.
    assert_eq!(
        control(&r, "L3-ABS2-07").verdict,
        Verdict::Compliant,
        "{:?}",
        control(&r, "L3-ABS2-07").reasons
    );
}

#[test]
fn clean_estate_passes_what_it_should() {
    let Some(m) = moto() else { return };
    let _g = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    seed(&m, &m.endpoint, &["clean"]);
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(&m.endpoint, d.path(), ("testing", "testing"), &[]);
    assert_eq!(code, 0, "{log}");
    let r = results(d.path());
    for id in [
        "L3-ABS2-01",
        "L3-ABS2-03",
        "L3-ABS2-05",
        "L3-ABS2-07",
        "L3-CES2-09",
        "L3-CES2-13",
        "L3-PES2-01",
    ] {
        assert_eq!(
            control(&r, id).verdict,
            Verdict::Compliant,
            "{id}: {:?}",
            control(&r, id).reasons
        );
    }
    // The only error is CloudWatch, which moto 5.2.5 cannot answer in the SDK's CBOR protocol.
    let errors: Vec<&str> = r
        .controls
        .iter()
        .filter(|c| c.verdict == Verdict::Error)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(errors, vec!["L3-SMC2-04"], "{errors:?}");
}

#[test]
fn access_denied_is_an_error_never_a_pass() {
    let Some(m) = moto() else { return };
    let _g = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    let summary = seed(&m, &m.denied, &["denied"]);
    let key = summary["scanner"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    let secret = summary["scanner"]["SecretAccessKey"]
        .as_str()
        .unwrap()
        .to_string();
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(
        &m.denied,
        d.path(),
        (&key, &secret),
        &["--max-attempts", "2"],
    );
    assert_eq!(code, 0, "something was collected: {log}");
    let pack = Pack::open(&d.path().join("pack")).unwrap();
    let kms = pack
        .manifest
        .probes
        .iter()
        .find(|p| p.id == "aws.kms.list_keys" && p.region == "cn-north-1")
        .unwrap();
    assert_eq!(kms.status, ProbeStatus::Error);
    assert!(
        kms.error.as_ref().unwrap().code.starts_with("AccessDenied"),
        "{kms:?}"
    );
    // The denial is evidence: its body is in the pack.
    assert!(pack
        .manifest
        .records
        .iter()
        .any(|r| r.probe == "aws.kms.list_keys"
            && r.http_status == Some(403)
            && r.error.is_some()));
    let r = results(d.path());
    for id in ["L3-CES2-13", "L3-ABS2-07"] {
        let c = control(&r, id);
        assert_eq!(c.verdict, Verdict::Error, "{id}: {:?}", c.reasons);
        assert!(
            c.reasons[0].en.contains("AccessDenied"),
            "{id}: {}",
            c.reasons[0].en
        );
    }
    // EC2 was allowed, so the boundary item is still judged.
    assert_ne!(control(&r, "L3-ABS2-01").verdict, Verdict::Error);
    assert!(r
        .probes
        .iter()
        .any(|p| p.id == "aws.ec2.describe_security_groups" && p.status == "ok"));
}

#[test]
fn unreachable_endpoint_writes_the_failures_and_exits_3() {
    // No moto needed: a closed port on 127.0.0.1.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = tempfile::tempdir().unwrap();
    let (code, log) = scan(
        &format!("http://127.0.0.1:{port}"),
        d.path(),
        ("testing", "testing"),
        &["--max-attempts", "1", "--timeout", "5"],
    );
    assert_eq!(code, 3, "{log}");
    assert!(log.contains("nothing could be collected"));
    let pack = Pack::open(&d.path().join("pack")).unwrap();
    assert!(!pack.manifest.probes.is_empty());
    assert!(pack
        .manifest
        .probes
        .iter()
        .all(|p| p.status == ProbeStatus::Error));
    assert!(
        pack.manifest.probes.iter().any(|p| p
            .error
            .as_ref()
            .is_some_and(|e| e.code == "ConnectionError")),
        "{:?}",
        pack.manifest.probes[0]
    );
    assert!(dengbao::pack::verify(&d.path().join("pack"))
        .unwrap()
        .is_ok());
    let r = results(d.path());
    assert_eq!(
        r.summary.compliant
            + r.summary.partially_compliant
            + r.summary.non_compliant
            + r.summary.not_applicable,
        0
    );
    assert!(r.summary.error >= 10);
}

/// Everything a scan wrote, as text (pack, results, stdout/stderr).
fn all_output(dir: &std::path::Path, log: &str) -> String {
    let mut text = log.to_string();
    for e in walkdir::WalkDir::new(dir).into_iter().flatten() {
        if e.file_type().is_file() {
            text.push_str(&String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()));
        }
    }
    text
}

#[test]
fn profiles_roles_and_no_secret_anywhere() {
    let Some(m) = moto() else { return };
    let _g = MOTO.lock().unwrap_or_else(|e| e.into_inner());
    seed(&m, &m.endpoint, &["clean"]);
    // A named profile in a shared credentials file, and a role to assume on top of it.
    let d = tempfile::tempdir().unwrap();
    let secret = "s3cr3t-DENGBAO-never-written";
    let creds = d.path().join("credentials");
    std::fs::write(
        &creds,
        format!(
            "[audit]\naws_access_key_id = AKIADENGBAOPROFILE\naws_secret_access_key = {secret}\n"
        ),
    )
    .unwrap();
    let role_arn = {
        let out = Command::new(&m.python)
            .args(["-c", &format!(
                "import boto3,json;i=boto3.client('iam',region_name='cn-north-1',endpoint_url='{}',aws_access_key_id='testing',aws_secret_access_key='testing');\
                 print(i.create_role(RoleName='dengbao-readonly',AssumeRolePolicyDocument=json.dumps({{'Version':'2012-10-17','Statement':[]}}))['Role']['Arn'])",
                m.endpoint
            )])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let out = d.path().join("scan");
    let o = Command::new(common::bin())
        .args([
            "-vvv",
            "scan",
            "--provider",
            "aws",
            "--regions",
            "cn-north-1",
            "--endpoint-url",
            &m.endpoint,
            "--profile",
            "audit",
        ])
        .args([
            "--role-arn",
            &role_arn,
            "--external-id",
            "dengbao-ext",
            "--out",
        ])
        .arg(&out)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_PROFILE")
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{log}");
    let pack = Pack::open(&out.join("pack")).unwrap();
    let sts = pack
        .manifest
        .records
        .iter()
        .find(|r| r.probe == "aws.sts.get_caller_identity")
        .unwrap();
    let body = String::from_utf8_lossy(&pack.blob_bytes(sts).unwrap()).into_owned();
    assert!(
        body.contains("assumed-role/dengbao-readonly"),
        "the scan ran as the assumed role: {body}"
    );
    // No secret or session token in evidence, results or logs (even at -vvv).
    let everything = all_output(&out, &log);
    assert!(!everything.contains(secret), "the secret key leaked");
    assert!(
        !everything.contains("X-Amz-Security-Token")
            && !everything
                .to_ascii_lowercase()
                .contains("x-amz-security-token")
    );
    assert!(
        !everything.contains("Signature="),
        "a request signature leaked"
    );
}

#[test]
fn an_interrupted_scan_keeps_what_it_collected() {
    // An endpoint that accepts connections and never answers: the scan hangs until Ctrl-C.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming() {
            held.push(c); // keep the socket open, say nothing
        }
    });
    let d = tempfile::tempdir().unwrap();
    let child = Command::new(common::bin())
        .args([
            "scan",
            "--provider",
            "aws",
            "--regions",
            "cn-north-1",
            "--timeout",
            "60",
            "--max-attempts",
            "1",
        ])
        .args([
            "--endpoint-url",
            &format!("http://127.0.0.1:{port}"),
            "--out",
        ])
        .arg(d.path())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(2));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The pack is complete as far as it went, and verifies.
    assert!(d.path().join("pack/manifest.json").is_file());
    assert!(dengbao::pack::verify(&d.path().join("pack"))
        .unwrap()
        .is_ok());
    assert!(d.path().join("results.json").is_file());
}
