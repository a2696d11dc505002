//! `totp-toolset convert` with encrypted files, against the independent tools: a Token2-style
//! seed file encrypted by gpg (to a key, with a passphrase, armored, binary, signed) or zipped
//! by 7-Zip (AES-256) and Info-ZIP (ZipCrypto) converts to the right Entra CSV; wrong secrets
//! and damaged files get their own messages, exit 2 and write nothing; what we hand on opens
//! with `gpg -d` and `7zz x`; no passphrase is echoed; nothing is written to `TMPDIR`.
//!
//! Needs `gpg` (Debian gnupg), `7zz` (Debian 7zip) and `zip` (Debian zip).

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::gpg::{GnuPg, KEY_PASS, text};
use crate::support::process::{assert_stderr_has, bin, run_bytes};
use crate::support::tools::{archiver, zip_by_7zip_aes, zip_by_info_zip};

/// What Token2 ships for factory-programmed tokens: Entra's columns, `timeinterval` as one
/// word, and no `upn` column.
const TOKEN2_CSV: &[u8] = b"serial number,secret key,timeinterval,manufacturer,model\r\n\
60234568,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,30,Token2,C202\r\n\
60234567,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Token2,C202\r\n";
const SEEDS: [&str; 2] = [
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
];
const USERS: &str = "alice@contoso.com\nbob@contoso.com\n";
/// The rows stay in the file's order; the users go to the serials in ascending order.
const ENTRA: &str = "upn,serial number,secret key,time interval,manufacturer,model\r\n\
bob@contoso.com,60234568,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,30,Token2,C202\r\n\
alice@contoso.com,60234567,JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP,30,Token2,C202\r\n";
const SYM_PASS: &str = "vendor file passphrase 7";
const ZIP_PASS: &str = "vendor zip password 42";
const OUT_PASS: &str = "hand-on passphrase 2026";

/// A work directory with the seed file, the users and every passphrase file in it.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn new() -> Work {
        let dir = tempfile::Builder::new()
            .prefix("convert")
            .tempdir()
            .expect("work dir");
        let w = Work { dir };
        w.put("plain.csv", TOKEN2_CSV);
        w.put("users.txt", USERS.as_bytes());
        w.put("key.pass", format!("{KEY_PASS}\n").as_bytes());
        w.put("sym.pass", format!("{SYM_PASS}\n").as_bytes());
        w.put("zip.pass", ZIP_PASS.as_bytes());
        w.put("out.pass", format!("{OUT_PASS}\n").as_bytes());
        w.put("wrong.pass", b"not the passphrase at all\n");
        w
    }

    fn path(&self, name: &str) -> String {
        self.dir
            .path()
            .join(name)
            .to_str()
            .expect("utf-8")
            .to_string()
    }

    fn put(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.dir.path().join(name), bytes).expect("write");
        self.path(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.path().join(name)).expect("read")
    }

    fn exists(&self, name: &str) -> bool {
        self.dir.path().join(name).exists()
    }

    /// `convert INPUT --to entra-csv --assign users.txt EXTRA...` with extra environment.
    fn to_entra(&self, input: &str, extra: &[&str], env: &[(&str, &Path)]) -> Output {
        let users = self.path("users.txt");
        let mut args = vec![input, "--to", "entra-csv", "--assign", &users];
        args.extend_from_slice(extra);
        convert(&args, env)
    }

    /// A tool run in this directory, which must succeed.
    fn tool(&self, program: &str, args: &[&str]) -> Output {
        archiver(program, args, self.dir.path())
    }

    /// `archive`: `files` zipped by 7-Zip with AES-256 under [`ZIP_PASS`].
    fn zip_aes(&self, archive: &str, files: &[&str]) {
        zip_by_7zip_aes(self.dir.path(), ZIP_PASS, archive, files);
    }
}

/// `totp-toolset convert ARGS` with extra environment (GNUPGHOME, TMPDIR).
fn convert(args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("convert")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run totp-toolset")
}

/// Neither output stream repeats a secret: the passphrases, or (on stderr) a seed.
fn assert_no_secrets(o: &Output) {
    let out = text(&o.stdout);
    let err = text(&o.stderr);
    for p in [KEY_PASS, SYM_PASS, ZIP_PASS, OUT_PASS, "not the passphrase"] {
        assert!(!out.contains(p) && !err.contains(p), "{p:?} echoed: {err}");
    }
    for s in SEEDS {
        assert!(!err.contains(s), "seed on stderr: {err}");
    }
}

/// Refused as bad input: exit 2, nothing on stdout, and stderr says `needle`.
fn assert_refused(o: &Output, what: &str, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{what}: {}", text(&o.stderr));
    assert!(o.stdout.is_empty(), "{what}");
    assert_stderr_has(o, needle);
}

fn assert_converted(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(0), "{what}: {}", text(&o.stderr));
    assert_eq!(text(&o.stdout), ENTRA, "{what}");
    assert_no_secrets(o);
}

#[test]
fn seed_files_gpg_encrypted_convert_to_the_entra_csv() {
    let gpg = GnuPg::new("Token2 <seeds@token2.example>");
    let w = Work::new();
    let home = gpg.home.path();
    let fpr = gpg.fingerprint.clone();
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "to the key, binary",
            vec!["-r", &fpr, "--encrypt"],
            "key.pass",
        ),
        (
            "to the key, armored",
            vec!["--armor", "-r", &fpr, "--encrypt"],
            "key.pass",
        ),
        (
            "symmetric, binary",
            vec!["--passphrase", SYM_PASS, "--symmetric"],
            "sym.pass",
        ),
        (
            "symmetric, armored",
            vec!["--passphrase", SYM_PASS, "--armor", "--symmetric"],
            "sym.pass",
        ),
    ];
    for (what, gpg_args, pass_file) in cases {
        let message = gpg.make_from(&gpg_args, TOKEN2_CSV);
        // The name says CSV: the bytes decide.
        let input = w.put("seeds.csv", &message);
        let o = w.to_entra(
            &input,
            &["--pgp-passphrase-file", &w.path(pass_file)],
            &[("GNUPGHOME", home)],
        );
        assert_converted(&o, what);
        assert!(text(&o.stderr).contains("with gpg"), "{what}");
    }

    // In process with the exported private key: no gpg involved.
    let secret = w.put("secret.asc", &gpg.secret_key());
    let message = gpg.make_from(&["-r", &fpr, "--encrypt"], TOKEN2_CSV);
    let input = w.put("seeds.gpg", &message);
    let o = w.to_entra(
        &input,
        &[
            "--pgp-key",
            &secret,
            "--pgp-passphrase-file",
            &w.path("key.pass"),
        ],
        &[],
    );
    assert_converted(&o, "in process");
    assert_stderr_has(&o, "in process");

    // Without GnuPG (as in the Docker image): a symmetric message still opens, in process;
    // one to a key asks for --pgp-key.
    let no_gpg = Path::new("/nonexistent-for-totp-toolset-tests");
    let symmetric = w.put(
        "sym.gpg",
        &gpg.make_from(&["--passphrase", SYM_PASS, "--symmetric"], TOKEN2_CSV),
    );
    let o = w.to_entra(
        &symmetric,
        &["--pgp-passphrase-file", &w.path("sym.pass")],
        &[("PATH", no_gpg)],
    );
    assert_converted(&o, "no gpg, symmetric");
    assert_stderr_has(
        &o,
        "gpg could not be run: opened with the passphrase in process",
    );
    let o = convert(
        &[
            &input,
            "--to",
            "entra-csv",
            "--pgp-passphrase-file",
            &w.path("key.pass"),
        ],
        &[("PATH", no_gpg)],
    );
    assert_refused(&o, "no gpg, to a key", "--pgp-key");
}

#[test]
fn signatures_are_verified_or_said_not_to_be() {
    let gpg = GnuPg::new("Token2 <signer@token2.example>");
    let other = GnuPg::new("Someone <else@example.org>");
    let w = Work::new();
    let home = gpg.home.path();
    let signer = w.put("signer.asc", &gpg.public_key());
    let stranger = w.put("stranger.asc", &other.public_key());
    let secret = w.put("secret.asc", &gpg.secret_key());
    let signed = gpg.sign_and_encrypt(&gpg.fingerprint, false, TOKEN2_CSV);
    let input = w.put("seeds.csv.gpg", &signed);
    let key_pass = w.path("key.pass");
    let with = |extra: &[&str], env: &[(&str, &Path)]| {
        w.to_entra(
            &input,
            &[&["--pgp-passphrase-file", &key_pass], extra].concat(),
            env,
        )
    };

    // gpg checks it against the keyring, which holds the signer: good, and said where from.
    let o = with(&[], &[("GNUPGHOME", home)]);
    assert_converted(&o, "gpg, no signer");
    assert_stderr_has(&o, "from your gpg keyring");

    let o = with(&["--pgp-signer", &signer], &[("GNUPGHOME", home)]);
    assert_converted(&o, "gpg, signer");
    assert_stderr_has(&o, "signature verified");

    let o = with(&["--pgp-key", &secret], &[]);
    assert_converted(&o, "in process, no signer");
    assert_stderr_has(&o, "NOT verified");

    let o = with(&["--pgp-key", &secret, "--pgp-signer", &signer], &[]);
    assert_converted(&o, "in process, signer");
    assert_stderr_has(&o, "signature verified");

    for (what, env) in [("gpg", vec![("GNUPGHOME", home)]), ("in process", vec![])] {
        let mut extra = vec!["--pgp-signer", stranger.as_str()];
        if env.is_empty() {
            extra.extend(["--pgp-key", &secret]);
        }
        let o = with(&extra, &env);
        assert_refused(&o, what, "not by");
    }

    // Signed by a key the admin's keyring does not hold: converted, and NOT verified.
    other.make_from(&["--import"], &gpg.public_key());
    let by_other = other.sign_and_encrypt(&gpg.fingerprint, false, TOKEN2_CSV);
    w.put("seeds.csv.gpg", &by_other);
    let o = with(&[], &[("GNUPGHOME", home)]);
    assert_converted(&o, "gpg, unknown signer");
    assert_stderr_has(&o, "NOT verified");
    // ... and required to be by that key, gpg cannot check it: refused.
    let o = with(&["--pgp-signer", &stranger], &[("GNUPGHOME", home)]);
    assert_refused(
        &o,
        "gpg, unknown signer required",
        "not in your gpg keyring",
    );
    // In process, the signer's key file is all it takes.
    let o = with(&["--pgp-key", &secret, "--pgp-signer", &stranger], &[]);
    assert_converted(&o, "in process, other signer");
    assert_stderr_has(&o, "signature verified");
}

#[test]
fn seed_files_zipped_by_7zip_and_info_zip_convert() {
    let w = Work::new();
    w.put("seeds.csv", TOKEN2_CSV);
    w.put("readme.csv", b"not,seeds\n");
    w.zip_aes("aes.zip", &["seeds.csv"]);
    zip_by_info_zip(w.dir.path(), ZIP_PASS, "crypto.zip", "seeds.csv");
    w.zip_aes("two.zip", &["seeds.csv", "readme.csv"]);
    let zip_pass = w.path("zip.pass");
    // Named like a CSV, holding a ZIP: the bytes decide.
    let aes = w.put("aes-seeds.csv", &w.read("aes.zip"));
    let run = |input: &str, extra: &[&str]| {
        w.to_entra(
            input,
            &[&["--zip-password-file", &zip_pass], extra].concat(),
            &[],
        )
    };

    let o = run(&aes, &[]);
    assert_converted(&o, "7-Zip AES-256");
    assert_stderr_has(&o, "AES-256");
    assert!(!text(&o.stderr).contains("weak"));

    let o = run(&w.path("crypto.zip"), &[]);
    assert_converted(&o, "zip -e");
    assert_stderr_has(&o, "ZipCrypto, which is weak");

    let o = run(&w.path("two.zip"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(o.stdout.is_empty());
    let err = text(&o.stderr);
    assert!(
        err.contains("--zip-entry") && err.contains("seeds.csv") && err.contains("readme.csv"),
        "{err}"
    );
    let o = run(&w.path("two.zip"), &["--zip-entry", "seeds.csv"]);
    assert_converted(&o, "picked entry");

    // A signer for a ZIP (or a plain file) would verify nothing: refused, not ignored.
    let signer = w.put(
        "signer.asc",
        &GnuPg::new("Token2 <zip@token2.example>").public_key(),
    );
    let o = run(&aes, &["--pgp-signer", &signer]);
    assert_refused(&o, "ZIP with a signer", "no signature to verify");

    // Without the password file: it is asked for by name.
    let o = convert(&[&aes, "--to", "entra-csv"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert_stderr_has(&o, "--zip-password-file");
}

#[test]
fn wrong_secrets_and_truncated_files_have_their_own_messages_and_write_nothing() {
    let gpg = GnuPg::new("Token2 <wrong@token2.example>");
    let w = Work::new();
    let home = gpg.home.path();
    let symmetric = gpg.make_from(&["--passphrase", SYM_PASS, "--symmetric"], TOKEN2_CSV);
    let sym = w.put("sym.gpg", &symmetric);
    let cut = w.put("cut.gpg", symmetric.get(..symmetric.len() / 2).unwrap());
    w.put("seeds.csv", TOKEN2_CSV);
    w.zip_aes("aes.zip", &["seeds.csv"]);
    let zip = w.read("aes.zip");
    let zip_cut = w.put("cut.zip", zip.get(..zip.len() - 30).unwrap());
    let secret = w.put("secret.asc", &gpg.secret_key());
    let to_key = w.put(
        "key.gpg",
        &gpg.make_from(&["-r", &gpg.fingerprint, "--encrypt"], TOKEN2_CSV),
    );

    let cases: Vec<(&str, Vec<String>, bool, &str)> = vec![
        (
            "gpg, wrong passphrase",
            vec![
                sym.clone(),
                "--pgp-passphrase-file".into(),
                w.path("wrong.pass"),
            ],
            true,
            "wrong passphrase",
        ),
        (
            "gpg, truncated",
            vec![
                cut.clone(),
                "--pgp-passphrase-file".into(),
                w.path("sym.pass"),
            ],
            true,
            "damaged or truncated",
        ),
        (
            "in process, wrong key passphrase",
            vec![
                to_key,
                "--pgp-key".into(),
                secret.clone(),
                "--pgp-passphrase-file".into(),
                w.path("wrong.pass"),
            ],
            false,
            "wrong passphrase",
        ),
        (
            "ZIP, wrong password",
            vec![
                w.path("aes.zip"),
                "--zip-password-file".into(),
                w.path("wrong.pass"),
            ],
            false,
            "wrong passphrase",
        ),
        (
            "ZIP, truncated",
            vec![zip_cut, "--zip-password-file".into(), w.path("zip.pass")],
            false,
            "damaged or truncated",
        ),
    ];
    for (i, (what, args, use_gpg, message)) in cases.into_iter().enumerate() {
        let out = w.path(&format!("out{i}.csv"));
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend(["--to", "entra-csv", "-o", &out]);
        let env: Vec<(&str, &Path)> = if use_gpg {
            vec![("GNUPGHOME", home)]
        } else {
            vec![]
        };
        let o = convert(&all, &env);
        assert_eq!(o.status.code(), Some(2), "{what}: {}", text(&o.stderr));
        let err = text(&o.stderr);
        assert!(err.contains(message), "{what}: {err}");
        let other = if message == "wrong passphrase" {
            "damaged or truncated"
        } else {
            "wrong passphrase"
        };
        assert!(!err.contains(other), "{what}: {err}");
        assert!(o.stdout.is_empty(), "{what}");
        assert!(!w.exists(&format!("out{i}.csv")), "{what}: output written");
        assert_no_secrets(&o);
    }
}

#[test]
fn output_handed_on_encrypted_opens_with_gpg_and_7zip() {
    let gpg = GnuPg::new("Admin <admin@contoso.example>");
    let w = Work::new();
    let plain = w.path("plain.csv");
    let public = w.put("admin.asc", &gpg.public_key());
    let run = |extra: &[&str]| w.to_entra(&plain, extra, &[]);

    // To a public key: the fingerprint first, then a file only the key opens.
    let o = run(&["--encrypt-to", &public, "-o", &w.path("entra.csv.asc")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let spaced: String = gpg
        .fingerprint
        .chars()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    assert_stderr_has(&o, &spaced);
    assert_no_secrets(&o);
    let sealed = w.read("entra.csv.asc");
    assert!(sealed.starts_with(b"-----BEGIN PGP MESSAGE-----"));
    assert!(!text(&sealed).contains(SEEDS[0]));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(w.path("entra.csv.asc"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let opened = gpg.decrypt(&sealed, KEY_PASS);
    assert!(opened.status.success(), "gpg -d: {}", text(&opened.stderr));
    assert_eq!(text(&opened.stdout), ENTRA);

    // With a passphrase, as OpenPGP: any gpg -d opens it (here in a fresh home).
    let o = run(&["--encrypt-passphrase-file", &w.path("out.pass")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_no_secrets(&o);
    let fresh = GnuPg::new("Fresh <fresh@example.org>");
    let opened = fresh.decrypt(&o.stdout, OUT_PASS);
    assert!(opened.status.success(), "gpg -d: {}", text(&opened.stderr));
    assert_eq!(text(&opened.stdout), ENTRA);

    // AES-256 ZIP: 7-Zip opens it to the same bytes.
    let o = run(&[
        "--zip-passphrase-file",
        &w.path("out.pass"),
        "-o",
        &w.path("ours.zip"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_no_secrets(&o);
    let listing = w.tool("7zz", &["l", "-slt", &format!("-p{OUT_PASS}"), "ours.zip"]);
    assert!(
        text(&listing.stdout).contains("AES-256"),
        "{}",
        text(&listing.stdout)
    );
    w.tool(
        "7zz",
        &["x", "-y", &format!("-p{OUT_PASS}"), "-oout", "ours.zip"],
    );
    // The entry is named as the batch page names the download.
    assert_eq!(text(&w.read("out/entra-oath-tokens.csv")), ENTRA);

    // A generated passphrase: shown once on stderr, and it opens the archive.
    let o = run(&["--generate-passphrase", "zip", "-o", &w.path("gen.zip")]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    let generated = err
        .lines()
        .find_map(|l| l.split("(shown once, not stored): ").nth(1))
        .unwrap_or_else(|| panic!("no passphrase shown: {err}"))
        .to_string();
    assert_eq!(generated.len(), 39, "{generated}");
    assert_eq!(err.matches(&generated).count(), 1, "shown once: {err}");
    w.tool(
        "7zz",
        &["x", "-y", &format!("-p{generated}"), "-ogen", "gen.zip"],
    );
    assert_eq!(text(&w.read("gen/entra-oath-tokens.csv")), ENTRA);

    // Another format wrapped the same way.
    let o = run(&["--generate-passphrase", "pgp"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    let generated = err
        .lines()
        .find_map(|l| l.split("(shown once, not stored): ").nth(1))
        .expect("passphrase shown")
        .to_string();
    let opened = fresh.decrypt(&o.stdout, &generated);
    assert_eq!(text(&opened.stdout), ENTRA);

    // A short passphrase is refused before anything is read or written.
    w.put("short.pass", b"too short\n");
    let o = run(&[
        "--zip-passphrase-file",
        &w.path("short.pass"),
        "-o",
        &w.path("short.zip"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_stderr_has(&o, "at least 12");
    assert!(!w.exists("short.zip"));
    assert!(!text(&o.stderr).contains("too short"));
}

#[test]
fn nothing_reaches_tmpdir_while_decrypting_and_encrypting() {
    let gpg = GnuPg::new("Token2 <tmp@token2.example>");
    let w = Work::new();
    let tmp = tempfile::Builder::new()
        .prefix("tmpdir")
        .tempdir()
        .expect("TMPDIR");
    let message = w.put(
        "seeds.csv",
        &gpg.make_from(
            &["--armor", "-r", &gpg.fingerprint, "--encrypt"],
            TOKEN2_CSV,
        ),
    );
    w.tool_zip_aes();
    let public = w.put("admin.asc", &gpg.public_key());
    let secret = w.put("secret.asc", &gpg.secret_key());
    let users = w.path("users.txt");
    let key_pass = w.path("key.pass");
    let zip_pass = w.path("zip.pass");
    let out_pass = w.path("out.pass");
    let home = gpg.home.path();
    let runs: Vec<(Vec<&str>, bool)> = vec![
        (
            vec![
                &message,
                "--pgp-passphrase-file",
                &key_pass,
                "--zip-passphrase-file",
                &out_pass,
            ],
            true,
        ),
        (
            vec![
                &message,
                "--pgp-key",
                &secret,
                "--pgp-passphrase-file",
                &key_pass,
                "--encrypt-to",
                &public,
            ],
            false,
        ),
        (
            vec![
                "aes.zip",
                "--zip-password-file",
                &zip_pass,
                "--encrypt-passphrase-file",
                &out_pass,
            ],
            false,
        ),
    ];
    let aes = w.path("aes.zip");
    for (mut args, use_gpg) in runs {
        if args[0] == "aes.zip" {
            args[0] = &aes;
        }
        args.extend(["--to", "entra-csv", "--assign", &users]);
        let mut env: Vec<(&str, &Path)> = vec![("TMPDIR", tmp.path())];
        if use_gpg {
            env.push(("GNUPGHOME", home));
        }
        let o = convert(&args, &env);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", text(&o.stderr));
        assert_no_secrets(&o);
        let left: Vec<_> = std::fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{args:?} left {left:?} in TMPDIR");
    }
}

impl Work {
    /// `aes.zip`: the seed file in a 7-Zip AES-256 archive.
    fn tool_zip_aes(&self) {
        self.put("inner.csv", TOKEN2_CSV);
        self.zip_aes("aes.zip", &["inner.csv"]);
        std::fs::remove_file(self.dir.path().join("inner.csv")).unwrap();
    }
}

/// `convert` with `bytes` on standard input and the ZIP password file.
fn convert_stdin(bytes: &[u8], pass_file: &str) -> Output {
    run_bytes(
        &[
            "convert",
            "-",
            "--to",
            "entra-csv",
            "--zip-password-file",
            pass_file,
        ],
        bytes,
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Anything that starts like a ZIP or an armored OpenPGP message is refused as bad input
    /// (exit 2), never a panic, and the passphrase is never repeated.
    #[test]
    fn damaged_containers_are_bad_input_never_a_panic(
        zip in proptest::prelude::any::<bool>(),
        tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
    ) {
        let w = Work::new();
        let mut bytes = if zip {
            b"PK\x03\x04".to_vec()
        } else {
            b"-----BEGIN PGP MESSAGE-----\n\n".to_vec()
        };
        bytes.extend_from_slice(&tail);
        // A GnuPG home of its own, so gpg never touches the developer's keyrings.
        let home = tempfile::tempdir().expect("GnuPG home");
        let o = if zip {
            convert_stdin(&bytes, &w.path("zip.pass"))
        } else {
            let input = w.put("in.asc", &bytes);
            convert(
                &[&input, "--to", "entra-csv", "--pgp-passphrase-file", &w.path("sym.pass")],
                &[("GNUPGHOME", home.path())],
            )
        };
        proptest::prop_assert!(o.status.code() == Some(2), "{}", text(&o.stderr));
        proptest::prop_assert!(o.stdout.is_empty());
        assert_no_secrets(&o);
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(home.path())
            .args(["--kill", "all"])
            .output();
    }
}
