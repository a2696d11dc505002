//! The security headers every response carries, set in one place so no page can forget them.
//!
//! Never loosen the CSP for a page: templates hold no inline script or style, so none is
//! ever needed.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Only our own script and stylesheet, no inline code, no frames, forms post only to us;
/// the codes page's script may fetch from us (`/api/otp`) and nowhere else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Powerful browser features a TOTP toolset never uses, switched off for our pages and any
/// frame in them, so injected markup could not use them either.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), serial=(), usb=(), xr-spatial-tracking=()";

/// A year, as browsers and the HSTS preload rules expect.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

pub async fn headers(
    State(state): State<super::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    // Once a browser has reached us over HTTPS, it must never again send a session cookie
    // (or a seed in a form) over plain HTTP to this host.
    if state.config.sessions.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
    // Injected markup can neither run script nor send a seed anywhere; no framing (clickjacking).
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    // Browsers must not reinterpret a CSV or JSON download as HTML or script.
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // No URL of ours ever reaches another site in a Referer header. Not `no-referrer`: with
    // it browsers send `Origin: null` even on our own form posts, which the cross-site check
    // must refuse; our URLs carry no secrets, so our own pages may see them.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Camera, microphone, location, USB and the like: never needed, so never granted.
    h.insert(
        HeaderName::from_static("permissions-policy"),
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    // A page of another site that opens ours in a window gets no handle on it (and we none on
    // it): no cross-window scripting, no leak through window references.
    h.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    // Other sites cannot load our pages, downloads or scripts as resources of theirs (so a
    // side channel such as Spectre has nothing of ours in its process).
    h.insert(
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    );
    // Clickjacking protection for browsers too old to know the CSP's frame-ancestors.
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // Pages and downloads show seeds: no browser cache, proxy or back button may keep them.
    // Static assets set their own (they hold nothing secret).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
