//! Every bound dengbao puts on untrusted input, in one place (docs/security.md lists them too).
//!
//! Packs, their manifests and bodies, `results.json` and mapping files may come from someone else.
//! Each limit is far above what a real scan produces, and each is enforced before the work it bounds:
//! a file is measured before it is read, a document's depth is counted while it is parsed, and a
//! report's text is cut before it is escaped or re-indented. Input beyond a limit is an error that
//! names the limit; a body beyond one is an `UnparsableResponse` failure of its probe, so the rules
//! reading it give `error`, never a pass.

/// Largest `manifest.json` read (bytes). A scan of a large estate writes a few megabytes.
pub const MAX_MANIFEST_BYTES: u64 = 256 << 20;

/// Largest response body converted to a document (bytes). An AWS or Alibaba Cloud page is at most a
/// few megabytes; a larger blob is an `UnparsableResponse` of its probe, and is never read whole.
pub const MAX_BODY_BYTES: u64 = 512 << 20;

/// Deepest nesting of a converted document: XML elements, JSON arrays and objects, CBOR arrays and
/// maps. Real answers nest about ten deep. The same as `serde_json`'s own recursion limit (which stays
/// on), so every document dengbao makes can be written and read back as JSON.
pub const MAX_DOCUMENT_DEPTH: usize = 128;

/// Largest `results.json` that `dengbao report` reads (bytes).
pub const MAX_RESULTS_BYTES: u64 = 2 << 30;

/// Largest mapping or probe file (`--mappings`, `--probes`) read (bytes). The shipped files are under
/// 100 KB. Their nesting is bounded by the `toml` crate itself (80 levels of tables, arrays and dotted
/// keys), which dengbao's condition compiler and evaluator therefore never exceed.
pub const MAX_TOML_FILE_BYTES: u64 = 4 << 20;

/// Longest body text (in characters) the HTML report embeds: re-indenting stops there, so a body is
/// never expanded beyond it (`report.html` says the body was cut).
pub const MAX_BODY_CHARS: usize = 200_000;

/// Most body text (in characters) one HTML report embeds in all; later bodies are listed without text.
pub const MAX_TOTAL_BODY_CHARS: usize = 16_000_000;

/// Largest XML body (bytes) whose converted document the HTML report shows beside it. Converting
/// builds the whole document, so a larger body shows its raw text only (`dengbao evidence` prints
/// the document of any body).
pub const MAX_DOCUMENT_VIEW_BYTES: usize = 8 << 20;

/// Longest evidence-derived text (a resource id, a reason, a location; in characters) one Markdown or
/// CSV field holds; longer text is cut, before it is escaped, and ends with `…`. A spreadsheet cell
/// holds at most 32,767 characters.
pub const MAX_FIELD_CHARS: usize = 32_000;

/// Text cut to at most `max` characters: the first `max - 1` and `…` when it is longer.
pub fn clip(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => std::borrow::Cow::Borrowed(s),
        Some(_) => {
            let keep = s
                .char_indices()
                .nth(max.saturating_sub(1))
                .map_or(s.len(), |(i, _)| i);
            std::borrow::Cow::Owned(format!("{}…", &s[..keep]))
        }
    }
}

/// The bytes of a file the user named (not a pack file: those go through `pack::closed`), refused when
/// larger than `limit`; `what` names the kind of file and `constant` the limit in the error.
pub fn read_file(
    path: &std::path::Path,
    limit: u64,
    what: &str,
    constant: &str,
) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context;
    use std::io::Read;
    let mut data = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut data))
        .with_context(|| format!("reading {}", path.display()))?;
    if data.len() as u64 > limit {
        anyhow::bail!(
            "{} is larger than {}, the limit for {what} ({constant})",
            path.display(),
            bytes(limit)
        );
    }
    Ok(data)
}

/// A byte count for people: `512 MiB`, `4 MiB`, `3000 bytes`.
pub fn bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 && n % (1 << 30) == 0 => format!("{} GiB", n >> 30),
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n => format!("{n} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_marks_a_cut() {
        assert_eq!(clip("abc", 3), "abc");
        assert_eq!(clip("abcd", 3), "ab…");
        assert_eq!(clip("等级保护", 2), "等…");
        assert_eq!(bytes(MAX_BODY_BYTES), "512 MiB");
        assert_eq!(bytes(MAX_RESULTS_BYTES), "2 GiB");
        assert_eq!(bytes(1000), "1000 bytes");
    }
}
