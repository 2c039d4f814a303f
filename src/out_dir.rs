//! Where outputs may go: never into the pack they were made from, and never over another pack's
//! results.
//!
//! `evaluate PACK --out PACK` would write `results.json` into the evidence, which then fails `verify`
//! as an extra file; a report written inside the pack does the same. And an `--out` directory still
//! holding the `results.json` of another pack would silently lose it. [`check`] refuses both before
//! anything is written; `--force` allows replacing another pack's results (never writing inside a
//! pack).

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The file `evaluate` writes into its output directory.
pub const RESULTS_FILE: &str = "results.json";

/// Checks that `out` may receive what is made from the pack in `pack` (None: the built-in demo pack,
/// which lives nowhere on disk). `pack_digest` is that pack's manifest digest: an existing
/// `out/results.json` computed from another pack is refused unless `force` (pass None when nothing
/// named `results.json` will be written, as for `report`).
pub fn check(
    out: &Path,
    pack: Option<&Path>,
    pack_digest: Option<&str>,
    force: bool,
) -> Result<()> {
    if let Some(pack) = pack {
        let (out_abs, pack_abs) = (resolve(out), resolve(pack));
        if out_abs.starts_with(&pack_abs) {
            bail!(
                "--out {} is {} the pack {} it reads; outputs never go into the evidence (it would no longer verify): choose a directory outside the pack",
                out.display(),
                if out_abs == pack_abs { "the same directory as" } else { "inside" },
                pack.display()
            );
        }
    }
    let Some(digest) = pack_digest else {
        return Ok(());
    };
    let existing = out.join(RESULTS_FILE);
    if force || !existing.exists() {
        return Ok(());
    }
    match results_pack_digest(&existing) {
        Some(d) if d == digest => Ok(()),
        found => bail!(
            "{} already holds results {}; evaluating this pack ({digest}) would replace them: choose another --out directory, or give --force",
            existing.display(),
            match found {
                Some(d) => format!("of another pack ({d})"),
                None => "that are not readable as dengbao results".to_string(),
            }
        ),
    }
}

/// `scan.pack_digest` of a results file, if it has one.
fn results_pack_digest(path: &Path) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Scan {
        pack_digest: String,
    }
    #[derive(serde::Deserialize)]
    struct Head {
        scan: Scan,
    }
    let file = std::fs::File::open(path).ok()?;
    let limited = std::io::Read::take(file, crate::limits::MAX_RESULTS_BYTES);
    let head: Head = serde_json::from_reader(std::io::BufReader::new(limited)).ok()?;
    Some(head.scan.pack_digest)
}

/// `path` made absolute with links resolved, as far as it exists (an output directory often does not
/// exist yet: its missing tail is appended to its nearest existing ancestor, resolved).
fn resolve(path: &Path) -> PathBuf {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = abs.as_path();
    let mut tail = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return tail.iter().rev().fold(real, |p, c| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                tail.push(name.to_os_string());
                existing = parent;
            }
            _ => return abs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_inside_the_pack_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let pack = d.path().join("pack");
        std::fs::create_dir(&pack).unwrap();
        assert!(check(&pack, Some(&pack), None, false).is_err());
        assert!(check(&pack.join("new/deeper"), Some(&pack), None, true).is_err());
        assert!(check(&pack.join("../pack/x"), Some(&pack), None, false).is_err());
        assert!(check(&d.path().join("out"), Some(&pack), None, false).is_ok());
        assert!(check(&d.path().join("pack-out"), Some(&pack), None, false).is_ok());
        #[cfg(unix)]
        {
            let link = d.path().join("alias");
            std::os::unix::fs::symlink(&pack, &link).unwrap();
            assert!(check(&link.join("out"), Some(&pack), None, false).is_err());
        }
    }

    #[test]
    fn another_packs_results_need_force() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path();
        std::fs::write(
            out.join(RESULTS_FILE),
            r#"{"schema":"x","scan":{"pack_digest":"sha256:aa"}}"#,
        )
        .unwrap();
        assert!(check(out, None, Some("sha256:aa"), false).is_ok());
        let e = check(out, None, Some("sha256:bb"), false).unwrap_err();
        assert!(e.to_string().contains("of another pack (sha256:aa)"), "{e}");
        assert!(check(out, None, Some("sha256:bb"), true).is_ok());
        std::fs::write(out.join(RESULTS_FILE), "not json").unwrap();
        assert!(check(out, None, Some("sha256:bb"), false).is_err());
    }
}
