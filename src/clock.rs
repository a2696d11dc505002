//! The one place that reads the system clock. Everything else takes time as an argument or
//! holds a [`Clock`], so tests can fix or move time.

use std::sync::Arc;

/// "Now" in Unix seconds, as something the server, the agent and the virtual token hold.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The operating system's clock in Unix seconds (0 if it is set before 1970).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The operating system's clock as a [`Clock`].
pub fn system_clock() -> Clock {
    Arc::new(now)
}
