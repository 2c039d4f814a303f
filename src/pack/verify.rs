//! `dengbao verify`: re-hash every blob and compare the directory against the manifest.
//!
//! The pack is read as a closed world ([`super::closed`]): a blob must be a regular file beneath the
//! pack directory, reached without a link. Every link anywhere in the pack, and every blob that is a
//! directory, FIFO, socket or device, is a problem, named. Blobs are hashed as they stream, so memory
//! does not grow with their size.
//!
//! `manifest.json.sig` is a known part of the evidence (checked by `crate::sign`), and everything at or
//! beneath `assessment/` is the assessor's layer, verified on its own by `crate::assess`: a change
//! there never makes the tenant's evidence fail.

use super::closed::{ClosedDir, ClosedError, EntryKind, Refusal};
use super::{Pack, ASSESSMENT_DIR, MANIFEST_FILE, MANIFEST_SIG_FILE};
use anyhow::Result;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One thing wrong with a pack.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum VerifyProblem {
    /// A blob the manifest names is not there.
    Missing { path: PathBuf, probe: String },
    /// A blob's bytes no longer hash to its name.
    Altered {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    /// A file the manifest does not account for.
    Extra { path: PathBuf },
    /// A record's size disagrees with its blob.
    SizeMismatch {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
    /// A symbolic link in the pack; `blobs` of the manifest's blobs are behind it (the link itself,
    /// or a directory on their path).
    Linked { path: PathBuf, blobs: usize },
    /// Something other than a regular file where a blob (or the manifest) should be, or anywhere in
    /// the pack: a FIFO, socket, device, or a directory named like a blob.
    NotRegular { path: PathBuf, kind: &'static str },
    /// A blob that could not be read for another reason.
    Unreadable { path: PathBuf, error: String },
}

impl fmt::Display for VerifyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyProblem::Missing { path, probe } => {
                write!(f, "missing: {} (evidence of probe {probe})", path.display())
            }
            VerifyProblem::Altered {
                path,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "altered: {} should hash to {expected} but hashes to {actual}",
                    path.display()
                )
            }
            VerifyProblem::Extra { path } => {
                write!(f, "extra: {} is not named by the manifest", path.display())
            }
            VerifyProblem::SizeMismatch {
                path,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "altered: {} should be {expected} bytes but is {actual}",
                    path.display()
                )
            }
            VerifyProblem::Linked { path, blobs } => {
                write!(
                    f,
                    "linked: {} is a symbolic link; a pack's files are never read through links",
                    path.display()
                )?;
                if *blobs > 0 {
                    write!(f, " ({blobs} blob(s) named by the manifest are behind it)")?;
                }
                Ok(())
            }
            VerifyProblem::NotRegular { path, kind } => {
                write!(f, "not a regular file: {} is a {kind}", path.display())
            }
            VerifyProblem::Unreadable { path, error } => {
                write!(f, "unreadable: {}: {error}", path.display())
            }
        }
    }
}

/// The outcome of verifying a pack.
#[derive(Debug, Default)]
pub struct VerifyReport {
    /// Blobs checked and found intact.
    pub blobs_ok: usize,
    /// Everything wrong, sorted.
    pub problems: Vec<VerifyProblem>,
    /// `sha256:` digest of the manifest (empty when the manifest itself could not be read).
    pub manifest_digest: String,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the pack in directory `root`. Errs when `root` is not a pack (no readable manifest);
/// a manifest that is a link or not a regular file is a problem of the report.
pub fn verify(root: &Path) -> Result<VerifyReport> {
    let dir = ClosedDir::open(root).map_err(anyhow::Error::new)?;
    let mut report = VerifyReport::default();
    // Per link (relative path): how many of the manifest's blobs are behind it.
    let mut behind_links: BTreeMap<String, usize> = BTreeMap::new();
    let mut expected: BTreeSet<String> = BTreeSet::new();
    expected.insert(MANIFEST_FILE.to_string());
    expected.insert(MANIFEST_SIG_FILE.to_string());
    match dir.open_file(MANIFEST_FILE) {
        Err(e) if matches!(e.refusal, Refusal::Link { .. } | Refusal::NotRegular(_)) => {
            note_refusal(&mut report, &mut behind_links, e, "");
        }
        _ => {
            let pack = Pack::from_dir(dir)?;
            report.manifest_digest = pack.digest();
            check_blobs(&pack, &mut report, &mut behind_links, &mut expected);
            return finish(
                pack.closed_dir().expect("opened from a directory"),
                report,
                behind_links,
                &expected,
            );
        }
    }
    finish(&dir, report, behind_links, &expected)
}

/// Hashes every blob the manifest names, as it streams.
fn check_blobs(
    pack: &Pack,
    report: &mut VerifyReport,
    behind_links: &mut BTreeMap<String, usize>,
    expected: &mut BTreeSet<String>,
) {
    let dir = pack.closed_dir().expect("opened from a directory");
    for rec in &pack.manifest.records {
        let rel = rec.sha256.blob_path();
        if !expected.insert(rel.clone()) {
            continue; // identical bodies share one blob
        }
        let file = match dir.open_file(&rel) {
            Ok(f) => f,
            Err(e) => {
                note_refusal(report, behind_links, e, &rec.probe);
                continue;
            }
        };
        let (actual, size) = match hash(file) {
            Ok(h) => h,
            Err(e) => {
                report.problems.push(VerifyProblem::Unreadable {
                    path: rel.into(),
                    error: e.to_string(),
                });
                continue;
            }
        };
        if actual != rec.sha256.as_str() {
            report.problems.push(VerifyProblem::Altered {
                path: rel.into(),
                expected: rec.sha256.to_string(),
                actual,
            });
        } else if size != rec.size {
            report.problems.push(VerifyProblem::SizeMismatch {
                path: rel.into(),
                expected: rec.size,
                actual: size,
            });
        } else {
            report.blobs_ok += 1;
        }
    }
}

/// Files the manifest does not name, and every link and special file anywhere in the pack.
fn finish(
    dir: &ClosedDir,
    mut report: VerifyReport,
    mut behind_links: BTreeMap<String, usize>,
    expected: &BTreeSet<String>,
) -> Result<VerifyReport> {
    for (rel, kind) in dir.walk()? {
        if is_assessment(&rel) {
            continue;
        }
        match kind {
            EntryKind::Dir => {}
            EntryKind::Link => {
                let blobs = behind_links.remove(&rel).unwrap_or(0);
                report.problems.push(VerifyProblem::Linked {
                    path: rel.into(),
                    blobs,
                });
            }
            // A special file the manifest names was reported when its blob was opened.
            EntryKind::Other(_) if expected.contains(&rel) => {}
            EntryKind::Other(kind) => report.problems.push(VerifyProblem::NotRegular {
                path: rel.into(),
                kind,
            }),
            EntryKind::File if !expected.contains(&rel) => report
                .problems
                .push(VerifyProblem::Extra { path: rel.into() }),
            EntryKind::File => {}
        }
    }
    // Links that were gone by the time the pack was walked are still named.
    for (rel, blobs) in behind_links {
        report.problems.push(VerifyProblem::Linked {
            path: rel.into(),
            blobs,
        });
    }
    report.problems.sort();
    Ok(report)
}

/// Whether `rel` is the assessor's layer (verified by `crate::assess`, not here).
fn is_assessment(rel: &str) -> bool {
    rel == ASSESSMENT_DIR
        || rel
            .strip_prefix(ASSESSMENT_DIR)
            .is_some_and(|r| r.starts_with('/'))
}

/// Records why a blob (or the manifest) could not be opened.
fn note_refusal(
    report: &mut VerifyReport,
    behind_links: &mut BTreeMap<String, usize>,
    e: ClosedError,
    probe: &str,
) {
    let text = e.to_string();
    let path = PathBuf::from(&e.rel);
    match e.refusal {
        Refusal::NotFound => report.problems.push(VerifyProblem::Missing {
            path,
            probe: probe.to_string(),
        }),
        Refusal::Link { at } => *behind_links.entry(at).or_default() += 1,
        Refusal::NotRegular(kind) => report
            .problems
            .push(VerifyProblem::NotRegular { path, kind }),
        Refusal::NotDirectory { at } => report.problems.push(VerifyProblem::NotRegular {
            path: at.into(),
            kind: "file where a directory should be",
        }),
        Refusal::BadPath | Refusal::TooLarge { .. } | Refusal::Io(_) => report
            .problems
            .push(VerifyProblem::Unreadable { path, error: text }),
    }
}

/// `sha256:<hex>` and size of what `file` holds, read 1 MiB at a time.
pub(crate) fn hash(mut file: std::fs::File) -> std::io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((
        super::digest_ref(&super::hex_lower(&hasher.finalize())),
        size,
    ))
}
