//! The durable spool: every event is on disk, fsync'd, before any send, and leaves only when its
//! sink confirmed it (at-least-once delivery).
//!
//! One directory per sink under the spool root:
//!
//! ```text
//! <root>/<sink name>/
//!   sink.json                      the sink (URL and options, never a secret) and its HEC channel
//!   lock                           flock'd by the one process delivering from this directory
//!   segments/00000000000000000001.jsonl   one per `append`: a spooled finding per line
//!   cursor.json                    {"segment": N, "line": K}: the first event not yet confirmed
//!   rejected.jsonl                 events the sink refused (with why); never retried
//!   state.json                     the last delivery attempt: when, and its error if any
//! ```
//!
//! A segment is written under a temporary name, fsync'd, renamed and its directory fsync'd: it is
//! there whole or not at all. The cursor moves the same way, only after the sink confirmed the events
//! before it; a process killed mid-batch leaves the cursor where it was, and the next flush sends
//! that batch again (the SIEM de-duplicates by `finding_info.uid`). Fully delivered segments are
//! deleted. The spool has a size limit: an append that would pass it fails with
//! [`SpoolError::Full`], and nothing already spooled is ever dropped to make room.

use super::event::Finding;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Default size limit of one sink's spool (pending events), in bytes.
pub const DEFAULT_MAX_BYTES: u64 = 512 * 1024 * 1024;

/// The default spool root: `$XDG_DATA_HOME/dengbao/spool`, else `~/.local/share/dengbao/spool`.
pub fn default_root() -> PathBuf {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("dengbao").join("spool")
}

/// Why an append failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool {dir} is full: {used} bytes pending, {needed} more would pass its limit of {limit} bytes; deliver what waits (`dengbao send --flush`) or raise `spool_max_bytes` / --spool-max-bytes")]
    Full {
        dir: PathBuf,
        used: u64,
        needed: u64,
        limit: u64,
    },
    #[error(transparent)]
    Io(#[from] anyhow::Error),
}

/// Where delivery stands: segment number and line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Position {
    pub segment: u64,
    pub line: usize,
}

/// A spooled finding and where it is.
#[derive(Debug, Clone)]
pub struct Entry {
    pub at: Position,
    pub finding: Finding,
}

/// One sink's spool directory, locked for this process.
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    _lock: File,
    cursor: Position,
    /// The segment the cursor is in, read once: its lines.
    current: Option<(u64, Vec<String>)>,
}

/// What waits in one spool.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub pending_events: u64,
    pub pending_bytes: u64,
    pub segments: u64,
    pub rejected: u64,
    /// RFC 3339 time of the oldest pending segment.
    pub oldest: Option<String>,
    pub last_attempt: Option<String>,
    pub last_error: Option<String>,
}

/// `state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    last_attempt: Option<String>,
    last_error: Option<String>,
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))
}

/// Writes `bytes` to `path` atomically and durably (temporary file, fsync, rename, fsync directory).
pub fn write_durable(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("a spool file has a directory")?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut f = File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    fsync_dir(dir)
}

fn segment_name(n: u64) -> String {
    format!("{n:020}.jsonl")
}

impl Spool {
    /// Opens (creating) the spool directory `dir` and takes its lock; waits for another dengbao
    /// delivering from it to finish.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool> {
        fs::create_dir_all(dir.join("segments"))
            .with_context(|| format!("creating the spool {}", dir.display()))?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .with_context(|| format!("opening {}/lock", dir.display()))?;
        #[cfg(unix)]
        {
            use rustix::fs::{flock, FlockOperation};
            if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
                tracing::info!(spool = %dir.display(), "another dengbao is delivering from this spool; waiting");
                flock(&lock, FlockOperation::LockExclusive)
                    .with_context(|| format!("locking {}/lock", dir.display()))?;
            }
        }
        let cursor = match fs::read(dir.join("cursor.json")) {
            Ok(b) => serde_json::from_slice(&b)
                .with_context(|| format!("{}/cursor.json is damaged", dir.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Position::default(),
            Err(e) => {
                return Err(e).with_context(|| format!("reading {}/cursor.json", dir.display()))
            }
        };
        let spool = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            _lock: lock,
            cursor,
            current: None,
        };
        spool.clean()?;
        Ok(spool)
    }

    /// The spool's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Segment numbers, in order.
    fn segments(&self) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        let dir = self.dir.join("segments");
        for e in fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let name = e?.file_name();
            let name = name.to_string_lossy();
            if let Some(n) = name.strip_suffix(".jsonl").and_then(|n| n.parse().ok()) {
                out.push(n);
            }
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Removes segments the cursor has passed and temporary files a killed process left.
    fn clean(&self) -> Result<()> {
        for n in self.segments()? {
            if n < self.cursor.segment {
                let _ = fs::remove_file(self.dir.join("segments").join(segment_name(n)));
            }
        }
        for e in fs::read_dir(self.dir.join("segments"))?.flatten() {
            if e.file_name().to_string_lossy().ends_with(".tmp") {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(())
    }

    fn pending_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for n in self.segments()? {
            total += fs::metadata(self.dir.join("segments").join(segment_name(n)))?.len();
        }
        Ok(total)
    }

    /// Appends `findings` as one new segment, durably. Fails with [`SpoolError::Full`] when the
    /// spool would pass its size limit (nothing is written then).
    pub fn append(&mut self, findings: &[Finding]) -> Result<(), SpoolError> {
        if findings.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for f in findings {
            serde_json::to_writer(&mut bytes, f).map_err(anyhow::Error::from)?;
            bytes.push(b'\n');
        }
        let used = self.pending_bytes()?;
        if used + bytes.len() as u64 > self.max_bytes {
            return Err(SpoolError::Full {
                dir: self.dir.clone(),
                used,
                needed: bytes.len() as u64,
                limit: self.max_bytes,
            });
        }
        let last = self.segments()?.last().copied().unwrap_or(0);
        let n = (last + 1).max(self.cursor.segment);
        write_durable(&self.dir.join("segments").join(segment_name(n)), &bytes)?;
        tracing::debug!(spool = %self.dir.display(), segment = n, events = findings.len(), "spooled");
        Ok(())
    }

    /// Up to `max` entries from the cursor on, in order (never past the end of the cursor's segment).
    pub fn next_batch(&mut self, max: usize) -> Result<Vec<Entry>> {
        loop {
            let segments = self.segments()?;
            let Some(&seg) = segments.iter().find(|&&n| n >= self.cursor.segment) else {
                return Ok(Vec::new());
            };
            if seg != self.cursor.segment {
                self.cursor = Position {
                    segment: seg,
                    line: 0,
                };
            }
            if self.current.as_ref().map(|c| c.0) != Some(seg) {
                let path = self.dir.join("segments").join(segment_name(seg));
                let file =
                    File::open(&path).with_context(|| format!("reading {}", path.display()))?;
                let lines = BufReader::new(file)
                    .lines()
                    .collect::<std::io::Result<Vec<_>>>()?;
                self.current = Some((seg, lines));
            }
            let lines = &self.current.as_ref().expect("just read").1;
            if self.cursor.line >= lines.len() {
                // Whole segment confirmed: move on (the cursor is saved before the file goes).
                self.commit(Position {
                    segment: seg + 1,
                    line: 0,
                })?;
                continue;
            }
            let mut out = Vec::new();
            for (i, line) in lines.iter().enumerate().skip(self.cursor.line).take(max) {
                let finding: Finding = serde_json::from_str(line).with_context(|| {
                    format!(
                        "{}/segments/{}: line {} is damaged",
                        self.dir.display(),
                        segment_name(seg),
                        i + 1
                    )
                })?;
                out.push(Entry {
                    at: Position {
                        segment: seg,
                        line: i,
                    },
                    finding,
                });
            }
            return Ok(out);
        }
    }

    /// Everything before `next` is confirmed (delivered or rejected): saves the cursor durably and
    /// deletes the segments it has passed.
    pub fn commit(&mut self, next: Position) -> Result<()> {
        write_durable(&self.dir.join("cursor.json"), &serde_json::to_vec(&next)?)?;
        self.cursor = next;
        self.clean()
    }

    /// Records that the sink refused `entry` (it is never retried; `spool status` counts it).
    pub fn reject(&mut self, entry: &Entry, why: &str) -> Result<()> {
        let line = serde_json::json!({
            "rejected_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "why": why, "uid": entry.finding.uid, "finding": entry.finding,
        });
        let path = self.dir.join("rejected.jsonl");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        f.write_all(format!("{line}\n").as_bytes())?;
        f.sync_all()?;
        Ok(())
    }

    /// Records the outcome of a delivery attempt (shown by `spool status`).
    pub fn note_attempt(&self, error: Option<&str>) -> Result<()> {
        let state = State {
            last_attempt: Some(
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            last_error: error.map(str::to_string),
        };
        write_durable(&self.dir.join("state.json"), &serde_json::to_vec(&state)?)
    }

    /// What waits here.
    pub fn status(&self) -> Result<Status> {
        status_of(&self.dir, self.cursor)
    }
}

/// What waits in the spool directory `dir` (read without taking its lock).
pub fn status(dir: &Path) -> Result<Status> {
    let cursor = fs::read(dir.join("cursor.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    status_of(dir, cursor)
}

fn status_of(dir: &Path, cursor: Position) -> Result<Status> {
    let mut st = Status::default();
    let seg_dir = dir.join("segments");
    let mut names: Vec<(u64, PathBuf)> = fs::read_dir(&seg_dir)
        .with_context(|| format!("reading {}", seg_dir.display()))?
        .flatten()
        .filter_map(|e| {
            let n = e
                .file_name()
                .to_string_lossy()
                .strip_suffix(".jsonl")?
                .parse()
                .ok()?;
            Some((n, e.path()))
        })
        .filter(|(n, _)| *n >= cursor.segment)
        .collect();
    names.sort();
    for (n, path) in &names {
        let meta = fs::metadata(path)?;
        st.segments += 1;
        st.pending_bytes += meta.len();
        let lines = BufReader::new(File::open(path)?).lines().count();
        let skip = if *n == cursor.segment { cursor.line } else { 0 };
        st.pending_events += lines.saturating_sub(skip) as u64;
        if st.oldest.is_none() {
            st.oldest = meta.modified().ok().map(|t| {
                chrono::DateTime::<chrono::Utc>::from(t)
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            });
        }
    }
    if let Ok(f) = File::open(dir.join("rejected.jsonl")) {
        st.rejected = BufReader::new(f).lines().count() as u64;
    }
    if let Ok(b) = fs::read(dir.join("state.json")) {
        if let Ok(s) = serde_json::from_slice::<State>(&b) {
            st.last_attempt = s.last_attempt;
            st.last_error = s.last_error;
        }
    }
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(i: usize) -> Finding {
        Finding::from_event(
            serde_json::json!({"finding_info": {"uid": format!("u{i}")}, "time": 1}),
            "sha256:p",
        )
    }

    #[test]
    fn entries_leave_only_when_committed_and_survive_reopening() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        {
            let mut s = Spool::open(&dir, DEFAULT_MAX_BYTES).unwrap();
            s.append(&(0..5).map(finding).collect::<Vec<_>>()).unwrap();
            s.append(&(5..7).map(finding).collect::<Vec<_>>()).unwrap();
            let b = s.next_batch(3).unwrap();
            assert_eq!(
                b.iter().map(|e| e.finding.uid.as_str()).collect::<Vec<_>>(),
                ["u0", "u1", "u2"]
            );
            // Not committed: a new process sees them again.
        }
        let mut s = Spool::open(&dir, DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(s.status().unwrap().pending_events, 7);
        let b = s.next_batch(10).unwrap();
        assert_eq!(b.len(), 5, "a batch stays within one segment");
        let next = Position {
            segment: b[4].at.segment,
            line: b[4].at.line + 1,
        };
        s.commit(next).unwrap();
        let b = s.next_batch(10).unwrap();
        assert_eq!(
            b.iter().map(|e| e.finding.uid.as_str()).collect::<Vec<_>>(),
            ["u5", "u6"]
        );
        assert_eq!(s.status().unwrap().pending_events, 2);
        s.commit(Position {
            segment: b[1].at.segment,
            line: 2,
        })
        .unwrap();
        assert!(s.next_batch(10).unwrap().is_empty());
        assert_eq!(s.status().unwrap().pending_events, 0);
        // New events after everything was delivered still come out.
        s.append(&[finding(9)]).unwrap();
        assert_eq!(s.next_batch(10).unwrap()[0].finding.uid, "u9");
    }

    #[test]
    fn a_full_spool_refuses_new_events_and_keeps_the_old() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Spool::open(tmp.path(), 400).unwrap();
        s.append(&[finding(0)]).unwrap();
        let err = s
            .append(&(1..10).map(finding).collect::<Vec<_>>())
            .unwrap_err();
        assert!(matches!(err, SpoolError::Full { .. }), "{err}");
        assert!(err.to_string().contains("is full"));
        assert_eq!(s.status().unwrap().pending_events, 1);
    }
}
