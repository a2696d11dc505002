//! Decrypting an OpenPGP message with the system's `gpg`, over pipes: the admin's keyrings,
//! gpg-agent and OpenPGP smartcards work as they already use them.
//!
//! Never a temporary file: the ciphertext goes to gpg's standard input, the plaintext comes
//! back on its standard output into a wiped-on-drop buffer, and gpg's machine-readable status
//! lines (`--status-fd`) say what happened. A passphrase goes through `--passphrase-fd` on the
//! same input pipe, never as an argument or an environment variable (both show in `ps` and
//! `/proc`). Output is kept only when gpg reports a complete, integrity-checked decryption:
//! gpg writes plaintext as it goes, even for a message that later fails.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::CliError;
use crate::tokens::containers::{
    MAX_PLAINTEXT_BYTES, Passphrase, SignatureStatus, read_to_zeroizing,
};

/// How to run gpg: which program, and which home directory (the default keyring if none).
#[derive(Clone, Debug)]
pub struct Gpg {
    program: OsString,
    homedir: Option<PathBuf>,
}

impl Default for Gpg {
    fn default() -> Self {
        Gpg {
            program: OsString::from("gpg"),
            homedir: None,
        }
    }
}

/// A message gpg decrypted: the plaintext (wiped on drop) and what gpg said about it.
pub struct GpgDecrypted {
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The file name stored in the message, if any (at most 64 characters).
    pub file_name: Option<String>,
    pub signature: SignatureStatus,
}

impl std::fmt::Debug for GpgDecrypted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpgDecrypted")
            .field(
                "plaintext",
                &format_args!("[redacted; {} bytes]", self.plaintext.len()),
            )
            .field("file_name", &self.file_name)
            .field("signature", &self.signature)
            .finish()
    }
}

/// Why gpg did not give a plaintext. The messages are ours, built from gpg's status codes;
/// gpg's own text is never repeated.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GpgError {
    #[error("gpg could not be run ({0}); install GnuPG, or open the file with --pgp-key")]
    NotRunnable(String),
    #[error("wrong passphrase: gpg could not open the message or unlock its key")]
    WrongPassphrase,
    #[error("no secret key for this message in the gpg keyring (it is for key ID {0})")]
    NoSecretKey(String),
    #[error(
        "gpg could not get the passphrase or PIN (pinentry cancelled or not available here); give the passphrase in a file"
    )]
    NoPassphrase,
    #[error("the passphrase contains a line break, which gpg cannot read from a pipe")]
    PassphraseHasLineBreak,
    #[error("the OpenPGP message is damaged or truncated ({0}); nothing from it was used")]
    BadData(&'static str),
    #[error(
        "the OpenPGP message has a BAD signature by key ID {0}: it was altered or forged; nothing from it was used"
    )]
    BadSignature(String),
    #[error("the decrypted content is larger than {0} bytes, the most we unpack")]
    TooLarge(usize),
    #[error("gpg failed to decrypt the message (exit status {0})")]
    Failed(String),
}

impl From<GpgError> for CliError {
    fn from(e: GpgError) -> Self {
        match e {
            // gpg missing or failing for its own reasons: an outside failure.
            GpgError::NotRunnable(_) | GpgError::Failed(_) => CliError::failure(e.to_string()),
            // The input or the secret given is wrong.
            _ => CliError::bad_input(e.to_string()),
        }
    }
}

impl Gpg {
    /// Runs `program` instead of `gpg` (e.g. `gpg2`, or a full path).
    pub fn with_program(mut self, program: impl Into<OsString>) -> Self {
        self.program = program.into();
        self
    }

    /// Uses this GnuPG home directory instead of the default (`--homedir`).
    pub fn with_homedir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.homedir = Some(dir.into());
        self
    }

    /// Decrypts `message` (armored or binary). With `passphrase`, gpg takes it through its
    /// loopback pinentry (for a symmetric message, or to unlock the secret key); without it,
    /// gpg-agent asks the admin as usual (pinentry, smartcard PIN).
    pub fn decrypt(
        &self,
        message: &[u8],
        passphrase: Option<&Passphrase>,
    ) -> Result<GpgDecrypted, GpgError> {
        let mut input = Zeroizing::new(Vec::new());
        let mut cmd = Command::new(&self.program);
        if let Some(dir) = &self.homedir {
            cmd.arg("--homedir").arg(dir);
        }
        // Nothing may leave the machine: no key lookups on the network for a signer.
        cmd.args([
            "--batch",
            "--no-tty",
            "--no-auto-key-retrieve",
            "--status-fd",
            "2",
        ]);
        if let Some(p) = passphrase {
            if p.expose().contains(['\n', '\r']) {
                return Err(GpgError::PassphraseHasLineBreak);
            }
            // gpg reads the passphrase line from fd 0 byte by byte at start-up, then the
            // message from the rest of the same pipe.
            cmd.args(["--pinentry-mode", "loopback", "--passphrase-fd", "0"]);
            input.extend_from_slice(p.expose().as_bytes());
            input.push(b'\n');
        }
        cmd.args(["--output", "-", "--decrypt"]);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());

        let mut child = cmd
            .spawn()
            .map_err(|e| GpgError::NotRunnable(e.kind().to_string()))?;
        let (Some(mut stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            let _ = child.wait();
            return Err(GpgError::NotRunnable("no pipes".into()));
        };

        let (plaintext, status_text) = std::thread::scope(|scope| {
            let input = &input;
            scope.spawn(move || {
                // gpg may stop reading early (bad data); a broken pipe is its answer, not ours.
                let _ = stdin
                    .write_all(input)
                    .and_then(|()| stdin.write_all(message));
                drop(stdin);
            });
            let status = scope.spawn(move || {
                let mut text = Vec::new();
                let _ = stderr.take(1024 * 1024).read_to_end(&mut text);
                text
            });
            let plaintext = read_to_zeroizing(stdout, MAX_PLAINTEXT_BYTES);
            (plaintext, status.join().unwrap_or_default())
        });
        let plaintext = match plaintext {
            Ok(Ok(p)) => Some(p),
            Ok(Err(too)) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(GpgError::TooLarge(too.limit));
            }
            Err(_) => None,
        };
        let exit = child
            .wait()
            .map_err(|e| GpgError::NotRunnable(e.kind().to_string()))?;

        let status = Status::parse(&String::from_utf8_lossy(&status_text));
        status.verdict(passphrase.is_some(), exit.success(), exit.code())?;
        let Some(plaintext) = plaintext else {
            return Err(GpgError::Failed("output unreadable".into()));
        };
        Ok(GpgDecrypted {
            plaintext,
            file_name: status.file_name,
            signature: status.signature,
        })
    }
}

/// What gpg's `[GNUPG:]` status lines said (doc/DETAILS in GnuPG's sources).
#[derive(Debug, Default)]
struct Status {
    began_decryption: bool,
    decryption_okay: bool,
    decryption_failed: bool,
    bad_mdc: bool,
    bad_passphrase: bool,
    no_data: bool,
    /// gpg-agent tried to ask the admin (pinentry) and got nothing.
    asking_failed: bool,
    saw_plaintext: bool,
    /// How many status lines gpg wrote.
    lines: usize,
    no_seckey: Vec<String>,
    bad_sig: Option<String>,
    file_name: Option<String>,
    signature: SignatureStatus,
}

/// gpg's GPG_ERR_BAD_PASSPHRASE, in the low 16 bits of an error code.
const GPG_ERR_BAD_PASSPHRASE: u64 = 11;

impl Status {
    fn parse(text: &str) -> Status {
        let mut s = Status::default();
        let mut good_key: Option<String> = None;
        let mut valid_fpr: Option<String> = None;
        let mut unverified: Vec<String> = Vec::new();
        for line in text.lines() {
            let Some(rest) = line.strip_prefix("[GNUPG:] ") else {
                continue;
            };
            s.lines += 1;
            let mut words = rest.split(' ');
            let keyword = words.next().unwrap_or_default();
            let arg = words.next().unwrap_or_default();
            match keyword {
                "BEGIN_DECRYPTION" => s.began_decryption = true,
                "DECRYPTION_OKAY" => s.decryption_okay = true,
                "DECRYPTION_FAILED" => s.decryption_failed = true,
                "BADMDC" => s.bad_mdc = true,
                "BAD_PASSPHRASE" => s.bad_passphrase = true,
                "NODATA" => s.no_data = true,
                "NO_SECKEY" => s.no_seckey.push(clip_word(arg)),
                "PINENTRY_LAUNCHED" | "CANCELED_BY_USER" | "MISSING_PASSPHRASE" => {
                    s.asking_failed = true;
                }
                "ERROR" => {
                    let code = words.next().unwrap_or_default();
                    let numeric = code.split('_').next().unwrap_or_default();
                    if code.ends_with("BAD_PASSPHRASE")
                        || numeric
                            .parse::<u64>()
                            .is_ok_and(|c| c & 0xFFFF == GPG_ERR_BAD_PASSPHRASE)
                    {
                        s.bad_passphrase = true;
                    } else if arg == "get_passphrase" || arg == "pkdecrypt_failed" {
                        s.asking_failed = true;
                    }
                }
                "PLAINTEXT" => {
                    s.saw_plaintext = true;
                    let name = words.nth(1).unwrap_or_default();
                    let name = percent_decode(name);
                    if !name.is_empty() {
                        s.file_name = Some(name.chars().take(64).collect());
                    }
                }
                "GOODSIG" => good_key = Some(clip_word(arg)),
                "VALIDSIG" => {
                    // The primary key's fingerprint (the last field) names the key an admin
                    // knows, also when a signing subkey made the signature.
                    let primary = words.nth(8).map(clip_word).filter(|f| f.len() == 40);
                    valid_fpr = Some(primary.unwrap_or_else(|| clip_word(arg)));
                }
                "BADSIG" => s.bad_sig = Some(clip_word(arg)),
                "ERRSIG" | "EXPSIG" | "EXPKEYSIG" | "REVKEYSIG" => {
                    let id = clip_word(arg);
                    if !unverified.contains(&id) {
                        unverified.push(id);
                    }
                }
                _ => {}
            }
        }
        s.signature = match (good_key, valid_fpr) {
            (Some(_), Some(fpr)) if unverified.is_empty() => SignatureStatus::Verified {
                fingerprint: crate::otp::group_by_four(&fpr),
            },
            (Some(id), None) => SignatureStatus::NotVerified { signers: vec![id] },
            _ if !unverified.is_empty() => SignatureStatus::NotVerified {
                signers: unverified,
            },
            _ => SignatureStatus::Unsigned,
        };
        s
    }

    /// Ok only for a whole message: decrypted with its integrity checked (or, for a message
    /// that was only signed, read to its end), with no bad signature.
    ///
    /// `asked` says whether we gave gpg the passphrase: without it, gpg-agent asks the admin,
    /// and a failure to ask is its own message.
    fn verdict(&self, asked: bool, exited_ok: bool, code: Option<i32>) -> Result<(), GpgError> {
        if let Some(id) = &self.bad_sig {
            return Err(GpgError::BadSignature(id.clone()));
        }
        if self.bad_passphrase {
            return Err(GpgError::WrongPassphrase);
        }
        if !asked && self.asking_failed && !self.decryption_okay {
            return Err(GpgError::NoPassphrase);
        }
        if self.decryption_failed && !self.no_seckey.is_empty() && !self.decryption_okay {
            return Err(GpgError::NoSecretKey(self.no_seckey.join(", ")));
        }
        if self.bad_mdc {
            return Err(GpgError::BadData("its integrity check failed"));
        }
        if self.decryption_failed {
            return Err(GpgError::BadData("gpg could not decrypt it to the end"));
        }
        // gpg exits 0 without a word for armor whose body decodes to no packet at all, and 2
        // without a status line for armor it cannot decode (a bad CRC).
        let nothing_in_it = !self.began_decryption
            && !self.saw_plaintext
            && (exited_ok || self.lines == 0 && code.is_some());
        if (self.no_data || nothing_in_it) && !self.saw_plaintext {
            return Err(GpgError::BadData("gpg found no OpenPGP data in it"));
        }
        let complete = if self.began_decryption {
            self.decryption_okay
        } else {
            self.saw_plaintext
        };
        // gpg exits 2 for a whole, integrity-checked message whose signature it could not
        // check (no public key): that is reported as NOT verified, not as a failure.
        let unverifiable = matches!(self.signature, SignatureStatus::NotVerified { .. });
        // Not encrypted, and gpg gave up (exit 2) for no other reason found above: armor or
        // packets it could not read, such as a bogus literal packet.
        if !self.began_decryption && !exited_ok && code == Some(2) && !unverifiable {
            return Err(GpgError::BadData(
                "gpg could not read it as an OpenPGP message",
            ));
        }
        if !(exited_ok || unverifiable && self.decryption_okay) || !complete {
            return Err(GpgError::Failed(
                code.map_or_else(|| "killed".to_string(), |c| c.to_string()),
            ));
        }
        Ok(())
    }
}

/// A key ID or fingerprint word from a status line, kept short and hex-only.
fn clip_word(word: &str) -> String {
    word.chars()
        .filter(char::is_ascii_hexdigit)
        .take(40)
        .collect()
}

/// Status lines escape bytes as `%XX`.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_or_missing_passphrase_is_named() {
        // (what, gpg's status lines, whether we gave a passphrase, the verdict); gpg exits 2.
        let cases = [
            (
                "symmetric, wrong passphrase",
                "[GNUPG:] BEGIN_DECRYPTION\n[GNUPG:] ERROR symkey_decrypt.maybe_error 11_BAD_PASSPHRASE\n[GNUPG:] DECRYPTION_FAILED\n",
                true,
                GpgError::WrongPassphrase,
            ),
            (
                "to a key, wrong passphrase",
                "[GNUPG:] ENC_TO C96F873DA1A7BF73 1 0\n[GNUPG:] ERROR pkdecrypt_failed 67108875\n[GNUPG:] BEGIN_DECRYPTION\n[GNUPG:] DECRYPTION_FAILED\n",
                true,
                GpgError::WrongPassphrase,
            ),
            (
                "symmetric, none given and no pinentry",
                "[GNUPG:] NEED_PASSPHRASE_SYM 9 3 2\n[GNUPG:] PINENTRY_LAUNCHED 1 curses\n[GNUPG:] ERROR get_passphrase 32870\n[GNUPG:] CANCELED_BY_USER\n[GNUPG:] BEGIN_DECRYPTION\n[GNUPG:] DECRYPTION_FAILED\n",
                false,
                GpgError::NoPassphrase,
            ),
            (
                "to a key, none given and no pinentry",
                "[GNUPG:] ENC_TO BB2D6AA14452275D 18 0\n[GNUPG:] ERROR pkdecrypt_failed 83918950\n[GNUPG:] BEGIN_DECRYPTION\n[GNUPG:] DECRYPTION_FAILED\n",
                false,
                GpgError::NoPassphrase,
            ),
        ];
        for (what, status, asked, want) in cases {
            assert_eq!(
                Status::parse(status).verdict(asked, false, Some(2)),
                Err(want),
                "{what}"
            );
        }
    }

    #[test]
    fn good_signature_and_file_name() {
        let s = Status::parse(
            "[GNUPG:] BEGIN_DECRYPTION\n[GNUPG:] PLAINTEXT 62 1796143458 seeds%20a.csv\n[GNUPG:] GOODSIG 3690DA2198A99009 Test <t@example.org>\n[GNUPG:] VALIDSIG DC194840BD8FFF638A73A6B23690DA2198A99009 2026-12-01 1 0 4 0 1 10 00 DC19\n[GNUPG:] DECRYPTION_OKAY\n[GNUPG:] GOODMDC\n",
        );
        assert_eq!(s.verdict(true, true, Some(0)), Ok(()));
        assert_eq!(s.file_name.as_deref(), Some("seeds a.csv"));
        assert_eq!(
            s.signature,
            SignatureStatus::Verified {
                fingerprint: "DC19 4840 BD8F FF63 8A73 A6B2 3690 DA21 98A9 9009".into()
            }
        );
    }

    #[test]
    fn exit_zero_without_decryption_okay_is_refused() {
        // (what, gpg's status lines, its exit): each is bad data.
        let cases = [
            ("no data, exit 0", "[GNUPG:] NODATA 3\n", true, Some(0)),
            ("no status at all, exit 0", "", true, Some(0)),
            (
                "a bogus literal packet gpg could not read to its end",
                "[GNUPG:] NODATA 1\n[GNUPG:] PLAINTEXT 33 4294967295 x\n",
                false,
                Some(2),
            ),
            ("a bad armor CRC: exit 2, no status", "", false, Some(2)),
        ];
        for (what, status, exited_ok, code) in cases {
            let verdict = Status::parse(status).verdict(true, exited_ok, code);
            assert!(
                matches!(verdict, Err(GpgError::BadData(_))),
                "{what}: {verdict:?}"
            );
        }
        let s = Status::parse("[GNUPG:] BEGIN_DECRYPTION\n");
        assert!(matches!(
            s.verdict(true, true, Some(0)),
            Err(GpgError::Failed(_))
        ));
    }

    #[test]
    fn decrypted_with_an_unknown_signer_is_kept_and_not_verified() {
        // What gpg 2.2 prints for a message signed by a key the keyring lacks; it exits 2.
        let s = Status::parse(
            "[GNUPG:] ENC_TO 29A08D2ECCFA90BE 18 0\n[GNUPG:] BEGIN_DECRYPTION\n[GNUPG:] DECRYPTION_INFO 2 9 0\n[GNUPG:] PLAINTEXT 62 1796146696 \n[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG C0168B523378A123 22 10 00 1796146696 9 DC835B2D5FF3202BB1D1D690C0168B523378A123\n[GNUPG:] NO_PUBKEY C0168B523378A123\n[GNUPG:] DECRYPTION_OKAY\n[GNUPG:] GOODMDC\n[GNUPG:] END_DECRYPTION\n",
        );
        assert_eq!(s.verdict(true, false, Some(2)), Ok(()));
        assert_eq!(
            s.signature,
            SignatureStatus::NotVerified {
                signers: vec!["C0168B523378A123".into()]
            }
        );
        // Without the decryption's own "okay", exit 2 stays a failure.
        let s = Status::parse(
            "[GNUPG:] BEGIN_DECRYPTION\n[GNUPG:] PLAINTEXT 62 0 \n[GNUPG:] ERRSIG C0168B523378A123 22 10 00 1796146696 9 -\n",
        );
        assert!(s.verdict(true, false, Some(2)).is_err());
    }

    #[test]
    fn missing_signer_key_is_not_verified() {
        let s = Status::parse(
            "[GNUPG:] PLAINTEXT 62 0 \n[GNUPG:] ERRSIG 3690DA2198A99009 1 10 00 1796143458 9 -\n[GNUPG:] NO_PUBKEY 3690DA2198A99009\n",
        );
        assert_eq!(
            s.signature,
            SignatureStatus::NotVerified {
                signers: vec!["3690DA2198A99009".into()]
            }
        );
    }
}
