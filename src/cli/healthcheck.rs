//! `totp-toolset healthcheck`: asks a running server for `/healthz` and exits 0 only when it
//! answers 200. Made for Docker's HEALTHCHECK, so the image needs no shell and no curl. It
//! reads the same `TOTP_TOOLSET_BIND` and TLS variables as `serve`, so in a container
//! configured through the environment it probes the right address and scheme.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use super::common::{CliError, CliResult};
use super::serve::ListenArgs;

#[derive(Args, Debug)]
pub struct HealthcheckArgs {
    /// Full URL to check [default: http(s)://<bind>/healthz]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub listen: ListenArgs,
    /// The server uses TLS (set automatically from serve's TLS variables)
    #[arg(long)]
    pub tls: bool,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub timeout: u64,
}

/// The URL to probe for a bind address: `0.0.0.0` and `[::]` listen everywhere, so the
/// probe goes to the loopback address of the same family.
pub fn url_for_bind(bind: &str, tls: bool) -> String {
    let host_port = if let Some(port) = bind.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = bind.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        bind.to_string()
    };
    let scheme = if tls { "https" } else { "http" };
    format!("{scheme}://{host_port}/healthz")
}

/// A liveness probe needs to know the server answers, not who it is: the certificate is
/// often self-signed and made at start-up. Handshake signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One GET over HTTP/1.1, plain or TLS; returns the status code.
async fn probe(uri: &hyper::Uri) -> Result<hyper::StatusCode, String> {
    let host = uri.host().ok_or("the URL has no host")?;
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let tls = uri.scheme_str() == Some("https");
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect: {e}"))?;
    let request = hyper::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
        .header(
            hyper::header::HOST,
            uri.authority().map_or("", |a| a.as_str()),
        )
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    if tls {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        let name = ServerName::try_from(host).map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        send(TokioIo::new(stream), request).await
    } else {
        send(TokioIo::new(tcp), request).await
    }
}

async fn send<IO>(
    io: IO,
    request: hyper::Request<Empty<Bytes>>,
) -> Result<hyper::StatusCode, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    Ok(response.status())
}

pub fn run(args: &HealthcheckArgs) -> CliResult {
    let tls = args.tls || args.listen.serves_tls();
    let url = args
        .url
        .clone()
        .unwrap_or_else(|| url_for_bind(&args.listen.bind, tls));
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| CliError::usage("--url", format!("'{url}' is not a URL: {e}")))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(CliError::usage(
            "--url",
            format!("'{url}': only http:// and https:// URLs can be checked"),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the runtime: {e}")))?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    match runtime.block_on(async { tokio::time::timeout(timeout, probe(&uri)).await }) {
        Err(_) => Err(CliError::failure(format!(
            "unhealthy: {url} did not answer within {} s",
            timeout.as_secs()
        ))),
        Ok(Err(e)) => Err(CliError::failure(format!("unhealthy: {url}: {e}"))),
        Ok(Ok(status)) if status.is_success() => {
            println!("healthy: {url} answered {status}");
            Ok(())
        }
        Ok(Ok(status)) => Err(CliError::failure(format!(
            "unhealthy: {url} answered {status}"
        ))),
    }
}
