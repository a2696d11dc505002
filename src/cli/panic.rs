//! The process-wide panic hook for every command (the CLI, `serve`, `agent`): one line on
//! stderr naming where the panic happened, never its message.
//!
//! A panic message may quote the value that caused it (Rust's own slicing panics quote the
//! whole string), and that value may be a seed. So the payload is never printed, logged or
//! kept; only the source location, which is enough to find the bug.

use std::panic::PanicHookInfo;

/// Installs the hook. Called once, first thing in [`super::main`].
pub fn install() {
    // stderr is where `serve` and `agent` log too, so this lands beside their log lines.
    std::panic::set_hook(Box::new(|info| eprintln!("{}", report(info))));
}

/// The one line printed for a panic: the place and whether a command or a request stopped.
fn report(info: &PanicHookInfo<'_>) -> String {
    let place = info
        .location()
        .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_else(|| "an unknown place".to_string());
    let what = if std::thread::current().name() == Some("main") {
        "command"
    } else {
        "request"
    };
    format!(
        "internal error: a bug at {place} stopped this {what}; its message is withheld because it may quote a secret"
    )
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    #[test]
    fn the_report_names_the_place_and_never_the_payload() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = seen.clone();
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            sink.lock().unwrap().push(super::report(info));
        }));
        let result = std::thread::spawn(|| {
            let pasted = String::from("GEZDGNBVG\u{a0}Y3TQOJQGEZDGNBVGY3TQOJQ");
            // Worded like the slicing panic that once printed a seed.
            panic!("end byte index 10 is not a char boundary of `{pasted}`");
        })
        .join();
        std::panic::set_hook(previous);
        assert!(result.is_err());
        let lines = seen.lock().unwrap().clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].contains("src/cli/panic.rs:"), "{}", lines[0]);
        assert!(lines[0].contains("stopped this request"), "{}", lines[0]);
        assert!(!lines[0].contains("GEZDGNBVG"), "{}", lines[0]);
    }
}
