//! The batch's encrypted downloads (`POST /csv/export/encrypted`): any export of the batch
//! (Entra CSV, Graph JSON, PSKC, privacyIDEA, otpauth list, inventory) wrapped for handing
//! on — to an OpenPGP public key, whose fingerprint is shown for confirmation before the
//! download; as an OpenPGP message with a passphrase; or in an AES-256 ZIP — with a
//! passphrase generated from the OS CSPRNG on request, shown once and never stored.
//!
//! Secrets travel only in POST bodies, never in URLs. A refused form comes back with its
//! choices and the public key, never with a passphrase. The file is built from the batch as
//! it is at the moment of the download.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use zeroize::Zeroizing;

use crate::tokens::containers::{self, ContainerError, Passphrase, PgpPublicKey};
use crate::tokens::{ExportFormat, TokenRecord};
use crate::web::AppError;
use crate::web::extract::CurrentSession;
use crate::web::form::{Errors, read_multipart};
use crate::web::views::encrypt_panel::{EncryptPanel, WRAPS};
use crate::web::views::{Layout, layout};

/// How the file is wrapped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wrap {
    PgpKey,
    PgpPassphrase,
    Zip,
}

impl Wrap {
    fn parse(value: &str) -> Option<Self> {
        match value {
            "pgp-key" => Some(Wrap::PgpKey),
            "pgp-passphrase" => Some(Wrap::PgpPassphrase),
            "zip" => Some(Wrap::Zip),
            _ => None,
        }
    }

    fn value(self) -> &'static str {
        match self {
            Wrap::PgpKey => "pgp-key",
            Wrap::PgpPassphrase => "pgp-passphrase",
            Wrap::Zip => "zip",
        }
    }

    fn label(self) -> &'static str {
        WRAPS
            .iter()
            .find(|(v, _)| *v == self.value())
            .map_or("", |(_, l)| l)
    }
}

/// The form as sent. Passphrases are wiped on drop.
#[derive(Default)]
struct EncryptForm {
    format: String,
    wrap: String,
    /// An armored public key as pasted (wiped on drop: it may be a private key by mistake).
    public_key: Zeroizing<String>,
    /// A public key file (armored or binary).
    key_file: Zeroizing<Vec<u8>>,
    /// The confirm step: the key (base64) and the fingerprint the admin saw.
    key_data: String,
    fingerprint: String,
    passphrase: Zeroizing<String>,
    generate: bool,
}

async fn read_form(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<EncryptForm, AppError> {
    let mut form = EncryptForm::default();
    for part in read_multipart(multipart, || AppError::PayloadTooLarge).await? {
        match part.name.as_str() {
            "format" => form.format = part.text().to_string(),
            "wrap" => form.wrap = part.text().to_string(),
            "public_key" => form.public_key = part.text(),
            "key_data" => form.key_data = part.text().to_string(),
            "fingerprint" => form.fingerprint = part.text().to_string(),
            "passphrase" => form.passphrase = part.text(),
            "generate" => form.generate = part.text().as_str() == "yes",
            "key_file" => form.key_file = part.value,
            _ => {}
        }
    }
    Ok(form)
}

/// The recipient's key before the download: the admin compares its fingerprint.
pub struct ConfirmView {
    format: &'static str,
    format_label: &'static str,
    fingerprint: String,
    user_ids: Vec<String>,
    key_data: String,
}

/// A passphrase generated for this download, shown once.
pub struct GeneratedView {
    format: &'static str,
    format_label: &'static str,
    wrap: &'static str,
    wrap_label: &'static str,
    passphrase: Passphrase,
}

#[derive(Template, WebTemplate)]
#[template(path = "batch_crypto.html")]
pub struct EncryptPage {
    layout: Layout,
    encrypt: EncryptPanel,
    confirm: Option<ConfirmView>,
    generated: Option<GeneratedView>,
}

/// What the form asks for, once checked.
enum Step {
    Confirm(ConfirmView),
    Generated(GeneratedView),
    Download {
        format: ExportFormat,
        wrap: Wrapping,
    },
}

enum Wrapping {
    ToKey(Box<PgpPublicKey>),
    PgpPassphrase(Passphrase),
    Zip(Passphrase),
}

const PLAIN_HTTP: &str = "Passphrase: this server is reached over plain HTTP from another machine, so a passphrase sent to it (and the file it protects) would cross the network in clear text. Use the server over HTTPS, or encrypt to an OpenPGP public key, which is not secret.";

/// Checks the form and says what comes next, or every field that is wrong.
fn check(form: &EncryptForm, secrets_allowed: bool) -> Result<Step, Errors> {
    let mut errors = Errors::default();
    let format = ExportFormat::parse(&form.format);
    if format.is_none() {
        errors.push(
            "format",
            "Format: choose one of the batch's downloads (Entra CSV, Graph JSON, PSKC, privacyIDEA, otpauth list, inventory).",
        );
    }
    let wrap = Wrap::parse(&form.wrap);
    if wrap.is_none() {
        errors.push(
            "wrap",
            "Encryption: choose an OpenPGP public key, an OpenPGP passphrase, or a ZIP with AES-256.",
        );
    }
    let (Some(format), Some(wrap)) = (format, wrap) else {
        return Err(errors);
    };
    match wrap {
        Wrap::PgpKey => {
            let decoded;
            let bytes: &[u8] = if !form.key_data.is_empty() {
                decoded = data_encoding::BASE64
                    .decode(form.key_data.as_bytes())
                    .unwrap_or_default();
                &decoded
            } else if !form.key_file.is_empty() {
                &form.key_file
            } else {
                form.public_key.trim().as_bytes()
            };
            if bytes.is_empty() {
                errors.push(
                    "public_key",
                    "Public key: paste the recipient's armored public key (gpg --armor --export) or choose its file.",
                );
                return Err(errors);
            }
            let key = PgpPublicKey::parse(bytes).map_err(|e| {
                errors.push("public_key", format!("Public key: {e}."));
                errors.clone()
            })?;
            let confirmed = !form.fingerprint.is_empty() && form.fingerprint == key.fingerprint();
            if confirmed {
                return Ok(Step::Download {
                    format,
                    wrap: Wrapping::ToKey(Box::new(key)),
                });
            }
            Ok(Step::Confirm(ConfirmView {
                format: format.name(),
                format_label: format.label(),
                fingerprint: key.fingerprint(),
                user_ids: key.user_ids(),
                key_data: data_encoding::BASE64.encode(bytes),
            }))
        }
        Wrap::PgpPassphrase | Wrap::Zip => {
            if !secrets_allowed {
                errors.push("passphrase", PLAIN_HTTP);
                return Err(errors);
            }
            if form.generate && form.passphrase.is_empty() {
                let passphrase = containers::generate_passphrase().map_err(|e| {
                    errors.push("passphrase", format!("Passphrase: {e}; try again."));
                    errors.clone()
                })?;
                return Ok(Step::Generated(GeneratedView {
                    format: format.name(),
                    format_label: format.label(),
                    wrap: wrap.value(),
                    wrap_label: wrap.label(),
                    passphrase,
                }));
            }
            let passphrase = Passphrase::new(form.passphrase.as_str());
            containers::check_new_passphrase(&passphrase).map_err(|e| {
                errors.push("passphrase", format!("Passphrase: {e}."));
                errors.clone()
            })?;
            Ok(Step::Download {
                format,
                wrap: if wrap == Wrap::Zip {
                    Wrapping::Zip(passphrase)
                } else {
                    Wrapping::PgpPassphrase(passphrase)
                },
            })
        }
    }
}

/// The wrapped file, its name and type.
fn wrap_file(
    format: ExportFormat,
    plaintext: &[u8],
    wrap: &Wrapping,
) -> Result<(Vec<u8>, String, &'static str), ContainerError> {
    let name = format.file_name();
    Ok(match wrap {
        Wrapping::ToKey(key) => (
            containers::encrypt_pgp_to_key(plaintext, key)?.into_bytes(),
            format!("{name}.asc"),
            "application/pgp-encrypted",
        ),
        Wrapping::PgpPassphrase(p) => (
            containers::encrypt_pgp_with_passphrase(plaintext, p)?.into_bytes(),
            format!("{name}.asc"),
            "application/pgp-encrypted",
        ),
        Wrapping::Zip(p) => (
            containers::write_zip(name, plaintext, p)?,
            format!("{name}.zip"),
            "application/zip",
        ),
    })
}

/// What the encrypted-download page shows besides the form.
enum Shown {
    Refused(Errors, StatusCode),
    Confirm(ConfirmView),
    Generated(GeneratedView),
}

fn one_error(field: &'static str, message: String) -> Errors {
    let mut errors = Errors::default();
    errors.push(field, message);
    errors
}

pub async fn view_batch_crypto_post(
    session: CurrentSession,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, AppError> {
    let form = read_form(multipart).await?;
    let (format, wrap) = match check(&form, session.ctx.transport.secrets_allowed()) {
        Ok(Step::Download { format, wrap }) => (format, wrap),
        Ok(Step::Confirm(c)) => return Ok(render(&session, &form, Shown::Confirm(c))),
        Ok(Step::Generated(g)) => return Ok(render(&session, &form, Shown::Generated(g))),
        Err(errors) => {
            let refused = Shown::Refused(errors, StatusCode::UNPROCESSABLE_ENTITY);
            return Ok(render(&session, &form, refused));
        }
    };
    // Copied out so the session's lock is not held while encrypting; the copies' seeds are
    // wiped as they drop.
    let records: Vec<TokenRecord> = session.with(|s| s.batch().records().to_vec());
    let file = tokio::task::spawn_blocking(move || {
        let export = format.write(&records)?;
        if export.included == 0 {
            return Ok(Err(export.left_out.len()));
        }
        Ok::<_, AppError>(Ok(wrap_file(format, &export.bytes, &wrap)))
    })
    .await
    .map_err(|e| AppError::Internal(Box::new(e)))??;
    let refused = match file {
        Ok(Ok((bytes, name, content_type))) => {
            if format.has_seeds() {
                session.with(|s| s.mark_rows_downloaded());
            }
            let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
                .map_err(|e| AppError::Internal(Box::new(e)))?;
            let headers = [
                (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (header::CONTENT_DISPOSITION, disposition),
            ];
            return Ok((headers, bytes).into_response());
        }
        // A key that parsed but cannot encrypt (no encryption subkey) is the admin's to fix.
        Ok(Err(e @ ContainerError::BadKey { .. })) => Shown::Refused(
            one_error("public_key", format!("Public key: {e}.")),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(Err(e)) => return Err(AppError::Internal(Box::new(e))),
        Err(0) => Shown::Refused(
            one_error(
                "format",
                "Format: the batch is empty. Add or import tokens on the batch page first.".into(),
            ),
            StatusCode::CONFLICT,
        ),
        Err(left_out) => Shown::Refused(
            one_error(
                "format",
                format!(
                    "Format: none of the batch's {left_out} tokens can go in the {}; the batch page lists why each is left out.",
                    format.label()
                ),
            ),
            StatusCode::CONFLICT,
        ),
    };
    Ok(render(&session, &form, refused))
}

/// The encrypted-download page: the form again (its choices and the public key kept, never
/// a passphrase) with its errors, the key's fingerprint to confirm, or a generated passphrase.
fn render(session: &CurrentSession, form: &EncryptForm, shown: Shown) -> Response {
    let (errors, status, confirm, generated) = match shown {
        Shown::Refused(errors, status) => (errors, status, None, None),
        Shown::Confirm(c) => (Errors::default(), StatusCode::OK, Some(c), None),
        Shown::Generated(g) => (Errors::default(), StatusCode::OK, None, Some(g)),
    };
    let encrypt = EncryptPanel {
        format: form.format.clone(),
        wrap: form.wrap.clone(),
        // A private key pasted by mistake is never written back into the page.
        public_key: if form.public_key.contains("PRIVATE KEY") {
            String::new()
        } else {
            form.public_key.to_string()
        },
        generate: form.generate,
        errors,
        ..EncryptPanel::new(session.ctx.transport)
    };
    let page = session.with(|s| EncryptPage {
        layout: layout("csv", s, session.ctx),
        encrypt,
        confirm,
        generated,
    });
    (status, page).into_response()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the form holds, checking it never panics, and no message repeats the
        /// passphrase typed.
        #[test]
        fn forms_never_panic_or_echo_the_passphrase(
            format in prop_oneof![Just("pskc".to_string()), any::<String>()],
            wrap in prop_oneof![Just("zip".to_string()), Just("pgp-key".to_string()), any::<String>()],
            key in any::<String>(),
            key_data in any::<String>(),
            passphrase in "[a-z]{3,30}",
        ) {
            let form = EncryptForm {
                format,
                wrap,
                public_key: Zeroizing::new(key),
                key_data,
                passphrase: Zeroizing::new(format!("Secret{passphrase}")),
                ..EncryptForm::default()
            };
            if let Err(errors) = check(&form, true) {
                for name in ["format", "wrap", "public_key", "passphrase"] {
                    if let Some(m) = errors.get(name) {
                        prop_assert!(!m.contains(form.passphrase.as_str()), "{}", m);
                    }
                }
            }
        }
    }

    #[test]
    fn short_and_cleartext_passphrases_are_refused() {
        let form = EncryptForm {
            format: "entra-csv".into(),
            wrap: "zip".into(),
            passphrase: Zeroizing::new("short".into()),
            ..EncryptForm::default()
        };
        let Err(errors) = check(&form, true) else {
            panic!("a short passphrase must be refused");
        };
        assert!(errors.get("passphrase").unwrap().contains("at least 12"));
        let Err(errors) = check(&form, false) else {
            panic!("plain HTTP must be refused");
        };
        assert!(errors.get("passphrase").unwrap().contains("plain HTTP"));
    }
}
