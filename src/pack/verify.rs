//! `dengbao verify`: re-hash every blob and compare the directory against the manifest.

use super::{blob_rel_path, sha256_hex, Pack, MANIFEST_FILE};
use anyhow::Result;
use std::collections::BTreeSet;
use std::fmt;
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
    /// `sha256:` digest of the manifest.
    pub manifest_digest: String,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Verifies the pack in directory `root`.
pub fn verify(root: &Path) -> Result<VerifyReport> {
    let pack = Pack::open(root)?;
    let mut report = VerifyReport {
        manifest_digest: pack.digest(),
        ..Default::default()
    };
    let mut expected: BTreeSet<PathBuf> = BTreeSet::new();
    expected.insert(PathBuf::from(MANIFEST_FILE));
    for rec in &pack.manifest.records {
        let rel = blob_rel_path(rec.hex());
        if !expected.insert(rel.clone()) {
            continue; // identical bodies share one blob
        }
        match std::fs::read(root.join(&rel)) {
            Err(_) => report.problems.push(VerifyProblem::Missing {
                path: rel,
                probe: (rec.probe.clone()).into(),
            }),
            Ok(bytes) => {
                let actual = sha256_hex(&bytes);
                if actual != rec.hex() {
                    report.problems.push(VerifyProblem::Altered {
                        path: rel,
                        expected: rec.sha256.clone(),
                        actual: format!("sha256:{actual}"),
                    });
                } else if bytes.len() as u64 != rec.size {
                    report.problems.push(VerifyProblem::SizeMismatch {
                        path: rel,
                        expected: rec.size,
                        actual: bytes.len() as u64,
                    });
                } else {
                    report.blobs_ok += 1;
                }
            }
        }
    }
    for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
        let entry = entry?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(root)
            .expect("walkdir yields paths under root")
            .to_path_buf();
        if !expected.contains(&rel) {
            report.problems.push(VerifyProblem::Extra { path: rel });
        }
    }
    report.problems.sort();
    Ok(report)
}
