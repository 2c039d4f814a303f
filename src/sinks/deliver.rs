//! The one delivery loop every sink shares: read a batch from the spool, encode it (trimming what is
//! too large), send it with retries and back-off, split a rejected batch until the refused events
//! are found, and move the spool's cursor past what was confirmed.
//!
//! Order is kept: a batch that cannot be delivered now (retries spent, or a fatal answer) stops the
//! sink, and it and everything after it stay spooled for the next run.

use super::event::fit;
use super::spool::{Entry, Position, Spool};
use super::{Answer, Sink};
use anyhow::Result;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::Duration;

/// Retry policy of one sink.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_attempts: u32,
    pub first_wait: Duration,
    pub max_wait: Duration,
}

impl Policy {
    /// From a sink's options.
    pub fn of(o: &super::config::Options) -> Policy {
        Policy {
            max_attempts: o.max_attempts.max(1),
            first_wait: Duration::from_millis(500),
            max_wait: Duration::from_secs(o.max_retry_wait_secs),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let d = self.first_wait * 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        d.min(self.max_wait)
    }
}

/// What happened to one sink in one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Events added to the spool in this run.
    pub events: u64,
    /// Batches sent (retries of a batch not counted again).
    pub batches: u64,
    /// Attempts repeated after a retryable answer or error.
    pub retries: u64,
    /// Events the receiver confirmed.
    pub delivered: u64,
    /// Events trimmed to fit the sink's limit (and delivered so).
    pub trimmed: u64,
    /// Events refused (by the receiver, or too large even trimmed): uid and why.
    pub rejected: Vec<(String, String)>,
    /// Events still in the spool after the run.
    pub spooled: u64,
    /// Why delivery stopped early, if it did.
    pub error: Option<String>,
}

/// Delivers everything spooled for `sink`, in order, until the spool is empty or delivery stops.
pub async fn drain<S: Sink>(
    sink: &mut S,
    spool: &mut Spool,
    policy: Policy,
    stats: &mut Stats,
) -> Result<()> {
    let limits = sink.limits();
    loop {
        let entries = spool.next_batch(limits.batch_events)?;
        if entries.is_empty() {
            return Ok(());
        }
        let mut items: Vec<(usize, Vec<u8>)> = Vec::new();
        let mut refused: Vec<(usize, String)> = Vec::new();
        let mut bytes = 0;
        let mut upto = entries.len();
        for (i, e) in entries.iter().enumerate() {
            let encoded = fit(&e.finding, limits.max_event_bytes, &|f, v| {
                sink.encode(f, v)
            });
            match encoded {
                Ok((b, trimmed)) => {
                    if !items.is_empty() && bytes + b.len() > limits.max_batch_bytes {
                        upto = i;
                        break;
                    }
                    bytes += b.len();
                    stats.trimmed += u64::from(trimmed);
                    items.push((i, b));
                }
                Err(why) => refused.push((i, why)),
            }
        }
        match send_all(sink, &items, policy, stats).await {
            Ok(mut rejected) => {
                stats.delivered += (items.len() - rejected.len()) as u64;
                refused.append(&mut rejected);
                refused.sort();
                for (i, why) in refused {
                    tracing::warn!(uid = %entries[i].finding.uid, why = %why, "event refused");
                    spool.reject(&entries[i], &why)?;
                    stats.rejected.push((entries[i].finding.uid.clone(), why));
                }
                spool.commit(after(&entries[upto - 1]))?;
            }
            Err(why) => {
                stats.error = Some(why);
                return Ok(());
            }
        }
    }
}

fn after(e: &Entry) -> Position {
    Position {
        segment: e.at.segment,
        line: e.at.line + 1,
    }
}

/// Sends `items` (entry index, bytes), splitting on rejection. `Ok` lists the refused entries with
/// why; `Err` says why delivery stopped (nothing after the first unconfirmed piece counts).
async fn send_all<S: Sink>(
    sink: &mut S,
    items: &[(usize, Vec<u8>)],
    policy: Policy,
    stats: &mut Stats,
) -> Result<Vec<(usize, String)>, String> {
    let mut refused = Vec::new();
    let mut pieces: VecDeque<Vec<&(usize, Vec<u8>)>> = VecDeque::new();
    if !items.is_empty() {
        pieces.push_back(items.iter().collect());
    }
    while let Some(piece) = pieces.pop_front() {
        stats.batches += 1;
        let bodies: Vec<&[u8]> = piece.iter().map(|(_, b)| b.as_slice()).collect();
        let bytes: usize = bodies.iter().map(|b| b.len()).sum();
        tracing::trace!(events = bodies.len(), bytes, "sending a batch");
        let mut attempt = 1;
        loop {
            match sink.send(&bodies).await {
                Answer::Delivered => break,
                Answer::Retry { after, why } => {
                    if attempt >= policy.max_attempts {
                        return Err(format!("{why} (gave up after {attempt} attempt(s))"));
                    }
                    let wait = after.unwrap_or_else(|| policy.backoff(attempt));
                    if wait > policy.max_wait {
                        return Err(format!(
                            "{why}; the receiver asked to wait {}s, more than max_retry_wait_secs ({}s)",
                            wait.as_secs(),
                            policy.max_wait.as_secs()
                        ));
                    }
                    tracing::info!(attempt, wait_ms = wait.as_millis() as u64, why = %why, "retrying batch");
                    stats.retries += 1;
                    attempt += 1;
                    tokio::time::sleep(wait).await;
                }
                Answer::Rejected {
                    which: Some(which),
                    why,
                } if !which.is_empty() => {
                    let rest: Vec<_> = piece
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| !which.contains(k))
                        .map(|(_, it)| *it)
                        .collect();
                    for &k in which.iter().filter(|&&k| k < piece.len()) {
                        refused.push((piece[k].0, why.clone()));
                    }
                    if !rest.is_empty() && rest.len() < piece.len() {
                        pieces.push_front(rest);
                    } else if rest.len() == piece.len() {
                        // The receiver named events the batch does not have: find them by halves.
                        split_or_refuse(piece, &why, &mut pieces, &mut refused);
                    }
                    break;
                }
                Answer::Rejected { why, .. } => {
                    split_or_refuse(piece, &why, &mut pieces, &mut refused);
                    break;
                }
                Answer::Fatal(why) => return Err(why),
            }
        }
    }
    Ok(refused)
}

fn split_or_refuse<'a>(
    piece: Vec<&'a (usize, Vec<u8>)>,
    why: &str,
    pieces: &mut VecDeque<Vec<&'a (usize, Vec<u8>)>>,
    refused: &mut Vec<(usize, String)>,
) {
    if piece.len() == 1 {
        refused.push((piece[0].0, why.to_string()));
        return;
    }
    let mut left = piece;
    let right = left.split_off(left.len() / 2);
    pieces.push_front(right);
    pieces.push_front(left);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::{Finding, Limits};
    use serde_json::{json, Value};

    /// A sink answering from a script, then `Delivered`; it records every batch it was sent.
    struct Scripted {
        answers: VecDeque<Answer>,
        bad: Option<String>,
        sent: Vec<Vec<String>>,
    }

    impl Sink for Scripted {
        fn limits(&self) -> Limits {
            Limits {
                max_event_bytes: 10_000,
                max_batch_bytes: 100_000,
                batch_events: 8,
            }
        }
        fn encode(&self, _f: &Finding, event: &Value) -> Vec<u8> {
            event["finding_info"]["uid"]
                .as_str()
                .unwrap()
                .as_bytes()
                .to_vec()
        }
        async fn send(&mut self, batch: &[&[u8]]) -> Answer {
            let uids: Vec<String> = batch
                .iter()
                .map(|b| String::from_utf8(b.to_vec()).unwrap())
                .collect();
            let has_bad = self.bad.as_ref().is_some_and(|b| uids.contains(b));
            self.sent.push(uids);
            if let Some(a) = self.answers.pop_front() {
                return a;
            }
            if has_bad {
                return Answer::Rejected {
                    which: None,
                    why: "bad event".into(),
                };
            }
            Answer::Delivered
        }
    }

    /// Drains a spool of `n` events (`u00`, `u01`, …) into a sink that first gives `answers`, then
    /// delivers (refusing batches holding `bad`).
    async fn drained(
        n: usize,
        answers: Vec<Answer>,
        bad: Option<&str>,
    ) -> (Spool, Scripted, Stats, tempfile::TempDir) {
        let tmp = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(tmp.path(), 1 << 20).unwrap();
        let findings: Vec<Finding> = (0..n)
            .map(|i| Finding::from_event(json!({"finding_info": {"uid": format!("u{i:02}")}}), "p"))
            .collect();
        spool.append(&findings).unwrap();
        let mut sink = Scripted {
            answers: answers.into(),
            bad: bad.map(str::to_string),
            sent: vec![],
        };
        let mut stats = Stats::default();
        drain(&mut sink, &mut spool, policy(), &mut stats)
            .await
            .unwrap();
        (spool, sink, stats, tmp)
    }

    fn policy() -> Policy {
        Policy {
            max_attempts: 3,
            first_wait: Duration::from_millis(500),
            max_wait: Duration::from_secs(60),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_order_kept() {
        let retry = || Answer::Retry {
            after: Some(Duration::from_secs(7)),
            why: "busy".into(),
        };
        let start = tokio::time::Instant::now();
        let (spool, sink, stats, _tmp) = drained(10, vec![retry(), retry()], None).await;
        assert!(
            start.elapsed() >= Duration::from_secs(14),
            "waited as the receiver asked"
        );
        assert_eq!((stats.retries, stats.delivered, stats.batches), (2, 10, 2));
        let sent: Vec<String> = sink.sent.into_iter().skip(2).flatten().collect();
        assert_eq!(
            sent,
            (0..10).map(|i| format!("u{i:02}")).collect::<Vec<_>>()
        );
        assert_eq!(spool.status().unwrap().pending_events, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_batch_is_halved_until_the_bad_event_is_alone() {
        let (spool, sink, stats, _tmp) = drained(8, vec![], Some("u05")).await;
        assert_eq!(stats.delivered, 7);
        assert_eq!(
            stats.rejected,
            vec![("u05".to_string(), "bad event".to_string())]
        );
        let with_bad = sink
            .sent
            .iter()
            .filter(|b| b.iter().any(|u| u == "u05"))
            .count();
        assert_eq!(with_bad, 4, "8 → 4 → 2 → 1");
        let status = spool.status().unwrap();
        assert_eq!((status.rejected, status.pending_events), (1, 0));
    }

    #[tokio::test(start_paused = true)]
    async fn a_named_event_is_refused_and_the_rest_sent_again() {
        let named = Answer::Rejected {
            which: Some(vec![2]),
            why: "code 6".into(),
        };
        let (_spool, sink, stats, _tmp) = drained(5, vec![named], None).await;
        assert_eq!(sink.sent[1], ["u00", "u01", "u03", "u04"]);
        assert_eq!((stats.delivered, stats.rejected.len()), (4, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn giving_up_or_a_fatal_answer_leaves_everything_spooled() {
        let down = Answer::Retry {
            after: None,
            why: "down".into(),
        };
        let later = Answer::Retry {
            after: Some(Duration::from_secs(3600)),
            why: "later".into(),
        };
        for first in [
            vec![down; 3],
            vec![later],
            vec![Answer::Fatal("bad token".into())],
        ] {
            let (spool, _sink, stats, _tmp) = drained(20, first, None).await;
            assert!(stats.error.is_some());
            assert_eq!(stats.delivered, 0);
            assert_eq!(
                spool.status().unwrap().pending_events,
                20,
                "{:?}",
                stats.error
            );
        }
    }
}
