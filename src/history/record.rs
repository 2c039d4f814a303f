//! Recording a scan's resources and their deciding values without holding them.
//!
//! A huge estate (a million snapshots) has millions of judged resources. They are read back from the
//! results' spilled lists one at a time and written straight into the database; the locations they
//! cite wait in temporary tables (on disk: `temp_store = FILE`), and each cited body is converted
//! once, the items of the list the locations reach into read as they convert and dropped, as
//! evaluation does. What is recorded is the same as [`crate::drift::Snapshot::of`] with
//! [`crate::drift::values::read`] gives: the first of resources with the same key wins, and every
//! resource's deciding values are known (`{}` when none could be read).

use super::status_str;
use crate::convert::{to_document, to_document_watching, ListWatch};
use crate::drift::values::{compact, item_shape, records_by_digest, split_at_index, walk, Values};
use crate::pack::Pack;
use crate::results::Results;
use anyhow::Result;
use rusqlite::{params, OptionalExtension, Statement, Transaction};
use serde_json::Value;
use std::collections::HashSet;

/// Where the locations the resources cite, and the values read at them, wait while the bodies are
/// read. Every body is read by its digest: without the indexes each body scanned every location cited
/// (quadratic: 714 CPU-s for the 23,000 records of the benchmark's large estate).
const TEMP_TABLES: &str = "CREATE TEMP TABLE IF NOT EXISTS cited (
        digest TEXT NOT NULL, list TEXT, item INTEGER, path TEXT NOT NULL, res INTEGER NOT NULL);
     CREATE TEMP TABLE IF NOT EXISTS found (
        res INTEGER NOT NULL, digest TEXT NOT NULL, shape TEXT NOT NULL, value TEXT NOT NULL);
     CREATE INDEX IF NOT EXISTS temp.cited_by_digest ON cited (digest);
     CREATE INDEX IF NOT EXISTS temp.found_by_digest ON found (digest);
     DELETE FROM temp.cited; DELETE FROM temp.found;";

/// Writes the resources of `results` as scan `id`, with the deciding values read from `pack`.
pub(super) fn resources(
    tx: &Transaction<'_>,
    id: i64,
    results: &Results,
    pack: &Pack,
) -> Result<()> {
    tx.execute_batch(TEMP_TABLES)?;
    insert(tx, id, results)?;
    // Records by digest, as `values::read` finds them (the last of equal bodies).
    let records = records_by_digest(pack);
    let digests: Vec<String> = tx
        .prepare("SELECT DISTINCT digest FROM temp.cited ORDER BY digest")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for digest in &digests {
        if let Some(&i) = records.get(digest.as_str()) {
            read_body(tx, pack, i, digest)?;
        }
    }
    write_deciding(tx)?;
    tx.execute_batch("DELETE FROM temp.cited; DELETE FROM temp.found;")?;
    Ok(())
}

/// Inserts every resource (the first of a key wins; a rule judging several items is written once)
/// and the locations each cites.
fn insert(tx: &Transaction<'_>, id: i64, results: &Results) -> Result<()> {
    let mut res = tx.prepare(
        "INSERT OR IGNORE INTO resources (scan_id, rule, region, resource, status, excepted, locations, deciding)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '{}')",
    )?;
    let mut cite = tx.prepare(
        "INSERT INTO temp.cited (digest, list, item, path, res) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut written: HashSet<&str> = HashSet::new();
    for rule in results.controls.iter().flat_map(|c| &c.rules) {
        if !written.insert(rule.id.as_str()) {
            continue;
        }
        for r in rule.resources.iter() {
            let excepted = rule
                .excepted
                .iter()
                .find(|x| x.resource == r.id && x.region == r.region)
                .map(|x| x.exception.as_str());
            let added = res.execute(params![
                id,
                rule.id,
                r.region,
                r.id,
                status_str(r.status),
                excepted,
                serde_json::to_string(&r.locations)?,
            ])?;
            if added == 0 {
                continue;
            }
            let row = tx.last_insert_rowid();
            for (digest, path) in r.locations.iter().filter_map(|l| l.split_once('#')) {
                let (list, item) = match split_at_index(path) {
                    Some((list, _, item, _)) => (Some(list), Some(item as i64)),
                    None => (None, None),
                };
                cite.execute(params![digest, list, item, path, row])?;
            }
        }
    }
    Ok(())
}

/// Reads the values the locations into record `i`'s body (`digest`) cite into `temp.found`. When
/// every location reaching into a list reaches into the same one, and none cites that list or what
/// holds it, the list's items are read as they convert and dropped; otherwise (or when the list
/// turns out not to be plain) the document is converted whole. A body that cannot be read or
/// converted contributes nothing.
fn read_body(tx: &Transaction<'_>, pack: &Pack, i: usize, digest: &str) -> Result<()> {
    let rec = &pack.manifest.records[i];
    let Ok(Ok(bytes)) = pack.body(rec) else {
        return Ok(());
    };
    let lists: Vec<String> = tx
        .prepare("SELECT DISTINCT list FROM temp.cited WHERE digest = ?1 AND item IS NOT NULL")?
        .query_map([digest], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if let [list] = lists.as_slice() {
        let holder_cited = tx
            .prepare("SELECT 1 FROM temp.cited WHERE digest = ?1 AND item IS NULL AND substr(?2, 1, length(path)) = path")?
            .query_row(params![digest, list], |_| Ok(()))
            .optional()?
            .is_some();
        if !holder_cited && read_list(tx, &rec.media_type, &bytes, digest, list)? {
            return Ok(());
        }
        tx.execute("DELETE FROM temp.found WHERE digest = ?1", [digest])?;
    }
    let Ok(doc) = to_document(&rec.media_type, &bytes) else {
        return Ok(());
    };
    let mut cited = tx.prepare("SELECT path, res FROM temp.cited WHERE digest = ?1")?;
    let mut add = adder(tx)?;
    let mut rows = cited.query([digest])?;
    while let Some(row) = rows.next()? {
        let (path, res): (String, i64) = (row.get(0)?, row.get(1)?);
        if let Some((value, shape)) = walk(&doc, &path) {
            add.execute(params![res, digest, shape, compact(value)])?;
        }
    }
    Ok(())
}

fn adder<'t>(tx: &'t Transaction<'_>) -> rusqlite::Result<Statement<'t>> {
    tx.prepare("INSERT INTO temp.found (res, digest, shape, value) VALUES (?1, ?2, ?3, ?4)")
}

/// Converts the body showing the items of `list` (a path with member names only) one at a time, each
/// read for the locations citing it (in item order) and dropped; then reads the other locations
/// from what is left. False when the finished document shows the list was not plain (not exactly the
/// items shown, at their places): what was read of it does not stand.
fn read_list(
    tx: &Transaction<'_>,
    media_type: &str,
    bytes: &[u8],
    digest: &str,
    list: &str,
) -> Result<bool> {
    let Some((_, names, _, _)) = split_at_index(&format!("{list}[0]")) else {
        return Ok(false);
    };
    let path: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut cited =
        tx.prepare("SELECT item, path, res FROM temp.cited WHERE digest = ?1 AND item IS NOT NULL ORDER BY item")?;
    let mut rows = cited.query([digest])?;
    let mut add = adder(tx)?;
    let mut next: Option<(usize, String, i64)> = None;
    let mut done: rusqlite::Result<()> = Ok(());
    let mut advance = |next: &mut Option<(usize, String, i64)>| -> rusqlite::Result<()> {
        *next = match rows.next()? {
            Some(r) => Some((r.get::<_, i64>(0)? as usize, r.get(1)?, r.get(2)?)),
            None => None,
        };
        Ok(())
    };
    advance(&mut next)?;
    let (mut shown, mut in_order) = (0usize, true);
    let mut on_item = |at: usize, v: &Value| {
        in_order &= at == shown;
        shown += 1;
        while done.is_ok() {
            let Some((item, path, res)) = &next else {
                break;
            };
            if *item > at {
                break;
            }
            if *item == at {
                let found =
                    split_at_index(path).and_then(|(_, _, _, rest)| walk(v, &format!("${rest}")));
                if let Some((value, shape)) = found {
                    done = add
                        .execute(params![
                            res,
                            digest,
                            item_shape(&names, &shape),
                            compact(value)
                        ])
                        .map(|_| ());
                }
            }
            if done.is_ok() {
                done = advance(&mut next);
            }
        }
        false
    };
    let converted = to_document_watching(
        media_type,
        bytes,
        Some(ListWatch {
            path: &path,
            on_item: &mut on_item,
        }),
    );
    done?;
    let Ok(doc) = converted else {
        return Ok(false); // what was read before the error does not stand
    };
    let plain = in_order
        && match walk(&doc, list) {
            Some((Value::Array(items), _)) => {
                items.len() == shown && items.iter().all(Value::is_null)
            }
            None => shown == 0,
            Some(_) => false,
        };
    if !plain {
        return Ok(false);
    }
    let mut others =
        tx.prepare("SELECT path, res FROM temp.cited WHERE digest = ?1 AND item IS NULL")?;
    let mut rows = others.query([digest])?;
    while let Some(row) = rows.next()? {
        let (path, res): (String, i64) = (row.get(0)?, row.get(1)?);
        if let Some((value, shape)) = walk(&doc, &path) {
            add.execute(params![res, digest, shape, compact(value)])?;
        }
    }
    Ok(true)
}

/// Sets each resource's deciding values from `temp.found`, one resource at a time (values under a
/// path sorted, as [`crate::drift::values::read`] gives them).
fn write_deciding(tx: &Transaction<'_>) -> Result<()> {
    let mut found =
        tx.prepare("SELECT res, shape, value FROM temp.found ORDER BY res, shape, value")?;
    let mut update = tx.prepare("UPDATE resources SET deciding = ?2 WHERE rowid = ?1")?;
    let mut current: Option<(i64, Values)> = None;
    let mut rows = found.query([])?;
    loop {
        let row = rows.next()?;
        let res: Option<i64> = row.map(|r| r.get(0)).transpose()?;
        if let Some((at, values)) = current.take_if(|(at, _)| Some(*at) != res) {
            update.execute(params![at, serde_json::to_string(&values)?])?;
        }
        let Some(row) = row else { break };
        let (shape, value): (String, String) = (row.get(1)?, row.get(2)?);
        let (_, values) = current.get_or_insert_with(|| (res.expect("a row"), Values::new()));
        values.entry(shape).or_default().push(value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::TEMP_TABLES;

    /// The per-body lookups use the digest indexes (a plan, not a timing: the benchmark shows the time).
    #[test]
    fn bodies_are_looked_up_by_index() {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch(TEMP_TABLES).unwrap();
        for query in [
            "SELECT DISTINCT list FROM temp.cited WHERE digest = 'd' AND item IS NOT NULL",
            "SELECT path, res FROM temp.cited WHERE digest = 'd'",
            "SELECT item, path, res FROM temp.cited WHERE digest = 'd' AND item IS NOT NULL ORDER BY item",
            "DELETE FROM temp.found WHERE digest = 'd'",
        ] {
            let plan: Vec<String> = db
                .prepare(&format!("EXPLAIN QUERY PLAN {query}"))
                .unwrap()
                .query_map([], |r| r.get::<_, String>(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter().any(|step| step.contains("_by_digest")),
                "{query}: {plan:?}"
            );
        }
    }
}
