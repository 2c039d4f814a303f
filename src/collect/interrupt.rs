//! Ctrl-C during a scan: the scan stops asking and writes the pack of what it collected.

/// Runs `f` unless Ctrl-C comes first (None).
pub async fn or_interrupt<F: std::future::Future>(f: F) -> Option<F::Output> {
    tokio::select! {
        v = f => Some(v),
        _ = tokio::signal::ctrl_c() => {
            tracing::warn!("interrupted: writing what was collected");
            None
        }
    }
}
