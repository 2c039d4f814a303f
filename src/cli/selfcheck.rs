//! The self-check side of the command line: history, exceptions, `--fail-on`, `diff`, `history`.

use super::args::{DiffArgs, DiffFormat, HistoryArgs, HistoryCommand, SelfCheckArgs};
use super::{emit, emit_err};
use crate::drift::{self, Diff, Snapshot};
use crate::exceptions::ExceptionSet;
use crate::history::History;
use crate::pack::Pack;
use crate::results::Results;
use anyhow::{bail, Context, Result};
use std::path::Path;

/// What a scan or evaluation needs for its self-check, read before anything is collected (a broken
/// exceptions file or history database stops the run before it starts).
pub(super) struct Prepared {
    history: Option<History>,
    exceptions: Option<ExceptionSet>,
    fail_on: Vec<crate::fail_on::Level>,
    /// When each OCSF finding was first and last seen, read before this scan is recorded.
    seen: Option<std::collections::HashMap<String, (i64, i64)>>,
}

pub(super) fn open_history(a: &HistoryArgs) -> Result<Option<History>> {
    if a.no_history {
        return Ok(None);
    }
    let path = match &a.history {
        Some(p) => p.clone(),
        None => crate::history::default_path()?,
    };
    History::open(&path).map(Some)
}

pub(super) fn prepare(a: &SelfCheckArgs) -> Result<Prepared> {
    let fail_on = a.fail_on.clone().map(|f| f.0).unwrap_or_default();
    if a.history.no_history && fail_on.contains(&crate::fail_on::Level::New) {
        bail!("--fail-on new compares with the previous scan in the history; drop --no-history");
    }
    Ok(Prepared {
        exceptions: a
            .exceptions
            .as_deref()
            .map(ExceptionSet::read)
            .transpose()?,
        history: open_history(&a.history)?,
        fail_on,
        seen: None,
    })
}

impl Prepared {
    /// Applies the exceptions to freshly evaluated results (before they are written), and reads from
    /// the history when their OCSF findings were seen before.
    pub(super) fn apply(&mut self, results: &mut Results) -> Result<()> {
        if let Some(h) = &self.history {
            self.seen = Some(h.seen(results)?);
        }
        if let Some(set) = &self.exceptions {
            crate::exceptions::apply(results, set);
            for w in crate::exceptions::warnings(results.exceptions.as_ref().expect("applied")) {
                emit_err(&format!("{w}\n"));
            }
        }
        Ok(())
    }

    /// First/last-seen times of the OCSF findings (None without a history).
    pub(super) fn seen(&self) -> Option<&dyn crate::report::ocsf::SeenTimes> {
        self.seen
            .as_ref()
            .map(|m| m as &dyn crate::report::ocsf::SeenTimes)
    }

    /// Records the written results in the history, says what changed since the previous comparable
    /// scan, and returns the `--fail-on` exit code (0 when nothing matched).
    pub(super) fn finish(
        &mut self,
        results: &Results,
        pack: &Pack,
        results_path: &Path,
    ) -> Result<u8> {
        let mut new_failures = None;
        if let Some(h) = &mut self.history {
            let key = drift::Comparable::of(results);
            let previous = h.previous_comparable(&key, None)?;
            let id = h.record(results, pack, Some(results_path))?;
            emit(&format!("history: #{id} in {}\n", h.path().display()));
            match previous {
                Some(prev) => {
                    let d = h.drift_counts(prev, id)?;
                    emit(&format!(
                        "drift since #{prev}: {} item(s) changed, {} newly failing ({} not excepted), {} fixed, {} appeared, {} disappeared, {} with changed deciding values (`dengbao diff {prev} {id}`)\n",
                        d.items_changed,
                        d.newly_failing,
                        d.new_failures,
                        d.fixed,
                        d.appeared,
                        d.disappeared,
                        d.values_changed
                    ));
                    new_failures = Some(d.new_failures);
                }
                None => emit("drift: no previous comparable scan in the history\n"),
            }
        }
        let matched = crate::fail_on::matched(&self.fail_on, results, new_failures);
        for m in &matched {
            emit_err(&format!("--fail-on {m}\n"));
        }
        Ok(if matched.is_empty() {
            crate::exit::OK
        } else {
            crate::exit::FAIL_ON
        })
    }
}

/// `dengbao history list|show`.
pub(super) fn history(cmd: HistoryCommand) -> Result<u8> {
    match cmd {
        HistoryCommand::List {
            provider,
            account,
            history,
        } => {
            let h = open_history(&history)?.context("--no-history: there is no history to list")?;
            for s in h.list(provider.as_deref(), account.as_deref())? {
                emit(&format!(
                    "#{:<5} {}  {:<7} {:<14} {:<28} {}\n",
                    s.id, s.finished_at, s.provider, s.accounts, s.regions, s.summary
                ));
            }
        }
        HistoryCommand::Show { id, history } => {
            let h = open_history(&history)?.context("--no-history: there is no history to show")?;
            let row = h.scan(id)?;
            emit(&format!("{}\n", serde_json::to_string_pretty(&row)?));
            let snap = h.snapshot(id)?;
            for (item, (v, with)) in &snap.items {
                let with = with
                    .filter(|w| w != v)
                    .map(|w| format!(" (with exceptions: {})", w.as_str()))
                    .unwrap_or_default();
                emit(&format!("{item:<12} {}{with}\n", v.as_str()));
            }
        }
    }
    Ok(0)
}

/// `dengbao diff OLD NEW`.
pub(super) fn diff(a: DiffArgs) -> Result<u8> {
    let mut history = None;
    let old = snapshot(&a.old, &a, &mut history)?;
    let new = snapshot(&a.new, &a, &mut history)?;
    let d = drift::diff(&old, &new);
    let text = match a.format {
        DiffFormat::Json => format!("{}\n", serde_json::to_string_pretty(&d)?),
        DiffFormat::Text => crate::report::drift::text(&d),
        DiffFormat::Md => crate::report::drift::markdown(&d),
        DiffFormat::Html => crate::report::drift::html_page(&d),
    };
    emit(&text);
    Ok(0)
}

/// A snapshot from a history id, a results.json, or a pack directory (evaluated now).
fn snapshot(arg: &str, a: &DiffArgs, history: &mut Option<History>) -> Result<Snapshot> {
    if let Ok(id) = arg.parse::<i64>() {
        if history.is_none() {
            *history = open_history(&a.history)?;
        }
        let h = history
            .as_ref()
            .context("--no-history: a history id cannot be read")?;
        return h.snapshot(id);
    }
    let path = Path::new(arg);
    if path.is_dir() {
        let pack = Pack::open(path)?;
        let loaded = super::load(&a.data)?;
        let results = crate::app::evaluate(&pack, &loaded, &Default::default())?;
        let values = drift::values::read(&pack, &results)?;
        return Ok(Snapshot::of(&results, format!("pack {arg}")).with_values(values));
    }
    if path.is_file() {
        let results = crate::report::read_results(path)?;
        let snap = Snapshot::of(&results, arg.to_string());
        return Ok(match pack_beside(path, &results) {
            Some(pack) => snap.with_values(drift::values::read(&pack, &results)?),
            None => snap,
        });
    }
    bail!("`{arg}` is neither a history id, a results.json nor a pack directory")
}

/// The pack `results` was evaluated from, when it is where `scan`/`evaluate` put it (`pack/` beside
/// results.json) and its digest is the one the results name.
fn pack_beside(results_path: &Path, results: &Results) -> Option<Pack> {
    let dir = results_path.parent()?.join("pack");
    let pack = Pack::open(&dir).ok()?;
    (pack.digest() == results.scan.pack_digest).then_some(pack)
}

/// Reads a diff file written by `dengbao diff --format json`.
pub(super) fn read_diff(path: &Path) -> Result<Diff> {
    let bytes = crate::limits::read_file(
        path,
        crate::limits::MAX_RESULTS_BYTES,
        "a diff file",
        "MAX_RESULTS_BYTES",
    )?;
    let d: Diff = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a dengbao diff file", path.display()))?;
    if d.schema != drift::DIFF_SCHEMA {
        bail!(
            "{}: diff schema `{}` is not supported (this dengbao reads `{}`)",
            path.display(),
            d.schema,
            drift::DIFF_SCHEMA
        );
    }
    Ok(d)
}
