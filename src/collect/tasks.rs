//! Bounded spawning for fan-outs.

use std::future::Future;
use tokio::task::JoinSet;

/// Spawns `task` on `tasks`, first waiting for one of them to finish while `window` are pending.
///
/// A fan-out over 20,000 snapshots used to spawn 20,000 calls at once; each pending call holds its
/// whole future (several kilobytes of SDK state), so memory grew with the estate although only
/// `--concurrency` calls can be in flight. A window of a few times the concurrency keeps every
/// permit busy and memory flat.
pub async fn spawn_windowed<F>(tasks: &mut JoinSet<()>, window: usize, task: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    while tasks.len() >= window.max(1) {
        tasks.join_next().await;
    }
    tasks.spawn(task);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[tokio::test]
    async fn never_more_than_the_window_pending_and_every_task_runs() {
        let (running, peak, done) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicUsize::new(0)),
        );
        let mut tasks = JoinSet::new();
        for _ in 0..200 {
            let (running, peak, done) = (running.clone(), peak.clone(), done.clone());
            spawn_windowed(&mut tasks, 8, async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                running.fetch_sub(1, Ordering::SeqCst);
                done.fetch_add(1, Ordering::SeqCst);
            })
            .await;
            assert!(tasks.len() <= 8);
        }
        while tasks.join_next().await.is_some() {}
        assert_eq!(done.load(Ordering::SeqCst), 200);
        assert!(peak.load(Ordering::SeqCst) <= 8);
    }
}
