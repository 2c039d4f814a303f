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
