//! PSKC (RFC 6030), the XML that Feitian, Thales, multiOTP and others ship seeds in: plain
//! keys, keys encrypted with a pre-shared key or a password (PBKDF2) in AES-CBC with the IV
//! prepended, checked by HMAC `ValueMAC`s; and the same written from the batch, plain or
//! encrypted with a password.
//!
//! A wrong key or password, or a `ValueMAC` that does not match, is a refusal: no decrypted
//! bytes are ever taken as a seed unless a MAC vouches for them. Messages never hold a seed,
//! a key or a password.

use std::fmt::Write as _;

use aes::{Aes128, Aes192, Aes256};
use cipher::block_padding::Pkcs7;
use cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use roxmltree::{Document, Node};
use sha1::Sha1;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{Export, FileError, Format, Import, ReadOptions, utf8};
use crate::otp::{Algorithm, Params, Secret, parse_digits, parse_period};
use crate::tokens::TokensError;
use crate::tokens::batch::{Source, TokenRecord, clip, field};
use crate::tokens::validate::check_upn;

pub const PSKC_NS: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
const TOTP_URI: &str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";
const XENC_NS: &str = "http://www.w3.org/2001/04/xmlenc#";
const XENC11_NS: &str = "http://www.w3.org/2009/xmlenc11#";
const PBKDF2_URI: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";
const AES256_CBC_URI: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
const HMAC_SHA256_URI: &str = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256";

/// More PBKDF2 rounds than this in a file is an attack on our CPU, not a protection.
pub const MAX_PBKDF2_ITERATIONS: u32 = 5_000_000;
/// What we write with a password: PBKDF2-HMAC-SHA256 rounds.
pub const DEFAULT_PBKDF2_ITERATIONS: u32 = 200_000;

const BLOCK: usize = 16;

// ---------------------------------------------------------------------------------------
// Crypto helpers

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aes {
    A128,
    A192,
    A256,
}

impl Aes {
    fn from_uri(uri: &str) -> Result<Aes, String> {
        let name = uri.rsplit('#').next().unwrap_or(uri);
        match name {
            "aes128-cbc" => Ok(Aes::A128),
            "aes192-cbc" => Ok(Aes::A192),
            "aes256-cbc" => Ok(Aes::A256),
            _ => Err(format!(
                "encryption '{}' is not supported; AES-128/192/256-CBC are",
                clip(uri)
            )),
        }
    }

    fn key_len(self) -> usize {
        match self {
            Aes::A128 => 16,
            Aes::A192 => 24,
            Aes::A256 => 32,
        }
    }
}

/// Why a value would not decrypt.
#[derive(Debug, PartialEq, Eq)]
enum Undecryptable {
    /// The key has the wrong size for the algorithm (a wrong pre-shared key).
    KeyLength { need: usize, have: usize },
    /// Not IV + whole blocks.
    Shape,
    /// The padding is wrong: almost always a wrong key.
    Padding,
}

fn aes_cbc_decrypt(aes: Aes, key: &[u8], data: &[u8]) -> Result<Zeroizing<Vec<u8>>, Undecryptable> {
    if key.len() != aes.key_len() {
        return Err(Undecryptable::KeyLength {
            need: aes.key_len(),
            have: key.len(),
        });
    }
    if data.len() < 2 * BLOCK || !data.len().is_multiple_of(BLOCK) {
        return Err(Undecryptable::Shape);
    }
    let (iv, body) = data.split_at(BLOCK);
    let mut buf = Zeroizing::new(body.to_vec());
    macro_rules! run {
        ($c:ty) => {
            cbc::Decryptor::<$c>::new_from_slices(key, iv)
                .map_err(|_| Undecryptable::Shape)?
                .decrypt_padded::<Pkcs7>(&mut buf)
                .map(<[u8]>::len)
                .map_err(|_| Undecryptable::Padding)?
        };
    }
    let len = match aes {
        Aes::A128 => run!(Aes128),
        Aes::A192 => run!(Aes192),
        Aes::A256 => run!(Aes256),
    };
    buf.truncate(len);
    Ok(buf)
}

/// AES-256-CBC with a fresh IV, which goes in front of the ciphertext (RFC 6030 §6.1).
fn aes256_cbc_encrypt(key: &[u8], plain: &[u8]) -> Result<Vec<u8>, TokensError> {
    let mut iv = [0u8; BLOCK];
    getrandom::fill(&mut iv).map_err(|e| TokensError::Write(format!("random IV: {e}")))?;
    let mut buf = Zeroizing::new(vec![0u8; plain.len() + BLOCK]);
    buf[..plain.len()].copy_from_slice(plain);
    let ct = cbc::Encryptor::<Aes256>::new_from_slices(key, &iv)
        .map_err(|_| TokensError::Write("AES-256 key size".into()))?
        .encrypt_padded::<Pkcs7>(&mut buf, plain.len())
        .map_err(|_| TokensError::Write("padding".into()))?;
    let mut out = iv.to_vec();
    out.extend_from_slice(ct);
    Ok(out)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MacHash {
    Sha1,
    Sha256,
}

impl MacHash {
    /// `…#hmac-sha1`, `…#hmac-sha256` (the xmldsig and xmldsig-more URIs, or bare names).
    fn from_uri(uri: &str) -> Result<MacHash, String> {
        let name = uri.rsplit('#').next().unwrap_or(uri).to_ascii_lowercase();
        match name.as_str() {
            "hmac-sha1" => Ok(MacHash::Sha1),
            "hmac-sha256" => Ok(MacHash::Sha256),
            _ => Err(format!(
                "MAC '{}' is not supported; HMAC-SHA1 and HMAC-SHA256 are",
                clip(uri)
            )),
        }
    }

    /// Constant-time check of `tag` over `data`.
    fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        match self {
            MacHash::Sha1 => Hmac::<Sha1>::new_from_slice(key).is_ok_and(|mut m| {
                m.update(data);
                m.verify_slice(tag).is_ok()
            }),
            MacHash::Sha256 => Hmac::<Sha256>::new_from_slice(key).is_ok_and(|mut m| {
                m.update(data);
                m.verify_slice(tag).is_ok()
            }),
        }
    }
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<Vec<u8>, TokensError> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .map_err(|_| TokensError::Write("HMAC key".into()))?;
    m.update(data);
    Ok(m.finalize().into_bytes().to_vec())
}

fn base64_decode(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    let compact: Zeroizing<String> =
        Zeroizing::new(text.chars().filter(|c| !c.is_whitespace()).collect());
    BASE64.decode(compact.as_bytes()).ok().map(Zeroizing::new)
}

// ---------------------------------------------------------------------------------------
// Reading

/// The first child element with this local name (namespaces vary between vendors).
fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn path<'a, 'i>(node: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    names.iter().try_fold(node, |n, name| child(n, name))
}

fn text<'a>(node: Option<Node<'a, '_>>) -> Option<&'a str> {
    node.and_then(|n| n.text()).map(str::trim)
}

/// How the file's values are encrypted, as its `EncryptionKey` says.
enum KeySource {
    PreShared {
        name: String,
    },
    Pbkdf2 {
        salt: Zeroizing<Vec<u8>>,
        iterations: u32,
        key_len: Option<usize>,
        prf: MacHash,
    },
}

fn key_source(container: Node<'_, '_>) -> Result<Option<KeySource>, FileError> {
    let Some(ek) = child(container, "EncryptionKey") else {
        return Ok(None);
    };
    if let Some(dk) = child(ek, "DerivedKey") {
        let method = child(dk, "KeyDerivationMethod").ok_or_else(|| {
            FileError("EncryptionKey/DerivedKey has no KeyDerivationMethod".into())
        })?;
        let alg = method.attribute("Algorithm").unwrap_or("");
        if !alg.ends_with("#pbkdf2") {
            return Err(FileError(format!(
                "key derivation '{}' is not supported; PBKDF2 is",
                clip(alg)
            )));
        }
        let params = child(method, "PBKDF2-params")
            .ok_or_else(|| FileError("the PBKDF2 key derivation has no PBKDF2-params".into()))?;
        let salt = text(path(params, &["Salt", "Specified"]))
            .and_then(base64_decode)
            .ok_or_else(|| {
                FileError("PBKDF2-params: Salt/Specified is missing or not base64".into())
            })?;
        let iterations: u32 = text(child(params, "IterationCount"))
            .and_then(|t| t.parse().ok())
            .filter(|&n| n >= 1)
            .ok_or_else(|| {
                FileError(
                    "PBKDF2-params: IterationCount is missing or not a positive number".into(),
                )
            })?;
        if iterations > MAX_PBKDF2_ITERATIONS {
            return Err(FileError(format!(
                "PBKDF2-params: IterationCount {iterations} is over the {MAX_PBKDF2_ITERATIONS} we accept"
            )));
        }
        let key_len = match text(child(params, "KeyLength")) {
            None => None,
            Some(t) => Some(
                t.parse::<usize>()
                    .ok()
                    .filter(|n| matches!(n, 16 | 24 | 32))
                    .ok_or_else(|| {
                        FileError("PBKDF2-params: KeyLength must be 16, 24 or 32".into())
                    })?,
            ),
        };
        let prf = match child(params, "PRF") {
            None => MacHash::Sha1,
            Some(p) => {
                let uri = p.attribute("Algorithm").or(p.text()).unwrap_or("").trim();
                MacHash::from_uri(uri).map_err(|m| FileError(format!("PBKDF2 PRF: {m}")))?
            }
        };
        return Ok(Some(KeySource::Pbkdf2 {
            salt,
            iterations,
            key_len,
            prf,
        }));
    }
    if let Some(name) = child(ek, "KeyName") {
        return Ok(Some(KeySource::PreShared {
            name: clip(name.text().unwrap_or("").trim()),
        }));
    }
    Err(FileError(
        "the file is encrypted to a certificate or in a way we do not read; ask the vendor for a file protected by a pre-shared key or a password".into(),
    ))
}

/// The algorithm of the first encrypted thing in the file, to size a derived key.
fn first_cipher(container: Node<'_, '_>) -> Option<Aes> {
    container
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "EncryptionMethod")
        .find_map(|n| n.attribute("Algorithm").and_then(|a| Aes::from_uri(a).ok()))
}

/// The file's encryption key, once it is known that something is encrypted.
fn encryption_key(
    source: Option<&KeySource>,
    container: Node<'_, '_>,
    options: &ReadOptions,
) -> Result<Zeroizing<Vec<u8>>, FileError> {
    match source {
        None => Err(FileError(
            "the file has encrypted values but no EncryptionKey saying how they were encrypted"
                .into(),
        )),
        Some(KeySource::PreShared { name }) => {
            let named = if name.is_empty() {
                String::new()
            } else {
                format!(" named '{name}'")
            };
            options.keys.psk.clone().ok_or_else(|| {
                FileError(format!(
                    "the file is encrypted with a pre-shared key{named}: give it (hex) with --psk-file"
                ))
            })
        }
        Some(KeySource::Pbkdf2 {
            salt,
            iterations,
            key_len,
            prf,
        }) => {
            let Some(password) = &options.keys.password else {
                return Err(FileError(
                    "the file is encrypted with a password (PBKDF2): give it with --password-file"
                        .into(),
                ));
            };
            let len = key_len
                .or_else(|| first_cipher(container).map(Aes::key_len))
                .unwrap_or(16);
            let mut key = Zeroizing::new(vec![0u8; len]);
            match prf {
                MacHash::Sha1 => {
                    pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt, *iterations, &mut key)
                }
                MacHash::Sha256 => {
                    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, *iterations, &mut key)
                }
            }
            Ok(key)
        }
    }
}

/// What decrypts and checks values: the key, and the MAC with its key.
struct Unlocker {
    key: Zeroizing<Vec<u8>>,
    mac: Option<(MacHash, Zeroizing<Vec<u8>>)>,
    wrong_key_hint: &'static str,
}

fn cipher_of(encrypted: Node<'_, '_>) -> Result<(Aes, Zeroizing<Vec<u8>>), String> {
    let alg = child(encrypted, "EncryptionMethod")
        .and_then(|m| m.attribute("Algorithm"))
        .ok_or("EncryptionMethod/@Algorithm is missing")?;
    let aes = Aes::from_uri(alg)?;
    let data = text(path(encrypted, &["CipherData", "CipherValue"]))
        .and_then(base64_decode)
        .ok_or("CipherData/CipherValue is missing or not base64")?;
    Ok((aes, data))
}

fn unlocker(
    container: Node<'_, '_>,
    source: Option<&KeySource>,
    options: &ReadOptions,
) -> Result<Unlocker, FileError> {
    let key = encryption_key(source, container, options)?;
    let wrong_key_hint = match source {
        Some(KeySource::Pbkdf2 { .. }) => "wrong password",
        _ => "wrong pre-shared key",
    };
    let mac = match child(container, "MACMethod") {
        None => None,
        Some(m) => {
            let hash =
                MacHash::from_uri(m.attribute("Algorithm").unwrap_or("")).map_err(FileError)?;
            let mac_key = match child(m, "MACKey") {
                // RFC 6030's first examples MAC with the encryption key itself.
                None => key.clone(),
                Some(mk) => {
                    let (aes, data) =
                        cipher_of(mk).map_err(|e| FileError(format!("MACMethod/MACKey: {e}")))?;
                    aes_cbc_decrypt(aes, &key, &data).map_err(|e| match e {
                        Undecryptable::KeyLength { need, have } => FileError(format!(
                            "{wrong_key_hint}: the file needs a {need}-byte key, this one is {have} bytes"
                        )),
                        Undecryptable::Shape => {
                            FileError("MACMethod/MACKey: the ciphertext is not IV plus whole blocks".into())
                        }
                        Undecryptable::Padding => FileError(format!(
                            "{wrong_key_hint}: the file's MAC key does not decrypt with it"
                        )),
                    })?
                }
            };
            Some((hash, mac_key))
        }
    };
    Ok(Unlocker {
        key,
        mac,
        wrong_key_hint,
    })
}

/// Decrypts one `Secret` whose `EncryptedValue` is `encrypted`, checked by its ValueMAC.
fn unlock(
    unlocker: &Unlocker,
    secret: Node<'_, '_>,
    encrypted: Node<'_, '_>,
) -> Result<Zeroizing<Vec<u8>>, (bool, String)> {
    let (aes, data) = cipher_of(encrypted).map_err(|e| (false, e))?;
    let Some((hash, mac_key)) = &unlocker.mac else {
        return Err((
            false,
            "is encrypted but the file has no MACMethod, so nothing proves the key is right; ask the vendor for a file with ValueMACs".into(),
        ));
    };
    let Some(tag) = text(child(secret, "ValueMAC")).and_then(base64_decode) else {
        return Err((
            false,
            "is encrypted but has no ValueMAC, so nothing proves the key is right".into(),
        ));
    };
    let mac_ok_on_cipher = hash.verify(mac_key, &data, &tag);
    let plain = match aes_cbc_decrypt(aes, &unlocker.key, &data) {
        Ok(p) => p,
        Err(Undecryptable::KeyLength { need, have }) => {
            return Err((
                true,
                format!(
                    "{}: the value needs a {need}-byte key, this one is {have} bytes",
                    unlocker.wrong_key_hint
                ),
            ));
        }
        Err(Undecryptable::Shape) => {
            return Err((false, "the ciphertext is not IV plus whole blocks".into()));
        }
        Err(Undecryptable::Padding) => {
            return Err((
                true,
                format!("does not decrypt ({}?)", unlocker.wrong_key_hint),
            ));
        }
    };
    // RFC 6030 MACs the encrypted bytes; some vendors MAC the plain value instead.
    if mac_ok_on_cipher || hash.verify(mac_key, &plain, &tag) {
        Ok(plain)
    } else {
        Err((
            true,
            format!(
                "the ValueMAC does not match ({} or a damaged file)",
                unlocker.wrong_key_hint
            ),
        ))
    }
}

fn line_of(doc: &Document<'_>, node: Node<'_, '_>) -> usize {
    doc.text_pos_at(node.range().start).row as usize
}

/// Reads a PSKC file. Refusals are at the line where each `KeyPackage` starts.
pub fn read(bytes: &[u8], options: &ReadOptions) -> Result<Import, FileError> {
    let text_in = utf8(bytes)?;
    let doc = Document::parse(text_in).map_err(|e| {
        let pos = e.pos();
        FileError(format!(
            "not well-formed XML (or it has a DTD, which we refuse) at line {}, column {}",
            pos.row, pos.col
        ))
    })?;
    let container = doc.root_element();
    if container.tag_name().name() != "KeyContainer" {
        return Err(FileError(format!(
            "not PSKC: the root element is '{}', not KeyContainer",
            clip(container.tag_name().name())
        )));
    }
    let mut import = Import::new(Format::Pskc);
    if container.tag_name().namespace() != Some(PSKC_NS) {
        import.notes.push(format!(
            "the KeyContainer is not in the RFC 6030 namespace {PSKC_NS}; read anyway"
        ));
    }
    let source = key_source(container)?;
    let mut unlocker_cache: Option<Unlocker> = None;
    let mut encrypted_seen = 0usize;
    let mut wrong_key = 0usize;
    let mut userid_noted = false;

    for package in container
        .children()
        .filter(|n| n.is_element() && n.tag_name().name() == "KeyPackage")
    {
        let line = line_of(&doc, package);
        let device = child(package, "DeviceInfo");
        let Some(key) = child(package, "Key") else {
            import.refuse(line, field::LINE, "KeyPackage has no Key");
            continue;
        };
        let alg = key.attribute("Algorithm").unwrap_or("");
        let lower = alg.to_ascii_lowercase();
        if lower.ends_with(":hotp") || lower.ends_with("#hotp") {
            import.refuse(
                line,
                field::TYPE,
                "HOTP key: counter-based, Entra takes TOTP only",
            );
            continue;
        }
        if !(lower.ends_with(":totp") || lower.ends_with("#totp")) {
            import.refuse(
                line,
                field::TYPE,
                format!("Key Algorithm '{}' is not TOTP ({TOTP_URI})", clip(alg)),
            );
            continue;
        }
        let serial = text(device.and_then(|d| child(d, "SerialNo")))
            .filter(|s| !s.is_empty())
            .or_else(|| key.attribute("Id").map(str::trim))
            .unwrap_or("")
            .to_string();
        let manufacturer = text(device.and_then(|d| child(d, "Manufacturer")))
            .unwrap_or("")
            .to_string();
        let model = text(device.and_then(|d| child(d, "Model")))
            .unwrap_or("")
            .to_string();

        let params_node = child(key, "AlgorithmParameters");
        let algorithm = match text(params_node.and_then(|p| child(p, "Suite"))) {
            None | Some("") => Algorithm::Sha1,
            Some(s) => match s.parse::<Algorithm>() {
                Ok(a) => a,
                Err(_) => {
                    import.refuse(
                        line,
                        field::ALGORITHM,
                        format!("Suite '{}' is not HMAC-SHA1, -SHA256 or -SHA512", clip(s)),
                    );
                    continue;
                }
            },
        };
        let response = params_node.and_then(|p| child(p, "ResponseFormat"));
        if let Some(enc) = response.and_then(|r| r.attribute("Encoding"))
            && !enc.eq_ignore_ascii_case("DECIMAL")
        {
            import.refuse(
                line,
                field::DIGITS,
                format!("ResponseFormat Encoding '{}' is not DECIMAL", clip(enc)),
            );
            continue;
        }
        let digits = match response.and_then(|r| r.attribute("Length")) {
            None => 6,
            Some(l) => match parse_digits(l) {
                Ok(d) => d,
                Err(e) => {
                    import.refuse(line, field::DIGITS, e.to_string());
                    continue;
                }
            },
        };
        let data = child(key, "Data");
        let period = match text(data.and_then(|d| path(d, &["TimeInterval", "PlainValue"]))) {
            None => 30,
            Some(p) => match parse_period(p) {
                Ok(p) => p,
                Err(e) => {
                    import.refuse(line, field::INTERVAL, e.to_string());
                    continue;
                }
            },
        };
        let Some(secret_node) = data.and_then(|d| child(d, "Secret")) else {
            import.refuse(line, field::SECRET, "Key has no Data/Secret");
            continue;
        };
        let bytes = if let Some(plain) = child(secret_node, "PlainValue") {
            match base64_decode(plain.text().unwrap_or("")) {
                Some(b) => b,
                None => {
                    import.refuse(line, field::SECRET, "PlainValue is not base64");
                    continue;
                }
            }
        } else if let Some(encrypted) = child(secret_node, "EncryptedValue") {
            encrypted_seen += 1;
            if unlocker_cache.is_none() {
                unlocker_cache = Some(unlocker(container, source.as_ref(), options)?);
            }
            let Some(u) = unlocker_cache.as_ref() else {
                continue;
            };
            match unlock(u, secret_node, encrypted) {
                Ok(b) => b,
                Err((key_trouble, reason)) => {
                    if key_trouble {
                        wrong_key += 1;
                    }
                    import.refuse(line, field::SECRET, reason);
                    continue;
                }
            }
        } else {
            import.refuse(
                line,
                field::SECRET,
                "Secret has neither PlainValue nor EncryptedValue",
            );
            continue;
        };
        let secret = match Secret::from_bytes(bytes.to_vec()) {
            Ok(s) => s,
            Err(e) => {
                import.refuse(line, field::SECRET, e.to_string());
                continue;
            }
        };
        let Ok(params) = Params::new(algorithm, digits, period) else {
            continue;
        };
        let user = text(child(key, "UserId"))
            .or_else(|| text(device.and_then(|d| child(d, "UserId"))))
            .filter(|u| !u.is_empty());
        let upn = match user {
            Some(u) if check_upn(u).is_ok() => Some(u.to_string()),
            Some(_) => {
                if !userid_noted {
                    import
                        .notes
                        .push("a UserId that is not a UPN (name@domain) was left out".into());
                    userid_noted = true;
                }
                None
            }
            None => None,
        };
        let record = TokenRecord {
            serial,
            secret,
            params,
            manufacturer,
            model,
            upn,
            source: Source::Imported(Format::Pskc),
            added_at: options.added_at,
        };
        import.offer(line, record);
    }
    if encrypted_seen > 0 && wrong_key == encrypted_seen {
        let hint = unlocker_cache
            .as_ref()
            .map_or("wrong key", |u| u.wrong_key_hint);
        return Err(FileError(format!(
            "{hint}: none of the file's {encrypted_seen} encrypted seeds decrypts and matches its ValueMAC"
        )));
    }
    if import.candidates.is_empty() && import.refused.is_empty() {
        return Err(FileError("the PSKC file holds no KeyPackage".into()));
    }
    Ok(import)
}

// ---------------------------------------------------------------------------------------
// Writing

/// Protection for a written file: a password turned into an AES-256 key by PBKDF2.
pub struct PskcPassword<'a> {
    pub password: &'a str,
    pub iterations: u32,
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn suite(a: Algorithm) -> &'static str {
    match a {
        Algorithm::Sha1 => "HMAC-SHA1",
        Algorithm::Sha256 => "HMAC-SHA256",
        Algorithm::Sha512 => "HMAC-SHA512",
    }
}

/// The batch as PSKC, every token included, children in the schema's order. With a
/// password: PBKDF2-HMAC-SHA256 (16-byte salt) to an AES-256-CBC key, a random HMAC-SHA256
/// MAC key sent encrypted, and a ValueMAC over each encrypted seed.
pub fn write(
    records: &[TokenRecord],
    password: Option<&PskcPassword<'_>>,
) -> Result<Export, TokensError> {
    let w = |e: std::fmt::Error| TokensError::Write(e.to_string());
    let mut out = Zeroizing::new(String::with_capacity(records.len() * 900 + 1200));
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // The AES key and the MAC key, when a password protects the file.
    let mut crypt: Option<[Zeroizing<Vec<u8>>; 2]> = None;
    match password {
        None => {
            writeln!(
                out,
                "<pskc:KeyContainer xmlns:pskc=\"{PSKC_NS}\" Version=\"1.0\">"
            )
            .map_err(w)?;
        }
        Some(p) => {
            if p.password.is_empty() {
                return Err(TokensError::Write("the password is empty".into()));
            }
            let mut salt = [0u8; 16];
            let mut mac_key = Zeroizing::new(vec![0u8; 32]);
            getrandom::fill(&mut salt)
                .map_err(|e| TokensError::Write(format!("random salt: {e}")))?;
            getrandom::fill(&mut mac_key)
                .map_err(|e| TokensError::Write(format!("random MAC key: {e}")))?;
            let mut key = Zeroizing::new(vec![0u8; 32]);
            pbkdf2::pbkdf2_hmac::<Sha256>(
                p.password.as_bytes(),
                &salt,
                p.iterations.max(1),
                &mut key,
            );
            let mac_key_ct = aes256_cbc_encrypt(&key, &mac_key)?;
            writeln!(
                out,
                "<pskc:KeyContainer xmlns:pskc=\"{PSKC_NS}\" xmlns:xenc=\"{XENC_NS}\" xmlns:xenc11=\"{XENC11_NS}\" Version=\"1.0\">"
            )
            .map_err(w)?;
            write!(
                out,
                concat!(
                    " <pskc:EncryptionKey>\n",
                    "  <xenc11:DerivedKey>\n",
                    "   <xenc11:KeyDerivationMethod Algorithm=\"{pbkdf2}\">\n",
                    "    <xenc11:PBKDF2-params>\n",
                    "     <Salt>\n      <Specified>{salt}</Specified>\n     </Salt>\n",
                    "     <IterationCount>{iterations}</IterationCount>\n",
                    "     <KeyLength>32</KeyLength>\n",
                    "     <PRF Algorithm=\"{prf}\"/>\n",
                    "    </xenc11:PBKDF2-params>\n",
                    "   </xenc11:KeyDerivationMethod>\n",
                    "  </xenc11:DerivedKey>\n",
                    " </pskc:EncryptionKey>\n",
                    " <pskc:MACMethod Algorithm=\"{mac}\">\n",
                    "  <pskc:MACKey>\n",
                    "   <xenc:EncryptionMethod Algorithm=\"{aes}\"/>\n",
                    "   <xenc:CipherData>\n    <xenc:CipherValue>{mac_key}</xenc:CipherValue>\n   </xenc:CipherData>\n",
                    "  </pskc:MACKey>\n",
                    " </pskc:MACMethod>\n",
                ),
                pbkdf2 = PBKDF2_URI,
                salt = BASE64.encode(&salt),
                iterations = p.iterations.max(1),
                prf = HMAC_SHA256_URI,
                mac = HMAC_SHA256_URI,
                aes = AES256_CBC_URI,
                mac_key = BASE64.encode(&mac_key_ct),
            )
            .map_err(w)?;
            crypt = Some([key, mac_key]);
        }
    }
    for r in records {
        out.push_str(" <pskc:KeyPackage>\n  <pskc:DeviceInfo>\n");
        if !r.manufacturer.is_empty() {
            writeln!(
                out,
                "   <pskc:Manufacturer>{}</pskc:Manufacturer>",
                escape(&r.manufacturer)
            )
            .map_err(w)?;
        }
        writeln!(
            out,
            "   <pskc:SerialNo>{}</pskc:SerialNo>",
            escape(&r.serial)
        )
        .map_err(w)?;
        if !r.model.is_empty() {
            writeln!(out, "   <pskc:Model>{}</pskc:Model>", escape(&r.model)).map_err(w)?;
        }
        out.push_str("  </pskc:DeviceInfo>\n");
        writeln!(
            out,
            "  <pskc:Key Id=\"{}\" Algorithm=\"{TOTP_URI}\">",
            escape(&r.serial)
        )
        .map_err(w)?;
        writeln!(
            out,
            "   <pskc:AlgorithmParameters>\n    <pskc:Suite>{}</pskc:Suite>\n    <pskc:ResponseFormat Encoding=\"DECIMAL\" Length=\"{}\"/>\n   </pskc:AlgorithmParameters>",
            suite(r.algorithm()),
            r.digits()
        )
        .map_err(w)?;
        out.push_str("   <pskc:Data>\n    <pskc:Secret>\n");
        match &crypt {
            None => {
                let b64 = Zeroizing::new(BASE64.encode(r.secret.as_bytes()));
                writeln!(
                    out,
                    "     <pskc:PlainValue>{}</pskc:PlainValue>",
                    b64.as_str()
                )
                .map_err(w)?;
            }
            Some([key, mac_key]) => {
                let ct = aes256_cbc_encrypt(key, r.secret.as_bytes())?;
                let mac = hmac_sha256(mac_key, &ct)?;
                write!(
                    out,
                    concat!(
                        "     <pskc:EncryptedValue>\n",
                        "      <xenc:EncryptionMethod Algorithm=\"{aes}\"/>\n",
                        "      <xenc:CipherData>\n       <xenc:CipherValue>{ct}</xenc:CipherValue>\n      </xenc:CipherData>\n",
                        "     </pskc:EncryptedValue>\n",
                        "     <pskc:ValueMAC>{mac}</pskc:ValueMAC>\n",
                    ),
                    aes = AES256_CBC_URI,
                    ct = BASE64.encode(&ct),
                    mac = BASE64.encode(&mac),
                )
                .map_err(w)?;
            }
        }
        out.push_str("    </pskc:Secret>\n");
        writeln!(
            out,
            "    <pskc:Time>\n     <pskc:PlainValue>0</pskc:PlainValue>\n    </pskc:Time>\n    <pskc:TimeInterval>\n     <pskc:PlainValue>{}</pskc:PlainValue>\n    </pskc:TimeInterval>\n   </pskc:Data>",
            r.period()
        )
        .map_err(w)?;
        if let Some(upn) = &r.upn {
            writeln!(out, "   <pskc:UserId>{}</pskc:UserId>", escape(upn)).map_err(w)?;
        }
        out.push_str("   <pskc:Policy>\n    <pskc:KeyUsage>OTP</pskc:KeyUsage>\n   </pskc:Policy>\n  </pskc:Key>\n </pskc:KeyPackage>\n");
    }
    out.push_str("</pskc:KeyContainer>\n");
    Ok(Export::from_text(out, records.len(), Vec::new()))
}
