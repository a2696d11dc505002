//! The one integration test binary (each file under tests/ would be another slow link).
//! Each module tests one part of the toolset from the outside.

mod agent;
mod browser;
mod cli;
mod containers;
mod convert_cli;
mod convert_containers;
mod formats_batch;
mod formats_csv;
mod formats_props;
mod formats_pskc;
mod formats_roundtrip;
mod nfc_bulk;
mod nfc_cli;
mod nfc_protocol;
mod ops;
mod otp_drift;
mod otp_oathtool;
mod otp_parse;
mod otp_uri;
mod otp_vectors;
mod props_nfc;
mod robustness;
mod support;
mod tokens;
mod web_batch;
mod web_burn;
mod web_conns;
mod web_csv;
mod web_guard;
mod web_pages;
mod web_security;
mod web_server;
mod web_sessions;
mod web_users_upload;
