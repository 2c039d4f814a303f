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

    // A pipe works as the passphrase file (`--passphrase-file <(pass show …)`), read to its end.
    let pipe = d.path().join("pipe");
    let made = Command::new("mkfifo").arg(&pipe).status().unwrap();
    assert!(made.success());
    let writer = {
        let pipe = pipe.clone();
        std::thread::spawn(move || std::fs::write(pipe, "correct horse\n").unwrap())
    };
    let o = sign(
        &pack,
        &key,
        &["--passphrase-file", pipe.to_str().unwrap()],
        &[],
    );
    assert!(o.status.success(), "{}", text(&o));
    writer.join().unwrap();
    std::fs::remove_file(pack.join("manifest.json.sig")).unwrap();

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

#[path = "signing/assessment.rs"]
mod assessment;
