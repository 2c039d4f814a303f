//! The manifest's format versions: which ones this dengbao reads, which one it writes, and which
//! fields each version may carry. The policy, in full, is in `docs/formats/pack.md`:
//!
//! * A change that adds to the manifest adds a version to [`FORMATS`] (one bump per release) and
//!   documents its fields; nothing is ever renamed or removed.
//! * Readers accept every version in [`FORMATS`] — `dengbao.pack/v1` and every later one — and refuse
//!   a version they do not know (a pack written by a newer dengbao) with a message saying so.
//! * Unknown fields are refused (`deny_unknown_fields` on every manifest type), and so is a field that
//!   is newer than the version the manifest declares ([`Manifest::later_fields`]): a v1 manifest that
//!   carries a v2 field was not written by dengbao.
//!
//! Parts added beside the manifest after collection — the tenant's `manifest.json.sig` and the
//! assessor's `assessment/` layer (`docs/formats/assessment.md`) — are not manifest fields: they never
//! change `manifest.json`, need no bump, and every pack format gains them; the assessment layer has its
//! own version (`dengbao.assessment/v1`, `crate::assess::FORMAT`).
//!
//! Adding `dengbao.pack/v2`: append it to [`FORMATS`]; add each new field to its type as optional
//! (`#[serde(default, skip_serializing_if = …)]`, so older packs still parse); add one line per field to
//! [`Manifest::later_fields`]; document the fields in `docs/formats/pack.md`.

use super::Manifest;
use anyhow::{bail, Result};

/// Every manifest format this dengbao reads, oldest first. The last is the one it writes.
pub const FORMATS: &[&str] = &["dengbao.pack/v1", "dengbao.pack/v2"];

/// The format written into every new manifest.
pub const PACK_FORMAT: &str = FORMATS[FORMATS.len() - 1];

/// The version number of a known format (`dengbao.pack/v1` → 1), None for an unknown one.
pub fn version(format: &str) -> Option<u32> {
    FORMATS
        .iter()
        .position(|f| *f == format)
        .and_then(|i| u32::try_from(i + 1).ok())
}

impl Manifest {
    /// Every field added after `dengbao.pack/v1`: where it is, the version that introduced it, and
    /// whether this manifest carries it.
    pub fn later_fields(&self) -> Vec<(&'static str, u32, bool)> {
        vec![
            ("rates", 2, !self.rates.is_empty()),
            ("skipped", 2, !self.skipped.is_empty()),
            ("scan.sweep", 2, self.scan.sweep.is_some()),
        ]
    }
}

/// Checks that `manifest` declares a format this dengbao reads and carries no field newer than it.
pub fn check(manifest: &Manifest, name: &str) -> Result<()> {
    let Some(declared) = version(&manifest.format) else {
        bail!(
            "{name}: pack format `{}` is not one this dengbao reads ({}); a newer dengbao may have written it",
            manifest.format,
            FORMATS.join(", ")
        );
    };
    check_fields(&manifest.format, declared, &manifest.later_fields())
        .map_err(|e| anyhow::anyhow!("{name}: {e}"))
}

fn check_fields(format: &str, declared: u32, fields: &[(&str, u32, bool)]) -> Result<(), String> {
    match fields.iter().find(|(_, since, present)| *present && *since > declared) {
        Some((field, since, _)) => Err(format!(
            "`{field}` came with dengbao.pack/v{since}, but the manifest says it is `{format}`: it was not written by dengbao"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_format_is_read_and_the_last_is_written() {
        assert_eq!(version("dengbao.pack/v1"), Some(1));
        assert_eq!(version("dengbao.pack/v2"), Some(2));
        assert_eq!(PACK_FORMAT, *FORMATS.last().unwrap());
        for (i, f) in FORMATS.iter().enumerate() {
            assert_eq!(
                *f,
                format!("dengbao.pack/v{}", i + 1),
                "versions are numbered in order"
            );
        }
        assert_eq!(version("dengbao.pack/v999"), None);
        assert_eq!(version("something/v1"), None);
    }

    #[test]
    fn fields_newer_than_the_declared_format_are_refused() {
        let fields = [("scan.swept_regions", 2, true), ("rates", 3, false)];
        assert!(check_fields("dengbao.pack/v2", 2, &fields).is_ok());
        assert!(check_fields("dengbao.pack/v3", 3, &fields).is_ok());
        let e = check_fields("dengbao.pack/v1", 1, &fields).unwrap_err();
        assert!(
            e.contains("`scan.swept_regions` came with dengbao.pack/v2"),
            "{e}"
        );
    }
}
