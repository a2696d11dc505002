//! The agent's one error type: an [`ErrorKind`] and a sentence, answered as its HTTP status
//! and `{"error": {"kind", "message"}}`. The status of each kind is decided here, once.
//!
//! A message never quotes a request body (the burn body carries the seed).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api::{ApiError, ErrorBody, ErrorKind};
use crate::nfc::{ConfigError, NfcError};

impl ErrorKind {
    /// The HTTP status the agent answers this failure with (docs/agent-api.md's table).
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::BadRequest
            | ErrorKind::BadSeed
            | ErrorKind::BadConfig
            | ErrorKind::ConfirmationRequired => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::OriginRefused | ErrorKind::HostRefused => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::UnknownModel | ErrorKind::SeedLossUnconfirmed | ErrorKind::SameToken => {
                StatusCode::CONFLICT
            }
            ErrorKind::PcscUnavailable
            | ErrorKind::PcscServiceUnavailable
            | ErrorKind::NoReader
            | ErrorKind::ReaderNotFound
            | ErrorKind::ReaderError => StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::NoCard | ErrorKind::NoCardInTime => StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::CardRemoved
            | ErrorKind::CardLiftedMidWrite
            | ErrorKind::FidoKey
            | ErrorKind::OathApplet
            | ErrorKind::NotToken2
            | ErrorKind::WrongKey
            | ErrorKind::TokenStatus
            | ErrorKind::BadReply => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// An error response.
#[derive(Debug)]
pub struct AgentError(pub ApiError);

impl AgentError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        AgentError(ApiError {
            kind,
            message: message.into(),
        })
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }
}

impl From<NfcError> for AgentError {
    fn from(e: NfcError) -> Self {
        AgentError(ApiError::from(&e))
    }
}

impl From<ConfigError> for AgentError {
    fn from(e: ConfigError) -> Self {
        NfcError::from(e).into()
    }
}

impl IntoResponse for AgentError {
    fn into_response(self) -> Response {
        let status = self.0.kind.status();
        let mut response = (status, Json(ErrorBody { error: self.0 })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// `| 409 | `unknown_model` | ... |` rows of the errors table, kind to status.
    fn documented() -> BTreeMap<String, u16> {
        let doc = include_str!("../../docs/agent-api.md");
        let table = doc
            .split("| status | kind | meaning |")
            .nth(1)
            .expect("docs/agent-api.md has the errors table");
        let mut kinds = BTreeMap::new();
        for row in table.lines().skip(2).take_while(|l| l.starts_with('|')) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let status: u16 = cells[1].parse().expect("a status in the first column");
            for kind in cells[2].split('/') {
                let kind = kind.trim().trim_matches('`').to_string();
                assert!(kinds.insert(kind, status).is_none(), "listed twice: {row}");
            }
        }
        kinds
    }

    #[test]
    fn the_doc_lists_every_kind_with_its_status() {
        let mut doc = documented();
        for &kind in ErrorKind::ALL {
            let status = doc
                .remove(kind.as_str())
                .unwrap_or_else(|| panic!("docs/agent-api.md does not list `{kind}`"));
            assert_eq!(status, kind.status().as_u16(), "`{kind}`");
        }
        assert!(doc.is_empty(), "the doc lists kinds there are not: {doc:?}");
    }
}
