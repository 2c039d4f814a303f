//! The history of scans: an embedded SQLite database (WAL, busy timeout) that every `scan` and
//! `evaluate` records into, so the next run can say what changed and `--fail-on new` can act.
//!
//! The database is ours only when it says so (`application_id`); any other file at the path — not
//! SQLite, truncated, another program's database, or one written by a newer dengbao — is an error that
//! names the file, and the file is never written. The schema moves forward by numbered migrations
//! (`user_version`), each in one transaction.

mod record;
mod schema;

use crate::drift::{Comparable, ResourceKey, ResourceState, Snapshot};
use crate::pack::Pack;
use crate::results::{ResourceStatus, Results};
use crate::verdict::Verdict;
use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The default database: `$XDG_DATA_HOME/dengbao/history.sqlite3`, else
/// `$HOME/.local/share/dengbao/history.sqlite3`.
pub fn default_path() -> Result<PathBuf> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| {
            std::env::var_os("HOME")
                .map(PathBuf::from)
                .filter(|p| p.is_absolute())
                .map(|h| h.join(".local/share"))
        })
        .context("no data directory: neither XDG_DATA_HOME nor HOME is an absolute path; give --history PATH or --no-history")?;
    Ok(data.join("dengbao").join("history.sqlite3"))
}

/// An open history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
}

/// What changed between two recorded scans, counted ([`History::drift_counts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriftCounts {
    pub items_changed: usize,
    /// Failing now, and not failing (or absent) before.
    pub newly_failing: usize,
    /// Of those, the ones no exception covers: what `--fail-on new` acts on.
    pub new_failures: usize,
    pub fixed: usize,
    pub appeared: usize,
    pub disappeared: usize,
    /// Same status, other deciding values.
    pub values_changed: usize,
}

/// One recorded scan, as `history list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScanRow {
    pub id: i64,
    pub provider: String,
    pub accounts: String,
    pub regions: String,
    pub framework: String,
    pub finished_at: String,
    pub pack_digest: String,
    pub pack_location: Option<String>,
    pub results_location: Option<String>,
    pub summary: String,
}

impl History {
    /// Opens (creating when absent) the database at `path`, checking it is ours and migrating it.
    pub fn open(path: &Path) -> Result<History> {
        if !path.exists() {
            create(path)?;
        }
        schema::check_header(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .with_context(|| format!("opening the history database {}", path.display()))?;
        let mut h = History {
            conn,
            path: path.to_path_buf(),
        };
        schema::prepare(&mut h.conn, path).map_err(|e| h.unusable(e))?;
        Ok(h)
    }

    fn unusable(&self, e: anyhow::Error) -> anyhow::Error {
        e.context(format!(
            "{} is not a usable dengbao history database (it was left untouched); move it aside, or give --history OTHER_PATH or --no-history",
            self.path.display()
        ))
    }

    /// The database's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records `results`, evaluated from `pack` (whose bodies give each resource's deciding values),
    /// with where its pack and results.json are, and returns the new scan id. Resources are written
    /// as they are read back from the results, never all held ([`record`]).
    pub fn record(
        &mut self,
        results: &Results,
        pack: &Pack,
        results_path: Option<&Path>,
    ) -> Result<i64> {
        let key = Comparable::of(results);
        // The temporary tables of the deciding values hold a row per cited location: on disk.
        self.conn.execute_batch("PRAGMA temp_store = FILE")?;
        let pack_dir = pack.dir();
        let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO scans (provider, partition, accounts, regions, framework, mapping_version, scope, comparable,
                started_at, finished_at, pack_digest, pack_location, results_location, results_schema, summary)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                results.scan.provider,
                results.scan.partition,
                key.accounts.join(","),
                key.regions.join(","),
                key.framework,
                key.mapping_version,
                key.scope,
                key.fingerprint(),
                results.scan.started_at,
                results.scan.finished_at,
                results.scan.pack_digest,
                pack_dir.map(|p| abs(p).display().to_string()),
                results_path.map(|p| abs(p).display().to_string()),
                results.schema,
                serde_json::to_string(&results.summary)?,
            ],
        )?;
        let id = tx.last_insert_rowid();
        {
            // The last control of an id wins, as in a snapshot's map.
            let mut item = tx.prepare(
                "INSERT OR REPLACE INTO items (scan_id, item, verdict, verdict_with_exceptions) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for c in &results.controls {
                let with = c.verdict_with_exceptions.map(Verdict::as_str);
                item.execute(params![id, c.id, c.verdict.as_str(), with])?;
            }
            let mut rule = tx.prepare(
                "INSERT INTO rules (scan_id, item, rule, outcome, verdict, passed, failed, errored)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for c in &results.controls {
                for r in &c.rules {
                    let outcome = serde_json::to_value(r.outcome)?;
                    rule.execute(params![
                        id,
                        c.id,
                        r.id,
                        outcome.as_str(),
                        r.verdict.as_str(),
                        r.passed as i64,
                        r.failed as i64,
                        r.errored as i64
                    ])?;
                }
            }
        }
        record::resources(&tx, id, results, pack)?;
        if let Some(time) = crate::report::rfc3339_millis(&results.scan.finished_at) {
            let mut seen = tx.prepare(
                "INSERT INTO findings (uid, first_seen, last_seen) VALUES (?1, ?2, ?2)
                 ON CONFLICT (uid) DO UPDATE SET first_seen = min(first_seen, excluded.first_seen),
                                                 last_seen = max(last_seen, excluded.last_seen)",
            )?;
            crate::report::ocsf::for_each_finding_uid(results, |uid| {
                seen.execute(params![uid, time])?;
                Ok(())
            })?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// When each OCSF finding of `results` was first and last seen in the scans recorded so far (in
    /// milliseconds); findings never seen before are absent.
    pub fn seen(&self, results: &Results) -> Result<HashMap<String, (i64, i64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT first_seen, last_seen FROM findings WHERE uid = ?1")?;
        let mut out = HashMap::new();
        crate::report::ocsf::for_each_finding_uid(results, |uid| {
            if let Some(t) = stmt
                .query_row([&uid], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                out.insert(uid, t);
            }
            Ok(())
        })?;
        Ok(out)
    }

    /// Recorded scans, newest first, optionally of one provider and/or including one account.
    pub fn list(&self, provider: Option<&str>, account: Option<&str>) -> Result<Vec<ScanRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, provider, accounts, regions, framework, finished_at, pack_digest, pack_location,
                    results_location, summary
             FROM scans
             WHERE (?1 IS NULL OR provider = ?1)
               AND (?2 IS NULL OR ',' || accounts || ',' LIKE '%,' || ?2 || ',%')
             ORDER BY id DESC",
        )?;
        let rows = stmt.query_map(params![provider, account], row_of)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One scan's row, or an error naming the id.
    pub fn scan(&self, id: i64) -> Result<ScanRow> {
        self.conn
            .query_row(
                "SELECT id, provider, accounts, regions, framework, finished_at, pack_digest, pack_location,
                        results_location, summary FROM scans WHERE id = ?1",
                [id],
                row_of,
            )
            .optional()?
            .with_context(|| {
                format!(
                    "no scan #{id} in {}; `dengbao history list` shows them",
                    self.path.display()
                )
            })
    }

    /// The latest scan before `before` (or the latest at all) judged comparably with `key`.
    pub fn previous_comparable(
        &self,
        key: &Comparable,
        before: Option<i64>,
    ) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id FROM scans WHERE comparable = ?1 AND (?2 IS NULL OR id < ?2)
                 ORDER BY id DESC LIMIT 1",
                params![key.fingerprint(), before],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// How scan `new` differs from scan `old`, counted in the database: the numbers
    /// [`crate::drift::diff`] gives for their snapshots (the scans must be comparable), without
    /// loading either (a scan of a huge estate records millions of resources).
    pub fn drift_counts(&self, old: i64, new: i64) -> Result<DriftCounts> {
        let (o, n) = (self.items(old)?, self.items(new)?);
        let effective = |x: Option<&(Verdict, Option<Verdict>)>| x.map(|(v, w)| w.unwrap_or(*v));
        let items_changed = o
            .keys()
            .chain(n.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|id| {
                let (a, b) = (o.get(*id), n.get(*id));
                a.map(|x| x.0) != b.map(|x| x.0) || effective(a) != effective(b)
            })
            .count();
        let same = "o.rule = n.rule AND o.region = n.region AND o.resource = n.resource";
        let counts: [i64; 5] = self.conn.query_row(
            &format!(
                "SELECT coalesce(sum(n.status = 'fail' AND o.status IS NOT 'fail'), 0),
                        coalesce(sum(n.status = 'fail' AND o.status IS NOT 'fail' AND n.excepted IS NULL), 0),
                        coalesce(sum(o.status IS NULL), 0),
                        coalesce(sum(o.status = 'fail' AND n.status = 'pass'), 0),
                        coalesce(sum(o.status = n.status AND o.deciding IS NOT NULL AND n.deciding IS NOT NULL
                                     AND o.deciding != n.deciding), 0)
                 FROM resources n LEFT JOIN resources o ON o.scan_id = ?1 AND {same}
                 WHERE n.scan_id = ?2"
            ),
            params![old, new],
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
        )?;
        let disappeared: i64 = self.conn.query_row(
            &format!(
                "SELECT count(*) FROM resources o LEFT JOIN resources n ON n.scan_id = ?2 AND {same}
                 WHERE o.scan_id = ?1 AND n.status IS NULL"
            ),
            params![old, new],
            |r| r.get(0),
        )?;
        let [newly_failing, new_failures, appeared, fixed, values_changed] =
            counts.map(|c| c as usize);
        Ok(DriftCounts {
            items_changed,
            newly_failing,
            new_failures,
            fixed,
            appeared,
            disappeared: disappeared as usize,
            values_changed,
        })
    }

    /// Scan `id`'s items: id → (verdict, verdict with exceptions).
    fn items(
        &self,
        id: i64,
    ) -> Result<std::collections::BTreeMap<String, (Verdict, Option<Verdict>)>> {
        let mut items = self.conn.prepare(
            "SELECT item, verdict, verdict_with_exceptions FROM items WHERE scan_id = ?1",
        )?;
        let mut out = std::collections::BTreeMap::new();
        for r in items.query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })? {
            let (item, v, with) = r?;
            out.insert(
                item,
                (
                    parse_verdict(&v)?,
                    with.as_deref().map(parse_verdict).transpose()?,
                ),
            );
        }
        Ok(out)
    }

    /// Scan `id` as a snapshot to compare.
    pub fn snapshot(&self, id: i64) -> Result<Snapshot> {
        let row = self.scan(id)?;
        let (comparable, partition, mapping_version, scope): (String, String, String, String) =
            self.conn.query_row(
                "SELECT comparable, partition, mapping_version, scope FROM scans WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        let _ = (comparable, partition);
        let split = |s: &str| -> Vec<String> {
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect()
        };
        let mut snap = Snapshot {
            label: format!("history #{id}"),
            key: Comparable {
                provider: row.provider.clone(),
                accounts: split(&row.accounts),
                framework: row.framework.clone(),
                mapping_version,
                regions: split(&row.regions),
                scope,
            },
            finished_at: row.finished_at.clone(),
            results_location: row.results_location.clone(),
            pack_location: row.pack_location.clone(),
            ..Default::default()
        };
        snap.items = self.items(id)?;
        let mut res = self.conn.prepare(
            "SELECT rule, region, resource, status, excepted, locations, deciding FROM resources
             WHERE scan_id = ?1",
        )?;
        for r in res.query_map([id], |r| {
            Ok((
                ResourceKey {
                    rule: r.get(0)?,
                    region: r.get(1)?,
                    resource: r.get(2)?,
                },
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
            ))
        })? {
            let (k, status, excepted, locations, deciding) = r?;
            if deciding.is_none() {
                snap.values_unknown = Some("recorded without its deciding values".into());
            }
            let state = ResourceState {
                status: parse_status(&status)?,
                excepted,
                locations: serde_json::from_str(&locations)?,
                values: deciding.as_deref().map(serde_json::from_str).transpose()?,
            };
            snap.resources.insert(k, state);
        }
        Ok(snap)
    }
}

/// Creates a new database at `path` whole: written and migrated under a temporary name beside it, then
/// linked into place, which fails when another process got there first (two scheduled scans starting
/// at once). So no process ever sees the empty file SQLite begins with, which would be refused as not
/// ours.
fn create(path: &Path) -> Result<()> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => dir,
        None => Path::new("."),
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the history directory {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}.new-"))
        .tempfile_in(dir)
        .with_context(|| format!("creating a new history database in {}", dir.display()))?
        .into_temp_path();
    {
        let mut conn = Connection::open(&tmp)
            .with_context(|| format!("creating the history database {}", tmp.display()))?;
        schema::prepare(&mut conn, &tmp)?;
    }
    match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => {
            Err(e).with_context(|| format!("creating the history database {}", path.display()))
        }
    }
    // `tmp` is removed when dropped; WAL and shared-memory files went with the closed connection.
}

fn row_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScanRow> {
    Ok(ScanRow {
        id: r.get(0)?,
        provider: r.get(1)?,
        accounts: r.get(2)?,
        regions: r.get(3)?,
        framework: r.get(4)?,
        finished_at: r.get(5)?,
        pack_digest: r.get(6)?,
        pack_location: r.get(7)?,
        results_location: r.get(8)?,
        summary: r.get(9)?,
    })
}

fn status_str(s: ResourceStatus) -> &'static str {
    match s {
        ResourceStatus::Pass => "pass",
        ResourceStatus::Fail => "fail",
        ResourceStatus::Error => "error",
    }
}

fn parse_status(s: &str) -> Result<ResourceStatus> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .with_context(|| format!("unknown resource status `{s}` in the history"))
}

fn parse_verdict(s: &str) -> Result<Verdict> {
    if let Some(v) = Verdict::ALL.into_iter().find(|v| v.as_str() == s) {
        return Ok(v);
    }
    bail!("unknown verdict `{s}` in the history")
}
