//! A sink's secret (HEC token, webhook HMAC key): read from an environment variable or a file, never
//! from the command line, and never printed: its `Debug` and `Display` show `***`.

use super::config::{default_secret_env, kind_name, SinkConfig};
use anyhow::{bail, Context, Result};

/// A secret value. Deliberately not `Serialize`.
#[derive(Clone)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Secret {
    /// The value, for the one place that must use it (a header, an HMAC).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret of `sink`: from `secret_file` when given, else from `secret_env` (default
    /// `DENGBAO_HEC_TOKEN` / `DENGBAO_WEBHOOK_SECRET`).
    pub fn for_sink(sink: &SinkConfig) -> Result<Secret> {
        let o = &sink.options;
        if let Some(path) = &o.secret_file {
            let limit = crate::limits::MAX_TOML_FILE_BYTES;
            let bytes =
                crate::limits::read_file(path, limit, "a secret file", "MAX_TOML_FILE_BYTES")
                    .with_context(|| format!("sink {}: its secret file", sink.name))?;
            let text = String::from_utf8(bytes).with_context(|| {
                format!(
                    "sink {}: the secret file {} is not UTF-8 text",
                    sink.name,
                    path.display()
                )
            })?;
            let value = text.trim();
            if value.is_empty() {
                bail!(
                    "sink {}: the secret file {} is empty",
                    sink.name,
                    path.display()
                );
            }
            return Ok(Secret(value.to_string()));
        }
        let Some(var) = o
            .secret_env
            .as_deref()
            .or_else(|| default_secret_env(sink.kind))
        else {
            bail!("a {} sink has no secret", kind_name(sink.kind));
        };
        match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Secret(v.trim().to_string())),
            _ => bail!(
                "sink {}: set the environment variable {var} (or give `secret_file` / `token_file` in a config file) to the {}",
                sink.name,
                if sink.kind == super::config::Kind::SplunkHec { "HEC token" } else { "webhook's HMAC key" }
            ),
        }
    }
}
