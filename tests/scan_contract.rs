//! The scan contract, run for every provider against its local estates (AWS: moto, started by
//! scripts/test.sh; Alibaba Cloud: tests/aliyun/server.py): what `dengbao scan` promises whatever the
//! cloud, checked from the pack and the probe manifests rather than from one provider's probe names.
//!
//! * pages are followed (each provider's paging styles), every fan-out item is asked about once — in
//!   its home region when the manifest names one — and the pack verifies;
//! * `evaluate` reproduces the live results byte for byte;
//! * answers a probe declares "absent" are answers; failures are `error`, never a pass; a fan-out whose
//!   source failed is `UpstreamFailed`; an unreachable endpoint is exit 3 with every failure recorded;
//! * no secret reaches the pack, the results or the logs (at -vvv);
//! * Ctrl-C writes what was collected (exit 130);
//! * a manifest naming a write operation is refused.
//!
//! Provider-specific behaviour (credential chains, retries, endpoints, the guards' network tests, the
//! estates' traps) stays in tests/aws_moto.rs, tests/aws_guard.rs and tests/aliyun_scan.rs.

mod common;
use common::{aliyun, moto};
use dengbao::jsonpath::{scalar_string, KeyContext, KeyExpr, Query};
use dengbao::pack::{Pack, ProbeStatus};
use dengbao::probes::ProbeCatalog;
use dengbao::verdict::Verdict;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::MutexGuard;

/// A provider with its local test estates.
enum Cloud {
    Aws(moto::Moto),
    Aliyun(String),
}

/// A running estate: where to send calls, and what keeps it up (the moto lock, the local server).
struct Estate {
    endpoint: String,
    /// Credentials to scan with (environment), when not the provider's default test key.
    env: Vec<(String, String)>,
    _server: Option<aliyun::Server>,
    _proxy: Option<Proxy>,
    _moto: Option<MutexGuard<'static, ()>>,
}

/// The benchmark proxy in front of moto, paging EC2's lists as AWS does (moto answers them whole).
struct Proxy(std::process::Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Every provider whose estates are available (a missing one fails when scripts/test.sh requires it).
fn clouds() -> Vec<Cloud> {
    let mut all = Vec::new();
    if let Some(m) = moto::moto() {
        all.push(Cloud::Aws(m));
    }
    if let Some(py) = aliyun::python() {
        all.push(Cloud::Aliyun(py));
    }
    all
}

fn lock_moto() -> MutexGuard<'static, ()> {
    moto::MOTO.lock().unwrap_or_else(|e| e.into_inner())
}

impl Cloud {
    fn name(&self) -> &'static str {
        match self {
            Cloud::Aws(_) => "aws",
            Cloud::Aliyun(_) => "aliyun",
        }
    }

    fn estate(&self, endpoint: String) -> Estate {
        Estate {
            endpoint,
            env: Vec::new(),
            _server: None,
            _proxy: None,
            _moto: None,
        }
    }

    fn server(&self, py: &str, args: &[&str]) -> Estate {
        let s = aliyun::start(py, args);
        Estate {
            endpoint: s.endpoint.clone(),
            _server: Some(s),
            ..self.estate(String::new())
        }
    }

    /// An estate with something of everything: several pages, fan-out, home regions, absent answers.
    fn busy(&self) -> Estate {
        match self {
            Cloud::Aws(m) => {
                let guard = lock_moto();
                moto::seed(m, &m.endpoint, &["mixed"]);
                let port = free_port();
                let script =
                    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto/latency_proxy.py");
                let child = Command::new(&m.python)
                    .arg(script)
                    .args(["--port", &port.to_string(), "--upstream", &m.endpoint])
                    .args(["--delay-ms", "0", "--paginate"])
                    .spawn()
                    .unwrap();
                for _ in 0..100 {
                    if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                Estate {
                    _moto: Some(guard),
                    _proxy: Some(Proxy(child)),
                    ..self.estate(format!("http://127.0.0.1:{port}"))
                }
            }
            Cloud::Aliyun(py) => self.server(py, &["--estate", "clean"]),
        }
    }

    /// An estate where every call is refused.
    fn refusing(&self) -> Estate {
        match self {
            Cloud::Aws(m) => {
                let guard = lock_moto();
                // Seeding uses up the calls the IAM-enforcing server lets through unauthenticated; then
                // the `testing` key (no IAM user's) is refused everywhere.
                moto::seed(m, &m.denied, &["denied"]);
                Estate {
                    _moto: Some(guard),
                    ..self.estate(m.denied.clone())
                }
            }
            Cloud::Aliyun(py) => self.server(py, &["--estate", "clean", "--deny", "all"]),
        }
    }

    /// An estate where some probes with fan-out are refused (and the rest answer).
    fn partly_refusing(&self) -> Estate {
        match self {
            Cloud::Aws(m) => {
                let guard = lock_moto();
                let summary = moto::seed(m, &m.denied, &["denied"]);
                let key = |k: &str| summary["scanner"][k].as_str().unwrap().to_string();
                Estate {
                    env: vec![
                        ("AWS_ACCESS_KEY_ID".into(), key("AccessKeyId")),
                        ("AWS_SECRET_ACCESS_KEY".into(), key("SecretAccessKey")),
                    ],
                    _moto: Some(guard),
                    ..self.estate(m.denied.clone())
                }
            }
            Cloud::Aliyun(py) => self.server(
                py,
                &["--estate", "clean", "--deny", "DescribeSecurityGroups"],
            ),
        }
    }

    /// The probes whose pages the busy estate spreads over several answers, and the manifest edit
    /// that makes them page (AWS: smaller pages of security groups than the estate has).
    fn paged(
        &self,
    ) -> (
        &'static [&'static str],
        Option<(&'static str, &'static str, &'static str)>,
    ) {
        match self {
            Cloud::Aws(_) => (
                &["aws.ec2.describe_security_groups"],
                Some((
                    "aws/ec2.toml",
                    "parameters = { MaxResults = 200 }",
                    "parameters = { MaxResults = 5 }",
                )),
            ),
            // NextToken, Marker/IsTruncated and CurrentPage/TotalCount (the server's pages hold 2).
            Cloud::Aliyun(_) => (
                &[
                    "aliyun.ecs.describe_instances",
                    "aliyun.ram.list_users",
                    "aliyun.sas.describe_cloud_center_instances",
                ],
                None,
            ),
        }
    }

    /// Runs `dengbao scan` against `estate` into `out`, with the provider's test credentials.
    fn scan(&self, estate: &Estate, out: &Path, extra: &[&str]) -> (i32, String) {
        let env: Vec<(&str, &str)> = estate
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        match self {
            Cloud::Aws(_) => {
                let key = |name: &str, default: &'static str| {
                    env.iter()
                        .find(|(k, _)| *k == name)
                        .map_or(default, |(_, v)| v)
                };
                let creds = (
                    key("AWS_ACCESS_KEY_ID", "testing"),
                    key("AWS_SECRET_ACCESS_KEY", "testing"),
                );
                moto::scan(&estate.endpoint, out, creds, extra)
            }
            Cloud::Aliyun(_) => aliyun::scan(&estate.endpoint, out, extra, &env),
        }
    }
}

fn catalog() -> ProbeCatalog {
    dengbao::app::load(None, None, "mlps2-l3-cloud")
        .unwrap()
        .probes
}

fn results(dir: &Path) -> dengbao::results::Results {
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

/// Every fan-out, checked against the documents it fans out from: each listed key asked about once
/// (first pages), in the item's home region when the manifest names one, and nothing else asked.
fn fan_out_problems(pack: &Pack, probes: &ProbeCatalog) -> Vec<String> {
    let index = dengbao::engine::EvidenceIndex::build(pack).unwrap();
    let records = &pack.manifest.records;
    let mut problems = Vec::new();
    for child in probes
        .probes
        .values()
        .filter(|p| p.provider == pack.manifest.scan.provider)
    {
        let Some(f) = &child.fan_out else { continue };
        let items = Query::compile(&f.items).unwrap();
        let key = KeyExpr::parse(&f.key).unwrap();
        let home = f.home_region.as_deref().map(|h| Query::compile(h).unwrap());
        let filter = f
            .key_matches
            .as_deref()
            .map(|r| regex::Regex::new(r).unwrap());
        let mut expected = BTreeSet::new();
        for (i, rec) in records.iter().enumerate() {
            let usable = rec.error.is_none() && rec.http_status.is_some_and(|s| s < 300);
            let Some(doc) = index.docs[i]
                .as_ref()
                .filter(|_| usable && rec.probe.as_str() == f.from)
            else {
                continue;
            };
            for item in items.values(doc) {
                let ctx = KeyContext {
                    params: &rec.parameters,
                    region: &rec.region,
                    account: &rec.account,
                    resource: Some(item),
                };
                // A home that is an Alibaba Cloud ARN (`acs:SERVICE:REGION:…`) names its region.
                let region = home
                    .as_ref()
                    .and_then(|h| h.first(item).and_then(|(v, _)| scalar_string(v)))
                    .filter(|r| !r.is_empty())
                    .map(|h| {
                        if h.starts_with("acs:") {
                            dengbao::aliyun::arn_region(&h)
                                .unwrap_or_default()
                                .to_string()
                        } else {
                            h
                        }
                    })
                    .unwrap_or_else(|| rec.region.to_string());
                for k in key.values(item, &ctx) {
                    if filter.as_ref().is_none_or(|re| re.is_match(&k)) {
                        expected.insert((region.clone(), k));
                    }
                }
            }
        }
        let mut asked: BTreeMap<(String, String), usize> = BTreeMap::new();
        let token = dengbao::collect::paging::token_param(child);
        for rec in records.iter().filter(|r| r.probe.as_str() == child.id) {
            let params = rec.parameters.value();
            let page = child.pagination.as_ref().map(|p| p.page_param());
            let first_page = params.get(token).is_none()
                && page.is_none_or(|page| params.get(page).is_none_or(|n| n == 1));
            if first_page {
                let k = params[&f.param].as_str().unwrap_or_default().to_string();
                *asked.entry((rec.region.to_string(), k)).or_default() += 1;
            }
        }
        let asked_keys: BTreeSet<_> = asked.keys().cloned().collect();
        for missing in expected.difference(&asked_keys) {
            problems.push(format!(
                "{}: {missing:?} was listed but not asked about",
                child.id
            ));
        }
        for extra in asked_keys.difference(&expected) {
            problems.push(format!(
                "{}: {extra:?} was asked about but not listed",
                child.id
            ));
        }
        for (k, n) in asked.iter().filter(|(_, n)| **n > 1) {
            problems.push(format!("{}: {k:?} asked {n} times", child.id));
        }
    }
    problems
}

#[test]
fn pages_fan_out_and_reproducible_results() {
    for cloud in clouds() {
        let estate = cloud.busy();
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("scan");
        let (paged, edit) = cloud.paged();
        let mut extra: Vec<String> = Vec::new();
        if let Some((file, from, to)) = edit {
            let probes = d.path().join("probes");
            copy_tree(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("probes"),
                &probes,
            );
            let text = std::fs::read_to_string(probes.join(file)).unwrap();
            assert!(text.contains(from), "{file} sets {from}");
            std::fs::write(probes.join(file), text.replace(from, to)).unwrap();
            extra = vec!["--probes".into(), probes.display().to_string()];
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let (code, log) = cloud.scan(&estate, &out, &extra);
        let name = cloud.name();
        assert_eq!(code, 0, "{name}: {log}");
        let pack_dir = out.join("pack");
        assert!(dengbao::pack::verify(&pack_dir).unwrap().is_ok(), "{name}");
        let pack = Pack::open(&pack_dir).unwrap();
        let m = &pack.manifest;
        assert_eq!(m.scan.provider, name);
        assert!(
            !m.scan.accounts.is_empty(),
            "{name}: the identity probe named the account"
        );
        for rec in &m.records {
            assert!(
                !rec.captured_at.is_empty() && rec.sha256.starts_with("sha256:"),
                "{rec:?}"
            );
            assert_eq!(rec.account.as_str(), m.scan.accounts[0].as_str(), "{rec:?}");
            assert_eq!(rec.partition.as_str(), m.scan.partition.as_str(), "{rec:?}");
        }
        // Pages: several answers, each asking for another page.
        for probe in paged {
            let region = &m.scan.regions[0];
            let pages: Vec<_> = m
                .records
                .iter()
                .filter(|r| r.probe.as_str() == *probe && r.region.as_str() == region.as_str())
                .collect();
            let asked: BTreeSet<String> = pages
                .iter()
                .map(|r| r.parameters.as_json().to_string())
                .collect();
            assert!(
                pages.len() >= 2 && asked.len() == pages.len(),
                "{probe}: {pages:?}"
            );
        }
        let problems = fan_out_problems(&pack, &catalog());
        assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
        // At least one fan-out goes by home region in these estates (AWS trails and buckets, ActionTrail).
        assert!(catalog().probes.values().any(|p| p.provider == name
            && p.fan_out.as_ref().is_some_and(|f| f.home_region.is_some())
            && m.records.iter().any(|r| r.probe.as_str() == p.id)));
        // Absent answers are answers: an error status, no error, its run ok.
        let absent: Vec<_> = m
            .records
            .iter()
            .filter(|r| r.http_status.is_some_and(|s| s >= 300) && r.error.is_none())
            .collect();
        assert!(
            !absent.is_empty(),
            "{name}: the estate has a probe answering with one of its absent_codes"
        );
        for r in absent {
            assert!(
                !catalog().get(&r.probe).unwrap().absent_codes.is_empty(),
                "{r:?}"
            );
        }
        // Offline evaluation reproduces the live results byte for byte.
        let again = d.path().join("again");
        let o = Command::new(common::bin())
            .arg("evaluate")
            .arg(&pack_dir)
            .arg("--out")
            .arg(&again)
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}");
        assert_eq!(
            std::fs::read(out.join("results.json")).unwrap(),
            std::fs::read(again.join("results.json")).unwrap(),
            "{name}"
        );
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for e in walkdir::WalkDir::new(from) {
        let e = e.unwrap();
        let target = to.join(e.path().strip_prefix(from).unwrap());
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// A scan that collected nothing: exit 3, every run failed, the pack verifies, every mapped item errs.
fn collected_nothing(name: &str, code: i32, log: &str, dir: &Path) -> Pack {
    assert_eq!(code, 3, "{name}: nothing could be collected: {log}");
    assert!(log.contains("nothing could be collected"), "{name}");
    assert!(
        dengbao::pack::verify(&dir.join("pack")).unwrap().is_ok(),
        "{name}"
    );
    let pack = Pack::open(&dir.join("pack")).unwrap();
    let runs = &pack.manifest.probes;
    assert!(
        !runs.is_empty() && runs.iter().all(|p| p.status == ProbeStatus::Error),
        "{name}"
    );
    let r = results(dir);
    for id in common::decided_items(name) {
        let c = r.controls.iter().find(|c| c.id == id).unwrap();
        assert_eq!(c.verdict, Verdict::Error, "{name} {id}: {:?}", c.reasons);
    }
    pack
}

#[test]
fn refused_calls_are_errors_never_passes() {
    for cloud in clouds() {
        let name = cloud.name();
        let estate = cloud.refusing();
        let d = tempfile::tempdir().unwrap();
        let (code, log) = cloud.scan(&estate, d.path(), &["--max-attempts", "1"]);
        let pack = collected_nothing(name, code, &log, d.path());
        // The refusals are evidence: their bodies are in the pack.
        let refusals = pack.manifest.records.iter();
        assert!(refusals
            .filter(|r| r.error.is_some())
            .any(|r| r.http_status.is_some_and(|s| s >= 400)));
    }
}

#[test]
fn a_failed_source_marks_its_fan_out_upstream_failed() {
    for cloud in clouds() {
        let name = cloud.name();
        let estate = cloud.partly_refusing();
        let d = tempfile::tempdir().unwrap();
        let (code, log) = cloud.scan(&estate, d.path(), &["--max-attempts", "1"]);
        assert_eq!(code, 0, "{name}: something was collected: {log}");
        let pack = Pack::open(&d.path().join("pack")).unwrap();
        let probes = catalog();
        let runs: BTreeMap<(&str, &str), &dengbao::pack::ProbeRun> = pack
            .manifest
            .probes
            .iter()
            .map(|r| ((r.id.as_str(), r.region.as_str()), r))
            .collect();
        let mut marked = 0;
        for run in pack
            .manifest
            .probes
            .iter()
            .filter(|r| r.status == ProbeStatus::Error)
        {
            for child in probes
                .probes
                .values()
                .filter(|p| p.fan_out.as_ref().is_some_and(|f| f.from == run.id))
            {
                let child_run = runs.get(&(child.id.as_str(), run.region.as_str()));
                let e = child_run.and_then(|r| r.error.as_ref()).unwrap_or_else(|| {
                    panic!("{name}: {} in {} has no failed run", child.id, run.region)
                });
                marked += usize::from(e.code == "UpstreamFailed");
            }
        }
        assert!(marked > 0, "{name}: a refused source with fan-out");
        let r = results(d.path());
        let errors = r
            .controls
            .iter()
            .filter(|c| c.verdict == Verdict::Error)
            .count();
        assert!(
            errors > 0 && errors < common::decided_items(name).len(),
            "{name}: only what needs the refused evidence errs"
        );
    }
}

#[test]
fn unreachable_endpoint_records_every_failure() {
    for cloud in clouds() {
        let name = cloud.name();
        let estate = cloud.estate(format!("http://127.0.0.1:{}", free_port()));
        let d = tempfile::tempdir().unwrap();
        let (code, log) = cloud.scan(
            &estate,
            d.path(),
            &["--max-attempts", "1", "--timeout", "5"],
        );
        let pack = collected_nothing(name, code, &log, d.path());
        let runs = &pack.manifest.probes;
        let code = |p: &dengbao::pack::ProbeRun| p.error.as_ref().map(|e| e.code.clone());
        assert!(
            runs.iter()
                .any(|p| code(p).as_deref() == Some("ConnectionError")),
            "{name}"
        );
    }
}

#[test]
fn no_secret_in_the_pack_the_results_or_the_logs() {
    for cloud in clouds() {
        let name = cloud.name();
        let mut estate = cloud.busy();
        let secret = "s3cr3t-DENGBAO-never-written";
        let (key_var, secret_var, token_var) = match cloud {
            Cloud::Aws(_) => (
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
            ),
            Cloud::Aliyun(_) => (
                "ALIBABA_CLOUD_ACCESS_KEY_ID",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                "ALIBABA_CLOUD_SECURITY_TOKEN",
            ),
        };
        // The local Alibaba Cloud endpoint knows this STS key; moto takes any key.
        let (key, secret) = match cloud {
            Cloud::Aws(_) => ("AKIADENGBAOTEST", secret),
            Cloud::Aliyun(_) => ("STS.testing", "sts-secret"),
        };
        let token = if name == "aliyun" {
            "sts-token-1"
        } else {
            "session-token-never-written"
        };
        estate.env = vec![
            (key_var.into(), key.into()),
            (secret_var.into(), secret.into()),
            (token_var.into(), token.into()),
        ];
        let d = tempfile::tempdir().unwrap();
        let (code, log) = cloud.scan(&estate, d.path(), &["-vvv", "--log-format", "json"]);
        assert_eq!(code, 0, "{name}: {log}");
        let kept = common::files_text(d.path()) + &log;
        for leak in [
            secret,
            token,
            "Signature=",
            "ACS3-HMAC-SHA256",
            "x-acs-signature-nonce",
        ] {
            assert!(!kept.contains(leak), "{name}: {leak} leaked");
        }
        assert!(
            !kept.to_ascii_lowercase().contains("x-amz-security-token"),
            "{name}"
        );
    }
}

#[test]
fn ctrl_c_writes_what_was_collected() {
    for cloud in clouds() {
        let name = cloud.name();
        // An endpoint that accepts connections and never answers: the scan waits until Ctrl-C.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        // The first connection says the scan is under way (its Ctrl-C handler is set before any call):
        // a fixed sleep instead raced the loading of the mappings on a busy machine.
        let (connected, first_call) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in listener.incoming() {
                held.push(c);
                let _ = connected.send(());
            }
        });
        let d = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(common::bin());
        cmd.args([
            "scan",
            "--provider",
            name,
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
        .env("ALIBABA_CLOUD_ACCESS_KEY_ID", aliyun::KEY_ID)
        .env("ALIBABA_CLOUD_ACCESS_KEY_SECRET", aliyun::SECRET)
        .env("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
        .args([
            "--regions",
            if name == "aws" {
                "cn-north-1"
            } else {
                "cn-hangzhou"
            },
        ]);
        let child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        first_call
            .recv_timeout(std::time::Duration::from_secs(120))
            .unwrap_or_else(|_| panic!("{name}: the scan made no call within 120 s"));
        // A moment for the calls already started to be in flight when Ctrl-C arrives.
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(130),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(d.path().join("pack/manifest.json").is_file(), "{name}");
        assert!(
            dengbao::pack::verify(&d.path().join("pack"))
                .unwrap()
                .is_ok(),
            "{name}"
        );
        assert!(d.path().join("results.json").is_file(), "{name}");
    }
}

#[test]
fn a_manifest_naming_a_write_is_refused() {
    for name in dengbao::providers::names() {
        let d = tempfile::tempdir().unwrap();
        let probes = d.path().join("probes");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("probes"),
            &probes,
        );
        let file = std::fs::read_dir(probes.join(name))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let text = std::fs::read_to_string(&file).unwrap();
        let service = text
            .lines()
            .find_map(|l| l.strip_prefix("service = "))
            .unwrap()
            .trim_matches('"');
        let write = format!(
            "{text}\n[[probe]]\nid = \"{name}.{service}.delete_everything\"\noperation = \"DeleteEverything\"\nscope = \"regional\"\niam_action = \"{service}:DeleteEverything\"\ndescription = \"d\"\n"
        );
        std::fs::write(&file, write).unwrap();
        let o = Command::new(common::bin())
            .args(["scan", "--provider", name, "--regions", "r1", "--out"])
            .arg(d.path().join("out"))
            .arg("--probes")
            .arg(&probes)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {err}");
        assert!(
            err.contains("DeleteEverything`, which is not a read operation"),
            "{name}: {err}"
        );
        assert!(
            !d.path().join("out/pack").exists(),
            "{name}: nothing was collected"
        );
    }
}
