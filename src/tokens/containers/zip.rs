//! Password-protected ZIP archives in memory: opening what 7-Zip, WinZip and `zip -e` make
//! (AES-256 as WinZip AE-1/AE-2, and legacy ZipCrypto with a warning that it is weak), finding
//! the seed file inside, and writing one AES-256 entry for admins who use 7-Zip.
//!
//! Never a temporary file: the archive is read from and written to a `Cursor` over memory.
//! The entry's plaintext comes back wiped on drop; the `zip` crate's inflate and AES
//! buffers are its own and are not.

use std::fmt;
use std::io::{Cursor, Write};

use ::zip::result::ZipError;
use ::zip::write::SimpleFileOptions;
use ::zip::{AesMode, CompressionMethod, ZipArchive, ZipWriter};
use zeroize::Zeroizing;

use super::{ContainerError, MAX_PLAINTEXT_BYTES, Passphrase, read_to_zeroizing};
use crate::otp::clip;

const ARCHIVE: &str = "ZIP archive";

/// Names of files a seed file comes as: CSV (Entra, vendors, privacyIDEA), text (otpauth
/// lists), PSKC (XML).
const SEED_FILE_EXTENSIONS: [&str; 5] = ["csv", "txt", "tsv", "pskc", "xml"];

/// How one entry is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZipEncryption {
    None,
    /// The original PKWARE scheme: broken, a known-plaintext attack recovers its keys.
    ZipCrypto,
    /// WinZip AES (what 7-Zip's `-mem=AES256` writes), with the key size in bits.
    Aes {
        bits: u16,
    },
}

/// One file in the archive, for the list the caller picks from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZipEntryInfo {
    pub name: String,
    /// The size once unpacked, as the archive states it.
    pub size: u64,
    pub encryption: ZipEncryption,
}

/// Something the admin should know about an archive that did open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZipWarning {
    /// ZipCrypto protects nothing against a determined attacker.
    WeakZipCrypto,
    /// The entry was not encrypted at all.
    NotEncrypted,
}

impl fmt::Display for ZipWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ZipWarning::WeakZipCrypto => {
                "the archive uses legacy ZipCrypto, which is weak (its keys can be recovered): ask the vendor for AES-256 or OpenPGP next time"
            }
            ZipWarning::NotEncrypted => {
                "the file in the archive was not encrypted: its seeds travelled unprotected"
            }
        })
    }
}

/// One file taken out of the archive, its content wiped on drop.
pub struct ZipEntry {
    pub name: String,
    pub plaintext: Zeroizing<Vec<u8>>,
    pub encryption: ZipEncryption,
    pub warnings: Vec<ZipWarning>,
}

impl fmt::Debug for ZipEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZipEntry")
            .field("name", &self.name)
            .field(
                "plaintext",
                &format_args!("[redacted; {} bytes]", self.plaintext.len()),
            )
            .field("encryption", &self.encryption)
            .field("warnings", &self.warnings)
            .finish()
    }
}

/// What opening gave: the one seed file, or the list to pick from by name.
#[derive(Debug)]
pub enum ZipOpened {
    Entry(ZipEntry),
    /// Several files could be the seed file; call again with `pick` set to one name.
    Choose(Vec<ZipEntryInfo>),
}

/// Opens a password-protected ZIP archive and takes out the seed file: the entry named
/// `pick`, or else the only CSV/text/PSKC file, or the only file. With several candidates the
/// list comes back (after the password is checked against one of them).
pub fn open_zip(
    archive: &[u8],
    password: &Passphrase,
    pick: Option<&str>,
) -> Result<ZipOpened, ContainerError> {
    let mut zip = ZipArchive::new(Cursor::new(archive)).map_err(|e| match e {
        ZipError::UnsupportedArchive(_) => unsupported("a ZIP feature (multi-volume or similar)"),
        _ => corrupted("its table of contents is missing or damaged; it may be truncated"),
    })?;
    let mut files = Vec::new();
    for index in 0..zip.len() {
        let Ok(entry) = zip.by_index_raw(index) else {
            return Err(corrupted("an entry's header is damaged"));
        };
        if !entry.is_file() {
            continue;
        }
        let Ok(name) = entry.name().map(|n| n.into_owned()) else {
            return Err(corrupted("an entry's name is not valid text"));
        };
        let size = entry.size();
        let encrypted = entry.encrypted();
        drop(entry);
        if is_junk(&name) {
            continue;
        }
        let encryption = if !encrypted {
            ZipEncryption::None
        } else {
            match zip.get_aes_verification_key_and_salt(index) {
                Ok(Some(info)) => ZipEncryption::Aes {
                    bits: match info.aes_mode {
                        AesMode::Aes128 => 128,
                        AesMode::Aes192 => 192,
                        AesMode::Aes256 => 256,
                    },
                },
                Ok(None) => ZipEncryption::ZipCrypto,
                Err(_) => return Err(corrupted("an entry's encryption header is damaged")),
            }
        };
        files.push((
            index,
            ZipEntryInfo {
                name,
                size,
                encryption,
            },
        ));
    }
    if files.is_empty() {
        return Err(ContainerError::EmptyArchive);
    }

    let chosen = match pick {
        Some(wanted) => match files.iter().find(|(_, f)| f.name == wanted) {
            Some(found) => found,
            None => {
                return Err(ContainerError::NoSuchEntry { name: clip(wanted) });
            }
        },
        None => {
            let seed_like: Vec<_> = files
                .iter()
                .filter(|(_, f)| is_seed_like(&f.name))
                .collect();
            match (seed_like.as_slice(), files.as_slice()) {
                ([one], _) => *one,
                ([], [only]) => only,
                _ => {
                    // Several candidates: check the password first, so a wrong one is not
                    // met only after the admin has picked.
                    if let Some((index, _)) = files
                        .iter()
                        .find(|(_, f)| f.encryption != ZipEncryption::None)
                    {
                        zip.by_index_decrypt(*index, password.expose().as_bytes())
                            .map(drop)
                            .map_err(open_error)?;
                    }
                    return Ok(ZipOpened::Choose(
                        files.into_iter().map(|(_, info)| info).collect(),
                    ));
                }
            }
        }
    };
    let (index, info) = chosen.clone();

    let entry = if info.encryption == ZipEncryption::None {
        zip.by_index(index)
    } else {
        zip.by_index_decrypt(index, password.expose().as_bytes())
    }
    .map_err(open_error)?;
    let plaintext = match read_to_zeroizing(entry, MAX_PLAINTEXT_BYTES) {
        Ok(Ok(p)) => p,
        Ok(Err(too)) => return Err(ContainerError::TooLarge { limit: too.limit }),
        Err(e) => {
            return Err(match (e.kind(), info.encryption) {
                (std::io::ErrorKind::UnexpectedEof, _) => corrupted("an entry ends too early"),
                (_, ZipEncryption::ZipCrypto) => corrupted(
                    "the entry fails its checksum; with the weak ZipCrypto a wrong password can also show as this",
                ),
                _ => corrupted("the entry fails its integrity check"),
            });
        }
    };
    let warnings = match info.encryption {
        ZipEncryption::ZipCrypto => vec![ZipWarning::WeakZipCrypto],
        ZipEncryption::None => vec![ZipWarning::NotEncrypted],
        ZipEncryption::Aes { .. } => Vec::new(),
    };
    Ok(ZipOpened::Entry(ZipEntry {
        name: info.name,
        plaintext,
        encryption: info.encryption,
        warnings,
    }))
}

/// Writes a ZIP archive with one entry, Deflate-compressed and encrypted with AES-256
/// (WinZip AE-2), which 7-Zip and WinZip open. The passphrase must pass
/// [`super::check_new_passphrase`].
pub fn write_zip(
    entry_name: &str,
    plaintext: &[u8],
    password: &Passphrase,
) -> Result<Vec<u8>, ContainerError> {
    super::check_new_passphrase(password)?;
    let failed = |_| ContainerError::EncryptFailed { what: ARCHIVE };
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .with_aes_encryption(AesMode::Aes256, password.expose());
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer.start_file(entry_name, options).map_err(failed)?;
    writer
        .write_all(plaintext)
        .map_err(|_| ContainerError::EncryptFailed { what: ARCHIVE })?;
    Ok(writer.finish().map_err(failed)?.into_inner())
}

fn open_error(e: ZipError) -> ContainerError {
    match e {
        ZipError::InvalidPassword => ContainerError::WrongPassphrase { what: ARCHIVE },
        ZipError::UnsupportedArchive(_) => {
            unsupported("an encryption method other than AES or ZipCrypto")
        }
        ZipError::CompressionMethodNotSupported(_) => {
            unsupported("a compression method other than Deflate or Store (repack it with Deflate)")
        }
        ZipError::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            corrupted("an entry ends too early")
        }
        _ => corrupted("an entry's header is damaged"),
    }
}

/// Files that archivers add beside the real content.
fn is_junk(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    name.starts_with("__MACOSX/") || base == ".DS_Store" || base == "Thumbs.db"
}

fn is_seed_like(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(_, ext)| {
        SEED_FILE_EXTENSIONS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext))
    })
}

fn corrupted(why: &'static str) -> ContainerError {
    ContainerError::Corrupted { what: ARCHIVE, why }
}

fn unsupported(why: &'static str) -> ContainerError {
    ContainerError::Unsupported { what: ARCHIVE, why }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass() -> Passphrase {
        Passphrase::new("zip passphrase 42")
    }

    #[test]
    fn round_trip_one_entry() {
        let bytes = write_zip("seeds.csv", b"serial,secret\n1,ABC\n", &pass()).unwrap();
        assert_eq!(super::super::detect(&bytes), super::super::Container::Zip);
        let ZipOpened::Entry(entry) = open_zip(&bytes, &pass(), None).unwrap() else {
            panic!("one entry expected");
        };
        assert_eq!(entry.name, "seeds.csv");
        assert_eq!(&entry.plaintext[..], b"serial,secret\n1,ABC\n");
        assert_eq!(entry.encryption, ZipEncryption::Aes { bits: 256 });
        assert!(entry.warnings.is_empty());
    }

    #[test]
    fn wrong_password_and_truncation_differ() {
        let bytes = write_zip("seeds.csv", b"serial,secret\n", &pass()).unwrap();
        let wrong = Passphrase::new("not the password");
        assert_eq!(
            open_zip(&bytes, &wrong, None).unwrap_err(),
            ContainerError::WrongPassphrase {
                what: "ZIP archive"
            }
        );
        let cut = bytes.get(..bytes.len() - 30).unwrap();
        assert!(matches!(
            open_zip(cut, &pass(), None).unwrap_err(),
            ContainerError::Corrupted { .. }
        ));
    }

    #[test]
    fn seed_like_names() {
        assert!(is_seed_like("dir/Seeds.CSV"));
        assert!(is_seed_like("batch.pskc"));
        assert!(!is_seed_like("readme"));
        assert!(is_junk("__MACOSX/._seeds.csv"));
        assert!(is_junk("a/.DS_Store"));
    }
}
