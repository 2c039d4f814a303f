//! `verify` catches a changed byte, a deleted blob and an added file.

mod common;
use common::*;
use dengbao::pack::{blob_rel_path, verify, VerifyProblem};
use serde_json::json;
use std::process::Command;

fn pack_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write_pack(
        d.path(),
        &["r1"],
        vec![
            ok("t.svc.a", "r1", json!({"vpcs": [{"id": "v1"}]})),
            ok("t.svc.b", "r1", json!({"logs": []})),
        ],
    );
    d
}

fn first_blob(d: &std::path::Path) -> std::path::PathBuf {
    let pack = dengbao::pack::Pack::open(d).unwrap();
    d.join(blob_rel_path(&pack.manifest.records[0].sha256))
}

#[test]
fn intact_pack_verifies() {
    let d = pack_dir();
    let r = verify(d.path()).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.blobs_ok, 2);
    let out = Command::new(bin())
        .arg("verify")
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: 2 blob(s) intact"));
}

#[test]
fn one_changed_byte_is_caught() {
    let d = pack_dir();
    let blob = first_blob(d.path());
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[3] ^= 0x01;
    std::fs::write(&blob, bytes).unwrap();
    let r = verify(d.path()).unwrap();
    assert!(
        matches!(r.problems.as_slice(), [VerifyProblem::Altered { .. }]),
        "{:?}",
        r.problems
    );
    let out = Command::new(bin())
        .arg("verify")
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("altered: blobs/sha256/"));
}

#[test]
fn deleted_blob_is_caught() {
    let d = pack_dir();
    std::fs::remove_file(first_blob(d.path())).unwrap();
    let r = verify(d.path()).unwrap();
    assert!(
        matches!(r.problems.as_slice(), [VerifyProblem::Missing { probe, .. }] if probe == "t.svc.a"),
        "{:?}",
        r.problems
    );
    let out = Command::new(bin())
        .arg("verify")
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing: blobs/sha256/"));
}

#[test]
fn added_file_is_caught() {
    let d = pack_dir();
    std::fs::write(d.path().join("blobs/sha256/notes.txt"), "planted").unwrap();
    let r = verify(d.path()).unwrap();
    assert!(
        matches!(r.problems.as_slice(), [VerifyProblem::Extra { path }] if path.ends_with("notes.txt")),
        "{:?}",
        r.problems
    );
    let out = Command::new(bin())
        .arg("verify")
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("extra: blobs/sha256/notes.txt"));
}

#[test]
fn not_a_pack_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    let out = Command::new(bin())
        .arg("verify")
        .arg(d.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is it an evidence pack")
            || String::from_utf8_lossy(&out.stderr).contains("an evidence pack")
    );
}

#[test]
fn pack_writer_refuses_to_overwrite() {
    let d = pack_dir();
    let scan = dengbao::pack::Pack::open(d.path()).unwrap().manifest.scan;
    assert!(dengbao::pack::PackWriter::create(d.path(), scan).is_err());
}

/// The manifest's format policy (docs/formats/pack.md): every format dengbao knows is read, a newer
/// one is refused with a message that says so, and so are unknown fields.
#[test]
fn known_formats_are_read_and_others_refused() {
    let d = pack_dir();
    let manifest = d.path().join("manifest.json");
    let original = std::fs::read_to_string(&manifest).unwrap();
    let current = format!("\"format\": \"{}\"", dengbao::pack::PACK_FORMAT);
    assert!(
        original.contains(&current),
        "new packs are written as the newest format"
    );
    let evaluate = |dir: &std::path::Path| {
        let out = tempfile::tempdir().unwrap();
        let o = Command::new(bin())
            .arg("evaluate")
            .arg(dir)
            .arg("--out")
            .arg(out.path())
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    for format in dengbao::pack::FORMATS {
        let text = original.replace(dengbao::pack::PACK_FORMAT, format);
        std::fs::write(&manifest, text).unwrap();
        assert_eq!(evaluate(d.path()).0, Some(0), "{format} is read");
    }
    std::fs::write(
        &manifest,
        original.replace(dengbao::pack::PACK_FORMAT, "dengbao.pack/v999"),
    )
    .unwrap();
    let (code, err) = evaluate(d.path());
    assert_eq!(code, Some(1));
    assert!(
        err.contains(
            "pack format `dengbao.pack/v999` is not one this dengbao reads (dengbao.pack/v1"
        ) && err.contains("a newer dengbao may have written it"),
        "{err}"
    );
    let extra = original.replacen("\"format\"", "\"signed_by\": \"x\",\n  \"format\"", 1);
    std::fs::write(&manifest, extra).unwrap();
    let (code, err) = evaluate(d.path());
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown field `signed_by`"), "{err}");
}
