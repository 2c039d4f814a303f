//! Signed packs against OpenSSH itself: what dengbao signs, `ssh-keygen -Y verify` accepts, and what
//! `ssh-keygen -Y sign` signs, `dengbao verify` accepts — for ed25519, ECDSA and RSA key files and for a
//! key held by a running `ssh-agent`; a changed byte or a wrong signer fails both.
//!
//! Needs Debian's `openssh-client` (scripts/test.sh installs it and sets `DENGBAO_REQUIRE_SSH_KEYGEN=1`,
//! so a missing ssh-keygen fails these tests rather than skipping them).

mod common;
use common::bin;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// Whether ssh-keygen and ssh-agent can run; panics when the suite requires them.
fn have_openssh() -> bool {
    let ok = ["ssh-keygen", "ssh-agent"].iter().all(|tool| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if !ok {
        assert!(
            std::env::var_os("DENGBAO_REQUIRE_SSH_KEYGEN").is_none(),
            "DENGBAO_REQUIRE_SSH_KEYGEN is set but ssh-keygen/ssh-agent cannot be run (apt-get install openssh-client)"
        );
        eprintln!("skipped: OpenSSH's ssh-keygen is not installed (scripts/test.sh installs it)");
    }
    ok
}

fn dengbao(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args).env_remove("SSH_AUTH_SOCK");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A fresh copy of the demo pack in `dir/pack`.
fn demo_pack(dir: &Path) -> PathBuf {
    let out = dir.join("demo");
    let o = dengbao(&["scan", "--demo", "--out", out.to_str().unwrap()], &[]);
    assert!(o.status.success(), "{}", text(&o));
    out.join("pack")
}

/// A temporary directory with a fresh demo pack in it, or None when OpenSSH is missing (and allowed to be).
fn setup() -> Option<(tempfile::TempDir, PathBuf)> {
    if !have_openssh() {
        return None;
    }
    let d = tempfile::tempdir().unwrap();
    let pack = demo_pack(d.path());
    Some((d, pack))
}

/// `dengbao sign PACK --key KEY [extra…]`.
fn sign(pack: &Path, key: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut args = vec![
        "sign",
        pack.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    dengbao(&args, env)
}

/// `ssh-keygen -t TYPE [-b BITS] -N PASSPHRASE -f dir/NAME`: the private key's path.
fn keygen(dir: &Path, name: &str, kind: &[&str], passphrase: &str) -> PathBuf {
    let key = dir.join(name);
    let o = Command::new("ssh-keygen")
        .args(kind)
        .args(["-q", "-N", passphrase, "-C", name, "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    key
}

/// An allowed_signers file trusting `key` (its .pub) as `principal`.
fn allowed(dir: &Path, principal: &str, key: &Path, options: &str) -> PathBuf {
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let name = key.file_name().unwrap().to_str().unwrap();
    let file = dir.join(format!("allowed-{principal}-{name}"));
    std::fs::write(&file, format!("{principal} {options} {public}")).unwrap();
    file
}

/// `ssh-keygen -Y verify` of the pack's manifest signature.
fn openssh_verifies(pack: &Path, allowed: &Path, principal: &str) -> Output {
    openssh_verify(
        &pack.join("manifest.json"),
        "dengbao-pack",
        allowed,
        principal,
    )
}

/// `ssh-keygen -Y verify -n NAMESPACE … -s FILE.sig < FILE`.
fn openssh_verify(file: &Path, namespace: &str, allowed: &Path, principal: &str) -> Output {
    Command::new("ssh-keygen")
        .args(["-Y", "verify", "-n", namespace, "-I", principal, "-f"])
        .arg(allowed)
        .arg("-s")
        .arg(format!("{}.sig", file.display()))
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .unwrap()
}

fn dengbao_verifies(pack: &Path, allowed: &Path) -> Output {
    dengbao(
        &[
            "verify",
            pack.to_str().unwrap(),
            "--allowed-signers",
            allowed.to_str().unwrap(),
        ],
        &[],
    )
}

/// Both verifiers accept the pack's signature as `principal`'s, and both refuse it after one byte of
/// the manifest changes and under a stranger's allowed_signers.
fn both_accept_then_refuse(dir: &Path, pack: &Path, key: &Path, principal: &str) {
    let trust = allowed(dir, principal, key, "");
    let o = openssh_verifies(pack, &trust, principal);
    assert!(o.status.success(), "ssh-keygen: {}", text(&o));
    let o = dengbao_verifies(pack, &trust);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(
        shown.contains(&format!("evidence signed by: {principal} (")),
        "{shown}"
    );

    let stranger = keygen(
        dir,
        &format!("stranger-of-{}", principal.replace(['@', '.'], "-")),
        &["-t", "ed25519"],
        "",
    );
    let wrong = allowed(dir, principal, &stranger, "");
    assert!(!openssh_verifies(pack, &wrong, principal).status.success());
    let o = dengbao_verifies(pack, &wrong);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("is not in"), "{}", text(&o));

    // One byte of the manifest: a space added where JSON allows it, so the pack still parses and
    // every blob still verifies; only the signature can tell.
    let manifest = pack.join("manifest.json");
    let original = std::fs::read(&manifest).unwrap();
    let mut changed = original.clone();
    changed.insert(1, b' ');
    std::fs::write(&manifest, &changed).unwrap();
    assert!(!openssh_verifies(pack, &trust, principal).status.success());
    let o = dengbao_verifies(pack, &trust);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("does not match these bytes"),
        "{}",
        text(&o)
    );
    std::fs::write(&manifest, &original).unwrap();
}

const KEY_KINDS: [(&str, &[&str]); 4] = [
    ("ed25519", &["-t", "ed25519"]),
    ("ecdsa-p256", &["-t", "ecdsa", "-b", "256"]),
    ("ecdsa-p384", &["-t", "ecdsa", "-b", "384"]),
    ("rsa", &["-t", "rsa", "-b", "3072"]),
];

#[test]
fn dengbao_signs_what_ssh_keygen_verifies_for_every_key_type() {
    let Some((d, pack)) = setup() else {
        return;
    };
    for (name, kind) in KEY_KINDS {
        let key = keygen(d.path(), name, kind, "");
        let o = sign(&pack, &key, &[], &[]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        both_accept_then_refuse(d.path(), &pack, &key, &format!("{name}@tenant.example"));
    }
}

#[test]
fn ssh_keygen_signs_what_dengbao_verifies_for_every_key_type() {
    let Some((d, pack)) = setup() else {
        return;
    };
    for (name, kind) in KEY_KINDS {
        let key = keygen(d.path(), name, kind, "");
        std::fs::remove_file(pack.join("manifest.json.sig")).ok();
        // `ssh-keygen -Y sign FILE` writes FILE.sig: manifest.json.sig, the name dengbao reads.
        let o = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-n", "dengbao-pack", "-f"])
            .arg(&key)
            .arg(pack.join("manifest.json"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {}", text(&o));
        both_accept_then_refuse(d.path(), &pack, &key, &format!("{name}@tenant.example"));
    }
}

/// A private `ssh-agent -D -a SOCK`, killed when dropped.
struct Agent {
    child: Child,
    socket: PathBuf,
}

impl Agent {
    fn start(dir: &Path) -> Agent {
        let socket = dir.join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let agent = Agent { child, socket };
        for _ in 0..200 {
            if agent.socket.exists() {
                return agent;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("ssh-agent did not create {}", agent.socket.display());
    }

    fn add(&self, key: &Path) {
        let o = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .output()
            .unwrap();
        assert!(o.status.success(), "ssh-add: {}", text(&o));
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_key_held_by_ssh_agent_signs_through_its_public_half() {
    let Some((d, pack)) = setup() else {
        return;
    };
    let agent = Agent::start(d.path());
    for (name, kind) in [KEY_KINDS[0], KEY_KINDS[1], KEY_KINDS[3]] {
        // The private key is encrypted: only the agent can use it.
        let key = keygen(d.path(), &format!("agent-{name}"), kind, "agent secret");
        let o = Command::new("ssh-add")
            .arg(&key)
            .env("SSH_AUTH_SOCK", &agent.socket)
            .env("SSH_ASKPASS_REQUIRE", "force")
            .env("SSH_ASKPASS", write_askpass(d.path(), "agent secret"))
            .env("DISPLAY", ":0")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "ssh-add: {}", text(&o));
        let public = key.with_extension("pub");
        let o = sign(&pack, &public, &[], &[("SSH_AUTH_SOCK", &agent.socket)]);
        assert!(o.status.success(), "{name}: {}", text(&o));
        both_accept_then_refuse(
            d.path(),
            &pack,
            &key,
            &format!("agent-{name}@tenant.example"),
        );
    }

    // A public key the agent does not hold is refused, naming what to do.
    let absent = keygen(d.path(), "not-in-agent", &["-t", "ed25519"], "");
    let o = sign(
        &pack,
        &absent.with_extension("pub"),
        &[],
        &[("SSH_AUTH_SOCK", &agent.socket)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("does not hold this key"), "{}", text(&o));
    agent.add(&absent);
    let o = sign(
        &pack,
        &absent.with_extension("pub"),
        &[],
        &[("SSH_AUTH_SOCK", &agent.socket)],
    );
    assert!(o.status.success(), "{}", text(&o));
}

fn write_askpass(dir: &Path, passphrase: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("askpass.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho '{passphrase}'\n")).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
    script
}

#[test]
fn an_encrypted_key_needs_its_passphrase_file() {
    let Some((d, pack)) = setup() else {
        return;
    };
    let key = keygen(d.path(), "locked", &["-t", "ed25519"], "correct horse");
    let o = sign(&pack, &key, &[], &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("--passphrase-file"), "{}", text(&o));
    assert!(!pack.join("manifest.json.sig").exists());

    let wrong = d.path().join("wrong");
    std::fs::write(&wrong, "battery staple\n").unwrap();
    let o = sign(
        &pack,
        &key,
        &["--passphrase-file", wrong.to_str().unwrap()],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("does not decrypt"), "{}", text(&o));

    let right = d.path().join("right");
    std::fs::write(&right, "correct horse\n").unwrap();
    let o = sign(
        &pack,
        &key,
        &["--passphrase-file", right.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    let trust = allowed(d.path(), "locked@tenant.example", &key, "");
    assert!(openssh_verifies(&pack, &trust, "locked@tenant.example")
        .status
        .success());
}

#[test]
fn verify_without_allowed_signers_checks_the_signature_but_proves_no_origin() {
    let Some((d, pack)) = setup() else {
        return;
    };
    let o = dengbao(&["verify", pack.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("evidence: not signed"), "{}", text(&o));
    let key = keygen(d.path(), "t", &["-t", "ed25519"], "");
    let trust = allowed(d.path(), "t@x", &key, "");
    // Required but absent: a bad signature.
    let o = dengbao_verifies(&pack, &trust);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = sign(&pack, &key, &[], &[]);
    assert!(o.status.success(), "{}", text(&o));
    let o = dengbao(&["verify", pack.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("who that is was not checked"),
        "{}",
        text(&o)
    );
    // A key allowed only for assessments does not vouch for evidence.
    let only_assessments = allowed(d.path(), "t@x", &key, "namespaces=\"dengbao-assessment\"");
    let o = dengbao_verifies(&pack, &only_assessments);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("only for namespaces"), "{}", text(&o));
}

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

    // Two files, attached to two manual items.
    let manual: Vec<&str> = machine
        .controls
        .iter()
        .filter(|c| c.verdict == dengbao::verdict::Verdict::Manual)
        .map(|c| c.id.as_str())
        .collect();
    let pdf = d.path().join("备案证明.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 filing certificate of the provider\n").unwrap();
    let png = d.path().join("console.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n screenshot").unwrap();
    let mut digests = Vec::new();
    for (file, item) in [(&pdf, manual[0]), (&png, manual[1])] {
        let o = dengbao(
            &[
                "attach",
                pack.to_str().unwrap(),
                "--item",
                item,
                "--file",
                file.to_str().unwrap(),
                "--note",
                "on-site",
            ],
            &[],
        );
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
    // A link or a directory is never attached.
    let link = d.path().join("link.pdf");
    std::os::unix::fs::symlink(&pdf, &link).unwrap();
    for bad in [&link, &d.path().to_path_buf()] {
        let o = dengbao(
            &[
                "attach",
                pack.to_str().unwrap(),
                "--item",
                manual[0],
                "--file",
                bad.to_str().unwrap(),
            ],
            &[],
        );
        assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    }

    // Every manual item judged; one machine non_compliant item overruled, with its reason.
    let overruled = machine
        .controls
        .iter()
        .find(|c| c.verdict == dengbao::verdict::Verdict::NonCompliant)
        .expect("the demo has a non-compliant item");
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
        "{toml}[[judgement]]\nitem = \"{}\"\nverdict = \"compliant\"\nassessor = \"王敏\"\ndate = \"2026-12-01\"\n",
        overruled.id
    );
    let judgements = pack.join("assessment/judgements.toml");
    std::fs::write(&judgements, &without_reason).unwrap();
    let out = d.path().join("refused");
    let o = dengbao(
        &[
            "evaluate",
            pack.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("needs `reason"), "{}", text(&o));
    std::fs::write(
        &judgements,
        format!("{without_reason}reason = \"补偿措施：堡垒机访谈确认\"\n"),
    )
    .unwrap();

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

    // One allowed_signers file, each key for its own namespace.
    let trust = d.path().join("allowed_signers");
    std::fs::write(
        &trust,
        format!(
            "tenant@example.com namespaces=\"dengbao-pack\" {}assessor@lab.example namespaces=\"dengbao-assessment\" {}",
            std::fs::read_to_string(tenant.with_extension("pub")).unwrap(),
            std::fs::read_to_string(assessor.with_extension("pub")).unwrap()
        ),
    )
    .unwrap();
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

    // The 测评记录表: 46 rows, each with a final verdict and its origin; none open.
    let out = d.path().join("record");
    let o = dengbao(
        &[
            "evaluate",
            pack.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--format",
            "xlsx,html",
            "--fail-on",
            "non_compliant",
        ],
        &[],
    );
    // --fail-on judges the machine's verdicts: the overruled item still fails it.
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
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
    let over = row_of(&overruled.id);
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
    let r = results(&out);
    assert_eq!(r.controls.len(), 46);
    assert_eq!(
        r.summary, machine.summary,
        "the machine's counts do not change"
    );

    // Tampering with an attachment fails the assessment only.
    let hex = digests[0].trim_start_matches("sha256:");
    let stored = pack.join(format!("assessment/attachments/sha256/{}/{hex}", &hex[..2]));
    std::fs::write(&stored, b"%PDF-1.4 a different certificate\n").unwrap();
    let o = dengbao_verifies(&pack, &trust);
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
    assert!(openssh_verifies(&pack, &trust, "tenant@example.com")
        .status
        .success());

    // A stray file in the layer is named too.
    std::fs::write(&stored, b"%PDF-1.4 filing certificate of the provider\n").unwrap();
    assert_eq!(dengbao_verifies(&pack, &trust).status.code(), Some(0));
    std::fs::write(pack.join("assessment/notes.txt"), b"x").unwrap();
    let o = dengbao_verifies(&pack, &trust);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("extra: assessment/notes.txt"),
        "{}",
        text(&o)
    );
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
    let o = dengbao(
        &[
            "attach",
            pack.to_str().unwrap(),
            "--item",
            "L3-PES2-01",
            "--file",
            f.to_str().unwrap(),
        ],
        &[],
    );
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
    let out = d.path().join("out");
    let o = dengbao(
        &[
            "evaluate",
            pack.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("link"), "{}", text(&o));
}
