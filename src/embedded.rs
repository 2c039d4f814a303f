//! Data compiled into the binary, so `dengbao` works from any directory: the framework catalog and
//! mappings, the probe manifests, and the demo evidence pack.
//!
//! Every command that reads mappings also takes `--mappings DIR` to use files on disk instead.

use anyhow::{Context, Result};
use include_dir::{include_dir, Dir};
use std::path::Path;

/// `mappings/` as it was when the binary was built.
pub static MAPPINGS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/mappings");
/// `probes/` as it was when the binary was built.
pub static PROBES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/probes");
/// The demo evidence pack (`fixtures/demo-pack/`).
pub static DEMO_PACK: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/fixtures/demo-pack");

/// A text file to be parsed, with the name used in error messages.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Shown in errors, e.g. `mappings/mlps2-l3-cloud/aws/flow-logs.toml`.
    pub display: String,
    /// Path relative to the tree's root, with `/` separators.
    pub rel: String,
    pub text: String,
}

/// A mapping or probe file's text, refused beyond [`crate::limits::MAX_TOML_FILE_BYTES`] (the `toml`
/// crate bounds its nesting itself).
fn read_toml(path: &Path) -> Result<String> {
    let limit = crate::limits::MAX_TOML_FILE_BYTES;
    let bytes = crate::limits::read_file(
        path,
        limit,
        "a mapping or probe file",
        "MAX_TOML_FILE_BYTES",
    )?;
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8 text", path.display()))
}

/// All `.toml` files of a tree, sorted by relative path: from `dir` on disk when given, else embedded.
pub fn toml_files(
    embedded: &'static Dir<'static>,
    label: &str,
    dir: Option<&Path>,
) -> Result<Vec<SourceFile>> {
    let mut out = Vec::new();
    match dir {
        Some(root) => {
            if !root.is_dir() {
                anyhow::bail!("{} is not a directory", root.display());
            }
            for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
                let entry = entry?;
                if entry.file_type().is_file()
                    && entry.path().extension().is_some_and(|e| e == "toml")
                {
                    let rel = rel_string(entry.path().strip_prefix(root)?);
                    let text = read_toml(entry.path())?;
                    out.push(SourceFile {
                        display: entry.path().display().to_string(),
                        rel,
                        text,
                    });
                }
            }
        }
        None => collect_embedded(embedded, label, &mut out)?,
    }
    out.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(out)
}

fn collect_embedded(
    dir: &'static Dir<'static>,
    label: &str,
    out: &mut Vec<SourceFile>,
) -> Result<()> {
    for f in dir.files() {
        if f.path().extension().is_some_and(|e| e == "toml") {
            let rel = rel_string(f.path());
            let text = f
                .contents_utf8()
                .with_context(|| format!("{label}/{rel} is not UTF-8"))?
                .to_string();
            out.push(SourceFile {
                display: format!("{label}/{rel}"),
                rel,
                text,
            });
        }
    }
    for d in dir.dirs() {
        collect_embedded(d, label, out)?;
    }
    Ok(())
}

fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// 1-based line and column of byte `offset` in `text`.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}
