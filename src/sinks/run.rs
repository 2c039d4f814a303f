//! The entry point of delivery, as the command line uses it: sinks from `--to URL` and a config file,
//! findings spooled for each, then delivered; `--flush` for what waits; `spool status`.
//!
//! [`Delivery::send`] and [`Delivery::flush`] return a [`Report`] whose [`Report::exit_code`] is 0
//! only when everything was delivered, and [`crate::exit::UNDELIVERED`] (5) when events stay
//! spooled, were refused by a full spool, or were rejected by a sink.

use super::config::{self, check_ready, Kind, SinkConfig};
use super::config_file::{self, FileConfig};
use super::deliver::{drain, Policy, Stats};
use super::event::Finding;
use super::spool::{self, Spool, SpoolError};
use super::{hec::HecSink, syslog::SyslogSink, webhook::WebhookSink};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Sinks and spool, as configured.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub sinks: Vec<SinkConfig>,
    pub spool_root: PathBuf,
    pub spool_max_bytes: u64,
}

/// `sink.json` in a sink's spool directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SpoolMeta {
    sink: SinkConfig,
    /// The HEC channel GUID (kept, so acknowledgements stay on one channel).
    channel: String,
}

impl Delivery {
    /// From `--to` URLs, a `--config` file, `--spool` and `--spool-max-bytes`. Every sink is checked
    /// before anything is spooled or sent (files exist, secrets are set).
    pub fn configure(
        urls: &[String],
        config_file: Option<&Path>,
        spool: Option<&Path>,
        spool_max_bytes: Option<u64>,
    ) -> Result<Delivery> {
        let file = match config_file {
            Some(p) => config_file::load_file(p)?,
            None => FileConfig::default(),
        };
        let mut sinks = file.sinks;
        for u in urls {
            let s = config::parse_url(u).map_err(anyhow::Error::msg)?;
            if let Some(prev) = sinks.iter().find(|p| p.name == s.name) {
                bail!("the sink {} is given twice ({} and {u})", s.name, prev.url);
            }
            sinks.push(s);
        }
        for s in &sinks {
            check_ready(s)?;
        }
        Ok(Delivery {
            sinks,
            spool_root: spool
                .map(Path::to_path_buf)
                .or(file.spool_dir)
                .unwrap_or_else(spool::default_root),
            spool_max_bytes: spool_max_bytes
                .or(file.spool_max_bytes)
                .unwrap_or(spool::DEFAULT_MAX_BYTES),
        })
    }

    /// Spools `findings` for every sink, then delivers each sink's spool in order.
    pub fn send(&self, findings: &[Finding]) -> Result<Report> {
        if self.sinks.is_empty() {
            bail!("no sink: give --to URL (repeatable) or a config file with [[sink]] tables");
        }
        let rt = runtime()?;
        let mut report = Report::default();
        for s in &self.sinks {
            let stats = rt.block_on(self.deliver_one(s, findings))?;
            report.sinks.push((s.clone(), stats));
        }
        Ok(report)
    }

    /// Delivers what waits in every spool under the root (and for the configured sinks).
    pub fn flush(&self) -> Result<Report> {
        let mut sinks = self.sinks.clone();
        for name in spool_dirs(&self.spool_root)? {
            if sinks.iter().any(|s| s.name == name) {
                continue;
            }
            let meta = read_meta(&self.spool_root.join(&name))?;
            sinks.push(meta.sink);
        }
        let rt = runtime()?;
        let mut report = Report::default();
        for s in &sinks {
            let stats = match check_ready(s) {
                Ok(()) => rt.block_on(self.deliver_one(s, &[]))?,
                Err(e) => Stats {
                    spooled: spool::status(&self.spool_root.join(&s.name))?.pending_events,
                    error: Some(format!("{e:#}")),
                    ..Stats::default()
                },
            };
            report.sinks.push((s.clone(), stats));
        }
        Ok(report)
    }

    async fn deliver_one(&self, s: &SinkConfig, findings: &[Finding]) -> Result<Stats> {
        let dir = self.spool_root.join(&s.name);
        let mut spool = Spool::open(&dir, self.spool_max_bytes)?;
        let meta = match read_meta(&dir) {
            Ok(m) => SpoolMeta {
                sink: s.clone(),
                channel: m.channel,
            },
            Err(_) => SpoolMeta {
                sink: s.clone(),
                channel: super::hec::new_channel(&dir.display().to_string()),
            },
        };
        spool::write_durable(&dir.join("sink.json"), &serde_json::to_vec_pretty(&meta)?)?;
        let mut stats = Stats {
            events: findings.len() as u64,
            ..Stats::default()
        };
        tracing::debug!(sink = %s.name, url = %s.url, spool = %dir.display(), new = findings.len(), "delivering");
        let policy = Policy::of(&s.options);
        match s.kind {
            Kind::Syslog => {
                let mut sink = SyslogSink::new(s)?;
                spool_then_drain(&mut sink, &mut spool, findings, policy, &mut stats).await?
            }
            Kind::SplunkHec => {
                let mut sink = HecSink::new(s, &meta.channel)?;
                spool_then_drain(&mut sink, &mut spool, findings, policy, &mut stats).await?
            }
            Kind::Webhook => {
                let mut sink = WebhookSink::new(s)?;
                spool_then_drain(&mut sink, &mut spool, findings, policy, &mut stats).await?
            }
        }
        stats.spooled = spool.status()?.pending_events;
        spool.note_attempt(stats.error.as_deref())?;
        Ok(stats)
    }
}

/// Appends `findings` (after delivering what waits, if the spool is full) and delivers.
async fn spool_then_drain<S: super::Sink>(
    sink: &mut S,
    spool: &mut Spool,
    findings: &[Finding],
    policy: Policy,
    stats: &mut Stats,
) -> Result<()> {
    match spool.append(findings) {
        Ok(()) => {}
        Err(SpoolError::Full { .. }) => {
            // Make room the only allowed way: by delivering. Then try once more.
            drain(sink, spool, policy, stats).await?;
            if let Err(e) = spool.append(findings) {
                stats.error = Some(format!(
                    "{e:#}; these {} new event(s) were not spooled: send the results again later",
                    findings.len()
                ));
                return Ok(());
            }
        }
        Err(SpoolError::Io(e)) => return Err(e),
    }
    drain(sink, spool, policy, stats).await
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the delivery runtime")
}

fn read_meta(dir: &Path) -> Result<SpoolMeta> {
    let path = dir.join("sink.json");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{} is damaged", path.display()))
}

/// Sink directories under the spool root (those with a `sink.json`), by name.
fn spool_dirs(root: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e).with_context(|| format!("reading {}", root.display())),
    };
    for e in entries.flatten() {
        if e.path().join("sink.json").is_file() {
            out.push(e.file_name().to_string_lossy().into_owned());
        }
    }
    out.sort();
    Ok(out)
}

/// What a run did, per sink.
#[derive(Debug, Default)]
pub struct Report {
    pub sinks: Vec<(SinkConfig, Stats)>,
}

impl Report {
    /// 0 when everything was delivered, else [`crate::exit::UNDELIVERED`].
    pub fn exit_code(&self) -> u8 {
        let undelivered = self
            .sinks
            .iter()
            .any(|(_, s)| s.spooled > 0 || !s.rejected.is_empty() || s.error.is_some());
        if undelivered {
            crate::exit::UNDELIVERED
        } else {
            crate::exit::OK
        }
    }

    /// The numbers, one row per sink, then what was refused and why delivery stopped.
    pub fn render(&self, spool_root: &Path) -> String {
        if self.sinks.is_empty() {
            return format!(
                "no sink and nothing spooled under {}\n",
                spool_root.display()
            );
        }
        let mut t = comfy_table::Table::new();
        t.load_preset(comfy_table::presets::NOTHING);
        t.set_header([
            "sink",
            "events",
            "batches",
            "retries",
            "delivered",
            "trimmed",
            "rejected",
            "spooled",
        ]);
        for (s, st) in &self.sinks {
            t.add_row([
                s.url.clone(),
                st.events.to_string(),
                st.batches.to_string(),
                st.retries.to_string(),
                st.delivered.to_string(),
                st.trimmed.to_string(),
                st.rejected.len().to_string(),
                st.spooled.to_string(),
            ]);
        }
        let mut out = format!("{t}\n");
        for (s, st) in &self.sinks {
            for (uid, why) in &st.rejected {
                out.push_str(&format!("rejected by {}: {uid}: {why}\n", s.name));
            }
            if let Some(e) = &st.error {
                out.push_str(&format!("{} stopped: {e}\n", s.name));
            }
            if st.spooled > 0 {
                out.push_str(&format!(
                    "{} event(s) wait in {}; `dengbao send --flush` delivers them\n",
                    st.spooled,
                    spool_root.join(&s.name).display()
                ));
            }
        }
        out
    }
}

/// `dengbao spool status`: what waits where.
pub fn status_text(root: &Path) -> Result<String> {
    let names = spool_dirs(root)?;
    if names.is_empty() {
        return Ok(format!(
            "no spool under {}: nothing waits\n",
            root.display()
        ));
    }
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header([
        "sink",
        "url",
        "pending",
        "bytes",
        "rejected",
        "oldest",
        "last attempt",
        "last error",
    ]);
    for name in &names {
        let dir = root.join(name);
        let meta = read_meta(&dir)?;
        let st = spool::status(&dir)?;
        t.add_row([
            name.clone(),
            meta.sink.url,
            st.pending_events.to_string(),
            st.pending_bytes.to_string(),
            st.rejected.to_string(),
            st.oldest.unwrap_or_else(|| "-".into()),
            st.last_attempt.unwrap_or_else(|| "-".into()),
            st.last_error.unwrap_or_else(|| "-".into()),
        ]);
    }
    Ok(format!("spool: {}\n{t}\n", root.display()))
}
