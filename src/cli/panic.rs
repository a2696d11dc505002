//! The process-wide panic hook for every command (the CLI, `serve`, `agent`): one line on
//! stderr naming where the panic happened, never its message.
//!
//! A panic message may quote the value that caused it (Rust's own slicing panics quote the
//! whole string), and that value may be a seed. So the payload is never printed, logged or
//! kept; only the source location, which is enough to find the bug.

/// Installs the hook. Called once, first thing in [`super::main`].
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_else(|| "an unknown place".to_string());
        // stderr is where `serve` and `agent` log too, so this lands beside their log lines.
        eprintln!(
            "internal error: a bug at {place} stopped this {}; its message is withheld because it may quote a secret",
            if std::thread::current().name() == Some("main") {
                "command"
            } else {
                "request"
            }
        );
    }));
}
