//! The history database's identity and schema: checked before anything is written, migrated forward.

use anyhow::{bail, Context, Result};
use rusqlite::Connection;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// `PRAGMA application_id` of a dengbao history database ("DBHS").
const APPLICATION_ID: i64 = 0x4442_4853;

/// Each migration takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: scans, their items, rules and resources.
    "CREATE TABLE scans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        provider TEXT NOT NULL, partition TEXT NOT NULL, accounts TEXT NOT NULL, regions TEXT NOT NULL,
        framework TEXT NOT NULL, mapping_version TEXT NOT NULL, scope TEXT NOT NULL,
        comparable TEXT NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT NOT NULL,
        pack_digest TEXT NOT NULL, pack_location TEXT, results_location TEXT,
        results_schema TEXT NOT NULL, summary TEXT NOT NULL);
     CREATE INDEX scans_comparable ON scans (comparable, id);
     CREATE TABLE items (
        scan_id INTEGER NOT NULL REFERENCES scans (id), item TEXT NOT NULL,
        verdict TEXT NOT NULL, verdict_with_exceptions TEXT,
        PRIMARY KEY (scan_id, item));
     CREATE TABLE rules (
        scan_id INTEGER NOT NULL REFERENCES scans (id), item TEXT NOT NULL, rule TEXT NOT NULL,
        outcome TEXT NOT NULL, verdict TEXT NOT NULL,
        passed INTEGER NOT NULL, failed INTEGER NOT NULL, errored INTEGER NOT NULL,
        PRIMARY KEY (scan_id, item, rule));
     CREATE TABLE resources (
        scan_id INTEGER NOT NULL REFERENCES scans (id), rule TEXT NOT NULL, region TEXT NOT NULL,
        resource TEXT NOT NULL, status TEXT NOT NULL, excepted TEXT, locations TEXT NOT NULL,
        PRIMARY KEY (scan_id, rule, region, resource));",
    // 2: each resource's deciding values (JSON, NULL when the pack was not at hand), and when each
    // OCSF finding (by `finding_info.uid`) was first and last seen, in milliseconds.
    "ALTER TABLE resources ADD COLUMN deciding TEXT;
     CREATE TABLE findings (
        uid TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL);",
];

/// An existing file must look like SQLite before SQLite is let near it (SQLite would treat an empty
/// file as a new database and write to it).
pub(super) fn check_header(path: &Path) -> Result<()> {
    let mut head = [0u8; 100];
    let mut f = std::fs::File::open(path)
        .with_context(|| format!("opening the history database {}", path.display()))?;
    let n = f.read(&mut head)?;
    if n < 100 || &head[..16] != b"SQLite format 3\0" {
        bail!(
            "{} is not a SQLite database ({}); it was left untouched: move it aside, or give --history OTHER_PATH or --no-history",
            path.display(),
            if n == 0 { "it is empty".to_string() } else { format!("its first {n} byte(s) are not a SQLite header") }
        );
    }
    Ok(())
}

/// Sets the connection up (busy timeout, WAL), checks the database is ours, and migrates it.
pub(super) fn prepare(conn: &mut Connection, path: &Path) -> Result<()> {
    conn.busy_timeout(Duration::from_secs(30))?;
    let check: String = conn
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .context("the database is damaged (truncated or corrupt)")?;
    if check != "ok" {
        bail!("the database is damaged: {check}");
    }
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
        [],
        |r| r.get(0),
    )?;
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if app != APPLICATION_ID && !(app == 0 && tables == 0) {
        bail!(
            "it belongs to another program (application_id {app:#x}, {tables} table(s)); {} is not dengbao's",
            path.display()
        );
    }
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!("history database {} stays in {mode} mode", path.display());
    }
    migrate(conn)
}

/// Applies the migrations the database lacks, each in one IMMEDIATE transaction (a concurrent
/// process waits, then sees the new version and applies nothing).
fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let latest = MIGRATIONS.len() as i64;
        if version > latest {
            bail!("it has schema version {version}, written by a newer dengbao (this one knows up to {latest}); upgrade dengbao");
        }
        if version == latest {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};",
            version + 1
        ))?;
        tx.commit()?;
    }
}
