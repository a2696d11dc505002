//! `convert`'s encrypted edges: opening a vendor's OpenPGP message or password ZIP in memory
//! (through the system gpg over pipes, or in process), and wrapping what it writes to a
//! public key, a passphrase or an AES-256 ZIP.
//!
//! Never writes a decrypted byte anywhere but a zeroizing buffer: no temporary file, no log,
//! no message. Secrets come from files only. A wrong passphrase or key, and a damaged file,
//! are both bad input (exit 2) with their own messages; neither lets any output be written.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use zeroize::Zeroizing;

use super::common::CliError;
use super::gpg::{Gpg, GpgError};
use crate::otp::clip;
use crate::tokens::containers::{
    self, Container, ContainerError, Passphrase, PgpPublicKey, PgpSecretKey, PgpUnlock,
    SignatureStatus, ZipEncryption, ZipOpened,
};

/// The flags that open encrypted inputs and wrap the output.
#[derive(Args, Debug, Default)]
pub struct ContainerArgs {
    /// Open an OpenPGP INPUT in process with this private key file (armored or binary)
    /// instead of the system gpg
    #[arg(long, value_name = "FILE")]
    pub pgp_key: Option<PathBuf>,
    /// File holding the passphrase of an OpenPGP INPUT (symmetric) or of its private key
    /// (default: gpg-agent asks, as usual)
    #[arg(long, value_name = "FILE")]
    pub pgp_passphrase_file: Option<PathBuf>,
    /// Require a good signature on the OpenPGP INPUT by this public key (else the signature
    /// is reported as NOT verified)
    #[arg(long, value_name = "KEY")]
    pub pgp_signer: Option<PathBuf>,
    /// File holding the password of a ZIP INPUT (AES or ZipCrypto)
    #[arg(long, value_name = "FILE")]
    pub zip_password_file: Option<PathBuf>,
    /// The file to take out of a ZIP INPUT holding several
    #[arg(long, value_name = "NAME")]
    pub zip_entry: Option<String>,
    /// Encrypt the output to this OpenPGP public key (armored or binary key file)
    #[arg(long, value_name = "KEY", conflicts_with_all = ["encrypt_passphrase_file", "zip_passphrase_file", "generate_passphrase"])]
    pub encrypt_to: Option<PathBuf>,
    /// Encrypt the output as an OpenPGP message with the passphrase in FILE (opens with gpg -d)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["zip_passphrase_file", "generate_passphrase"])]
    pub encrypt_passphrase_file: Option<PathBuf>,
    /// Put the output in an AES-256 ZIP archive with the passphrase in FILE (opens with 7-Zip)
    #[arg(long, value_name = "FILE", conflicts_with = "generate_passphrase")]
    pub zip_passphrase_file: Option<PathBuf>,
    /// Generate a passphrase (printed once on stderr) and wrap the output with it as an
    /// OpenPGP message (pgp) or an AES-256 ZIP archive (zip)
    #[arg(long, value_name = "WRAP", value_enum)]
    pub generate_passphrase: Option<GeneratedWrap>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GeneratedWrap {
    /// An OpenPGP message encrypted with the passphrase
    Pgp,
    /// An AES-256 ZIP archive
    Zip,
}

/// How the output is handed on, with its secrets already read and checked.
pub enum Wrap {
    Plain,
    ToKey(Box<PgpPublicKey>),
    PgpPassphrase {
        passphrase: Passphrase,
        generated: bool,
    },
    Zip {
        passphrase: Passphrase,
        generated: bool,
    },
}

/// What opening the input found, for the report.
pub struct Opened {
    pub plaintext: Zeroizing<Vec<u8>>,
    pub container: Container,
    /// What was learnt on the way (signature, weak encryption), one line each.
    pub notes: Vec<String>,
    pub signature: Option<String>,
}

fn read_passphrase(path: &Path, flag: &str) -> Result<Passphrase, CliError> {
    let bytes = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| CliError::usage(flag, format!("cannot read {}: {e}", path.display())))?,
    );
    let p = Passphrase::from_file_bytes(&bytes).map_err(|e| CliError::usage(flag, e))?;
    if p.is_empty() {
        return Err(CliError::usage(flag, "the passphrase file is empty"));
    }
    Ok(p)
}

/// A passphrase for a file we hand on: long enough by the policy.
fn read_new_passphrase(path: &Path, flag: &str) -> Result<Passphrase, CliError> {
    let p = read_passphrase(path, flag)?;
    containers::check_new_passphrase(&p).map_err(|e| CliError::usage(flag, e))?;
    Ok(p)
}

fn read_key_file(path: &Path, flag: &str) -> Result<Zeroizing<Vec<u8>>, CliError> {
    std::fs::read(path)
        .map(Zeroizing::new)
        .map_err(|e| CliError::usage(flag, format!("cannot read {}: {e}", path.display())))
}

/// An OpenPGP public key file (armored or binary) named by `flag`: `--encrypt-to` of
/// `convert` and of a bulk burn, `--pgp-signer`.
pub fn read_public_key(path: &Path, flag: &str) -> Result<PgpPublicKey, CliError> {
    let bytes = read_key_file(path, flag)?;
    PgpPublicKey::parse(&bytes).map_err(|e| CliError::usage(flag, e))
}

/// Reads and checks every wrap secret before the input is touched, so a short passphrase or
/// a bad key costs no decryption.
pub fn prepare_wrap(args: &ContainerArgs) -> Result<Wrap, CliError> {
    if let Some(path) = &args.encrypt_to {
        let key = read_public_key(path, "--encrypt-to")?;
        return Ok(Wrap::ToKey(Box::new(key)));
    }
    if let Some(path) = &args.encrypt_passphrase_file {
        return Ok(Wrap::PgpPassphrase {
            passphrase: read_new_passphrase(path, "--encrypt-passphrase-file")?,
            generated: false,
        });
    }
    if let Some(path) = &args.zip_passphrase_file {
        return Ok(Wrap::Zip {
            passphrase: read_new_passphrase(path, "--zip-passphrase-file")?,
            generated: false,
        });
    }
    if let Some(kind) = args.generate_passphrase {
        let passphrase = containers::generate_passphrase()
            .map_err(|e| CliError::failure(format!("--generate-passphrase: {e}")))?;
        return Ok(match kind {
            GeneratedWrap::Pgp => Wrap::PgpPassphrase {
                passphrase,
                generated: true,
            },
            GeneratedWrap::Zip => Wrap::Zip {
                passphrase,
                generated: true,
            },
        });
    }
    Ok(Wrap::Plain)
}

/// The secrets that open the input, read before the input so a missing file fails first.
pub struct OpenSecrets {
    pgp_key: Option<PgpSecretKey>,
    pgp_passphrase: Option<Passphrase>,
    signer: Option<PgpPublicKey>,
    zip_password: Option<Passphrase>,
}

pub fn read_open_secrets(args: &ContainerArgs) -> Result<OpenSecrets, CliError> {
    let pgp_key = match &args.pgp_key {
        Some(path) => {
            let bytes = read_key_file(path, "--pgp-key")?;
            Some(PgpSecretKey::parse(&bytes).map_err(|e| CliError::usage("--pgp-key", e))?)
        }
        None => None,
    };
    let signer = args
        .pgp_signer
        .as_deref()
        .map(|p| read_public_key(p, "--pgp-signer"))
        .transpose()?;
    Ok(OpenSecrets {
        pgp_key,
        pgp_passphrase: args
            .pgp_passphrase_file
            .as_deref()
            .map(|p| read_passphrase(p, "--pgp-passphrase-file"))
            .transpose()?,
        signer,
        zip_password: args
            .zip_password_file
            .as_deref()
            .map(|p| read_passphrase(p, "--zip-password-file"))
            .transpose()?,
    })
}

/// A container failure on INPUT: bad input (exit 2), except for failures of our own side.
fn input_error(e: ContainerError) -> CliError {
    match e {
        ContainerError::Random | ContainerError::EncryptFailed { .. } => {
            CliError::failure(format!("INPUT: {e}"))
        }
        _ => CliError::bad_input(format!("INPUT: {e}")),
    }
}

/// Hex digits only, uppercase: how two fingerprints are compared.
fn bare_hex(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Opens `input` as the container its bytes say it is; a plain file comes back as it is.
pub fn open_input(
    input: Zeroizing<Vec<u8>>,
    args: &ContainerArgs,
    secrets: &OpenSecrets,
) -> Result<Opened, CliError> {
    let container = containers::detect(&input);
    let is_pgp = matches!(container, Container::OpenPgp { .. });
    let is_zip = container == Container::Zip;
    let unused: Vec<&str> = [
        (!is_pgp && args.pgp_key.is_some(), "--pgp-key"),
        (
            !is_pgp && args.pgp_passphrase_file.is_some(),
            "--pgp-passphrase-file",
        ),
        (
            !is_zip && args.zip_password_file.is_some(),
            "--zip-password-file",
        ),
        (!is_zip && args.zip_entry.is_some(), "--zip-entry"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect();
    // A signer given for anything but OpenPGP must not look like a verified file.
    if !is_pgp && args.pgp_signer.is_some() {
        return Err(CliError::usage(
            "--pgp-signer",
            format!(
                "INPUT is a {}, not an OpenPGP message: there is no signature to verify",
                container.label()
            ),
        ));
    }
    let mut notes = Vec::new();
    if !unused.is_empty() {
        notes.push(format!(
            "INPUT is a {}; {} not used",
            container.label(),
            unused.join(", ")
        ));
    }
    match container {
        Container::Plain => Ok(Opened {
            plaintext: input,
            container,
            notes,
            signature: None,
        }),
        Container::OpenPgp { .. } => open_openpgp(input, container, secrets, notes),
        Container::Zip => {
            let empty = Passphrase::new("");
            let password = secrets.zip_password.as_ref().unwrap_or(&empty);
            let opened = containers::open_zip(&input, password, args.zip_entry.as_deref())
                .map_err(|e| {
                    if e.is_wrong_secret() && secrets.zip_password.is_none() {
                        CliError::usage(
                            "--zip-password-file",
                            "INPUT is a password-protected ZIP archive: give its password in a file",
                        )
                    } else {
                        input_error(e)
                    }
                })?;
            drop(input);
            match opened {
                ZipOpened::Entry(entry) => {
                    let how = match entry.encryption {
                        ZipEncryption::None => "not encrypted".to_string(),
                        ZipEncryption::ZipCrypto => "ZipCrypto".to_string(),
                        ZipEncryption::Aes { bits } => format!("AES-{bits}"),
                    };
                    notes.push(format!(
                        "opened {} from the ZIP archive ({how})",
                        clip(&entry.name)
                    ));
                    for w in &entry.warnings {
                        notes.push(format!("warning: {w}"));
                    }
                    Ok(Opened {
                        plaintext: entry.plaintext,
                        container,
                        notes,
                        signature: None,
                    })
                }
                ZipOpened::Choose(list) => {
                    let names: Vec<String> = list
                        .iter()
                        .map(|f| format!("{} ({} bytes)", clip(&f.name), f.size))
                        .collect();
                    Err(CliError::usage(
                        "--zip-entry",
                        format!(
                            "the ZIP archive holds several files; pick one with --zip-entry NAME: {}",
                            names.join(", ")
                        ),
                    ))
                }
            }
        }
    }
}

fn open_openpgp(
    input: Zeroizing<Vec<u8>>,
    container: Container,
    secrets: &OpenSecrets,
    mut notes: Vec<String>,
) -> Result<Opened, CliError> {
    let (plaintext, signature, how) = match &secrets.pgp_key {
        Some(key) => {
            let empty = Passphrase::new("");
            let unlock = PgpUnlock::Key {
                key,
                passphrase: secrets.pgp_passphrase.as_ref().unwrap_or(&empty),
            };
            let opened = containers::open_pgp(&input, unlock, secrets.signer.as_ref())
                .map_err(input_error)?;
            (opened.plaintext, opened.signature, "in process")
        }
        None => {
            let given = secrets.pgp_passphrase.as_ref();
            let decrypted = match (Gpg::default().decrypt(&input, given), given) {
                (Ok(d), _) => (d.plaintext, d.signature, "with gpg"),
                // No GnuPG here (the Docker image has none): a passphrase-encrypted message
                // still opens in process, and the report says how it was opened.
                (Err(GpgError::NotRunnable(_)), Some(passphrase)) => {
                    let opened = containers::open_pgp(
                        &input,
                        PgpUnlock::Passphrase(passphrase),
                        secrets.signer.as_ref(),
                    )
                    .map_err(|e| match e {
                        ContainerError::NeedsPrivateKey { .. } => CliError::bad_input(format!(
                            "INPUT: {e}; gpg could not be run, so give the key with --pgp-key"
                        )),
                        e => input_error(e),
                    })?;
                    notes
                        .push("gpg could not be run: opened with the passphrase in process".into());
                    (opened.plaintext, opened.signature, "in process")
                }
                (Err(e), _) => {
                    let e = CliError::from(e);
                    return Err(CliError {
                        code: e.code,
                        message: format!("INPUT: {}", e.message),
                    });
                }
            };
            let (plaintext, signature, how) = decrypted;
            let signature = match (&secrets.signer, signature) {
                (None, s) => s,
                (Some(signer), SignatureStatus::Verified { fingerprint }) => {
                    if bare_hex(&fingerprint) != bare_hex(&signer.fingerprint()) {
                        return Err(CliError::bad_input(format!(
                            "INPUT: the OpenPGP message is signed by {fingerprint}, not by the --pgp-signer key ({}); nothing from it was used",
                            signer.fingerprint()
                        )));
                    }
                    SignatureStatus::Verified { fingerprint }
                }
                (Some(_), SignatureStatus::Unsigned) => {
                    return Err(input_error(ContainerError::NotSigned));
                }
                (Some(signer), SignatureStatus::NotVerified { .. }) => {
                    return Err(CliError::bad_input(format!(
                        "INPUT: gpg could not verify the signature: the --pgp-signer key ({}) is not in your gpg keyring; import it (gpg --import) or open the file in process with --pgp-key; nothing from it was used",
                        signer.fingerprint()
                    )));
                }
            };
            (plaintext, signature, how)
        }
    };
    drop(input);
    notes.push(format!("opened the {} {how}", container.label()));
    let described = match &signature {
        SignatureStatus::Unsigned => None,
        // gpg checked it against whatever keys the admin's keyring holds: say so, since no
        // signer was required.
        SignatureStatus::Verified { fingerprint }
            if secrets.signer.is_none() && secrets.pgp_key.is_none() =>
        {
            Some(format!(
                "signature good, by {fingerprint} from your gpg keyring (--pgp-signer requires a given signer)"
            ))
        }
        s => Some(s.describe()),
    };
    if let Some(d) = &described {
        notes.push(d.clone());
    }
    Ok(Opened {
        plaintext,
        container,
        notes,
        signature: described,
    })
}

/// Wraps `bytes` as asked, telling the admin on stderr what they need to know first: the
/// recipient's fingerprint, or the generated passphrase (shown once). With `quiet` (`--json`)
/// the JSON report carries both instead.
pub fn wrap_output(
    wrap: &Wrap,
    bytes: Zeroizing<Vec<u8>>,
    format: crate::tokens::ExportFormat,
    stderr: &mut dyn Write,
    quiet: bool,
) -> Result<Zeroizing<Vec<u8>>, CliError> {
    if !quiet {
        match wrap {
            Wrap::ToKey(key) => {
                let ids = key.user_ids();
                let _ = writeln!(
                    stderr,
                    "encrypting to OpenPGP key {}{}",
                    key.fingerprint(),
                    ids.first().map(|u| format!(" ({u})")).unwrap_or_default()
                );
            }
            Wrap::PgpPassphrase {
                passphrase,
                generated: true,
            } => show_generated(passphrase, "OpenPGP message (gpg -d)", stderr),
            Wrap::Zip {
                passphrase,
                generated: true,
            } => show_generated(passphrase, "AES-256 ZIP archive", stderr),
            _ => {}
        }
    }
    let failed = |e: ContainerError| CliError::failure(format!("output: {e}"));
    let armored = |s: String| Zeroizing::new(s.into_bytes());
    match wrap {
        Wrap::Plain => Ok(bytes),
        Wrap::ToKey(key) => containers::encrypt_pgp_to_key(&bytes, key)
            .map(armored)
            .map_err(failed),
        Wrap::PgpPassphrase { passphrase, .. } => {
            containers::encrypt_pgp_with_passphrase(&bytes, passphrase)
                .map(armored)
                .map_err(failed)
        }
        Wrap::Zip { passphrase, .. } => {
            // The name the batch page's download gives the same file.
            containers::write_zip(format.file_name(), &bytes, passphrase)
                .map(Zeroizing::new)
                .map_err(failed)
        }
    }
}

fn show_generated(passphrase: &Passphrase, what: &str, stderr: &mut dyn Write) {
    let _ = writeln!(
        stderr,
        "passphrase of the {what} (shown once, not stored): {}",
        passphrase.expose()
    );
}

impl Wrap {
    /// What the report says about the wrap.
    pub fn label(&self) -> Option<&'static str> {
        match self {
            Wrap::Plain => None,
            Wrap::ToKey(_) => Some("openpgp-key"),
            Wrap::PgpPassphrase { .. } => Some("openpgp-passphrase"),
            Wrap::Zip { .. } => Some("zip-aes256"),
        }
    }

    /// The generated passphrase, for the JSON report (shown once there).
    pub fn generated(&self) -> Option<&str> {
        match self {
            Wrap::PgpPassphrase {
                passphrase,
                generated: true,
            }
            | Wrap::Zip {
                passphrase,
                generated: true,
            } => Some(passphrase.expose()),
            _ => None,
        }
    }

    pub fn fingerprint(&self) -> Option<String> {
        match self {
            Wrap::ToKey(k) => Some(k.fingerprint()),
            _ => None,
        }
    }
}
