//! Hostile packs (issue #12): a pack, its manifest and its bodies are untrusted. Nothing outside the
//! pack is ever read (checked under `strace`), links and special files are refused and named, depth
//! and size are bounded, and outputs never land inside the pack they come from.
//!
//! The strace test needs Debian's `strace` (scripts/test.sh installs it and sets
//! `DENGBAO_REQUIRE_STRACE=1`, so a missing strace fails the test rather than skipping it).

mod common;
use common::bin;
use dengbao::results::Results;
use serde_json::Value;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs dengbao with `args` in `cwd`, killing it after a minute (a FIFO must never hang a reader).
fn run_in(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env("COLUMNS", "200")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dengbao {args:?} hung (a FIFO read?)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// A tempdir holding `pack/` (the demo pack, as `scan --demo` leaves it) and `secret` beside it.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let demo = dir.path().join("demo");
        let (code, _, err) = run_in(dir.path(), &["scan", "--demo", "--out", s(&demo)]);
        assert_eq!(code, 0, "{err}");
        std::fs::rename(demo.join("pack"), dir.path().join("pack")).unwrap();
        std::fs::remove_dir_all(&demo).unwrap();
        std::fs::write(
            dir.path().join("secret"),
            "[default]\naws_secret_access_key = HOSTILE-PACK-CANARY\n",
        )
        .unwrap();
        Fixture { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn pack(&self) -> PathBuf {
        self.root().join("pack")
    }

    fn out(&self, name: &str) -> PathBuf {
        self.root().join(name)
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        run_in(self.root(), args)
    }

    fn manifest(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.pack().join("manifest.json")).unwrap()).unwrap()
    }

    fn set_manifest(&self, m: &Value) {
        std::fs::write(
            self.pack().join("manifest.json"),
            serde_json::to_vec_pretty(m).unwrap(),
        )
        .unwrap();
    }

    /// Index and digest of the first record of `probe`.
    fn record(&self, probe: &str) -> (usize, String) {
        let m = self.manifest();
        let (i, rec) = m["records"]
            .as_array()
            .unwrap()
            .iter()
            .enumerate()
            .find(|(_, r)| r["probe"] == probe)
            .unwrap_or_else(|| panic!("the demo pack has {probe}"));
        (i, rec["sha256"].as_str().unwrap().to_string())
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.pack().join("blobs/sha256").join(&hex[..2]).join(hex)
    }

    /// Replaces the body of every record of `probe` with `body`: a new blob, the old ones removed and
    /// the manifest updated to name it (the pack still verifies).
    fn plant(&self, probe: &str, body: &[u8]) -> String {
        let digest = dengbao::pack::Digest::of(body).to_string();
        let path = self.blob_path(&digest);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, body).unwrap();
        let mut m = self.manifest();
        let mut old = Vec::new();
        for rec in m["records"].as_array_mut().unwrap() {
            if rec["probe"] == probe {
                old.push(rec["sha256"].as_str().unwrap().to_string());
                rec["sha256"] = digest.clone().into();
                rec["size"] = body.len().into();
            }
        }
        for d in old {
            if d != digest
                && !m["records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r["sha256"] == d)
            {
                std::fs::remove_file(self.blob_path(&d)).unwrap();
            }
        }
        self.set_manifest(&m);
        digest
    }

    /// `verify` finds problems (exit 2) printing each of `problems`, and `evaluate` refuses the pack
    /// (exit 1) saying `refusal`.
    fn refused(&self, problems: &[&str], refusal: &str) {
        let (code, out, err) = self.run(&["verify", "pack"]);
        assert_eq!(code, 2, "{out}{err}");
        for p in problems {
            assert!(out.contains(p), "verify should say {p:?}:\n{out}");
        }
        let (code, err) = self.evaluate("out");
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(refusal), "{err}");
    }

    /// Evaluates the pack into `out`, with every report format; the exit code and stderr.
    fn evaluate(&self, out: &str) -> (i32, String) {
        let (code, _, err) = self.run(&[
            "evaluate",
            s(&self.pack()),
            "--out",
            s(&self.out(out)),
            "--format",
            "all",
        ]);
        (code, err)
    }
}

fn results(dir: &Path) -> Results {
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

/// Every resource result of rules reading `probe` (as their evidence probe).
fn reasons_of(r: &Results, probe: &str) -> Vec<(dengbao::verdict::Verdict, Vec<String>)> {
    r.controls
        .iter()
        .flat_map(|c| &c.rules)
        .filter(|rule| rule.evidence_probes.first().is_some_and(|p| p == probe))
        .map(|rule| {
            let reasons = rule
                .resources
                .iter()
                .filter_map(|res| res.into_owned().reason)
                .collect();
            (rule.verdict, reasons)
        })
        .collect()
}

/// Every rule reading `probe` (results in `out`) gives `error`, with a reason saying all of `says`.
fn all_error(out: &Path, probe: &str, says: &[&str]) {
    let judged = reasons_of(&results(out), probe);
    assert!(!judged.is_empty(), "rules read {probe}");
    for (verdict, reasons) in judged {
        assert_eq!(verdict, dengbao::verdict::Verdict::Error, "{reasons:?}");
        assert!(
            reasons.iter().any(|r| says.iter().all(|w| r.contains(w))),
            "{reasons:?}"
        );
    }
}

#[test]
fn digests_that_are_paths_are_refused_when_the_manifest_is_read() {
    for (n, bad) in [
        "sha256:../../../../etc/passwd",
        "sha256:/etc/passwd",
        "sha256:a",
    ]
    .into_iter()
    .enumerate()
    {
        let f = Fixture::new();
        let mut m = f.manifest();
        m["records"][3]["sha256"] = bad.into();
        f.set_manifest(&m);
        let want = format!(
            "manifest.json: records[3].sha256: expected sha256:<64 lower-case hex digits>, found {bad:?}"
        );
        let (code, out, err) = f.run(&["verify", "pack"]);
        assert_eq!(code, 1, "verify {bad}: {out}{err}");
        assert!(err.contains(&want), "verify {bad}: {err}");
        assert!(!out.contains("etc/passwd") && !err.contains("panicked"));
        let (code, err) = f.evaluate(&format!("out{n}"));
        assert_eq!(code, 1, "evaluate {bad}: {err}");
        assert!(err.contains(&want), "evaluate {bad}: {err}");
        assert!(!f.out(&format!("out{n}")).join("results.json").exists());
        let (code, _, err) = f.run(&["evidence", "pack"]);
        assert_eq!(code, 1, "evidence {bad}: {err}");
    }
}

#[test]
fn a_blob_linked_to_an_outside_file_is_refused_and_never_embedded() {
    let f = Fixture::new();
    // A hostile author names a blob by the real digest of a file on the assessor's machine.
    let secret = std::fs::read(f.root().join("secret")).unwrap();
    let digest = f.plant("aws.ec2.describe_security_groups", &secret);
    let blob = f.blob_path(&digest);
    std::fs::remove_file(&blob).unwrap();
    symlink(f.root().join("secret"), &blob).unwrap();
    let rel = blob.strip_prefix(f.pack()).unwrap().display().to_string();

    let (code, out, err) = f.run(&["verify", "pack"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.contains(&format!("linked: {rel} is a symbolic link")),
        "{out}"
    );
    assert!(!out.contains("ok:"), "{out}");

    let (code, err) = f.evaluate("after");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(!f.out("after").join("report.html").exists());
    let (code, _, err) = f.run(&["evidence", "pack"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is a symbolic link"), "{err}");
}

#[test]
fn report_never_embeds_a_linked_blob() {
    let f = Fixture::new();
    let secret = std::fs::read(f.root().join("secret")).unwrap();
    // The blob holds the secret's bytes while the results are computed…
    let digest = f.plant("aws.ec2.describe_security_groups", &secret);
    assert_eq!(f.evaluate("out").0, 0);
    assert!(std::fs::read_to_string(f.out("out/report.html"))
        .unwrap()
        .contains("HOSTILE-PACK-CANARY"));
    // …then becomes a link to the file itself: same digest, same manifest, same results.
    let blob = f.blob_path(&digest);
    std::fs::remove_file(&blob).unwrap();
    symlink(f.root().join("secret"), &blob).unwrap();
    let reports = f.out("reports");
    let (code, _, err) = f.run(&[
        "report",
        s(&f.out("out/results.json")),
        "--pack",
        "pack",
        "--out",
        s(&reports),
        "--format",
        "html",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is a symbolic link"), "{err}");
    assert!(!reports.join("report.html").exists());
}

#[test]
fn linked_directories_and_manifest_are_refused_and_named() {
    // `blobs/` pointing into another pack with the same blobs.
    let f = Fixture::new();
    let other = f.out("other-pack");
    std::fs::rename(f.pack().join("blobs"), &other).unwrap();
    symlink(&other, f.pack().join("blobs")).unwrap();
    f.refused(
        &[
            "linked: blobs is a symbolic link",
            "blob(s) named by the manifest are behind it",
        ],
        "blobs is a symbolic link",
    );

    // One fan-out directory, `blobs/sha256/ab/`.
    let f = Fixture::new();
    let (_, digest) = f.record("aws.ec2.describe_vpcs");
    let fan = f.blob_path(&digest).parent().unwrap().to_path_buf();
    let moved = f.out("fan");
    std::fs::rename(&fan, &moved).unwrap();
    symlink(&moved, &fan).unwrap();
    let rel = fan.strip_prefix(f.pack()).unwrap().display().to_string();
    f.refused(
        &[&format!("linked: {rel} is a symbolic link")],
        "is a symbolic link",
    );

    // manifest.json itself.
    let f = Fixture::new();
    std::fs::rename(f.pack().join("manifest.json"), f.out("manifest.json")).unwrap();
    symlink(f.out("manifest.json"), f.pack().join("manifest.json")).unwrap();
    f.refused(
        &["linked: manifest.json is a symbolic link"],
        "manifest.json is a symbolic link",
    );
}

#[test]
fn special_files_where_blobs_should_be_are_refused() {
    let f = Fixture::new();
    let (_, fifo_digest) = f.record("aws.ec2.describe_vpcs");
    let (_, dir_digest) = f.record("aws.ec2.describe_subnets");
    let fifo = f.blob_path(&fifo_digest);
    std::fs::remove_file(&fifo).unwrap();
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let dir = f.blob_path(&dir_digest);
    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let rel = |p: &Path| p.strip_prefix(f.pack()).unwrap().display().to_string();
    f.refused(
        &[
            &format!("not a regular file: {} is a FIFO", rel(&fifo)),
            &format!("not a regular file: {} is a directory", rel(&dir)),
        ],
        "not a regular file",
    );
}

#[test]
fn deep_xml_is_an_unparsable_body_not_a_crash() {
    let f = Fixture::new();
    let depth = 200_000;
    let xml = format!(
        "<DescribeSecurityGroupsResponse>{}{}</DescribeSecurityGroupsResponse>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    f.plant("aws.ec2.describe_security_groups", xml.as_bytes());
    let (code, err) = f.evaluate("out");
    assert_eq!(code, 0, "{err}");
    all_error(
        &f.out("out"),
        "aws.ec2.describe_security_groups",
        &["UnparsableResponse", "MAX_DOCUMENT_DEPTH"],
    );
    let (code, out, err) = f.run(&[
        "evidence",
        "pack",
        "--probe",
        "aws.ec2.describe_security_groups",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"document\": null"), "{out}");
}

/// `sh -c 'ulimit -v KB; exec dengbao …'`: the command under an address-space cap.
fn run_capped(cwd: &Path, kib: u64, args: &[&str]) -> (i32, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {kib}; exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn deep_json_is_an_error_verdict_and_its_report_stays_small() {
    let f = Fixture::new();
    let depth = 200_000;
    let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    f.plant("aws.cloudtrail.describe_trails", json.as_bytes());
    // 2 GiB of address space: the report once grew past 20 GiB re-indenting this body.
    let cap = 2 << 20;
    let out = f.out("out");
    let (code, err) = run_capped(f.root(), cap, &["evaluate", "pack", "--out", s(&out)]);
    assert_eq!(code, 0, "{err}");
    all_error(
        &out,
        "aws.cloudtrail.describe_trails",
        &["recursion limit", "MAX_DOCUMENT_DEPTH"],
    );
    for format in ["html", "xlsx", "csv", "md", "ocsf"] {
        let dir = f.out(&format!("report-{format}"));
        let (code, err) = run_capped(
            f.root(),
            cap,
            &[
                "report",
                s(&out.join("results.json")),
                "--pack",
                "pack",
                "--out",
                s(&dir),
                "--format",
                format,
            ],
        );
        assert_eq!(code, 0, "{format}: {err}");
    }
    let html = std::fs::read_to_string(f.out("report-html/report.html")).unwrap();
    assert!(html.len() < 8 << 20, "report.html is {} bytes", html.len());
    assert!(html.contains("Truncated; the pack holds the whole body."));
}

#[test]
fn a_body_over_the_size_limit_is_not_read() {
    let f = Fixture::new();
    // A sparse file: 513 MiB that take no disk space, named by a made-up digest.
    let digest = f.plant("aws.ec2.describe_vpcs", b"placeholder");
    let size = dengbao::limits::MAX_BODY_BYTES + (1 << 20);
    std::fs::File::create(f.blob_path(&digest))
        .unwrap()
        .set_len(size)
        .unwrap();
    let out = f.out("out");
    // Far less memory than the body: it must not be read.
    let (code, err) = run_capped(
        f.root(),
        400 << 10,
        &["evaluate", "pack", "--out", s(&out), "--format", "html"],
    );
    assert_eq!(code, 0, "{err}");
    all_error(
        &out,
        "aws.ec2.describe_vpcs",
        &["UnparsableResponse", "MAX_BODY_BYTES"],
    );
}

#[test]
fn outputs_never_land_inside_the_pack() {
    let f = Fixture::new();
    for out in ["pack", "pack/reports", "pack/blobs"] {
        let (code, _, err) = f.run(&["evaluate", "pack", "--out", out]);
        assert_eq!(code, 1, "--out {out}: {err}");
        assert!(err.contains("outputs never go into the evidence"), "{err}");
    }
    assert!(!f.pack().join("results.json").exists());
    assert_eq!(f.run(&["verify", "pack"]).0, 0, "the pack still verifies");

    assert_eq!(f.run(&["evaluate", "pack", "--out", "out"]).0, 0);
    for out in ["pack", "pack/html"] {
        let (code, _, err) = f.run(&["report", "out/results.json", "--pack", "pack", "--out", out]);
        assert_eq!(code, 1, "report --out {out}: {err}");
    }
    // The default pack beside results.json counts too.
    std::fs::rename(f.pack(), f.out("out/pack")).unwrap();
    let (code, _, err) = f.run(&["report", "out/results.json", "--out", "out/pack/html"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(f.run(&["verify", "out/pack"]).0, 0);
}

#[test]
fn results_of_another_pack_are_not_overwritten_without_force() {
    let f = Fixture::new();
    assert_eq!(f.run(&["evaluate", "pack", "--out", "out"]).0, 0);
    // Evaluating the same pack again replaces its own results.
    assert_eq!(f.run(&["evaluate", "pack", "--out", "out"]).0, 0);
    f.plant(
        "aws.ec2.describe_vpcs",
        b"<DescribeVpcsResponse><vpcSet/></DescribeVpcsResponse>",
    );
    let before = std::fs::read(f.out("out/results.json")).unwrap();
    let (code, _, err) = f.run(&["evaluate", "pack", "--out", "out"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("of another pack") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read(f.out("out/results.json")).unwrap(), before);
    assert_eq!(f.run(&["evaluate", "pack", "--out", "out", "--force"]).0, 0);
    assert_ne!(std::fs::read(f.out("out/results.json")).unwrap(), before);
}

#[test]
fn the_embedded_demo_still_works() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = run_in(
        d.path(),
        &["scan", "--demo", "--out", "o", "--format", "all"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(run_in(d.path(), &["verify", "o/pack"]).0, 0);
    assert_eq!(
        run_in(d.path(), &["report", "o/results.json", "--out", "r"]).0,
        0
    );
}

/// Where a path named in an strace line points: `openat(5</dir>, "rel", …)` is `/dir/rel`; a path
/// without a directory descriptor is relative to `cwd`. Every quoted path argument of the call.
fn strace_paths(line: &str, cwd: &Path) -> Vec<PathBuf> {
    let Some(open) = line.find('(') else {
        return Vec::new();
    };
    let call = line[..open].rsplit(' ').next().unwrap_or("");
    let args = &line[open + 1..];
    // The directory a descriptor argument stands for (strace -y prints `3</path>`).
    let base = args
        .split_once(", \"")
        .and_then(|(first, _)| first.split_once('<'))
        .map(|(_, rest)| PathBuf::from(rest.trim_end_matches('>')));
    let mut paths = Vec::new();
    let quoted: Vec<&str> = args.split('"').skip(1).step_by(2).collect();
    // readlink and readlinkat print the link's text as their second string: not a path opened.
    let take = match call {
        "rename" | "renameat" | "renameat2" | "link" | "linkat" | "symlink" => 2,
        _ => 1,
    };
    for q in quoted.into_iter().take(take) {
        let p = Path::new(q);
        paths.push(if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.clone().unwrap_or_else(|| cwd.to_path_buf()).join(p)
        });
    }
    paths
}

/// The documented allow-list (docs/security.md): the dynamic loader and the binary's libraries,
/// the process's own /proc entries, CPU and cgroup facts the runtime reads to size thread pools,
/// /dev/null, locale and time-zone data.
const SYSTEM_PATHS: &[&str] = &[
    "/etc/ld.so.preload",
    "/etc/ld.so.cache",
    "/lib/",
    "/lib64/",
    "/usr/lib/",
    "/usr/lib64/",
    "/proc/self/",
    "/sys/fs/cgroup/",
    "/sys/devices/system/cpu/",
    "/dev/null",
    "/etc/localtime",
    "/usr/share/zoneinfo/",
    "/usr/share/locale/",
];

#[test]
fn nothing_outside_the_pack_is_read_under_strace() {
    let strace = Command::new("strace").arg("-V").output();
    if strace.as_ref().map_or(true, |o| !o.status.success()) {
        assert!(
            std::env::var_os("DENGBAO_REQUIRE_STRACE").is_none(),
            "DENGBAO_REQUIRE_STRACE is set but strace cannot be run (apt-get install strace)"
        );
        eprintln!("skipped: strace is not installed (scripts/test.sh installs it)");
        return;
    }
    // A readable hostile pack (deep bodies), and one with links to the secret beside it.
    let deep = Fixture::new();
    let xml = format!("<R>{}{}</R>", "<a>".repeat(100_000), "</a>".repeat(100_000));
    deep.plant("aws.ec2.describe_security_groups", xml.as_bytes());
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    deep.plant("aws.cloudtrail.describe_trails", json.as_bytes());
    let linked = Fixture::new();
    let secret = std::fs::read(linked.root().join("secret")).unwrap();
    let digest = linked.plant("aws.ec2.describe_security_groups", &secret);
    let blob = linked.blob_path(&digest);
    std::fs::remove_file(&blob).unwrap();
    symlink(linked.root().join("secret"), &blob).unwrap();
    let (_, vpcs) = linked.record("aws.ec2.describe_vpcs");
    let fan = linked.blob_path(&vpcs).parent().unwrap().to_path_buf();
    std::fs::rename(&fan, linked.out("fan")).unwrap();
    symlink(linked.out("fan"), &fan).unwrap();

    for (f, expect) in [(&deep, [0, 0, 0]), (&linked, [2, 1, 1])] {
        let tmp = f.out("tmp");
        std::fs::create_dir_all(&tmp).unwrap();
        let log = f.out("strace.log");
        let out = f.out("out");
        let reports = f.out("reports");
        // `report` reads results computed from the intact demo pack when the pack is hostile.
        if expect[2] != 0 {
            std::fs::create_dir_all(&out).unwrap();
            let demo = tempfile::tempdir().unwrap();
            run_in(demo.path(), &["scan", "--demo", "--out", "o"]);
            std::fs::copy(demo.path().join("o/results.json"), out.join("results.json")).unwrap();
            // Same manifest digest, so the report opens the pack and reaches the linked blob.
            std::fs::copy(
                demo.path().join("o/pack/manifest.json"),
                f.pack().join("manifest.json"),
            )
            .unwrap();
        }
        let runs: [Vec<&str>; 3] = [
            vec!["verify", "pack"],
            vec!["evaluate", "pack", "--out", "out", "--format", "all"],
            vec![
                "report",
                "out/results.json",
                "--pack",
                "pack",
                "--out",
                "reports",
                "--format",
                "all",
            ],
        ];
        for (args, want) in runs.iter().zip(expect) {
            let _ = std::fs::remove_file(&log);
            let status = Command::new("strace")
                .args(["-f", "-y", "-qq", "-e", "trace=%file", "-o"])
                .arg(&log)
                .arg(bin())
                .args(args)
                .current_dir(f.root())
                .env("TMPDIR", &tmp)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .status()
                .unwrap();
            assert_eq!(status.code(), Some(want), "{args:?}");
            let text = std::fs::read_to_string(&log).unwrap();
            assert!(
                !text.contains("secret"),
                "{args:?} touched the secret:\n{text}"
            );
            let mut allowed_dirs = vec![f.pack(), out.clone(), reports.clone(), tmp.clone()];
            // The loader's search for the binary's libraries (cargo sets LD_LIBRARY_PATH for tests).
            allowed_dirs.extend(std::env::split_paths(
                &std::env::var_os("LD_LIBRARY_PATH").unwrap_or_default(),
            ));
            allowed_dirs.retain(|d| !d.as_os_str().is_empty());
            let root = f.root().canonicalize().unwrap();
            for line in text.lines() {
                if line.contains("execve(") {
                    continue; // the binary itself
                }
                for p in strace_paths(line, f.root()) {
                    let inside = allowed_dirs.iter().any(|d| p.starts_with(d))
                        || SYSTEM_PATHS.iter().any(|s| p.starts_with(s))
                        || (p.starts_with("/proc/") && p.to_string_lossy().contains("/maps"))
                        // Resolving --out walks its ancestors (readlink/stat, never open).
                        || (root.starts_with(&p) && !line.contains("open"));
                    assert!(inside, "{args:?} reached {}:\n{line}", p.display());
                }
            }
        }
    }
}
