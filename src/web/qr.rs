//! The QR code of an otpauth URI as an inline `<svg>` element, for the seed page.
//!
//! The drawing encodes the seed: it is wiped on drop and must never be logged or cached
//! anywhere but with the session's current token.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

pub use qrcode::types::QrError;

/// No XML declaration and no style attributes (the CSP forbids inline styles).
pub fn svg(uri: &str) -> Result<Zeroizing<String>, QrError> {
    let code = QrCode::with_error_correction_level(uri.as_bytes(), EcLevel::M)?;
    let image = Zeroizing::new(
        code.render::<svg::Color<'_>>()
            .quiet_zone(true)
            .module_dimensions(4, 4)
            .build(),
    );
    let start = image.find("<svg").unwrap_or(0);
    let body = image.get(start..).unwrap_or_default().replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code of the otpauth URI\" ",
        1,
    );
    Ok(Zeroizing::new(body))
}
