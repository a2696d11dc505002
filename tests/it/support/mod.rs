//! Helpers shared by the integration tests, in one place: test modules import from here and
//! never from each other.
//!
//! - `process`: the binary as a child process (one run, or a server/agent killed on drop);
//! - `router`: the web app in process, driven through its router by a small cookie browser;
//! - `html`: reading values and messages out of rendered pages;
//! - `tools`: the independent tools our output is checked against (oathtool, zbarimg);
//! - `agent`: an NFC agent with a simulated token, in process or as the real binary;
//! - `browser`: a real headless Chromium over WebDriver and the checks every journey makes.
//! - `gpg`: a throwaway GnuPG home with a key pair.

#![allow(dead_code)]

pub mod agent;
pub mod browser;
pub mod gpg;
pub mod html;
pub mod process;
pub mod router;
pub mod tools;

pub use process::{bin, run, stderr, stdout};

use totp_toolset::tokens::formats::{FileError, Import, ReadOptions};

/// A 20-byte seed of all `n`, as (hex, base32): distinct seeds for fixtures by number.
pub fn seed_of(n: u8) -> (String, String) {
    let bytes = [n; 20];
    let hex = data_encoding::HEXLOWER.encode(&bytes);
    (hex, data_encoding::BASE32_NOPAD.encode(&bytes))
}

/// A few random bytes from the OS, for property tests.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    getrandom::fill(&mut v).expect("getrandom");
    v
}

pub fn random_u64() -> u64 {
    u64::from_le_bytes(random_bytes(8).try_into().unwrap())
}

/// A reader of one file format (`vendor_csv::read`, `pskc::read`, ...).
pub type ReadFile = fn(&[u8], &ReadOptions) -> Result<Import, FileError>;

/// `read` refuses each whole file with a message that contains its needle.
pub fn assert_files_refused(read: ReadFile, cases: &[(&[u8], &str)]) {
    for (bytes, needle) in cases {
        let err = read(bytes, &ReadOptions::default()).unwrap_err();
        assert!(err.0.contains(needle), "{needle}: {err}");
    }
}
