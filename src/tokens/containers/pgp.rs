//! OpenPGP in process (rPGP): opening a vendor's encrypted seed file with a private key or a
//! passphrase, checking its signature, and encrypting what we hand on to a public key or a
//! passphrase so that any `gpg -d` opens it.
//!
//! Never returns part of a message: the integrity check (MDC) is done before any plaintext is
//! released, and a signature by a given key that does not check out is an error. Never puts
//! rPGP's own error text in a message (it may describe the input).
//!
//! Our plaintext buffers are wiped on drop; rPGP's internal ones are not (it holds the
//! decrypted body while checking the MDC), a limit of the crate rather than of this module.

use std::fmt;
use std::io::Read;

use ::pgp::composed::{
    ArmorOptions, CleartextSignedMessage, DecryptionOptions, Deserializable, Edata, Esk, Message,
    MessageBuilder, SignedPublicKey, SignedSecretKey, TheRing, decrypt_session_key_with_password,
};
use ::pgp::crypto::sym::SymmetricKeyAlgorithm;
use ::pgp::errors::Error as PgpError;
use ::pgp::packet::{Packet, PacketParser, Signature};
use ::pgp::types::{CompressionAlgorithm, KeyDetails, Password, StringToKey};
use zeroize::Zeroizing;

use super::{ContainerError, MAX_PLAINTEXT_BYTES, Passphrase, read_to_zeroizing};
use crate::otp::clip;

const MESSAGE: &str = "OpenPGP message";

/// An OpenPGP public key (certificate): a recipient to encrypt to, or a signer to verify.
#[derive(Clone)]
pub struct PgpPublicKey {
    key: SignedPublicKey,
}

impl fmt::Debug for PgpPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgpPublicKey({})", self.fingerprint())
    }
}

impl PgpPublicKey {
    /// Reads an armored (`-----BEGIN PGP PUBLIC KEY BLOCK-----`) or binary public key, and
    /// checks that its self-signatures hold.
    pub fn parse(bytes: &[u8]) -> Result<Self, ContainerError> {
        let key = read_key(
            bytes,
            "public",
            |b| SignedPublicKey::from_reader_single(b).map(|(k, _)| k),
            (
                looks_like_secret_key,
                "this is a private key; give the public key (gpg --armor --export)",
            ),
            |k| k.verify_bindings().is_ok(),
        )?;
        Ok(PgpPublicKey { key })
    }

    /// The primary key's fingerprint in groups of four hex digits, as `gpg --fingerprint`
    /// shows it, so an admin can compare it before downloading a file encrypted to it.
    pub fn fingerprint(&self) -> String {
        group_hex(self.key.primary_key.fingerprint().as_bytes())
    }

    /// The user IDs on the key (each at most 64 characters), for showing next to the
    /// fingerprint.
    pub fn user_ids(&self) -> Vec<String> {
        user_ids(&self.key.details.users)
    }

    /// The key that gets the session key: the first subkey flagged for encryption, else (old
    /// keys without flags) the first subkey whose algorithm can encrypt.
    fn encryption_subkey(&self) -> Option<&::pgp::composed::SignedPublicSubKey> {
        let capable = || {
            self.key
                .public_subkeys
                .iter()
                .filter(|sub| sub.key.algorithm().can_encrypt())
        };
        capable()
            .find(|sub| {
                sub.signatures.iter().any(|s| {
                    let flags = s.key_flags();
                    flags.encrypt_comms() || flags.encrypt_storage()
                })
            })
            .or_else(|| capable().next())
    }

    fn key_ids(&self) -> Vec<[u8; 8]> {
        let mut ids = vec![key_id_bytes(&self.key.primary_key.legacy_key_id())];
        ids.extend(
            self.key
                .public_subkeys
                .iter()
                .map(|s| key_id_bytes(&s.key.legacy_key_id())),
        );
        ids
    }
}

/// An OpenPGP private key (transferable secret key), usually locked with its own passphrase.
pub struct PgpSecretKey {
    key: SignedSecretKey,
}

impl fmt::Debug for PgpSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PgpSecretKey([redacted])")
    }
}

impl PgpSecretKey {
    /// Reads an armored (`-----BEGIN PGP PRIVATE KEY BLOCK-----`) or binary private key.
    pub fn parse(bytes: &[u8]) -> Result<Self, ContainerError> {
        let key = read_key(
            bytes,
            "private",
            |b| SignedSecretKey::from_reader_single(b).map(|(k, _)| k),
            (
                looks_like_public_key,
                "this is a public key; decrypting needs the private key (gpg --armor --export-secret-keys)",
            ),
            |k| k.verify_bindings().is_ok(),
        )?;
        Ok(PgpSecretKey { key })
    }

    /// The primary key's fingerprint, grouped as [`PgpPublicKey::fingerprint`] shows it.
    pub fn fingerprint(&self) -> String {
        group_hex(self.key.primary_key.fingerprint().as_bytes())
    }

    /// True when a PKESK of the message is for this key (or hides its recipient).
    fn is_recipient(&self, esk: &::pgp::packet::PublicKeyEncryptedSessionKey) -> bool {
        esk.match_identity(self.key.primary_key.public_key())
            || self
                .key
                .secret_subkeys
                .iter()
                .any(|s| esk.match_identity(s.key.public_key()))
    }
}

/// How to open a message: its passphrase (symmetric), or a private key and the key's own
/// passphrase (empty when the key is not protected).
#[derive(Clone, Copy, Debug)]
pub enum PgpUnlock<'a> {
    Passphrase(&'a Passphrase),
    Key {
        key: &'a PgpSecretKey,
        passphrase: &'a Passphrase,
    },
}

/// What a signature on the opened message amounts to. Never "trusted" by default: a signed
/// message opened without the signer's key is `NotVerified`, and callers must say so.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum SignatureStatus {
    /// The message carries no signature.
    #[default]
    Unsigned,
    /// Signed, but no signer key was given: the signature was not checked.
    NotVerified { signers: Vec<String> },
    /// Signed by the key given, and the signature checks out.
    Verified { fingerprint: String },
}

impl SignatureStatus {
    /// One line for a page or the terminal.
    pub fn describe(&self) -> String {
        match self {
            SignatureStatus::Unsigned => "not signed".into(),
            SignatureStatus::NotVerified { signers } if signers.is_empty() => {
                "signed, NOT verified (no signer key given)".into()
            }
            SignatureStatus::NotVerified { signers } => format!(
                "signed by key ID {}, NOT verified (no signer key given)",
                signers.join(", ")
            ),
            SignatureStatus::Verified { fingerprint } => {
                format!("signature verified: signed by {fingerprint}")
            }
        }
    }
}

/// An opened message: the plaintext (wiped on drop) and what was learnt on the way.
pub struct PgpOpened {
    pub plaintext: Zeroizing<Vec<u8>>,
    /// The file name the sender stored in the message, if any (at most 64 characters).
    pub file_name: Option<String>,
    /// False for a message that was only signed or compressed.
    pub encrypted: bool,
    pub signature: SignatureStatus,
}

impl fmt::Debug for PgpOpened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgpOpened")
            .field(
                "plaintext",
                &format_args!("[redacted; {} bytes]", self.plaintext.len()),
            )
            .field("file_name", &self.file_name)
            .field("encrypted", &self.encrypted)
            .field("signature", &self.signature)
            .finish()
    }
}

/// Opens an OpenPGP message (armored or binary; encrypted to a key or with a passphrase;
/// compressed or not; signed or not). With `signer`, the message must carry a good signature
/// by that key; without it, a signature is reported as not verified.
pub fn open_pgp(
    message: &[u8],
    unlock: PgpUnlock<'_>,
    signer: Option<&PgpPublicKey>,
) -> Result<PgpOpened, ContainerError> {
    let armored = matches!(
        super::detect(message),
        super::Container::OpenPgp { armored: true }
    );
    if armored && starts_clear_signed(message) {
        return open_clear_signed(message, signer);
    }
    let msg = if armored {
        Message::from_armor(message).map(|(m, _)| m)
    } else {
        Message::from_bytes(message)
    }
    .map_err(|e| corrupted_from(&e))?;

    let encrypted = msg.is_encrypted();
    // Set for a symmetric message: rPGP has no quick check, so a wrong passphrase shows up
    // later as a failed integrity check or as garbage packets, like a damaged body would.
    let mut symmetric_password: Option<Password> = None;
    let mut msg = if let Message::Encrypted { esk, edata, .. } = &msg {
        if matches!(edata, Edata::SymEncryptedData { .. }) {
            return Err(ContainerError::Unsupported {
                what: MESSAGE,
                why: "the old encryption without integrity protection (re-encrypt it with a current gpg)",
            });
        }
        let recipients = pkesk_recipients(esk);
        let has_skesk = esk
            .iter()
            .any(|e| matches!(e, Esk::SymKeyEncryptedSessionKey(_)));
        match unlock {
            PgpUnlock::Passphrase(passphrase) => {
                if !has_skesk {
                    return Err(ContainerError::NeedsPrivateKey {
                        recipients: describe_ids(&recipients),
                    });
                }
                symmetric_password = Some(password(passphrase));
                let ring = TheRing {
                    message_password: symmetric_password.iter().collect(),
                    decrypt_options: decrypt_options(),
                    ..Default::default()
                };
                match msg.decrypt_the_ring(ring, true) {
                    Ok((m, _)) => m,
                    Err(PgpError::MissingKey) => {
                        return Err(ContainerError::WrongPassphrase { what: MESSAGE });
                    }
                    Err(e) => {
                        return Err(name_failure(
                            message,
                            armored,
                            symmetric_password.as_ref(),
                            corrupted_from(&e),
                        ));
                    }
                }
            }
            PgpUnlock::Key { key, passphrase } => {
                let for_key = esk.iter().any(|e| match e {
                    Esk::PublicKeyEncryptedSessionKey(p) => key.is_recipient(p),
                    Esk::SymKeyEncryptedSessionKey(_) => false,
                });
                if !for_key {
                    if recipients.is_empty() && has_skesk {
                        return Err(ContainerError::NeedsPassphrase);
                    }
                    return Err(ContainerError::NotForThisKey {
                        recipients: describe_ids(&recipients),
                    });
                }
                let pw = password(passphrase);
                let ring = TheRing {
                    secret_keys: vec![&key.key],
                    key_passwords: vec![&pw],
                    decrypt_options: decrypt_options(),
                    ..Default::default()
                };
                match msg.decrypt_the_ring(ring, true) {
                    Ok((m, _)) => m,
                    // The key is a recipient, so no session key means it did not unlock.
                    Err(PgpError::MissingKey) => {
                        return Err(ContainerError::WrongPassphrase {
                            what: "private key",
                        });
                    }
                    Err(e) => return Err(corrupted_from(&e)),
                }
            }
        }
    } else {
        msg
    };

    let named = |e: ContainerError| name_failure(message, armored, symmetric_password.as_ref(), e);
    while msg.is_compressed() {
        msg = msg.decompress().map_err(|e| named(corrupted_from(&e)))?;
    }
    if msg.is_signed() {
        // A signed message may wrap compressed data; decompressing a literal is a no-op.
        msg = msg.decompress().map_err(|e| named(corrupted_from(&e)))?;
    }

    // The header is only there before the data is read.
    let file_name = msg
        .literal_data_header()
        .map(|h| clip(&String::from_utf8_lossy(h.file_name())))
        .filter(|n| !n.is_empty());
    let plaintext = match read_to_zeroizing(&mut msg, MAX_PLAINTEXT_BYTES) {
        Ok(Ok(p)) => p,
        Ok(Err(too)) => return Err(ContainerError::TooLarge { limit: too.limit }),
        Err(e) => return Err(named(io_error(&e))),
    };
    let signature = signature_status(&msg, signer)?;
    Ok(PgpOpened {
        plaintext,
        file_name,
        encrypted,
        signature,
    })
}

/// Encrypts `plaintext` to `recipient` (AES-256, SEIPD v1 with MDC, ZLIB), armored: the
/// form every gpg since 2.0 opens.
pub fn encrypt_pgp_to_key(
    plaintext: &[u8],
    recipient: &PgpPublicKey,
) -> Result<String, ContainerError> {
    check_random()?;
    let failed = || ContainerError::EncryptFailed { what: MESSAGE };
    let mut builder = MessageBuilder::from_reader("", plaintext)
        .seipd_v1(OsCsprng, SymmetricKeyAlgorithm::AES256);
    builder.compression(CompressionAlgorithm::ZLIB);
    match recipient.encryption_subkey() {
        Some(sub) => builder
            .encrypt_to_key(OsCsprng, sub)
            .map_err(|_| failed())?,
        None if recipient.key.primary_key.algorithm().can_encrypt() => builder
            .encrypt_to_key(OsCsprng, &recipient.key.primary_key)
            .map_err(|_| failed())?,
        None => {
            return Err(bad_key(
                "public",
                "it has no key that may encrypt (no encryption subkey)".into(),
            ));
        }
    };
    builder
        .to_armored_string(OsCsprng, ArmorOptions::default())
        .map_err(|_| failed())
}

/// Encrypts `plaintext` with a passphrase (AES-256, iterated and salted SHA-256 S2K, SEIPD v1
/// with MDC, ZLIB), armored, so that `gpg -d` asks for the passphrase and opens it. The
/// passphrase must pass [`super::check_new_passphrase`].
pub fn encrypt_pgp_with_passphrase(
    plaintext: &[u8],
    passphrase: &Passphrase,
) -> Result<String, ContainerError> {
    super::check_new_passphrase(passphrase)?;
    check_random()?;
    let failed = || ContainerError::EncryptFailed { what: MESSAGE };
    let mut builder = MessageBuilder::from_reader("", plaintext)
        .seipd_v1(OsCsprng, SymmetricKeyAlgorithm::AES256);
    builder.compression(CompressionAlgorithm::ZLIB);
    builder
        .encrypt_with_password(StringToKey::new_default(OsCsprng), &password(passphrase))
        .map_err(|_| failed())?;
    builder
        .to_armored_string(OsCsprng, ArmorOptions::default())
        .map_err(|_| failed())
}

/// rPGP's RNG interface (rand 0.8) fed by the OS CSPRNG through `getrandom::fill`, the one
/// random source of the project.
struct OsCsprng;

impl rand_core::RngCore for OsCsprng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        // The interface cannot fail; `check_random` has just shown the source works, and
        // encrypting with anything but real randomness is not an option.
        if getrandom::fill(dest).is_err() {
            panic!("the operating system's random source failed");
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        getrandom::fill(dest).map_err(|e| {
            rand_core::Error::from(
                std::num::NonZeroU32::new(e.raw_os_error().unwrap_or(1).unsigned_abs().max(1))
                    .unwrap_or(std::num::NonZeroU32::MIN),
            )
        })
    }
}

impl rand_core::CryptoRng for OsCsprng {}

fn check_random() -> Result<(), ContainerError> {
    let mut probe = [0u8; 1];
    getrandom::fill(&mut probe).map_err(|_| ContainerError::Random)
}

fn password(passphrase: &Passphrase) -> Password {
    Password::from(passphrase.expose())
}

/// Checks the signatures after the whole message was read (their hashes cover all of it).
fn signature_status(
    msg: &Message<'_>,
    signer: Option<&PgpPublicKey>,
) -> Result<SignatureStatus, ContainerError> {
    let Message::Signed { reader, .. } = msg else {
        return match signer {
            Some(_) => Err(ContainerError::NotSigned),
            None => Ok(SignatureStatus::Unsigned),
        };
    };
    let count = reader.num_signatures();
    let signatures: Vec<&Signature> = (0..count).filter_map(|i| reader.signature(i)).collect();
    verdict(&signatures, signer, |key| {
        (0..count).any(|i| {
            msg.verify_nested_explicit(i, &key.key).is_ok()
                || key
                    .key
                    .public_subkeys
                    .iter()
                    .any(|sub| msg.verify_nested_explicit(i, sub).is_ok())
        })
    })
}

/// What the signatures on a message say: who signed it (not verified without `signer`),
/// verified when `good` finds a good signature by `signer` (or one of its subkeys), else
/// which way it failed.
fn verdict(
    signatures: &[&Signature],
    signer: Option<&PgpPublicKey>,
    good: impl FnOnce(&PgpPublicKey) -> bool,
) -> Result<SignatureStatus, ContainerError> {
    let mut signers: Vec<[u8; 8]> = Vec::new();
    for sig in signatures {
        for id in sig.issuer_key_id() {
            let id = key_id_bytes(id);
            if !signers.contains(&id) {
                signers.push(id);
            }
        }
    }
    let Some(signer) = signer else {
        return Ok(SignatureStatus::NotVerified {
            signers: signers.iter().map(|id| hex_upper(id)).collect(),
        });
    };
    if good(signer) {
        return Ok(SignatureStatus::Verified {
            fingerprint: signer.fingerprint(),
        });
    }
    let ours = signer.key_ids();
    let by_given_key = signers.iter().any(|id| ours.contains(id))
        || signatures.iter().any(|s| {
            s.issuer_fingerprint()
                .iter()
                .any(|fp| fp.as_bytes() == signer.key.primary_key.fingerprint().as_bytes())
        });
    if by_given_key {
        Err(ContainerError::BadSignature {
            given: signer.fingerprint(),
        })
    } else {
        Err(ContainerError::SignedByOtherKey {
            signers: describe_ids(&signers),
            given: signer.fingerprint(),
        })
    }
}

fn starts_clear_signed(message: &[u8]) -> bool {
    let text = message.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(message);
    text.trim_ascii_start().starts_with(super::CLEARTEXT_BEGIN)
}

/// A clear-signed text: not encrypted, so the text is what was read (dash-escaping undone,
/// lines ending in CRLF as signed, trailing spaces dropped as the signature ignores them); the signature is judged as a message's is. rPGP keeps its
/// own copy of the text, which is dropped unwiped: it was readable in the file as uploaded.
fn open_clear_signed(
    message: &[u8],
    signer: Option<&PgpPublicKey>,
) -> Result<PgpOpened, ContainerError> {
    let (msg, _) = CleartextSignedMessage::from_armor(message).map_err(|e| corrupted_from(&e))?;
    let signatures: Vec<&Signature> = msg.signatures().iter().collect();
    let signature = verdict(&signatures, signer, |key| {
        msg.verify(&key.key).is_ok()
            || key
                .key
                .public_subkeys
                .iter()
                .any(|sub| msg.verify(sub).is_ok())
    })?;
    let text = Zeroizing::new(msg.signed_text());
    let mut plaintext = Zeroizing::new(Vec::with_capacity(text.len() + 2));
    plaintext.extend_from_slice(text.as_bytes());
    // The line break before the signature is framing, not signed text (RFC 9580 §7.1); the
    // text's last line ended with one all the same, as `gpg -d` gives it back.
    if !plaintext.is_empty() {
        plaintext.extend_from_slice(b"\r\n");
    }
    if plaintext.len() > MAX_PLAINTEXT_BYTES {
        return Err(ContainerError::TooLarge {
            limit: MAX_PLAINTEXT_BYTES,
        });
    }
    Ok(PgpOpened {
        plaintext,
        file_name: None,
        encrypted: false,
        signature,
    })
}

/// For a symmetric message that failed after decryption: a wrong passphrase when the check
/// bytes say so, else the failure as found.
fn name_failure(
    message: &[u8],
    armored: bool,
    symmetric: Option<&Password>,
    found: ContainerError,
) -> ContainerError {
    match symmetric {
        Some(pw)
            if matches!(found, ContainerError::Corrupted { .. })
                && !symmetric_passphrase_matches(message, armored, pw) =>
        {
            ContainerError::WrongPassphrase { what: MESSAGE }
        }
        _ => found,
    }
}

/// Whether the passphrase decrypts the SEIPD v1 body's check bytes (RFC 4880 §5.13: the last
/// two bytes of the random prefix are repeated). Used only to name a failure: a wrong
/// passphrase fails this check, except one time in 65,536.
fn symmetric_passphrase_matches(message: &[u8], armored: bool, pw: &Password) -> bool {
    let binary: Vec<u8> = if armored {
        let mut out = Vec::new();
        let dearmor = ::pgp::armor::Dearmor::new(message);
        if dearmor
            .take(MAX_PLAINTEXT_BYTES as u64 * 2)
            .read_to_end(&mut out)
            .is_err()
        {
            return true;
        }
        out
    } else {
        message.to_vec()
    };
    let mut skesks = Vec::new();
    let mut body = None;
    for packet in PacketParser::new(&binary[..]) {
        match packet {
            Ok(Packet::SymKeyEncryptedSessionKey(p)) => skesks.push(p),
            Ok(Packet::SymEncryptedProtectedData(p)) => {
                body = Some(p);
                break;
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    let Some(body) = body else {
        return true;
    };
    if !matches!(
        body.config(),
        ::pgp::packet::SymEncryptedProtectedDataConfig::V1
    ) {
        return true;
    }
    skesks.iter().any(|esk| {
        let Ok(session_key) = decrypt_session_key_with_password(esk, pw) else {
            return false;
        };
        let ::pgp::composed::PlainSessionKey::V3_4 { key, sym_alg } = &session_key else {
            return false;
        };
        let bs = sym_alg.block_size();
        let Some(prefix) = body.data().get(..bs + 2) else {
            return false;
        };
        let mut prefix = prefix.to_vec();
        if sym_alg
            .decrypt_with_iv_regular(key.as_ref(), &vec![0u8; bs], &mut prefix)
            .is_err()
        {
            return false;
        }
        prefix.get(bs - 2..bs) == prefix.get(bs..bs + 2)
    })
}

fn pkesk_recipients(esk: &[Esk]) -> Vec<[u8; 8]> {
    esk.iter()
        .filter_map(|e| match e {
            Esk::PublicKeyEncryptedSessionKey(p) => p.id().ok().map(key_id_bytes),
            Esk::SymKeyEncryptedSessionKey(_) => None,
        })
        .collect()
}

fn key_id_bytes(id: &::pgp::types::KeyId) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(id.as_ref());
    out
}

fn hex_upper(bytes: &[u8]) -> String {
    data_encoding::HEXUPPER.encode(bytes)
}

fn describe_ids(ids: &[[u8; 8]]) -> String {
    if ids.is_empty() {
        return "hidden".into();
    }
    ids.iter()
        .take(4)
        .map(|id| hex_upper(id))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Bytes as upper-case hex in groups of four, as gpg shows fingerprints.
fn group_hex(bytes: &[u8]) -> String {
    crate::otp::group_by_four(&hex_upper(bytes))
}

fn user_ids(users: &[::pgp::types::SignedUser]) -> Vec<String> {
    users
        .iter()
        .map(|u| clip(&String::from_utf8_lossy(u.id.id())))
        .collect()
}

fn looks_like_secret_key(bytes: &[u8]) -> bool {
    contains(bytes, b"-----BEGIN PGP PRIVATE KEY BLOCK-----")
}

fn looks_like_public_key(bytes: &[u8]) -> bool {
    contains(bytes, b"-----BEGIN PGP PUBLIC KEY BLOCK-----")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Reads a key of the kind `which` names. A file of the other kind (`other`: how to spot it,
/// and what to give instead) is named as such rather than "not a key"; a key whose
/// self-signatures do not hold is refused.
fn read_key<K>(
    bytes: &[u8],
    which: &'static str,
    read: impl FnOnce(&[u8]) -> Result<K, PgpError>,
    other: (fn(&[u8]) -> bool, &str),
    bindings_hold: impl FnOnce(&K) -> bool,
) -> Result<K, ContainerError> {
    let (is_other_kind, give_instead) = other;
    let key = read(bytes).map_err(|e| {
        let why = if is_other_kind(bytes) {
            give_instead.to_string()
        } else {
            key_parse_reason(&e)
        };
        bad_key(which, why)
    })?;
    if !bindings_hold(&key) {
        return Err(bad_key(
            which,
            "its self-signatures do not check out (damaged or tampered with)".into(),
        ));
    }
    Ok(key)
}

fn bad_key(which: &'static str, why: String) -> ContainerError {
    ContainerError::BadKey { which, why }
}

fn key_parse_reason(e: &PgpError) -> String {
    match classify(e) {
        Failure::Truncated => "the key file ends too early (truncated)".into(),
        Failure::Armor => "the key's armor text is damaged".into(),
        Failure::Unsupported => "it uses an algorithm or version that is not supported".into(),
        _ => "this is not an OpenPGP key file".into(),
    }
}

fn corrupted(why: &'static str) -> ContainerError {
    ContainerError::Corrupted { what: MESSAGE, why }
}

/// The kinds of failure rPGP reports, in our words.
enum Failure {
    Truncated,
    Armor,
    Integrity,
    Unsupported,
    Malformed,
}

fn classify(e: &PgpError) -> Failure {
    match e {
        PgpError::PacketIncomplete { .. } => Failure::Truncated,
        PgpError::IO { source, .. } => classify_io(source),
        PgpError::InvalidArmorWrappers
        | PgpError::InvalidChecksum
        | PgpError::Base64Decode { .. } => Failure::Armor,
        PgpError::MdcError => Failure::Integrity,
        PgpError::Unsupported { .. } | PgpError::Unimplemented { .. } => Failure::Unsupported,
        PgpError::InvalidPacketContent { source } => classify(source),
        _ => Failure::Malformed,
    }
}

fn classify_io(e: &std::io::Error) -> Failure {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<PgpError>()) {
        return classify(inner);
    }
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        Failure::Truncated
    } else {
        Failure::Malformed
    }
}

fn from_failure(f: Failure) -> ContainerError {
    match f {
        Failure::Truncated => corrupted("it ends too early"),
        Failure::Armor => corrupted("its armor text is damaged"),
        Failure::Integrity => corrupted("its integrity check failed"),
        Failure::Unsupported => ContainerError::Unsupported {
            what: MESSAGE,
            why: "an algorithm or packet version",
        },
        Failure::Malformed => corrupted("it is not a well-formed OpenPGP message"),
    }
}

fn corrupted_from(e: &PgpError) -> ContainerError {
    from_failure(classify(e))
}

fn io_error(e: &std::io::Error) -> ContainerError {
    from_failure(classify_io(e))
}

/// SEIPD v1 and v2 as the standard has them, and GnuPG 2.4's OCB packets (its default when a
/// key or `--symmetric` allows AEAD). The unprotected legacy format stays refused.
fn decrypt_options() -> DecryptionOptions {
    DecryptionOptions::new().enable_gnupg_aead()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_grouped_by_four() {
        assert_eq!(group_hex(&[0xAB, 0xCD, 0x01, 0x23, 0x45]), "ABCD 0123 45");
    }

    #[test]
    fn garbage_is_not_a_message() {
        let pass = Passphrase::new("irrelevant passphrase");
        let err = open_pgp(b"\xC3\x0D\x04", PgpUnlock::Passphrase(&pass), None).unwrap_err();
        assert!(matches!(err, ContainerError::Corrupted { .. }), "{err:?}");
    }

    #[test]
    fn symmetric_round_trip_and_wrong_passphrase() {
        let pass = Passphrase::new("a long enough passphrase");
        let armored = encrypt_pgp_with_passphrase(b"serial,secret\n1,ABC\n", &pass).unwrap();
        let opened = open_pgp(armored.as_bytes(), PgpUnlock::Passphrase(&pass), None).unwrap();
        assert_eq!(&opened.plaintext[..], b"serial,secret\n1,ABC\n");
        assert_eq!(opened.signature, SignatureStatus::Unsigned);
        assert!(opened.encrypted);
        let wrong = Passphrase::new("not the passphrase at all");
        let err = open_pgp(armored.as_bytes(), PgpUnlock::Passphrase(&wrong), None).unwrap_err();
        assert_eq!(
            err,
            ContainerError::WrongPassphrase {
                what: "OpenPGP message"
            }
        );
    }
}
