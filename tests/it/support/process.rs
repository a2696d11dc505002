//! The `totp-toolset` binary as a child process: run it once and collect its output, or keep
//! it running (a server, an agent, a virtual token) with its output read on threads, killed
//! when the test lets go of it — also when the test fails half-way.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Path of the `totp-toolset` binary Cargo built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_totp-toolset")
}

/// Runs the binary with arguments and optional standard input.
pub fn run(args: &[&str], stdin: Option<&str>) -> Output {
    run_bytes(args, stdin.unwrap_or_default().as_bytes())
}

/// Runs the binary with arguments and `stdin` (any bytes) as standard input.
pub fn run_bytes(args: &[&str], stdin: &[u8]) -> Output {
    output_with_stdin(Command::new(bin()).args(args), stdin)
}

/// Runs `cmd` with `stdin` as its standard input and collects its output. The input is
/// written on a thread of its own: a child that writes much before it has read everything
/// would otherwise wait on us while we wait on it.
pub fn output_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {program}: {e}"));
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A child that exits without reading all of it is the test's to judge, not ours.
        let _ = pipe.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait for {program}: {e}"));
    writer.join().expect("stdin writer");
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The run's stderr says `needle`.
pub fn assert_stderr_has(o: &Output, needle: &str) {
    let err = stderr(o);
    assert!(err.contains(needle), "{needle:?} not on stderr: {err}");
}

/// How long a child may take to print its first line on a busy 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A running `totp-toolset` child. Its stdout lines arrive one by one (`next_line`) and are
/// also kept with stderr (`output`), so a test can grep everything it printed.
pub struct Spawned {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl Spawned {
    /// Starts the binary with `args` and extra environment. Every inherited
    /// `TOTP_TOOLSET_*` variable is removed, so the developer's own settings cannot change
    /// what a test sees.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Spawned {
        let mut cmd = Command::new(bin());
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("TOTP_TOOLSET_") {
                cmd.env_remove(name);
            }
        }
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start totp-toolset");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, lines) = mpsc::channel();
        let out_pipe = child.stdout.take().expect("stdout");
        let out_sink = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out_pipe).lines().map_while(Result::ok) {
                out_sink.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = tx.send(line);
            }
        });
        let err_pipe = child.stderr.take().expect("stderr");
        let err_sink = stderr.clone();
        std::thread::spawn(move || {
            // Read raw bytes: a log line is not always valid UTF-8 when a test sends junk.
            let mut reader = BufReader::new(err_pipe);
            let mut buf = Vec::new();
            while reader.read_until(b'\n', &mut buf).unwrap_or(0) > 0 {
                err_sink
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf));
                buf.clear();
            }
        });
        Spawned {
            child,
            lines,
            stdout,
            stderr,
        }
    }

    /// The next line on stdout; fails the test (with stderr) if none comes in time.
    pub fn next_line(&self) -> String {
        self.lines
            .recv_timeout(START_TIMEOUT)
            .unwrap_or_else(|_| panic!("no output from the child; stderr: {}", self.stderr()))
    }

    /// The first `http://` or `https://` URL the child prints, without a trailing slash
    /// (`serve` prints `totp-toolset listening on URL`, the agent `listening on URL`).
    pub fn url(&self) -> String {
        loop {
            let line = self.next_line();
            if let Some(i) = line.find("http://").or_else(|| line.find("https://")) {
                let url: String = line
                    .get(i..)
                    .unwrap_or_default()
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                return url.trim_end_matches('/').to_string();
            }
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// stderr once it holds `text` (or after 10 s, for the test's assertion to explain).
    pub fn stderr_with(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !self.stderr().contains(text) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        self.stderr()
    }

    /// Everything printed so far, stdout then stderr.
    pub fn output(&self) -> String {
        format!(
            "{}\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits (up to 15 s) for the child to exit, then lets the reader
    /// threads drain what it wrote last.
    pub fn terminate(&mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        self.wait_exit(Duration::from_secs(15))
            .unwrap_or_else(|| panic!("the child did not stop after SIGTERM"))
    }

    /// Kills the child at once and waits for it, so its output is complete.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::thread::sleep(Duration::from_millis(100));
    }

    /// The exit status once the child has exited on its own within `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `totp-toolset serve --bind 127.0.0.1:0` (log level debug unless `RUST_LOG`
/// is given) and the URL it printed.
pub struct ServerProcess {
    pub child: Spawned,
    pub url: String,
}

impl ServerProcess {
    pub fn start(extra: &[&str]) -> ServerProcess {
        Self::start_with_env(extra, &[])
    }

    pub fn start_with_env(extra: &[&str], env: &[(&str, &str)]) -> ServerProcess {
        let mut args = vec!["serve", "--bind", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut all_env = vec![("RUST_LOG", "debug")];
        all_env.extend_from_slice(env);
        let child = Spawned::start(&args, &all_env);
        let url = child.url();
        ServerProcess { child, url }
    }

    /// `host:port`, for raw HTTP requests.
    pub fn addr(&self) -> &str {
        self.url
            .trim_start_matches("http://")
            .trim_start_matches("https://")
    }

    /// Everything the server printed so far.
    pub fn output(&self) -> String {
        self.child.output()
    }
}
