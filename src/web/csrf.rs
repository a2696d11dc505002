//! Refuses cross-site writes: a POST (any unsafe method) is accepted only when the browser
//! says it came from one of our own pages. The session cookie is `SameSite=Strict` as well;
//! this check does not rely on it.
//!
//! The rule, in order:
//! 1. `Origin` is one of the `--trusted-origin`s: accepted (the administrator said so; the
//!    header is set by the browser and no page can change it).
//! 2. `Sec-Fetch-Site` present: accepted only when it is `same-origin` (`same-site`,
//!    `cross-site` and `none` are refused).
//! 3. No `Sec-Fetch-Site` (an older browser): accepted only when `Origin` is exactly this
//!    server's (scheme from TLS on or off, host and port from the request's `Host`, which the
//!    host check has already accepted).
//!
//! Everything else is refused: no `Origin`, an empty one or `null`, a foreign host, another
//! port or scheme. `Referer` is never looked at. It must never accept a write on a guess.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppError;
use super::host::{request_host, split_host};

/// A browser origin: scheme, host and port (the default port filled in).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    https: bool,
    host: String,
    port: u16,
}

impl Origin {
    /// An origin as browsers send it (`https://totp.example.com`, `http://10.0.0.5:8080`); a
    /// single trailing `/` is forgiven, for origins an admin copied from the address bar.
    pub fn parse(text: &str) -> Result<Origin, String> {
        let (scheme, rest) = text
            .split_once("://")
            .ok_or("must look like https://host or http://host:port")?;
        let https = if scheme.eq_ignore_ascii_case("https") {
            true
        } else if scheme.eq_ignore_ascii_case("http") {
            false
        } else {
            return Err("must start with http:// or https://".into());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (host, port) = split_host(rest)
            .ok_or("must be scheme://host or scheme://host:port, with no path, user or query")?;
        Ok(Origin {
            https,
            host,
            port: port.unwrap_or(if https { 443 } else { 80 }),
        })
    }

    /// This server's own origin for a request with this `Host`.
    fn own(host: &str, https: bool) -> Option<Origin> {
        let (host, port) = split_host(host)?;
        Some(Origin {
            https,
            host,
            port: port.unwrap_or(if https { 443 } else { 80 }),
        })
    }
}

/// What the check needs, built once at start-up.
#[derive(Clone, Debug)]
pub struct CsrfGuard {
    trusted: Arc<[Origin]>,
    /// Browsers reach us over HTTPS (our own TLS or a proxy's).
    https: bool,
}

impl CsrfGuard {
    /// Fails, naming the entry, when a trusted origin is not an origin.
    pub fn new(trusted_origins: &[String], https: bool) -> Result<CsrfGuard, String> {
        let trusted = trusted_origins
            .iter()
            .map(|o| {
                Origin::parse(o.trim())
                    .map_err(|e| format!("--trusted-origin '{}' {e}", crate::otp::clip(o)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(CsrfGuard {
            trusted: trusted.into(),
            https,
        })
    }

    /// True when this unsafe request may go ahead.
    pub fn allows(&self, headers: &HeaderMap, host: Option<&str>) -> bool {
        let origin = headers
            .get("origin")
            .and_then(|v| v.to_str().ok())
            .and_then(|o| Origin::parse(o).ok());
        if origin.as_ref().is_some_and(|o| self.trusted.contains(o)) {
            return true;
        }
        match headers.get("sec-fetch-site") {
            Some(site) => site.as_bytes().eq_ignore_ascii_case(b"same-origin"),
            None => match (origin, host.and_then(|h| Origin::own(h, self.https))) {
                (Some(origin), Some(own)) => origin == own,
                _ => false,
            },
        }
    }
}

fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// The middleware: refuses cross-site writes with the 403 page before any body is read.
pub async fn check(State(guard): State<CsrfGuard>, request: Request, next: Next) -> Response {
    if is_safe(request.method()) || guard.allows(request.headers(), request_host(&request)) {
        return next.run(request).await;
    }
    AppError::CrossSite.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_rule() {
        let g = CsrfGuard::new(&["https://totp.example.com/".into()], false).unwrap();
        let host = Some("localhost:8080");
        let cases: &[(&[(&'static str, &str)], bool)] = &[
            (&[("sec-fetch-site", "same-origin")], true),
            (&[("sec-fetch-site", "Same-Origin")], true),
            (&[("origin", "http://localhost:8080")], true),
            (&[("origin", "HTTP://LOCALHOST:8080")], true),
            (&[("origin", "https://totp.example.com")], true),
            (
                &[
                    ("origin", "https://totp.example.com"),
                    ("sec-fetch-site", "cross-site"),
                ],
                true,
            ),
            (&[], false),
            (&[("referer", "http://localhost:8080/")], false),
            (&[("origin", "")], false),
            (&[("origin", "null")], false),
            (&[("origin", "https://localhost:8080")], false),
            (&[("origin", "http://localhost:8081")], false),
            (&[("origin", "http://localhost")], false),
            (&[("origin", "http://evil.example")], false),
            (&[("origin", "http://localhost:8080/x")], false),
        ];
        for (pairs, want) in cases {
            assert_eq!(g.allows(&headers(pairs), host), *want, "{pairs:?}");
        }
        // Our own Origin is not enough when the browser says the request came from elsewhere.
        for site in ["cross-site", "same-site", "none"] {
            let h = headers(&[
                ("origin", "http://localhost:8080"),
                ("sec-fetch-site", site),
            ]);
            assert!(!g.allows(&h, host), "{site}");
        }
        // No Host: nothing to compare with.
        assert!(!g.allows(&headers(&[("origin", "http://localhost:8080")]), None));
    }

    #[test]
    fn default_ports() {
        let g = CsrfGuard::new(&[], true).unwrap();
        let h = headers(&[("origin", "https://totp.example.com")]);
        assert!(g.allows(&h, Some("totp.example.com")));
        assert!(g.allows(&h, Some("totp.example.com:443")));
        assert!(!g.allows(&h, Some("totp.example.com:8443")));
    }

    proptest::proptest! {
        /// Any text as an `Origin`, `Host` or trusted origin: no panic, a message repeats at
        /// most 64 characters of it, and a random origin is never taken for ours.
        #[test]
        fn any_text_is_checked_without_panic(text in proptest::prelude::any::<String>(), pad in 65usize..200) {
            let _ = Origin::parse(&text);
            let long = format!("{}{text}", "q".repeat(pad));
            if let Err(e) = CsrfGuard::new(&[long], false) {
                proptest::prop_assert!(!e.contains(&"q".repeat(65)), "{}", e);
            }
            let g = CsrfGuard::new(&[], false).unwrap();
            let mut h = HeaderMap::new();
            if let Ok(v) = text.parse() {
                h.insert("origin", v);
                proptest::prop_assert!(!g.allows(&h, Some("localhost:8080")) || text.eq_ignore_ascii_case("http://localhost:8080"));
            }
            let _ = g.allows(&HeaderMap::new(), Some(text.as_str()));
        }
    }

    #[test]
    fn bad_trusted_origins_are_named() {
        for bad in [
            "not a url",
            "ftp://x",
            "https://",
            "https://a/b",
            "https://u@a",
        ] {
            let e = CsrfGuard::new(&[bad.into()], false).unwrap_err();
            assert!(e.starts_with("--trusted-origin '"), "{e}");
        }
    }
}
