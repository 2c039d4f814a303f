//! The assessment layer on a signed pack: attachments, judgements, the assessor's signature, the
//! 测评记录表 with final verdicts, tampering, and links that are never followed.

use super::{
    demo_pack, dengbao, dengbao_verifies, keygen, openssh_verifies, openssh_verify, setup, sign,
    text,
};
use std::path::{Path, PathBuf};
use std::process::Output;

fn results(dir: &Path) -> dengbao::results::Results {
    serde_json::from_slice(&std::fs::read(dir.join("results.json")).unwrap()).unwrap()
}

fn xlsx_rows(path: &Path) -> Vec<Vec<String>> {
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook(path).unwrap();
    let range = wb.worksheet_range("测评记录表").unwrap();
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

/// `dengbao attach PACK --item ITEM --file FILE [extra…]`.
fn attach(pack: &Path, item: &str, file: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "attach",
        pack.to_str().unwrap(),
        "--item",
        item,
        "--file",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    dengbao(&args, &[])
}

/// `dengbao evaluate PACK --out OUT [extra…]`.
fn evaluate(pack: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "evaluate",
        pack.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    dengbao(&args, &[])
}

/// Attaches a PDF and a PNG to the first two manual items; links and directories are refused. The
/// attachments' digests, as `attach` prints them.
fn attach_two_files(dir: &Path, pack: &Path, manual: &[&str]) -> Vec<String> {
    let pdf = dir.join("备案证明.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 filing certificate of the provider\n").unwrap();
    let png = dir.join("console.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n screenshot").unwrap();
    let mut digests = Vec::new();
    for (file, item) in [(&pdf, manual[0]), (&png, manual[1])] {
        let o = attach(pack, item, file, &["--note", "on-site"]);
        assert!(o.status.success(), "{}", text(&o));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let digest = out
            .split_whitespace()
            .find(|w| w.starts_with("(sha256:"))
            .unwrap();
        digests.push(
            digest
                .trim_start_matches('(')
                .trim_end_matches(',')
                .to_string(),
        );
    }
    let link = dir.join("link.pdf");
    std::os::unix::fs::symlink(&pdf, &link).unwrap();
    for bad in [&link, &dir.to_path_buf()] {
        let o = attach(pack, manual[0], bad, &[]);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    }
    digests
}

/// Writes judgements: every manual item 符合 (the first two citing the attachments), and `overruled`
/// (a machine 不符合) overruled — refused without a reason, accepted with one.
fn judge_every_manual_item(
    dir: &Path,
    pack: &Path,
    manual: &[&str],
    digests: &[String],
    overruled: &str,
) {
    let mut toml = String::new();
    for (i, item) in manual.iter().enumerate() {
        let cites = match i {
            0 | 1 => format!("attachments = [\"{}\"]\n", digests[i]),
            _ => String::new(),
        };
        toml.push_str(&format!(
            "[[judgement]]\nitem = \"{item}\"\nverdict = \"compliant\"\nassessor = \"王敏\"\ndate = \"2026-12-01\"\nnotes = \"访谈\"\n{cites}\n"
        ));
    }
    let without_reason = format!(
        "{toml}[[judgement]]\nitem = \"{overruled}\"\nverdict = \"compliant\"\nassessor = \"王敏\"\ndate = \"2026-12-01\"\n"
    );
    let judgements = pack.join("assessment/judgements.toml");
    std::fs::write(&judgements, &without_reason).unwrap();
    let o = evaluate(pack, &dir.join("refused"), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("needs `reason"), "{}", text(&o));
    std::fs::write(
        &judgements,
        format!("{without_reason}reason = \"补偿措施：堡垒机访谈确认\"\n"),
    )
    .unwrap();
}

/// One allowed_signers file, each key for its own namespace.
fn trust_both(dir: &Path, tenant: &Path, assessor: &Path) -> PathBuf {
    let trust = dir.join("allowed_signers");
    std::fs::write(
        &trust,
        format!(
            "tenant@example.com namespaces=\"dengbao-pack\" {}assessor@lab.example namespaces=\"dengbao-assessment\" {}",
            std::fs::read_to_string(tenant.with_extension("pub")).unwrap(),
            std::fs::read_to_string(assessor.with_extension("pub")).unwrap()
        ),
    )
    .unwrap();
    trust
}

/// The 测评记录表 of `out`: 46 rows, each with a final verdict and its origin, none open; the
/// overruled item keeps the machine's verdict beside the assessor's.
fn check_record(out: &Path, manual: &[&str], digests: &[String], overruled: &str) {
    let rows = xlsx_rows(&out.join("assessment-record.xlsx"));
    assert_eq!(rows.len(), 47);
    let col = |name: &str| rows[0].iter().position(|h| h == name).unwrap();
    for row in &rows[1..] {
        assert!(
            !row[col("符合情况")].is_empty() && !row[col("符合情况")].contains("待判定"),
            "{row:?}"
        );
        assert!(!row[col("结论来源")].is_empty(), "{row:?}");
    }
    let row_of = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
    let first = row_of(manual[0]);
    assert_eq!(
        (
            first[col("符合情况")].as_str(),
            first[col("结论来源")].as_str()
        ),
        ("符合", "测评人员")
    );
    assert!(
        first[col("附件")].contains(&format!("备案证明.pdf  {}", digests[0])),
        "{first:?}"
    );
    let over = row_of(overruled);
    assert_eq!(
        over[col("verdict")],
        "non_compliant",
        "the machine's verdict stays beside"
    );
    assert_eq!(over[col("assessor_verdict")], "compliant");
    assert!(over[col("采纳理由")].contains("堡垒机"), "{over:?}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("王敏") && html.contains(&digests[1]),
        "the HTML shows the judgement and files"
    );
}

/// Tampering with an attachment fails the assessment only; a stray file in the layer is named too.
fn check_tampering(pack: &Path, trust: &Path, digest: &str) {
    let hex = digest.trim_start_matches("sha256:");
    let stored = pack.join(format!("assessment/attachments/sha256/{}/{hex}", &hex[..2]));
    std::fs::write(&stored, b"%PDF-1.4 a different certificate\n").unwrap();
    let o = dengbao_verifies(pack, trust);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let shown = text(&o);
    assert!(
        shown.contains("evidence signed by: tenant@example.com"),
        "{shown}"
    );
    assert!(shown.contains("ok: "), "the evidence is intact: {shown}");
    assert!(
        shown.contains("altered: attachment assessment/attachments/sha256/"),
        "{shown}"
    );
    assert!(shown.contains("(备案证明.pdf, attached to"), "{shown}");
    assert!(shown.contains("bad signature: assessment"), "{shown}");
    assert!(!shown.contains("bad signature: evidence"), "{shown}");
    assert!(openssh_verifies(pack, trust, "tenant@example.com")
        .status
        .success());

    std::fs::write(&stored, b"%PDF-1.4 filing certificate of the provider\n").unwrap();
    assert_eq!(dengbao_verifies(pack, trust).status.code(), Some(0));
    std::fs::write(pack.join("assessment/notes.txt"), b"x").unwrap();
    let o = dengbao_verifies(pack, trust);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("extra: assessment/notes.txt"),
        "{}",
        text(&o)
    );
}

/// The "done when": the demo pack signed by a tenant key, two files attached, every manual
/// item judged, the assessment signed by an assessor key; verify names both signers; the 测评记录表
/// has 46 filled rows; a tampered attachment fails only the assessment's signature.
#[test]
fn a_signed_pack_assessed_signed_again_and_tampered() {
    let Some((d, pack)) = setup() else {
        return;
    };
    let machine = results(&d.path().join("demo"));
    let tenant = keygen(d.path(), "tenant", &["-t", "ed25519"], "");
    let assessor = keygen(d.path(), "assessor", &["-t", "ecdsa", "-b", "256"], "");
    let o = sign(&pack, &tenant, &[], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let manifest_before = std::fs::read(pack.join("manifest.json")).unwrap();
    let sig_before = std::fs::read(pack.join("manifest.json.sig")).unwrap();

    let manual: Vec<&str> = machine
        .controls
        .iter()
        .filter(|c| c.verdict == dengbao::verdict::Verdict::Manual)
        .map(|c| c.id.as_str())
        .collect();
    let digests = attach_two_files(d.path(), &pack, &manual);
    let overruled = machine
        .controls
        .iter()
        .find(|c| c.verdict == dengbao::verdict::Verdict::NonCompliant)
        .expect("the demo has a non-compliant item");
    judge_every_manual_item(d.path(), &pack, &manual, &digests, &overruled.id);

    // Signing the assessment leaves the evidence layer and its signature as they were.
    let o = sign(&pack, &assessor, &["--assessment"], &[]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read(pack.join("manifest.json")).unwrap(),
        manifest_before
    );
    assert_eq!(
        std::fs::read(pack.join("manifest.json.sig")).unwrap(),
        sig_before
    );

    let trust = trust_both(d.path(), &tenant, &assessor);
    let o = dengbao_verifies(&pack, &trust);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shown = text(&o);
    assert!(
        shown.contains("evidence signed by: tenant@example.com (ED25519"),
        "{shown}"
    );
    assert!(
        shown.contains("assessment signed by: assessor@lab.example (ECDSA"),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("{} item(s) judged", manual.len() + 1)),
        "{shown}"
    );
    let layer = pack.join("assessment/assessment.json");
    let o = openssh_verify(&layer, "dengbao-assessment", &trust, "assessor@lab.example");
    assert!(o.status.success(), "{}", text(&o));

    let out = d.path().join("record");
    let o = evaluate(
        &pack,
        &out,
        &["--format", "xlsx,html", "--fail-on", "non_compliant"],
    );
    // --fail-on judges the machine's verdicts: the overruled item still fails it.
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    check_record(&out, &manual, &digests, &overruled.id);
    let r = results(&out);
    assert_eq!(r.controls.len(), 46);
    assert_eq!(
        r.summary, machine.summary,
        "the machine's counts do not change"
    );

    check_tampering(&pack, &trust, &digests[0]);
}

/// The assessment layer is read as a closed world: a link at `assessment/`, or at a file inside it, is
/// a problem named by verify, never followed; evaluate refuses to read judgements through a link.
#[test]
fn links_in_the_assessment_layer_are_never_followed() {
    let d = tempfile::tempdir().unwrap();
    let pack = demo_pack(d.path());
    let outside = d.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("assessment.json"), b"{}").unwrap();
    std::os::unix::fs::symlink(&outside, pack.join("assessment")).unwrap();
    let o = dengbao(&["verify", pack.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("assessment is a symbolic link"),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("ok: "),
        "the evidence itself is intact: {}",
        text(&o)
    );

    std::fs::remove_file(pack.join("assessment")).unwrap();
    let f = d.path().join("interview.txt");
    std::fs::write(&f, "访谈记录").unwrap();
    let o = attach(&pack, "L3-PES2-01", &f, &[]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::write(outside.join("judgements.toml"), b"").unwrap();
    std::os::unix::fs::symlink(
        outside.join("judgements.toml"),
        pack.join("assessment/judgements.toml"),
    )
    .unwrap();
    let o = dengbao(&["verify", pack.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("assessment/judgements.toml is a symbolic link"),
        "{}",
        text(&o)
    );
    let o = evaluate(&pack, &d.path().join("out"), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("link"), "{}", text(&o));
}
