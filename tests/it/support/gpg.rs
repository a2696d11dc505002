//! A throwaway GnuPG home with a key pair, for the tests that check our OpenPGP against gpg
//! (Debian gnupg). The home is a `tempfile` directory, removed (and its gpg-agent stopped)
//! on drop.

use std::process::{Command, Output};

use tempfile::TempDir;

use super::process::output_with_stdin;

/// The passphrase of every throwaway key.
pub const KEY_PASS: &str = "vendor key passphrase";

/// A throwaway GnuPG home with one key pair (ed25519 signing, cv25519 encryption) protected
/// by [`KEY_PASS`].
pub struct GnuPg {
    pub home: TempDir,
    pub fingerprint: String,
}

impl GnuPg {
    pub fn new(uid: &str) -> Self {
        Self::with_algorithm(uid, "future-default")
    }

    /// A key of `algo` as `gpg --quick-gen-key` names it (`future-default` is ed25519 with a
    /// cv25519 subkey; `rsa2048` an RSA primary key with an RSA encryption subkey).
    pub fn with_algorithm(uid: &str, algo: &str) -> Self {
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir()
            .expect("GnuPG home");
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .expect("chmod GnuPG home");
        // No passphrase cache, so a wrong passphrase after a right one is still wrong; a fixed
        // S2K count, because calibrating it takes seconds on a loaded machine.
        std::fs::write(
            home.path().join("gpg-agent.conf"),
            "default-cache-ttl 0\nmax-cache-ttl 0\nallow-loopback-pinentry\ns2k-count 65536\n",
        )
        .expect("gpg-agent.conf");
        let mut g = GnuPg {
            home,
            fingerprint: String::new(),
        };
        let out = g.run(
            &[
                "--passphrase",
                KEY_PASS,
                "--quick-gen-key",
                uid,
                algo,
                "default",
                "never",
            ],
            b"",
        );
        assert!(
            out.status.success(),
            "key generation: {}",
            text(&out.stderr)
        );
        let listing = g.run(&["--with-colons", "--list-keys", uid], b"");
        g.fingerprint = text(&listing.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| f.len() == 40))
            .expect("fingerprint")
            .to_string();
        if algo != "future-default" {
            // Other algorithms make only the signing primary key: add the encryption subkey.
            let fpr = g.fingerprint.clone();
            let out = g.run(
                &[
                    "--passphrase",
                    KEY_PASS,
                    "--quick-add-key",
                    &fpr,
                    algo,
                    "encr",
                    "never",
                ],
                b"",
            );
            assert!(out.status.success(), "subkey: {}", text(&out.stderr));
        }
        g
    }

    /// Runs gpg in this home, non-interactively, with `stdin` as input.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        output_with_stdin(
            Command::new("gpg")
                .arg("--homedir")
                .arg(self.home.path())
                .args(["--batch", "--yes", "--pinentry-mode", "loopback"])
                .args(args),
            stdin,
        )
    }

    /// gpg's output for `args` on `input`, which must succeed.
    pub fn make_from(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let out = self.run(args, input);
        assert!(out.status.success(), "gpg {args:?}: {}", text(&out.stderr));
        out.stdout
    }

    /// `input` signed by this home's key and encrypted to `recipient` (a fingerprint in this
    /// home, used as it is, without asking whether it is trusted), armored or binary.
    pub fn sign_and_encrypt(&self, recipient: &str, armor: bool, input: &[u8]) -> Vec<u8> {
        let mut args = vec![
            "--passphrase",
            KEY_PASS,
            "--trust-model",
            "always",
            "--sign",
        ];
        if armor {
            args.push("--armor");
        }
        args.extend(["-r", recipient, "--encrypt"]);
        self.make_from(&args, input)
    }

    pub fn public_key(&self) -> Vec<u8> {
        self.make_from(&["--armor", "--export", &self.fingerprint], b"")
    }

    pub fn secret_key(&self) -> Vec<u8> {
        self.make_from(
            &[
                "--passphrase",
                KEY_PASS,
                "--armor",
                "--export-secret-keys",
                &self.fingerprint,
            ],
            b"",
        )
    }

    /// `gpg -d` of `message` with `passphrase`.
    pub fn decrypt(&self, message: &[u8], passphrase: &str) -> Output {
        self.run(&["--passphrase", passphrase, "--decrypt"], message)
    }
}

impl Drop for GnuPg {
    fn drop(&mut self) {
        // The agent would otherwise outlive its (removed) home for a while.
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "all"])
            .output();
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
