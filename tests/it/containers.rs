//! Encrypted seed files against the independent tools: messages GnuPG makes open in process,
//! what we encrypt opens with `gpg -d`, ZIP archives from 7-Zip and Info-ZIP open, ours open
//! with `7zz x`; wrong secrets and damaged files each get their own message; the gpg-over-pipes
//! path works; and no opener panics on or repeats arbitrary input.
//!
//! Needs `gpg` (Debian gnupg), `7zz` (Debian 7zip) and `zip` (Debian zip). Every GnuPG home
//! and work directory is a `tempfile` directory, removed (and its gpg-agent stopped) on drop.

use std::path::Path;

use proptest::prelude::*;
use tempfile::TempDir;

use crate::support::gpg::{GnuPg, KEY_PASS, text};
use crate::support::tools::{archiver, zip_by_7zip_aes, zip_by_info_zip};
use totp_toolset::cli::gpg::{Gpg, GpgError};
use totp_toolset::tokens::containers::{
    Container, ContainerError, Passphrase, PgpPublicKey, PgpSecretKey, PgpUnlock, SignatureStatus,
    ZipEncryption, ZipOpened, ZipWarning, detect, encrypt_pgp_to_key, encrypt_pgp_with_passphrase,
    open_pgp, open_zip, write_zip,
};

const PLAIN: &[u8] = b"upn,serial number,secret key,time interval,manufacturer,model\r\n\
alice@contoso.com,1234567,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Token2,C202\r\n";
const SYM_PASS: &str = "symmetric passphrase 1";

impl GnuPg {
    /// gpg's output for `args` on PLAIN, which must succeed.
    fn make(&self, args: &[&str]) -> Vec<u8> {
        self.make_from(args, PLAIN)
    }
}

/// The home's key pair, parsed by us from gpg's export.
fn key_pair(gpg: &GnuPg) -> (PgpSecretKey, PgpPublicKey) {
    (
        PgpSecretKey::parse(&gpg.secret_key()).expect("secret key"),
        PgpPublicKey::parse(&gpg.public_key()).expect("public key"),
    )
}

fn pass(s: &str) -> Passphrase {
    Passphrase::new(s)
}

fn with_key<'a>(key: &'a PgpSecretKey, passphrase: &'a Passphrase) -> PgpUnlock<'a> {
    PgpUnlock::Key { key, passphrase }
}

#[test]
fn messages_gpg_made_open_in_process() {
    let gpg = GnuPg::new("Vendor <seeds@vendor.example>");
    let (secret, public) = key_pair(&gpg);
    assert_eq!(secret.fingerprint(), public.fingerprint());
    let key_pass = pass(KEY_PASS);
    let sym_pass = pass(SYM_PASS);
    let to_key = ["-r", gpg.fingerprint.as_str(), "--encrypt"];
    let cases: Vec<(&str, Vec<&str>, bool)> = vec![
        ("to the key, binary", to_key.to_vec(), true),
        (
            "to the key, armored",
            [&["--armor"][..], &to_key].concat(),
            true,
        ),
        (
            "to the key, uncompressed",
            [&["--compress-algo", "none"][..], &to_key].concat(),
            true,
        ),
        (
            "to the key, ZIP",
            [&["--compress-algo", "zip"][..], &to_key].concat(),
            true,
        ),
        (
            "to the key, BZIP2",
            [&["--compress-algo", "bzip2"][..], &to_key].concat(),
            true,
        ),
        (
            "symmetric, binary",
            vec!["--passphrase", SYM_PASS, "--symmetric"],
            false,
        ),
        (
            "symmetric, armored, uncompressed",
            vec![
                "--passphrase",
                SYM_PASS,
                "--armor",
                "--compress-algo",
                "none",
                "--symmetric",
            ],
            false,
        ),
    ];
    for (what, args, to_key) in cases {
        let message = gpg.make(&args);
        let armored = args.contains(&"--armor");
        assert_eq!(detect(&message), Container::OpenPgp { armored }, "{what}");
        let unlock = if to_key {
            with_key(&secret, &key_pass)
        } else {
            PgpUnlock::Passphrase(&sym_pass)
        };
        let opened = open_pgp(&message, unlock, None).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(&opened.plaintext[..], PLAIN, "{what}");
        assert!(opened.encrypted, "{what}");
        assert_eq!(opened.signature, SignatureStatus::Unsigned, "{what}");
    }
}

#[test]
fn signatures_are_verified_with_the_signers_key_and_reported_otherwise() {
    let gpg = GnuPg::new("Vendor <signer@vendor.example>");
    let other = GnuPg::new("Someone <else@example.org>");
    let (secret, signer) = key_pair(&gpg);
    let stranger = PgpPublicKey::parse(&other.public_key()).expect("other public key");
    let key_pass = pass(KEY_PASS);
    let signed = gpg.sign_and_encrypt(&gpg.fingerprint, false, PLAIN);

    let verified = open_pgp(&signed, with_key(&secret, &key_pass), Some(&signer)).unwrap();
    assert_eq!(&verified.plaintext[..], PLAIN);
    assert_eq!(
        verified.signature,
        SignatureStatus::Verified {
            fingerprint: signer.fingerprint()
        }
    );
    assert!(
        verified
            .signature
            .describe()
            .starts_with("signature verified")
    );

    let unverified = open_pgp(&signed, with_key(&secret, &key_pass), None).unwrap();
    assert_eq!(&unverified.plaintext[..], PLAIN);
    let SignatureStatus::NotVerified { signers } = &unverified.signature else {
        panic!("expected not verified, got {:?}", unverified.signature);
    };
    assert_eq!(signers.len(), 1);
    assert!(
        gpg.fingerprint.ends_with(&signers[0]),
        "signer key ID {signers:?} is the end of {}",
        gpg.fingerprint
    );
    assert!(unverified.signature.describe().contains("NOT verified"));

    let err = open_pgp(&signed, with_key(&secret, &key_pass), Some(&stranger)).unwrap_err();
    assert!(
        matches!(err, ContainerError::SignedByOtherKey { .. }),
        "{err:?}"
    );

    // Signed and symmetric (gpg uses the one passphrase for the key and the message).
    let sym_signed = gpg.make(&["--passphrase", KEY_PASS, "--sign", "--symmetric"]);
    let opened = open_pgp(&sym_signed, PgpUnlock::Passphrase(&key_pass), Some(&signer)).unwrap();
    assert_eq!(&opened.plaintext[..], PLAIN);
    assert!(matches!(opened.signature, SignatureStatus::Verified { .. }));

    // Only signed, not encrypted: opened, and still never trusted without the key.
    let only_signed = gpg.make(&["--passphrase", KEY_PASS, "--sign"]);
    let opened = open_pgp(&only_signed, PgpUnlock::Passphrase(&key_pass), None).unwrap();
    assert!(!opened.encrypted);
    assert!(matches!(
        opened.signature,
        SignatureStatus::NotVerified { .. }
    ));

    // An unsigned message with a signer key given is refused, not waved through.
    let unsigned = gpg.make(&["-r", &gpg.fingerprint, "--encrypt"]);
    assert_eq!(
        open_pgp(&unsigned, with_key(&secret, &key_pass), Some(&signer)).unwrap_err(),
        ContainerError::NotSigned
    );

    // A clear-signed text (`gpg --clearsign`, how some vendors sign a readable seed list)
    // opens as what was signed, judged alike; a text changed after signing is refused.
    let clear = gpg.make(&["--passphrase", KEY_PASS, "--clearsign"]);
    assert_eq!(detect(&clear), Container::OpenPgp { armored: true });
    let opened = open_pgp(&clear, PgpUnlock::Passphrase(&key_pass), Some(&signer)).unwrap();
    assert_eq!(&opened.plaintext[..], PLAIN);
    assert!(!opened.encrypted);
    assert!(matches!(opened.signature, SignatureStatus::Verified { .. }));
    let opened = open_pgp(&clear, PgpUnlock::Passphrase(&key_pass), None).unwrap();
    assert_eq!(&opened.plaintext[..], PLAIN);
    assert!(opened.signature.describe().contains("NOT verified"));
    let err = open_pgp(&clear, PgpUnlock::Passphrase(&key_pass), Some(&stranger)).unwrap_err();
    assert!(
        matches!(err, ContainerError::SignedByOtherKey { .. }),
        "{err:?}"
    );
    let tampered = String::from_utf8(clear)
        .unwrap()
        .replace("alice@", "mallory@");
    let err = open_pgp(
        tampered.as_bytes(),
        PgpUnlock::Passphrase(&key_pass),
        Some(&signer),
    );
    assert!(
        matches!(err, Err(ContainerError::BadSignature { .. })),
        "{err:?}"
    );
}

#[test]
fn what_we_encrypt_gpg_decrypts_to_the_same_bytes() {
    let gpg = GnuPg::new("Admin <admin@contoso.example>");
    let recipient = PgpPublicKey::parse(&gpg.public_key()).expect("public key");
    let grouped: String = gpg
        .fingerprint
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(recipient.fingerprint(), grouped);
    assert_eq!(recipient.user_ids(), ["Admin <admin@contoso.example>"]);

    let to_key = encrypt_pgp_to_key(PLAIN, &recipient).expect("encrypt to key");
    assert!(to_key.starts_with("-----BEGIN PGP MESSAGE-----"));
    let out = gpg.decrypt(to_key.as_bytes(), KEY_PASS);
    assert!(out.status.success(), "gpg -d: {}", text(&out.stderr));
    assert_eq!(out.stdout, PLAIN);

    let symmetric = encrypt_pgp_with_passphrase(PLAIN, &pass(SYM_PASS)).expect("encrypt");
    let out = gpg.decrypt(symmetric.as_bytes(), SYM_PASS);
    assert!(out.status.success(), "gpg -d: {}", text(&out.stderr));
    assert_eq!(out.stdout, PLAIN);

    // Our own files open in process too.
    let secret = PgpSecretKey::parse(&gpg.secret_key()).unwrap();
    let key_pass = pass(KEY_PASS);
    let opened = open_pgp(to_key.as_bytes(), with_key(&secret, &key_pass), None).unwrap();
    assert_eq!(&opened.plaintext[..], PLAIN);

    // Hand-on passphrases obey the policy.
    assert!(matches!(
        encrypt_pgp_with_passphrase(PLAIN, &pass("short")),
        Err(ContainerError::PassphraseTooShort { .. })
    ));
}

#[test]
fn rsa_keys_work_both_ways() {
    let gpg = GnuPg::with_algorithm("Vendor <rsa@vendor.example>", "rsa2048");
    let (secret, public) = key_pair(&gpg);
    let key_pass = pass(KEY_PASS);
    let theirs = gpg.sign_and_encrypt(&gpg.fingerprint, true, PLAIN);
    let opened = open_pgp(&theirs, with_key(&secret, &key_pass), Some(&public)).unwrap();
    assert_eq!(&opened.plaintext[..], PLAIN);
    assert!(matches!(opened.signature, SignatureStatus::Verified { .. }));
    let ours = encrypt_pgp_to_key(PLAIN, &public).unwrap();
    let out = gpg.decrypt(ours.as_bytes(), KEY_PASS);
    assert!(out.status.success(), "gpg -d: {}", text(&out.stderr));
    assert_eq!(out.stdout, PLAIN);
}

#[test]
fn wrong_secrets_and_damaged_messages_get_their_own_messages() {
    let gpg = GnuPg::new("Vendor <damage@vendor.example>");
    let other = GnuPg::new("Other <other@example.org>");
    let secret = PgpSecretKey::parse(&gpg.secret_key()).unwrap();
    let other_secret = PgpSecretKey::parse(&other.secret_key()).unwrap();
    let key_pass = pass(KEY_PASS);
    let wrong = pass("not the passphrase");
    let symmetric = gpg.make(&["--passphrase", SYM_PASS, "--symmetric"]);
    let to_key = gpg.make(&["--armor", "-r", &gpg.fingerprint, "--encrypt"]);

    let sym_wrong = open_pgp(&symmetric, PgpUnlock::Passphrase(&wrong), None).unwrap_err();
    assert_eq!(
        sym_wrong.to_string(),
        "wrong passphrase: it does not open this OpenPGP message"
    );
    let key_wrong = open_pgp(&to_key, with_key(&secret, &wrong), None).unwrap_err();
    assert_eq!(
        key_wrong.to_string(),
        "wrong passphrase: it does not open this private key"
    );
    assert!(sym_wrong.is_wrong_secret() && key_wrong.is_wrong_secret());
    let not_ours = open_pgp(&to_key, with_key(&other_secret, &key_pass), None).unwrap_err();
    assert!(
        matches!(not_ours, ContainerError::NotForThisKey { .. }),
        "{not_ours:?}"
    );
    let needs_key = open_pgp(&to_key, PgpUnlock::Passphrase(&key_pass), None).unwrap_err();
    assert!(
        matches!(needs_key, ContainerError::NeedsPrivateKey { .. }),
        "{needs_key:?}"
    );

    let truncated_binary = symmetric.get(..symmetric.len() - 20).unwrap();
    let cut_armored = to_key.get(..to_key.len() / 2).unwrap();
    for (what, message, unlock) in [
        (
            "binary, cut",
            truncated_binary,
            PgpUnlock::Passphrase(&pass(SYM_PASS)),
        ),
        ("armored, cut", cut_armored, with_key(&secret, &key_pass)),
    ] {
        let err = open_pgp(message, unlock, None).unwrap_err();
        assert!(
            matches!(err, ContainerError::Corrupted { .. }),
            "{what}: {err:?}"
        );
        assert!(!err.is_wrong_secret(), "{what}");
        assert!(
            err.to_string().contains("damaged or truncated"),
            "{what}: {err}"
        );
        assert!(!err.to_string().contains(SYM_PASS) && !err.to_string().contains(KEY_PASS));
    }

    // A flipped byte in the encrypted body, with the right passphrase: damaged, not "wrong".
    let mut flipped = gpg.make(&[
        "--passphrase",
        SYM_PASS,
        "--compress-algo",
        "none",
        "--symmetric",
    ]);
    let at = flipped.len() - 30;
    flipped[at] ^= 0x01;
    let err = open_pgp(&flipped, PgpUnlock::Passphrase(&pass(SYM_PASS)), None).unwrap_err();
    assert_eq!(
        err,
        ContainerError::Corrupted {
            what: "OpenPGP message",
            why: "its integrity check failed"
        }
    );

    // A key file of the wrong kind says which kind is needed.
    let err = PgpSecretKey::parse(&gpg.public_key()).unwrap_err();
    assert!(err.to_string().contains("this is a public key"), "{err}");
    let err = PgpPublicKey::parse(&gpg.secret_key()).unwrap_err();
    assert!(err.to_string().contains("this is a private key"), "{err}");
}

#[test]
fn gpg_over_pipes_decrypts_and_reports_what_gpg_says() {
    let gpg = GnuPg::new("Vendor <pipes@vendor.example>");
    let runner = Gpg::default().with_homedir(gpg.home.path());
    let symmetric = gpg.make(&["--passphrase", SYM_PASS, "--armor", "--symmetric"]);
    let done = runner
        .decrypt(&symmetric, Some(&pass(SYM_PASS)))
        .expect("symmetric");
    assert_eq!(&done.plaintext[..], PLAIN);
    assert_eq!(done.signature, SignatureStatus::Unsigned);

    let signed = gpg.sign_and_encrypt(&gpg.fingerprint, false, PLAIN);
    let done = runner
        .decrypt(&signed, Some(&pass(KEY_PASS)))
        .expect("to the key");
    assert_eq!(&done.plaintext[..], PLAIN);
    assert!(
        matches!(&done.signature, SignatureStatus::Verified { fingerprint }
            if fingerprint.replace(' ', "") == gpg.fingerprint),
        "{:?}",
        done.signature
    );

    assert_eq!(
        runner
            .decrypt(&symmetric, Some(&pass("wrong passphrase")))
            .unwrap_err(),
        GpgError::WrongPassphrase
    );
    assert_eq!(
        runner
            .decrypt(&signed, Some(&pass("wrong passphrase")))
            .unwrap_err(),
        GpgError::WrongPassphrase
    );
    // No passphrase given and no pinentry that can ask (no terminal here): said so.
    assert_eq!(
        runner.decrypt(&symmetric, None).unwrap_err(),
        GpgError::NoPassphrase
    );
    // gpg writes plaintext before it sees the cut; none of it may come back.
    let big: Vec<u8> = PLAIN.iter().cycle().take(40_000).copied().collect();
    let out = gpg.run(
        &[
            "--compress-algo",
            "none",
            "-r",
            &gpg.fingerprint,
            "--encrypt",
        ],
        &big,
    );
    let cut = out.stdout.get(..out.stdout.len() - 5_000).unwrap();
    let err = runner.decrypt(cut, Some(&pass(KEY_PASS))).unwrap_err();
    assert!(matches!(err, GpgError::BadData(_)), "{err:?}");
    let err = runner.decrypt(PLAIN, None).unwrap_err();
    assert!(matches!(err, GpgError::BadData(_)), "{err:?}");

    let other = GnuPg::new("Other <nokey@example.org>");
    let for_other = other.make(&["-r", &other.fingerprint, "--encrypt"]);
    let err = runner
        .decrypt(&for_other, Some(&pass(KEY_PASS)))
        .unwrap_err();
    assert!(matches!(err, GpgError::NoSecretKey(_)), "{err:?}");

    let err = Gpg::default()
        .with_program("/nonexistent/gpg")
        .decrypt(&symmetric, None)
        .unwrap_err();
    assert!(matches!(err, GpgError::NotRunnable(_)), "{err:?}");
}

/// A work directory with `seeds.csv` (and `more.csv`) in it, for the archivers.
fn work_dir() -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix("zip")
        .tempdir()
        .expect("work dir");
    std::fs::write(dir.path().join("seeds.csv"), PLAIN).unwrap();
    std::fs::write(dir.path().join("more.csv"), b"serial,secret\n").unwrap();
    dir
}

/// `aes.zip` (7-Zip, AES-256, "zip password 7") and `legacy.zip` (Info-ZIP, ZipCrypto,
/// "zip password 2") of `seeds.csv` in `dir`.
fn zip_both_ways(dir: &Path) {
    zip_by_7zip_aes(dir, "zip password 7", "aes.zip", &["seeds.csv"]);
    zip_by_info_zip(dir, "zip password 2", "legacy.zip", "seeds.csv");
}

#[test]
fn archives_from_7zip_and_info_zip_open() {
    let dir = work_dir();
    zip_both_ways(dir.path());
    let aes = std::fs::read(dir.path().join("aes.zip")).unwrap();
    let legacy = std::fs::read(dir.path().join("legacy.zip")).unwrap();
    assert_eq!(detect(&aes), Container::Zip);

    let ZipOpened::Entry(entry) = open_zip(&aes, &pass("zip password 7"), None).unwrap() else {
        panic!("one file expected");
    };
    assert_eq!(entry.name, "seeds.csv");
    assert_eq!(&entry.plaintext[..], PLAIN);
    assert_eq!(entry.encryption, ZipEncryption::Aes { bits: 256 });
    assert!(entry.warnings.is_empty());

    let ZipOpened::Entry(entry) = open_zip(&legacy, &pass("zip password 2"), None).unwrap() else {
        panic!("one file expected");
    };
    assert_eq!(&entry.plaintext[..], PLAIN);
    assert_eq!(entry.encryption, ZipEncryption::ZipCrypto);
    assert_eq!(entry.warnings, [ZipWarning::WeakZipCrypto]);
    assert!(entry.warnings[0].to_string().contains("weak"));

    // Several CSV files: the list comes back, and a name picks one.
    zip_by_7zip_aes(
        dir.path(),
        "zip password 7",
        "two.zip",
        &["seeds.csv", "more.csv"],
    );
    let two = std::fs::read(dir.path().join("two.zip")).unwrap();
    let ZipOpened::Choose(list) = open_zip(&two, &pass("zip password 7"), None).unwrap() else {
        panic!("a list expected");
    };
    let mut names: Vec<&str> = list.iter().map(|e| e.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["more.csv", "seeds.csv"]);
    let ZipOpened::Entry(entry) =
        open_zip(&two, &pass("zip password 7"), Some("seeds.csv")).unwrap()
    else {
        panic!("the picked file expected");
    };
    assert_eq!(&entry.plaintext[..], PLAIN);
    assert_eq!(
        open_zip(&two, &pass("wrong password"), None).unwrap_err(),
        ContainerError::WrongPassphrase {
            what: "ZIP archive"
        }
    );
    assert!(matches!(
        open_zip(&two, &pass("zip password 7"), Some("missing.csv")).unwrap_err(),
        ContainerError::NoSuchEntry { .. }
    ));
}

#[test]
fn our_archives_open_with_7zip_to_the_same_bytes() {
    let dir = work_dir();
    let ours = write_zip("entra.csv", PLAIN, &pass("hand-on password 1")).unwrap();
    std::fs::write(dir.path().join("ours.zip"), &ours).unwrap();
    let listing = archiver(
        "7zz",
        &["l", "-slt", "-phand-on password 1", "ours.zip"],
        dir.path(),
    );
    assert!(
        text(&listing.stdout).contains("Method = AES-256"),
        "{}",
        text(&listing.stdout)
    );
    let out = archiver(
        "7zz",
        &["e", "-so", "-phand-on password 1", "ours.zip", "entra.csv"],
        dir.path(),
    );
    assert_eq!(out.stdout, PLAIN);
    assert!(matches!(
        write_zip("entra.csv", PLAIN, &pass("short")),
        Err(ContainerError::PassphraseTooShort { .. })
    ));
}

#[test]
fn zip_wrong_password_and_truncation_get_their_own_messages() {
    let dir = work_dir();
    zip_both_ways(dir.path());
    for name in ["aes.zip", "legacy.zip"] {
        let bytes = std::fs::read(dir.path().join(name)).unwrap();
        let wrong = open_zip(&bytes, &pass("wrong password"), None).unwrap_err();
        assert_eq!(
            wrong.to_string(),
            "wrong passphrase: it does not open this ZIP archive",
            "{name}"
        );
        let cut = bytes.get(..bytes.len() / 2).unwrap();
        let err = open_zip(cut, &pass("zip password 7"), None).unwrap_err();
        assert!(
            matches!(err, ContainerError::Corrupted { .. }),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("truncated"), "{name}: {err}");
    }
}

/// One message and one archive of ours, made once: encrypting per case would spend the
/// property test's time in key derivation rather than in the openers.
fn originals() -> &'static (Vec<u8>, Vec<u8>) {
    static ORIGINALS: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    ORIGINALS.get_or_init(|| {
        let passphrase = Passphrase::new(PROPERTY_PASS);
        (
            encrypt_pgp_with_passphrase(PLAIN, &passphrase)
                .unwrap()
                .into_bytes(),
            write_zip("seeds.csv", PLAIN, &passphrase).unwrap(),
        )
    })
}

const PROPERTY_PASS: &str = "property passphrase";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn detect_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = detect(&bytes);
    }

    #[test]
    fn openers_never_panic_nor_echo_the_passphrase(
        body in proptest::collection::vec(any::<u8>(), 0..512),
        prefix in prop_oneof![
            Just(Vec::new()),
            Just(b"-----BEGIN PGP MESSAGE-----\n\n".to_vec()),
            Just(vec![0xC3, 0x0D, 0x04, 0x09, 0x03, 0x08]),
            Just(vec![0x85, 0x01, 0x0C, 0x03]),
            Just(b"PK\x03\x04".to_vec()),
        ],
        secret in "\\PC{12,40}",
    ) {
        let input = [prefix, body].concat();
        let passphrase = Passphrase::new(secret.clone());
        if let Err(e) = open_pgp(&input, PgpUnlock::Passphrase(&passphrase), None) {
            prop_assert!(!e.to_string().contains(&secret));
        }
        if let Err(e) = open_zip(&input, &passphrase, None) {
            prop_assert!(!e.to_string().contains(&secret));
        }
        let _ = PgpPublicKey::parse(&input);
        let _ = PgpSecretKey::parse(&input);
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn damaged_real_containers_never_panic(
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let secret = PROPERTY_PASS;
        let passphrase = Passphrase::new(secret);
        let (pgp, zip) = originals();
        for original in [pgp, zip] {
            let mut damaged = original.clone();
            let i = at.index(damaged.len());
            damaged[i] = byte;
            let truncated = original.get(..cut.index(original.len())).unwrap();
            for input in [&damaged[..], truncated] {
                if let Err(e) = open_pgp(input, PgpUnlock::Passphrase(&passphrase), None) {
                    prop_assert!(!e.to_string().contains(secret));
                }
                if let Err(e) = open_zip(input, &passphrase, None) {
                    prop_assert!(!e.to_string().contains(secret));
                }
            }
        }
    }
}
