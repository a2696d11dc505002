//! Encrypted wrappers around seed files: OpenPGP messages and password-protected ZIP archives,
//! recognised from their bytes, opened in memory and written back out encrypted.
//!
//! Pure: bytes in, bytes out. Never a file, a temporary directory, a log line or a clock.
//! Decrypted bytes only ever live in `Zeroizing` buffers, passphrases in [`Passphrase`], and
//! no error message carries either: messages are our own words, never a crate's rendering of
//! the input.

mod pgp;
mod zip;

use std::fmt;
use std::io::Read;

use zeroize::Zeroizing;

use crate::otp::clip;

pub use self::pgp::{
    PgpOpened, PgpPublicKey, PgpSecretKey, PgpUnlock, SignatureStatus, encrypt_pgp_to_key,
    encrypt_pgp_with_passphrase, open_pgp,
};
pub use self::zip::{
    ZipEncryption, ZipEntry, ZipEntryInfo, ZipOpened, ZipWarning, open_zip, write_zip,
};

/// The largest plaintext we unpack from a container: far above a 10,000-token PSKC file (a
/// few MB), low enough that a compression bomb cannot exhaust the server's memory.
pub const MAX_PLAINTEXT_BYTES: usize = 32 * 1024 * 1024;

/// The shortest passphrase we accept for encrypting a file we hand on.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

/// What a file is, judged from its first bytes only (a vendor's `seeds.csv` may well be an
/// OpenPGP message, and a `.gpg` file may be plain text).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// An OpenPGP message; `armored` when it is the `-----BEGIN PGP MESSAGE-----` text form
    /// (or a clear-signed text, `-----BEGIN PGP SIGNED MESSAGE-----`).
    OpenPgp { armored: bool },
    /// A ZIP archive (possibly with password-protected entries).
    Zip,
    /// Anything else: handed to the format readers as it is.
    Plain,
}

impl Container {
    /// A short name for messages and previews.
    pub fn label(self) -> &'static str {
        match self {
            Container::OpenPgp { armored: true } => "OpenPGP message (armored)",
            Container::OpenPgp { armored: false } => "OpenPGP message (binary)",
            Container::Zip => "ZIP archive",
            Container::Plain => "plain file",
        }
    }
}

const ARMOR_BEGIN: &[u8] = b"-----BEGIN PGP MESSAGE-----";
/// A clear-signed text (RFC 9580 §7): readable, with the signature after it.
pub(crate) const CLEARTEXT_BEGIN: &[u8] = b"-----BEGIN PGP SIGNED MESSAGE-----";

/// Recognises a container from its bytes, whatever the file is called.
///
/// Binary OpenPGP is recognised by a packet header that can start a message (RFC 9580 §10.3)
/// followed by a plausible first body byte, so that text starting with a non-ASCII letter
/// (whose UTF-8 lead byte also has the high bit set) stays plain.
pub fn detect(bytes: &[u8]) -> Container {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    if text
        .get(start..)
        .is_some_and(|t| t.starts_with(ARMOR_BEGIN) || t.starts_with(CLEARTEXT_BEGIN))
    {
        return Container::OpenPgp { armored: true };
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return Container::Zip;
    }
    if looks_like_openpgp_packet(bytes) {
        return Container::OpenPgp { armored: false };
    }
    Container::Plain
}

/// True when `bytes` begin with a packet header whose tag can open an OpenPGP message and
/// whose first body byte is one that packet can have.
fn looks_like_openpgp_packet(bytes: &[u8]) -> bool {
    let Some(&first) = bytes.first() else {
        return false;
    };
    if first & 0x80 == 0 {
        return false;
    }
    let (tag, body_start) = if first & 0x40 != 0 {
        // New format: the length's first octet says how many octets follow.
        let tag = first & 0x3F;
        let Some(&len0) = bytes.get(1) else {
            return false;
        };
        let header = match len0 {
            0..=191 => 2,
            192..=223 => 3,
            255 => 6,
            // Partial lengths are only allowed on data packets.
            _ if matches!(tag, 8 | 9 | 11 | 18 | 20) => 2,
            _ => return false,
        };
        (tag, header)
    } else {
        let tag = (first >> 2) & 0x0F;
        let header = match first & 0x03 {
            0 => 2,
            1 => 3,
            2 => 5,
            _ => 1,
        };
        (tag, header)
    };
    let Some(&body) = bytes.get(body_start) else {
        return false;
    };
    match tag {
        // Public-key encrypted session key: version 3 or 6.
        1 => matches!(body, 3 | 6),
        // Signature: versions 3 to 6.
        2 => matches!(body, 3..=6),
        // Symmetric-key encrypted session key: version 4, 5 (GnuPG) or 6.
        3 => matches!(body, 4..=6),
        // One-pass signature: version 3 or 6.
        4 => matches!(body, 3 | 6),
        // Compressed data: uncompressed, ZIP, ZLIB or BZip2.
        8 => body <= 3,
        // Legacy symmetrically encrypted data: no version byte to check.
        9 => true,
        // Marker packet: always "PGP".
        10 => body == b'P',
        // Literal data: the format octet.
        11 => matches!(body, b'b' | b't' | b'u' | b'l' | b'1' | b'm'),
        // Sym. encrypted integrity protected data: version 1 or 2.
        18 => matches!(body, 1 | 2),
        // GnuPG's OCB encrypted data: version 1.
        20 => body == 1,
        _ => false,
    }
}

/// A secret file's text without the one line end an editor adds (CRLF or LF; a passphrase
/// or password never ends with one).
pub fn without_line_end(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}

/// A passphrase (for a message, a key or an archive): wiped when dropped, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    pub fn new(text: impl Into<String>) -> Self {
        Passphrase(Zeroizing::new(text.into()))
    }

    /// Reads a passphrase file's content: UTF-8, with one trailing line end removed (editors
    /// add one; a passphrase never ends with one).
    pub fn from_file_bytes(bytes: &[u8]) -> Result<Self, ContainerError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ContainerError::PassphraseNotText)?;
        Ok(Passphrase::new(without_line_end(text)))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// Checks a passphrase chosen for a file we hand on (opening accepts whatever the vendor
/// used): at least [`MIN_PASSPHRASE_CHARS`] characters, not only spaces.
pub fn check_new_passphrase(passphrase: &Passphrase) -> Result<(), ContainerError> {
    let chars = passphrase.expose().chars().count();
    if passphrase.expose().trim().is_empty() || chars < MIN_PASSPHRASE_CHARS {
        return Err(ContainerError::PassphraseTooShort {
            chars,
            min: MIN_PASSPHRASE_CHARS,
        });
    }
    Ok(())
}

/// A fresh passphrase from the OS CSPRNG: 160 bits as 32 lowercase base32 characters in
/// groups of four (`abcd-efgh-…`), easy to read out and type. Shown once, never stored.
pub fn generate_passphrase() -> Result<Passphrase, ContainerError> {
    let mut bytes = Zeroizing::new([0u8; 20]);
    getrandom::fill(&mut *bytes).map_err(|_| ContainerError::Random)?;
    let encoded = Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&*bytes));
    let mut out = String::with_capacity(40);
    for (i, c) in encoded.chars().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(c.to_ascii_lowercase());
    }
    Ok(Passphrase::new(out))
}

/// Reads everything from `reader` into a wiped-on-drop buffer, refusing more than `limit`
/// bytes. The buffer grows by copying into a new zeroizing buffer, so no reallocation leaves
/// a stray copy of the plaintext in freed memory.
pub fn read_to_zeroizing(
    mut reader: impl Read,
    limit: usize,
) -> std::io::Result<Result<Zeroizing<Vec<u8>>, TooLarge>> {
    let mut out = Zeroizing::new(Vec::with_capacity(8 * 1024));
    let mut chunk = Zeroizing::new([0u8; 8 * 1024]);
    loop {
        let n = match reader.read(&mut *chunk) {
            Ok(0) => return Ok(Ok(out)),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if out.len() + n > limit {
            return Ok(Err(TooLarge { limit }));
        }
        if out.len() + n > out.capacity() {
            let mut bigger =
                Zeroizing::new(Vec::with_capacity((out.len() + n).max(out.capacity() * 2)));
            bigger.extend_from_slice(&out);
            out = bigger;
        }
        out.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// What opens a container, each part optional: the caller passes what the admin gave.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenWith<'a> {
    /// A private key for an OpenPGP message encrypted to a public key.
    pub pgp_key: Option<&'a PgpSecretKey>,
    /// The passphrase of a symmetric OpenPGP message, or of `pgp_key`.
    pub pgp_passphrase: Option<&'a Passphrase>,
    /// The key whose signature an OpenPGP message must carry.
    pub signer: Option<&'a PgpPublicKey>,
    pub zip_password: Option<&'a Passphrase>,
    /// The file to take out of an archive holding several.
    pub zip_entry: Option<&'a str>,
}

/// A container opened: the seed file inside, or the list of an archive's files to pick from.
pub enum Unwrapped {
    File {
        /// The seed file's bytes (the input itself when it was plain), wiped on drop.
        plaintext: Zeroizing<Vec<u8>>,
        container: Container,
        /// How it was opened and what its signature amounts to, one line each.
        notes: Vec<String>,
        /// What the admin must be warned about (weak ZipCrypto, an unencrypted entry).
        warnings: Vec<String>,
    },
    Choose(Vec<ZipEntryInfo>),
}

impl fmt::Debug for Unwrapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unwrapped::File { container, .. } => write!(f, "File({container:?}, [redacted])"),
            Unwrapped::Choose(list) => f.debug_tuple("Choose").field(list).finish(),
        }
    }
}

/// Opens `bytes` as the container they are (see [`detect`]) with what `with` holds. A secret
/// that is needed and missing is [`ContainerError::SecretMissing`]; a signer given for
/// anything but an OpenPGP message is refused, so nothing looks verified that was not.
pub fn open_any(bytes: &[u8], with: OpenWith<'_>) -> Result<Unwrapped, ContainerError> {
    let container = detect(bytes);
    if with.signer.is_some() && !matches!(container, Container::OpenPgp { .. }) {
        return Err(ContainerError::NoSignatureToVerify {
            container: container.label(),
        });
    }
    let empty = Passphrase::new("");
    match container {
        Container::Plain => Ok(Unwrapped::File {
            plaintext: Zeroizing::new(bytes.to_vec()),
            container,
            notes: Vec::new(),
            warnings: Vec::new(),
        }),
        Container::OpenPgp { .. } => {
            let passphrase = with.pgp_passphrase.unwrap_or(&empty);
            let (unlock, how) = match with.pgp_key {
                Some(key) => (
                    PgpUnlock::Key { key, passphrase },
                    format!("with the private key {}", key.fingerprint()),
                ),
                None => (
                    PgpUnlock::Passphrase(passphrase),
                    "with its passphrase".into(),
                ),
            };
            let opened = open_pgp(bytes, unlock, with.signer).map_err(|e| match e {
                ContainerError::WrongPassphrase { what } if with.pgp_passphrase.is_none() => {
                    ContainerError::SecretMissing { what }
                }
                e => e,
            })?;
            let mut notes = vec![if opened.encrypted {
                format!("Opened the {} {how}.", container.label())
            } else {
                format!(
                    "The {} was not encrypted (signed or compressed only).",
                    container.label()
                )
            }];
            if let Some(name) = &opened.file_name {
                notes.push(format!("The sender named the file inside {name}."));
            }
            let mut warnings = Vec::new();
            match &opened.signature {
                SignatureStatus::Unsigned => {}
                SignatureStatus::NotVerified { .. } => warnings.push(format!(
                    "Signature: {} — give the vendor's public key as the signer key to check it.",
                    opened.signature.describe()
                )),
                SignatureStatus::Verified { .. } => {
                    notes.push(format!("Signature: {}.", opened.signature.describe()))
                }
            }
            Ok(Unwrapped::File {
                plaintext: opened.plaintext,
                container,
                notes,
                warnings,
            })
        }
        Container::Zip => {
            let password = with.zip_password.unwrap_or(&empty);
            let opened = open_zip(bytes, password, with.zip_entry).map_err(|e| match e {
                ContainerError::WrongPassphrase { what } if with.zip_password.is_none() => {
                    ContainerError::SecretMissing { what }
                }
                e => e,
            })?;
            match opened {
                ZipOpened::Choose(list) => Ok(Unwrapped::Choose(list)),
                ZipOpened::Entry(entry) => {
                    let how = match entry.encryption {
                        ZipEncryption::None => "not encrypted".to_string(),
                        ZipEncryption::ZipCrypto => "ZipCrypto".to_string(),
                        ZipEncryption::Aes { bits } => format!("AES-{bits}"),
                    };
                    Ok(Unwrapped::File {
                        notes: vec![format!(
                            "Opened {} from the ZIP archive ({how}).",
                            clip(&entry.name)
                        )],
                        warnings: entry
                            .warnings
                            .iter()
                            .map(|w| format!("Weak protection: {w}."))
                            .collect(),
                        plaintext: entry.plaintext,
                        container,
                    })
                }
            }
        }
    }
}

/// The plaintext would be larger than the limit we unpack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooLarge {
    pub limit: usize,
}

/// Why a container could not be opened or written. Each message names what was wrong and
/// what to do, and never contains decrypted bytes, a passphrase or a key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContainerError {
    /// The passphrase (of the message, the archive or the private key) is not the right one.
    #[error("wrong passphrase: it does not open this {what}")]
    WrongPassphrase { what: &'static str },
    /// The message is encrypted to other keys than the one given.
    #[error(
        "this OpenPGP message is not encrypted to the private key given (it is for key ID {recipients})"
    )]
    NotForThisKey { recipients: String },
    /// The message is encrypted to a public key, and only a passphrase was given.
    #[error(
        "this OpenPGP message is encrypted to a public key (key ID {recipients}): give the private key file and its passphrase"
    )]
    NeedsPrivateKey { recipients: String },
    /// The message is encrypted with a passphrase only, and a private key was given.
    #[error(
        "this OpenPGP message is encrypted with a passphrase, not to a key: give the passphrase"
    )]
    NeedsPassphrase,
    /// The file is damaged or cut short: nothing of it was used.
    #[error("the {what} is damaged or truncated ({why}); nothing from it was used")]
    Corrupted {
        what: &'static str,
        why: &'static str,
    },
    /// The file is in a form we do not open.
    #[error("the {what} uses {why}, which is not supported")]
    Unsupported {
        what: &'static str,
        why: &'static str,
    },
    /// A key file could not be used.
    #[error("the {which} key: {why}")]
    BadKey { which: &'static str, why: String },
    /// The container needs a passphrase (or key), and none was given.
    #[error(
        "the {what} is encrypted: give its passphrase (or, for a message encrypted to a key, the private key)"
    )]
    SecretMissing { what: &'static str },
    /// A signer key was given for a file that is not an OpenPGP message.
    #[error(
        "a signer key was given, but the file is a {container}, not an OpenPGP message: there is no signature to verify"
    )]
    NoSignatureToVerify { container: &'static str },
    /// A signer key was given, and the message is not signed.
    #[error("the OpenPGP message is not signed, but a signer key was given to verify it")]
    NotSigned,
    /// A signer key was given, and the message is signed by another key.
    #[error(
        "the OpenPGP message is signed by key ID {signers}, not by the signer key given ({given})"
    )]
    SignedByOtherKey { signers: String, given: String },
    /// The signature by the given key does not match the content.
    #[error(
        "the OpenPGP message's signature by key {given} is BAD: the content was altered or the signature forged; nothing from it was used"
    )]
    BadSignature { given: String },
    /// The plaintext is bigger than we unpack.
    #[error("the decrypted content is larger than {limit} bytes, the most we unpack")]
    TooLarge { limit: usize },
    /// The ZIP archive holds no file.
    #[error("the ZIP archive holds no file")]
    EmptyArchive,
    /// The entry asked for is not in the archive.
    #[error("the ZIP archive has no file named {name:?}")]
    NoSuchEntry { name: String },
    /// A passphrase chosen for handing a file on is too short.
    #[error(
        "the passphrase has {chars} characters; at least {min} are needed (or let the toolset generate one)"
    )]
    PassphraseTooShort { chars: usize, min: usize },
    /// A passphrase file is not UTF-8 text.
    #[error("the passphrase file is not UTF-8 text")]
    PassphraseNotText,
    /// The OS random source failed.
    #[error("the operating system's random source failed")]
    Random,
    /// Encrypting failed inside the OpenPGP or ZIP library.
    #[error("encrypting the {what} failed")]
    EncryptFailed { what: &'static str },
}

impl ContainerError {
    /// True for "wrong passphrase or key" (the caller asks again), false for a damaged or
    /// unsupported file.
    pub fn is_wrong_secret(&self) -> bool {
        matches!(
            self,
            ContainerError::WrongPassphrase { .. }
                | ContainerError::SecretMissing { .. }
                | ContainerError::NotForThisKey { .. }
                | ContainerError::NeedsPrivateKey { .. }
                | ContainerError::NeedsPassphrase
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_from_bytes_not_names() {
        assert_eq!(
            detect(b"\xEF\xBB\xBF\r\n-----BEGIN PGP MESSAGE-----\n\nhQ"),
            Container::OpenPgp { armored: true }
        );
        assert_eq!(detect(b"PK\x03\x04rest"), Container::Zip);
        // gpg's new-format SKESK, version 4.
        assert_eq!(
            detect(&[0xC3, 0x0D, 0x04, 0x09]),
            Container::OpenPgp { armored: false }
        );
        // Old-format PKESK with a two-octet length, version 3.
        assert_eq!(
            detect(&[0x85, 0x01, 0x8C, 0x03]),
            Container::OpenPgp { armored: false }
        );
        assert_eq!(detect(b"serial,secret\n"), Container::Plain);
        // "Äpfel" in UTF-8 begins with 0xC3 like a SKESK header, but is text.
        assert_eq!(detect("Äpfel,ABC\n".as_bytes()), Container::Plain);
        assert_eq!(detect(b""), Container::Plain);
    }

    #[test]
    fn passphrase_debug_is_redacted() {
        let p = Passphrase::new("correct horse battery staple");
        assert_eq!(format!("{p:?}"), "[redacted]");
    }

    #[test]
    fn passphrase_file_loses_one_line_end() {
        let p = Passphrase::from_file_bytes(b"secret words here\r\n").unwrap();
        assert_eq!(p.expose(), "secret words here");
        assert!(Passphrase::from_file_bytes(b"\xFF").is_err());
    }

    #[test]
    fn policy_names_the_minimum() {
        let err = check_new_passphrase(&Passphrase::new("short")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the passphrase has 5 characters; at least 12 are needed (or let the toolset generate one)"
        );
        assert!(check_new_passphrase(&Passphrase::new("            ")).is_err());
        assert!(check_new_passphrase(&Passphrase::new("twelve chars")).is_ok());
    }

    #[test]
    fn generated_passphrases_are_long_grouped_and_different() {
        let a = generate_passphrase().unwrap();
        let b = generate_passphrase().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), 39);
        assert!(a.expose().split('-').all(|g| g.len() == 4));
        assert!(check_new_passphrase(&a).is_ok());
    }

    #[test]
    fn reading_stops_at_the_limit() {
        let data = vec![7u8; 20_000];
        let all = read_to_zeroizing(&data[..], 20_000).unwrap().unwrap();
        assert_eq!(*all, data);
        assert_eq!(
            read_to_zeroizing(&data[..], 19_999).unwrap(),
            Err(TooLarge { limit: 19_999 })
        );
    }

    proptest::proptest! {
        /// Any bytes, with any passphrase and entry name: opening never panics, and no
        /// message repeats the passphrase or the entry name beyond 64 characters.
        #[test]
        fn any_input_opens_or_is_refused_without_echo(
            body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            head in proptest::prop_oneof![
                proptest::prelude::Just(b"-----BEGIN PGP MESSAGE-----\n\n".to_vec()),
                proptest::prelude::Just(b"PK\x03\x04".to_vec()),
                proptest::prelude::Just(vec![0xC3, 0x0D, 0x04]),
                proptest::prelude::Just(Vec::new()),
            ],
            word in "\\PC{12,40}",
            entry in "\\PC{70,90}",
        ) {
            let bytes = [head, body].concat();
            let secret = Passphrase::new(format!("S3cret{word}"));
            let with = OpenWith {
                pgp_passphrase: Some(&secret),
                zip_password: Some(&secret),
                zip_entry: Some(&entry),
                ..OpenWith::default()
            };
            if let Err(e) = open_any(&bytes, with) {
                let message = e.to_string();
                proptest::prop_assert!(!message.contains(secret.expose()), "{}", message);
                proptest::prop_assert!(!message.contains(&entry), "{}", message);
            }
        }
    }
}
