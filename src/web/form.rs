//! Per-field error messages for forms, looked up by field name in templates so each error
//! sits beside its field (and is tied to it with `aria-describedby`).
//!
//! Messages must never contain a seed.
//!
//! Also the form extractor every page uses instead of axum's, so that a bad form is answered
//! with our error page rather than axum's plain text.

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::AppError;

const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";

/// A form body read into `T`. Unlike axum's `Form`, the `Content-Type` is matched without
/// regard to case (media types are case-insensitive: `Application/X-WWW-Form-Urlencoded;
/// charset=UTF-8` is a form), and every rejection is an [`AppError`] page with its status
/// kept: 415 for another type, 413 for a body over the limit, 422 for fields that do not fit.
#[derive(Debug)]
pub struct Form<T>(pub T);

/// Whether the request says it carries a URL-encoded form.
pub fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(FORM_CONTENT_TYPE))
}

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(mut request: Request, state: &S) -> Result<Self, AppError> {
        if !is_form(request.headers()) {
            return Err(AppError::UnsupportedMediaType);
        }
        // axum's `Form` compares the type case-sensitively: hand it the canonical spelling.
        request.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(FORM_CONTENT_TYPE),
        );
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(Form(value)),
            Err(FormRejection::BytesRejection(e))
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE =>
            {
                Err(AppError::PayloadTooLarge)
            }
            Err(FormRejection::FailedToDeserializeFormBody(e)) => {
                Err(AppError::UnreadableForm(unreadable(&e.body_text())))
            }
            Err(FormRejection::InvalidFormContentType(_)) => Err(AppError::UnsupportedMediaType),
            Err(e) => Err(AppError::BadRequest(format!(
                "The form could not be read ({}). Nothing was stored; send it again from its page.",
                crate::otp::clip(&e.body_text())
            ))),
        }
    }
}

/// The message for a form whose fields do not fit, from serde's: our forms hold only text
/// fields, so the one real case is a field sent twice, said with the field's name.
fn unreadable(detail: &str) -> String {
    let detail = detail
        .strip_prefix("Failed to deserialize form body: ")
        .unwrap_or(detail);
    let field = detail
        .split_once("duplicate field `")
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name);
    match field {
        Some(name) => format!(
            "The field \"{}\" was sent twice; a form sends each field once. Nothing was stored; send the form again from its page.",
            crate::otp::clip(name)
        ),
        None => format!(
            "The form's fields could not be read ({}). Nothing was stored; send the form again from its page.",
            crate::otp::clip(detail)
        ),
    }
}

/// One part of a `multipart/form-data` form: its name, the file name the browser gave (for
/// a file, at most 64 characters of it) and its bytes, wiped on drop (a file may be a seed
/// file or a private key).
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub value: Zeroizing<Vec<u8>>,
}

impl Part {
    /// The part as text (invalid UTF-8 replaced), wiped on drop.
    pub fn text(&self) -> Zeroizing<String> {
        Zeroizing::new(String::from_utf8_lossy(&self.value).into_owned())
    }
}

/// Reads every part of a multipart form. A body over the route's limit is `too_large()`; a
/// request that is not multipart is 415; a broken body is a 400 page that quotes at most 64
/// characters of the reason.
pub async fn read_multipart(
    multipart: Result<Multipart, MultipartRejection>,
    too_large: impl Fn() -> AppError,
) -> Result<Vec<Part>, AppError> {
    let mut multipart = multipart.map_err(|e| {
        if e.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE || e.status() == StatusCode::BAD_REQUEST
        {
            AppError::UnsupportedMediaType
        } else {
            AppError::BadRequest(crate::otp::clip(&e.body_text()))
        }
    })?;
    let broken = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            AppError::BadRequest(format!(
                "The upload could not be read ({}). Nothing was stored; send it again from its page.",
                crate::otp::clip(&e.body_text())
            ))
        }
    };
    let mut parts = Vec::new();
    while let Some(mut field) = multipart.next_field().await.map_err(broken)? {
        let name = field.name().unwrap_or_default().to_string();
        let file_name = field.file_name().map(crate::otp::clip);
        let mut value = Zeroizing::new(Vec::new());
        while let Some(chunk) = field.chunk().await.map_err(broken)? {
            value.extend_from_slice(&chunk);
        }
        parts.push(Part {
            name,
            file_name,
            value,
        });
    }
    Ok(parts)
}

/// A number picked from a fixed list (a select's value), or `None` for anything else.
pub fn choice(typed: &str, allowed: &[usize]) -> Option<usize> {
    typed
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| allowed.contains(n))
}

#[derive(Clone, Debug, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// The message for a field, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_sent_twice_is_named() {
        let m = unreadable("Failed to deserialize form body: duplicate field `seed`");
        assert!(m.starts_with("The field \"seed\" was sent twice"), "{m}");
    }

    #[test]
    fn the_content_type_is_matched_without_regard_to_case() {
        let mut h = HeaderMap::new();
        for (ct, want) in [
            ("application/x-www-form-urlencoded", true),
            ("Application/X-WWW-Form-Urlencoded; charset=UTF-8", true),
            (" application/x-www-form-urlencoded ;q", true),
            ("application/x-www-form-urlencodedx", false),
            ("text/plain", false),
            ("multipart/form-data; boundary=x", false),
        ] {
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            assert_eq!(is_form(&h), want, "{ct}");
        }
        assert!(!is_form(&HeaderMap::new()));
    }

    proptest::proptest! {
        /// Whatever serde says, the message repeats at most 64 characters of it.
        #[test]
        fn messages_are_bounded(text in proptest::prelude::any::<String>(), pad in 65usize..300) {
            for detail in [
                format!("{}{text}", "z".repeat(pad)),
                format!("duplicate field `{}{text}`", "z".repeat(pad)),
                text.clone(),
            ] {
                let m = unreadable(&detail);
                proptest::prop_assert!(!m.contains(&"z".repeat(65)), "{}", m);
            }
        }
    }
}
