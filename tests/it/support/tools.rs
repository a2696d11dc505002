//! The independent tools our output is checked against: oathtool for codes, rsvg-convert
//! and zbarimg for QR codes, 7-Zip (`7zz`) and Info-ZIP (`zip`) for archives. `.ci/run` installs them; a missing tool fails the test rather
//! than skipping it.

use std::path::Path;
use std::process::{Command, Output};

use totp_toolset::otp::Algorithm;

/// oathtool's code for a hex key at a Unix time.
pub fn oathtool_hex(alg: Algorithm, hex: &str, digits: u8, period: u32, at: u64) -> String {
    let totp = match alg {
        Algorithm::Sha1 => "--totp=SHA1",
        Algorithm::Sha256 => "--totp=SHA256",
        Algorithm::Sha512 => "--totp=SHA512",
    };
    oathtool(&[
        totp,
        "-d",
        &digits.to_string(),
        "-s",
        &format!("{period}s"),
        "-N",
        &format!("@{at}"),
        hex,
    ])
}

/// oathtool's SHA-1, 6-digit, 30-second code for a base32 seed at a Unix time.
pub fn oathtool_base32(base32: &str, at: u64) -> String {
    oathtool(&["--totp", "-b", "-N", &format!("@{at}"), base32])
}

fn oathtool(args: &[&str]) -> String {
    let out = Command::new("oathtool")
        .args(args)
        .output()
        .expect("oathtool must be installed (bash .ci/run installs it)");
    assert!(
        out.status.success(),
        "oathtool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Rasterizes an SVG with rsvg-convert and decodes the QR code in it with zbarimg.
pub fn decode_qr_svg(svg: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let svg_path = dir.path().join("qr.svg");
    let png_path = dir.path().join("qr.png");
    std::fs::write(&svg_path, svg).unwrap();
    let status = Command::new("rsvg-convert")
        .args(["-w", "400", "-b", "white", "-o"])
        .arg(&png_path)
        .arg(&svg_path)
        .status()
        .expect("rsvg-convert (Debian librsvg2-bin) is installed");
    assert!(status.success(), "rsvg-convert failed");
    decode_qr_png(&png_path)
}

/// The text of the QR code in a PNG, by zbarimg.
pub fn decode_qr_png(png: &Path) -> String {
    let out = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png)
        .output()
        .expect("zbarimg (Debian zbar-tools) is installed");
    assert!(out.status.success(), "zbarimg found no QR code");
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end_matches('\n')
        .to_string()
}

/// The QR code of the first inline `<svg>` in a page, decoded.
pub fn decode_page_qr(html: &str) -> String {
    let start = html.find("<svg").expect("an inline svg");
    let end = html[start..].find("</svg>").expect("svg end") + start + 6;
    decode_qr_svg(&html[start..end])
}

/// An archiver (`7zz` from Debian 7zip, `zip` from Debian zip) run in `dir`, which must
/// succeed.
pub fn archiver(program: &str, args: &[&str], dir: &Path) -> Output {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("run {program} (Debian package 7zip or zip): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `archive` in `dir`: `files` (in `dir`) zipped by 7-Zip with AES-256 under `password`.
pub fn zip_by_7zip_aes(dir: &Path, password: &str, archive: &str, files: &[&str]) {
    let password = format!("-p{password}");
    let mut args = vec!["a", "-tzip", "-mem=AES256", &password, archive];
    args.extend_from_slice(files);
    archiver("7zz", &args, dir);
}

/// `archive` in `dir`: `file` (in `dir`) zipped by Info-ZIP with its legacy ZipCrypto under
/// `password`.
pub fn zip_by_info_zip(dir: &Path, password: &str, archive: &str, file: &str) {
    archiver("zip", &["-q", "-e", "-P", password, archive, file], dir);
}

/// What `7zz x -p… -so` unpacks from `archive` (in `dir`).
pub fn unzip_by_7zip(dir: &Path, password: &str, archive: &str) -> Vec<u8> {
    let password = format!("-p{password}");
    archiver("7zz", &["x", &password, "-so", archive], dir).stdout
}
