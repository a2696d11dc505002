//! The `Host` allow-list: the server answers only to the names it was told it has, so a page
//! on a DNS-rebinding domain (`evil.example` resolving to this machine) is refused before it
//! gets a session. This matters more than anywhere else because the server calls the NFC
//! agent on the page's behalf: without this check a rebinding page could burn a token.
//!
//! Only names need checking: a browser sends an IP address as `Host` only when it connected
//! to that address, so an IP literal can never be forged by rebinding. It must never accept
//! a name it was not given, and never trust anything but the `Host` the request carries.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppError;

/// The loopback names a browser on this machine uses.
const LOOPBACK_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// One accepted host: a name (lower case, IPv6 in brackets, optionally `*.` for one label)
/// and a port, or any port when none was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    name: String,
    port: Option<u16>,
}

impl HostPattern {
    pub fn new(name: &str, port: Option<u16>) -> Self {
        HostPattern {
            name: name.to_ascii_lowercase(),
            port,
        }
    }

    /// `--allowed-host` as an admin writes it: `name`, `name:port`, an IP address, `[v6]:port`
    /// or `*.example.com`. Without a port the name is accepted on any port, because proxies
    /// and port mappings (Docker's `-p 9000:8080`) change the port the browser sees.
    pub fn parse(text: &str) -> Result<HostPattern, String> {
        let text = text.trim();
        let (wildcard, rest) = match text.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let bare_v6 = !rest.starts_with('[') && rest.parse::<std::net::Ipv6Addr>().is_ok();
        let (name, port) = if bare_v6 {
            (format!("[{rest}]"), None)
        } else {
            split_host(rest).ok_or_else(|| {
                "is not a host name, IP address or name:port (like totp.example.com or 10.0.0.5:8080)"
                    .to_string()
            })?
        };
        if wildcard && (name.starts_with('[') || name.parse::<IpAddr>().is_ok()) {
            return Err("a *. wildcard needs a domain name after it, like *.example.com".into());
        }
        let name = if wildcard { format!("*.{name}") } else { name };
        Ok(HostPattern { name, port })
    }

    fn matches(&self, name: &str, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match self.name.strip_prefix("*.") {
            // One label and a dot in front of the domain, as certificates mean it.
            Some(domain) => name
                .strip_suffix(domain)
                .and_then(|label| label.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
            None => self.name == name,
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "{}:{p}", self.name),
            None => write!(f, "{} (any port)", self.name),
        }
    }
}

/// Splits `host[:port]` as browsers send it into a lower-case name (IPv6 kept in brackets, a
/// trailing dot dropped) and a port. `None` for anything a browser would not send.
pub fn split_host(text: &str) -> Option<(String, Option<u16>)> {
    let (name, port) = if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        v6.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(parse_port(p.strip_prefix(':')?)?),
        };
        (format!("[{}]", v6.to_ascii_lowercase()), port)
    } else {
        let (name, port) = match text.split_once(':') {
            Some((name, port)) => (name, Some(parse_port(port)?)),
            None => (text, None),
        };
        let name = name.strip_suffix('.').unwrap_or(name);
        let name_ok = !name.is_empty()
            && name.len() <= 253
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if !name_ok {
            return None;
        }
        (name.to_ascii_lowercase(), port)
    };
    Some((name, port))
}

fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || text.len() > 5 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Every host the server answers to.
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    patterns: Vec<HostPattern>,
    /// Bound to every interface: any IP address with this port is the machine itself.
    any_ip_on_port: Option<u16>,
    /// True when only the defaults are in (no `--allowed-host` and no certificate name).
    defaults_only: bool,
    /// Bound to a loopback address: no request can have crossed a network to get here.
    loopback_bind: bool,
}

impl Default for AllowedHosts {
    /// For a router built without a bind address (tests, embedding): the loopback names on
    /// any port.
    fn default() -> Self {
        AllowedHosts {
            patterns: LOOPBACK_NAMES
                .iter()
                .map(|n| HostPattern::new(n, None))
                .collect(),
            any_ip_on_port: None,
            defaults_only: true,
            loopback_bind: true,
        }
    }
}

impl AllowedHosts {
    /// The bind address as browsers write it; the loopback names with its port when it is a
    /// loopback or wildcard address (a container bound to 0.0.0.0 and published on
    /// 127.0.0.1 sees `localhost:8080`); then `extra` (`--allowed-host`, certificate names).
    pub fn for_bind(bind: SocketAddr, extra: impl IntoIterator<Item = HostPattern>) -> Self {
        let port = bind.port();
        let ip = bind.ip();
        let mut patterns = vec![HostPattern::new(&bind_host(ip), Some(port))];
        if ip.is_loopback() || ip.is_unspecified() {
            for name in LOOPBACK_NAMES {
                patterns.push(HostPattern::new(name, Some(port)));
            }
        }
        let before = patterns.len();
        for p in extra {
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        AllowedHosts {
            defaults_only: patterns.len() == before,
            patterns,
            any_ip_on_port: ip.is_unspecified().then_some(port),
            loopback_bind: ip.is_loopback(),
        }
    }

    /// True when a request for `host` stayed on this machine: the server is bound to
    /// loopback, or the browser addressed a loopback name or address (a container bound to
    /// every interface and published on 127.0.0.1 is reached as `localhost:8080`). A remote
    /// browser always sends the name or address it used to reach us over the network.
    pub fn is_local(&self, host: Option<&str>) -> bool {
        self.loopback_bind
            || host.and_then(split_host).is_some_and(|(name, _)| {
                name == "localhost"
                    || name
                        .trim_start_matches('[')
                        .trim_end_matches(']')
                        .parse::<IpAddr>()
                        .is_ok_and(|ip| ip.is_loopback())
            })
    }

    /// Whether `host` (the `Host` header as sent) is one of ours. A `Host` without a port
    /// means the scheme's `default_port` (80 or 443).
    pub fn allows(&self, host: &str, default_port: u16) -> bool {
        let Some((name, port)) = split_host(host) else {
            return false;
        };
        let port = port.unwrap_or(default_port);
        if self.any_ip_on_port == Some(port) && is_ip_literal(&name) {
            return true;
        }
        self.patterns.iter().any(|p| p.matches(&name, port))
    }

    /// True when no name beyond the bind address and loopback was given.
    pub fn defaults_only(&self) -> bool {
        self.defaults_only
    }

    /// The accepted hosts in words, for the start-up log.
    pub fn describe(&self) -> String {
        let mut parts: Vec<String> = self.patterns.iter().map(ToString::to_string).collect();
        if let Some(port) = self.any_ip_on_port {
            parts.push(format!("any IP address of this machine with port {port}"));
        }
        parts.join(", ")
    }
}

fn is_ip_literal(name: &str) -> bool {
    name.starts_with('[') || name.parse::<std::net::Ipv4Addr>().is_ok()
}

/// An IP address as it appears in a `Host` header.
fn bind_host(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

/// How a request reached the server, for forms that take private keys and passphrases: they
/// may cross a network only inside TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transport {
    /// The site is served over HTTPS (`--tls-cert`, `--tls-self-signed`, or `--tls` behind
    /// an HTTPS proxy).
    pub tls: bool,
    /// The request stayed on this machine (see [`AllowedHosts::is_local`]).
    pub local: bool,
}

impl Transport {
    /// The transport of a request for `host` to a server with `config`.
    pub fn of(config: &super::WebConfig, host: Option<&str>) -> Self {
        Transport {
            tls: config.sessions.tls,
            local: config.allowed_hosts.is_local(host),
        }
    }

    /// Keys and passphrases may be sent: over TLS, or without leaving the machine.
    pub fn secrets_allowed(self) -> bool {
        self.tls || self.local
    }
}

/// The host the request is addressed to: the `Host` header, or the URI's authority for
/// HTTP/2, which has no `Host`.
pub fn request_host(request: &Request) -> Option<&str> {
    host_of(request.headers(), request.uri())
}

/// [`request_host`] from a request's parts (for extractors, which see no whole request).
pub fn host_of<'a>(headers: &'a HeaderMap, uri: &'a Uri) -> Option<&'a str> {
    match headers.get(header::HOST) {
        Some(h) => h.to_str().ok(),
        None => uri.authority().map(|a| a.as_str()),
    }
}

/// Refuses, with 421, any request whose `Host` is not allowed. `/healthz` is exempt: it
/// answers "ok" and nothing else, and orchestrators probe a container by its own IP or
/// service name, which nobody would otherwise list.
pub async fn check(State(state): State<super::AppState>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/healthz" {
        return next.run(request).await;
    }
    let default_port = if state.config.sessions.tls { 443 } else { 80 };
    match request_host(&request) {
        Some(host) if state.config.allowed_hosts.allows(host, default_port) => {
            next.run(request).await
        }
        host => {
            let shown = host.map(crate::otp::clip).unwrap_or_default();
            tracing::debug!(host = %shown, "refused a request for a host this server does not answer to");
            AppError::MisdirectedHost(shown).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Over plain HTTP, `h` takes every Host in `ok` and none in `bad`.
    fn assert_allows_only(h: &AllowedHosts, ok: &[&str], bad: &[&str]) {
        for host in ok {
            assert!(h.allows(host, 80), "{host} refused");
        }
        for host in bad {
            assert!(!h.allows(host, 80), "{host} allowed");
        }
    }

    #[test]
    fn loopback_bind_accepts_loopback_names_with_its_port() {
        let h = AllowedHosts::for_bind(bind("127.0.0.1:8080"), []);
        assert_allows_only(
            &h,
            &[
                "127.0.0.1:8080",
                "localhost:8080",
                "LOCALHOST:8080",
                "localhost.:8080",
                "[::1]:8080",
            ],
            &[
                "evil.example:8080",
                "localhost:8081",
                "localhost",
                "10.0.0.5:8080",
                "",
                "localhost:8080:1",
                "user@localhost:8080",
                "[::1",
            ],
        );
        assert!(h.defaults_only());
    }

    #[test]
    fn wildcard_bind_accepts_ip_literals_and_loopback_with_the_port() {
        let h = AllowedHosts::for_bind(bind("0.0.0.0:8080"), []);
        assert_allows_only(
            &h,
            &[
                "localhost:8080",
                "10.0.0.5:8080",
                "[fe80::1]:8080",
                "0.0.0.0:8080",
            ],
            &["intranet:8080", "10.0.0.5:9000", "evil.example:8080"],
        );
        assert!(
            h.describe()
                .contains("any IP address of this machine with port 8080")
        );
    }

    #[test]
    fn default_ports_and_patterns() {
        let extra = [
            HostPattern::parse("totp.example.com").unwrap(),
            HostPattern::parse("Intranet:80").unwrap(),
            HostPattern::parse("*.corp.example").unwrap(),
            HostPattern::parse("fe80::2").unwrap(),
        ];
        let h = AllowedHosts::for_bind(bind("10.0.0.5:8080"), extra);
        assert!(!h.defaults_only());
        assert_allows_only(
            &h,
            &[
                "10.0.0.5:8080",
                "totp.example.com",
                "TOTP.example.com:9443",
                "intranet",
                "intranet:80",
                "a.corp.example:1",
                "[FE80::2]:5",
            ],
            &[
                "intranet:8080",
                "corp.example",
                "a.b.corp.example",
                "xcorp.example",
                "localhost:8080",
            ],
        );
        // With TLS a bare name means port 443.
        assert!(!h.allows("intranet", 443));
    }

    proptest::proptest! {
        /// Any text as a `Host` or an `--allowed-host`: no panic, and only a name that is
        /// listed (here none but loopback) is ever accepted.
        #[test]
        fn any_text_is_parsed_without_panic(text in proptest::prelude::any::<String>()) {
            let h = AllowedHosts::for_bind(bind("127.0.0.1:8080"), []);
            if h.allows(&text, 80) {
                let (name, _) = split_host(&text).unwrap();
                proptest::prop_assert!(LOOPBACK_NAMES.contains(&name.as_str()), "{}", name);
            }
            if let Err(e) = HostPattern::parse(&text) {
                proptest::prop_assert!(text.chars().count() < 3 || !e.contains(text.as_str()));
            }
            let _ = AllowedHosts::default().allows(&text, 443);
        }

        #[test]
        fn listed_names_match_in_any_case(name in "[a-z][a-z0-9-]{0,20}(\\.[a-z0-9-]{1,10}){0,3}", port in 1u16..) {
            let h = AllowedHosts::for_bind(bind("10.0.0.1:8080"), [HostPattern::parse(&name).unwrap()]);
            let upper = name.to_ascii_uppercase();
            let with_port = format!("{upper}:{port}");
            proptest::prop_assert!(h.allows(&upper, 80));
            proptest::prop_assert!(h.allows(&with_port, 80));
            let other = format!("x{name}:{port}");
            proptest::prop_assert!(!h.allows(&other, 80));
        }
    }

    #[test]
    fn local_requests_are_told_apart() {
        let remote = AllowedHosts::for_bind(bind("0.0.0.0:8080"), []);
        let on_loopback = AllowedHosts::for_bind(bind("127.0.0.1:8080"), []);
        let default = AllowedHosts::default();
        let cases = [
            (&remote, Some("localhost:8080"), true),
            (&remote, Some("127.1.2.3:8080"), true),
            (&remote, Some("[::1]:8080"), true),
            (&remote, Some("10.0.0.5:8080"), false),
            (&remote, Some("[fe80::1]:8080"), false),
            (&remote, Some("totp.example"), false),
            (&remote, None, false),
            (&on_loopback, Some("totp.example"), true),
            (&default, None, true),
        ];
        for (hosts, host, local) in cases {
            assert_eq!(hosts.is_local(host), local, "{host:?}");
        }
    }

    #[test]
    fn bad_patterns_say_what_is_allowed() {
        for bad in ["", "a b", "host:99999", "*.10.0.0.1", "http://x", "x/y"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
