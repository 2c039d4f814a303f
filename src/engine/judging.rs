//! Judging documents: every running rule of a probe over each resource of each document.
//!
//! Rules naming the same resources (`$.securityGroupInfo[*]`) judge each resource in turn, so it is
//! read from memory once. For XML documents, the resources of one such group are judged as the
//! converter finishes each of them, while they are still in the CPU's caches: a page of 500 security
//! groups converts to several megabytes, and judged after the whole page was converted, every group
//! would be read back from main memory (the engine bench shows about twice the throughput). JSON
//! documents are judged the same way as they are parsed. What was judged that way is kept only if
//! the finished document holds exactly those items, at those places, in the list the rules name;
//! otherwise the document is judged again the ordinary way.
//!
//! A huge list (a `DescribeSnapshots` page of a million snapshots) is not held whole: past
//! [`MAX_JUDGED_WHILE_CONVERTING`] items, when every rule reading the probe names that list, its
//! further items are left out of the document as they convert, and once the document has shown that
//! its list is plain, it is converted a second time, each item judged and dropped as it converts.
//! A body that fails to convert fails in the first conversion, before any result is kept.

use super::index::EvidenceIndex;
use super::rule::{document, Judged, RuleRun};
use super::Scope;
use crate::convert::ConvertError;
use crate::rules::path::Query;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Running rules grouped by the query naming their resources, and the group judged as its
/// documents are converted (when one names a plain list, `$.a.b[*]`).
pub struct Groups<'q> {
    groups: Vec<Vec<usize>>,
    streamed: Option<(usize, Vec<&'q str>)>,
}

impl<'q> Groups<'q> {
    pub fn new<'i>(runs: &[RuleRun<'q, 'i>]) -> Self
    where
        'q: 'i,
    {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (n, run) in runs.iter().enumerate() {
            let src = run.resources().source();
            match groups
                .iter_mut()
                .find(|g| runs[g[0]].resources().source() == src)
            {
                Some(g) => g.push(n),
                None => groups.push(vec![n]),
            }
        }
        // The largest group naming a plain list is judged as documents convert.
        let streamed = groups
            .iter()
            .enumerate()
            .filter_map(|(g, members)| {
                let names = runs[members[0]].resources().list_names()?;
                (!names.is_empty()).then_some((g, names, members.len()))
            })
            .max_by_key(|(g, _, len)| (*len, std::cmp::Reverse(*g)))
            .map(|(g, names, _)| (g, names));
        Groups { groups, streamed }
    }
}

/// Items of one list judged while their document converts, at most: their results wait for the
/// finished document's check, so a list of a million items (a hostile or unpaged body) would hold a
/// million results. Past this, the list's further items are left out of the document when no other
/// query reads it, and judged in a second conversion once the first showed the list is plain;
/// otherwise the document is judged the ordinary way once converted.
const MAX_JUDGED_WHILE_CONVERTING: usize = 4096;

/// What the first conversion showed of one item of the streamed list.
enum Seen {
    /// Judged and kept in the document, told apart by its [`identity`].
    Kept(usize),
    /// Left out of the document (`null` there), to be judged by a second conversion.
    Dropped,
    /// Not at the place its position says (a second list of that name): the list is not plain.
    Misplaced,
}

/// Judges record `i`'s document with every run.
pub fn judge_document<'r: 'i, 'i>(
    runs: &mut [RuleRun<'r, 'i>],
    groups: &Groups<'_>,
    idx: &EvidenceIndex<'_>,
    i: usize,
    doc: &Value,
    scope: &Scope,
    skip: Option<usize>,
) -> std::io::Result<()> {
    let base = document(idx, i);
    for (g, group) in groups.groups.iter().enumerate() {
        if Some(g) == skip {
            continue;
        }
        let query = runs[group[0]].resources();
        let mut done = Ok(());
        query.for_each_rel(doc, |v, rel| {
            for &n in group {
                if done.is_ok() {
                    let judged = runs[n].judge_resource(idx, i, &base, v, rel.clone(), scope);
                    done = runs[n].add(judged);
                }
            }
        });
        done?;
    }
    Ok(())
}

/// Reads and converts record `i`'s document and judges it with every run, adding the time spent
/// judging to `judging`. `None` when the record holds no document (a failed call); `Some(Err)` when
/// its body cannot be converted.
pub fn convert_and_judge<'r: 'i, 'i>(
    runs: &mut [RuleRun<'r, 'i>],
    groups: &Groups<'_>,
    idx: &EvidenceIndex<'_>,
    i: usize,
    scope: &Scope,
    judging: &mut Duration,
) -> anyhow::Result<Option<Result<(), ConvertError>>> {
    let Some((g, names)) = &groups.streamed else {
        return convert_whole_and_judge(idx, i, judging, |doc| {
            judge_document(runs, groups, idx, i, doc, scope, None)
        });
    };
    let members = &groups.groups[*g];
    let query = runs[members[0]].resources();
    let base = document(idx, i);
    // Items of a long list are left out of the document only when nothing else reads it.
    let may_drop = groups.groups.len() == 1;
    // Per item: what each member judged, and what was seen of it.
    let mut judged: Vec<Vec<Judged>> = members.iter().map(|_| Vec::new()).collect();
    let mut seen: Vec<Seen> = Vec::new();
    let mut overflowed = false;
    let mut on_item = |at: usize, v: &Value| {
        if overflowed || seen.len() == MAX_JUDGED_WHILE_CONVERTING {
            // A huge list: what was judged is dropped; its items are judged again after.
            if !overflowed {
                overflowed = true;
                judged.iter_mut().for_each(|j| *j = Vec::new());
            }
            if may_drop {
                let dropped = placed(at, &seen, Seen::Dropped);
                seen.push(dropped);
            }
            return !may_drop;
        }
        let started = Instant::now();
        let kept = identity(v).map_or(Seen::Misplaced, |id| placed(at, &seen, Seen::Kept(id)));
        seen.push(kept);
        let rel = query.list_item(at);
        for (k, &n) in members.iter().enumerate() {
            judged[k].push(runs[n].judge_resource(idx, i, &base, v, rel.clone(), scope));
        }
        *judging += started.elapsed();
        true
    };
    let converted = idx.convert_watching(i, names, &mut on_item)?;
    let doc = match converted {
        None => return Ok(None),
        Some(Err(e)) => return Ok(Some(Err(e))),
        Some(Ok(doc)) => doc,
    };
    let plain = (may_drop || !overflowed) && is_plain_list(query, &doc, &seen);
    if overflowed && may_drop && plain {
        drop(doc);
        return judge_converting_again(runs, members, names, idx, i, scope, judging)
            .map(|()| Some(Ok(())));
    }
    if overflowed && may_drop {
        // Items were left out of a list that is not plain (an odd document): converted whole again
        // and judged the ordinary way.
        drop(doc);
        return match convert_whole_and_judge(idx, i, judging, |doc| {
            judge_document(runs, groups, idx, i, doc, scope, None)
        })? {
            Some(Ok(())) => Ok(Some(Ok(()))),
            _ => anyhow::bail!("record {i}'s body did not convert the second time"),
        };
    }
    let started = Instant::now();
    if plain {
        for (k, &n) in members.iter().enumerate() {
            for j in std::mem::take(&mut judged[k]) {
                runs[n].add(j)?;
            }
        }
        judge_document(runs, groups, idx, i, &doc, scope, Some(*g))?;
    } else {
        judge_document(runs, groups, idx, i, &doc, scope, None)?;
    }
    *judging += started.elapsed();
    Ok(Some(Ok(())))
}

/// Converts record `i`'s whole document and judges it with `judge` (see [`convert_and_judge`]).
fn convert_whole_and_judge(
    idx: &EvidenceIndex<'_>,
    i: usize,
    judging: &mut Duration,
    judge: impl FnOnce(&Value) -> std::io::Result<()>,
) -> anyhow::Result<Option<Result<(), ConvertError>>> {
    Ok(match idx.convert(i)? {
        None => None,
        Some(Err(e)) => Some(Err(e)),
        Some(Ok(doc)) => {
            let started = Instant::now();
            judge(&doc)?;
            *judging += started.elapsed();
            Some(Ok(()))
        }
    })
}

/// `seen` for an item shown at position `at`, given what was seen before it.
fn placed(at: usize, before: &[Seen], seen: Seen) -> Seen {
    if at == before.len() {
        seen
    } else {
        Seen::Misplaced
    }
}

/// Whether the finished document's list, as the streamed group's query finds it, holds exactly the
/// items shown while it converted, at their places: then what was judged of them stands.
fn is_plain_list(query: &Query, doc: &Value, seen: &[Seen]) -> bool {
    match query.list_at(doc) {
        Some((Value::Array(items), _)) => {
            items.len() == seen.len()
                && items.iter().zip(seen).all(|(item, seen)| match seen {
                    Seen::Kept(id) => identity(item) == Some(*id),
                    Seen::Dropped => item.is_null(),
                    Seen::Misplaced => false,
                })
        }
        // No list: nothing was shown, and nothing is to be judged.
        None => seen.is_empty(),
        Some(_) => false,
    }
}

/// Converts record `i` again, judging every item of the streamed list with every member as it is
/// converted and keeping none: the first conversion showed the list is plain, and conversion
/// depends on nothing but the bytes. Its results go straight to the runs.
fn judge_converting_again<'r: 'i, 'i>(
    runs: &mut [RuleRun<'r, 'i>],
    members: &[usize],
    names: &[&str],
    idx: &EvidenceIndex<'_>,
    i: usize,
    scope: &Scope,
    judging: &mut Duration,
) -> anyhow::Result<()> {
    let query = runs[members[0]].resources();
    let base = document(idx, i);
    let mut done = Ok(());
    let mut on_item = |at: usize, v: &Value| {
        let started = Instant::now();
        let rel = query.list_item(at);
        for &n in members {
            if done.is_ok() {
                let judged = runs[n].judge_resource(idx, i, &base, v, rel.clone(), scope);
                done = runs[n].add(judged);
            }
        }
        *judging += started.elapsed();
        false
    };
    let again = idx.convert_watching(i, names, &mut on_item)?;
    done?;
    match again {
        Some(Ok(_)) => Ok(()),
        _ => anyhow::bail!("record {i}'s body did not convert the second time"),
    }
}

/// What tells a converted item apart for as long as its document lives: the address of its first
/// member name's text, which stays put when the item is moved into its list. Only objects with a
/// member have one.
fn identity(v: &Value) -> Option<usize> {
    v.as_object()?.keys().next().map(|k| k.as_ptr() as usize)
}
