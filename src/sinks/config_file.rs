//! The config file of delivery (`--config FILE`): spool settings and `[[sink]]` tables, validated
//! whole before anything runs; every problem is reported at once as `file:line:col: message`, the way
//! cargo-deny reports its config. A table's keys are the options of [`super::config::Options`], checked
//! by the same code as a URL's query.

use super::config::{parse_url, OptValue, SinkConfig};
use crate::embedded::line_col;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A config file: spool settings and `[[sink]]` tables.
#[derive(Debug, Clone, Default)]
pub struct FileConfig {
    pub spool_dir: Option<PathBuf>,
    pub spool_max_bytes: Option<u64>,
    pub sinks: Vec<SinkConfig>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    spool_dir: Option<Spanned<String>>,
    spool_max_bytes: Option<Spanned<i64>>,
    #[serde(default)]
    sink: Vec<Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>>,
}

/// Reads and validates a config file; every problem at once, as `file:line:col: message`.
pub fn load_file(path: &Path) -> Result<FileConfig> {
    let limit = crate::limits::MAX_TOML_FILE_BYTES;
    let bytes = crate::limits::read_file(path, limit, "a config file", "MAX_TOML_FILE_BYTES")?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("the config file {} is not UTF-8 text", path.display()))?;
    parse_file(&path.display().to_string(), &text, path.parent())
}

/// Validates the text of a config file named `display`; relative paths are taken from `base`.
pub fn parse_file(display: &str, text: &str, base: Option<&Path>) -> Result<FileConfig> {
    let at = |span: std::ops::Range<usize>| {
        let (l, c) = line_col(text, span.start);
        format!("{display}:{l}:{c}")
    };
    let spec: FileSpec = toml::from_str(text).map_err(|e| {
        let where_ = e.span().map(&at).unwrap_or_else(|| display.to_string());
        anyhow::anyhow!("{where_}: {}", e.message().trim())
    })?;
    let mut errors = Vec::new();
    let mut out = FileConfig {
        spool_dir: spec.spool_dir.map(|s| resolve(base, s.into_inner())),
        ..FileConfig::default()
    };
    if let Some(m) = spec.spool_max_bytes {
        if *m.get_ref() < 4096 {
            errors.push(format!(
                "{}: spool_max_bytes must be at least 4096",
                at(m.span())
            ));
        } else {
            out.spool_max_bytes = Some(*m.get_ref() as u64);
        }
    }
    for table in &spec.sink {
        match sink_from_table(table, base, &at) {
            Ok(s) => {
                if let Some(prev) = out.sinks.iter().find(|p| p.name == s.name) {
                    errors.push(format!(
                        "{}: a second sink named `{}` ({}); give each a distinct `name`",
                        at(table.span()),
                        s.name,
                        prev.url
                    ));
                }
                out.sinks.push(s);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if !errors.is_empty() {
        bail!(
            "{} problem(s) in the config file:\n  {}",
            errors.len(),
            errors.join("\n  ")
        );
    }
    Ok(out)
}

fn resolve(base: Option<&Path>, p: String) -> PathBuf {
    let p = PathBuf::from(p);
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p,
    }
}

fn sink_from_table(
    table: &Spanned<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
    base: Option<&Path>,
    at: &dyn Fn(std::ops::Range<usize>) -> String,
) -> Result<SinkConfig, Vec<String>> {
    let map = table.get_ref();
    let Some((_, url)) = map.iter().find(|(k, _)| k.get_ref() == "url") else {
        return Err(vec![format!(
            "{}: a [[sink]] needs `url`",
            at(table.span())
        )]);
    };
    let mut sink = match url.get_ref().as_str() {
        Some(u) => parse_url(u).map_err(|e| vec![format!("{}: {e}", at(url.span()))])?,
        None => return Err(vec![format!("{}: `url` must be a string", at(url.span()))]),
    };
    let mut errors = Vec::new();
    for (key, value) in map {
        let k = key.get_ref().as_str();
        if k == "url" {
            continue;
        }
        if k == "name" {
            match value.get_ref().as_str() {
                Some(n) if valid_name(n) => sink.name = n.to_string(),
                _ => errors.push(format!(
                    "{}: `name` is 1 to 100 letters, digits, `-`, `_` or `.`",
                    at(value.span())
                )),
            }
            continue;
        }
        let v = match value.get_ref() {
            toml::Value::String(s) => OptValue::Text(s),
            toml::Value::Integer(i) => OptValue::Int(*i),
            _ => OptValue::Other,
        };
        let r = sink.options.set(sink.kind, k, v);
        if let Err(e) = r {
            let span = if e.starts_with("unknown option")
                || e.contains("not an option")
                || e.contains("would put a secret")
            {
                key.span()
            } else {
                value.span()
            };
            errors.push(format!("{}: {e}", at(span)));
        }
    }
    let o = &mut sink.options;
    for p in [
        &mut o.ca,
        &mut o.client_cert,
        &mut o.client_key,
        &mut o.secret_file,
    ]
    .into_iter()
    .flatten()
    {
        *p = resolve(base, p.to_string_lossy().into_owned());
    }
    if errors.is_empty() {
        Ok(sink)
    } else {
        Err(errors)
    }
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 100
        && !n.starts_with('.')
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_file_reports_every_problem_with_its_place() {
        let text = r#"spool_dir = "spool"

[[sink]]
url = "syslog+tcp://127.0.0.1:514"
max_message_bytes = 10
colour = "red"

[[sink]]
url = "splunk-hec+https://splunk:8088"
token = "abc"

[[sink]]
name = "hooks"
url = "webhook+https://h/x"
secret_file = "hook.key"
"#;
        let err = parse_file("dengbao.toml", text, Some(Path::new("/etc/dengbao")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 problem(s)"), "{err}");
        assert!(
            err.contains("dengbao.toml:5:21: must be between 2048"),
            "{err}"
        );
        assert!(
            err.contains("dengbao.toml:6:1: unknown option `colour`"),
            "{err}"
        );
        assert!(
            err.contains("dengbao.toml:10:1: `token` would put a secret"),
            "{err}"
        );
        let ok = parse_file(
            "d.toml",
            "[[sink]]\nname = \"hooks\"\nurl = \"webhook+https://h/x\"\nsecret_file = \"k\"\n",
            Some(Path::new("/etc/d")),
        )
        .unwrap();
        assert_eq!(ok.sinks[0].name, "hooks");
        assert_eq!(
            ok.sinks[0].options.secret_file.as_deref(),
            Some(Path::new("/etc/d/k"))
        );
        let err = parse_file("d.toml", "[[sink]]\nurl = 3\n", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("d.toml:2:7: `url` must be a string"), "{err}");
        let err = parse_file("d.toml", "sinks = []\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("d.toml:1:1: unknown field `sinks`"),
            "{err}"
        );
    }
}
