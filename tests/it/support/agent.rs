//! An NFC agent with a simulated Token2 token, two ways: in process on a port-0 listener
//! (fast, for router and client tests) and as the real `totp-toolset agent --simulate`
//! binary (for journeys that must exercise the shipped program).

use std::path::PathBuf;
use std::sync::Arc;

use zeroize::Zeroizing;

use totp_toolset::agent::client::AgentClient;
use totp_toolset::agent::{self, AgentState, Device, SimulatedFault};
use totp_toolset::clock::system_clock;

use super::process::Spawned;

/// The bearer token the in-process agent and its clients share.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// Starts an agent with a simulated token on 127.0.0.1:0; returns its base URL.
pub async fn start(serial: &str, restricted: bool, fault: SimulatedFault) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let clock = system_clock();
    let state = Arc::new(AgentState::new(
        Device::simulated(serial, restricted, fault, clock.clone()),
        Zeroizing::new(TOKEN.to_string()),
        agent::hosts_for(addr, &[]),
        clock,
    ));
    tokio::spawn(agent::serve(listener, state, std::future::pending()));
    format!("http://{addr}")
}

/// Starts an agent whose simulated reader plays a stack of tokens (the text of a stack
/// file, as `virtual-token --stack` reads it) on 127.0.0.1:0; returns its base URL.
pub async fn start_stack(stack: &str) -> String {
    let taps = totp_toolset::nfc::token_stack::parse_stack(stack).expect("a valid stack");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let clock = system_clock();
    let state = Arc::new(AgentState::new(
        Device::simulated_stack(taps, clock.clone()),
        Zeroizing::new(TOKEN.to_string()),
        agent::hosts_for(addr, &[]),
        clock,
    ));
    tokio::spawn(agent::serve(listener, state, std::future::pending()));
    format!("http://{addr}")
}

/// A client for an agent started with [`start`].
pub fn client(url: &str) -> AgentClient {
    AgentClient::new(url, Zeroizing::new(TOKEN.to_string())).unwrap()
}

/// A running `totp-toolset agent --simulate` child and the token file the toolset server
/// shares with it.
pub struct SimulatedAgent {
    child: Spawned,
    pub url: String,
    pub serial: String,
    token_dir: tempfile::TempDir,
}

impl SimulatedAgent {
    pub fn start(serial: &str) -> SimulatedAgent {
        Self::start_with(serial, &[])
    }

    /// `totp-toolset agent --simulate --simulate-stack FILE`: a stack of tokens (the text of
    /// a stack file), tapped in its order.
    pub fn start_stack(stack: &str) -> SimulatedAgent {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stack.txt");
        std::fs::write(&path, stack).unwrap();
        let path = path.display().to_string();
        // The agent has read the file by the time it listens; `dir` may go then.
        Self::start_with("", &["--simulate-stack", &path])
    }

    fn start_with(serial: &str, extra: &[&str]) -> SimulatedAgent {
        let token_dir = tempfile::tempdir().unwrap();
        let token_file = token_dir.path().join("token");
        std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
        let token_file = token_file.display().to_string();
        let mut args = vec!["agent", "--simulate", "--bind", "127.0.0.1:0"];
        if !serial.is_empty() {
            args.extend(["--simulate-serial", serial]);
        }
        args.extend_from_slice(extra);
        let child = Spawned::start(
            &args,
            // The variable rather than the flag, so both ways of giving it stay tested
            // (.ci/pcsc-e2e.sh uses the flag).
            &[
                ("RUST_LOG", "debug"),
                ("TOTP_TOOLSET_AGENT_TOKEN_FILE", &token_file),
            ],
        );
        let url = child.url();
        SimulatedAgent {
            child,
            url,
            serial: serial.to_string(),
            token_dir,
        }
    }

    /// Everything the agent printed (its log is at debug level) so far.
    pub fn log(&self) -> String {
        self.child.output()
    }

    pub fn token_file(&self) -> PathBuf {
        self.token_dir.path().join("token")
    }

    /// The arguments that point `serve` at this agent.
    pub fn serve_args(&self) -> Vec<String> {
        vec![
            "--agent-url".into(),
            self.url.clone(),
            "--agent-token-file".into(),
            self.token_file().display().to_string(),
        ]
    }

    pub fn client(&self) -> AgentClient {
        client(&self.url)
    }
}
