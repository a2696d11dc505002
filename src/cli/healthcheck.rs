//! `totp-toolset healthcheck`: asks a running server for `/healthz` and exits 0 only when it
//! answers 200. Made for Docker's HEALTHCHECK, so the image needs no shell and no curl.

use std::time::Duration;

use clap::Args;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::common::{CliError, CliResult};

#[derive(Args, Debug)]
pub struct HealthcheckArgs {
    /// Full URL to check [default: http://<bind>/healthz]
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// The address `serve` binds; a wildcard address is checked on loopback
    #[arg(
        long,
        env = "TOTP_TOOLSET_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR:PORT"
    )]
    pub bind: String,
    /// Give up after this many seconds
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub timeout: u64,
}

/// The URL to probe for a bind address: `0.0.0.0` and `[::]` listen everywhere, so the
/// probe goes to the loopback address of the same family.
pub fn url_for_bind(bind: &str) -> String {
    let host_port = if let Some(port) = bind.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = bind.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        bind.to_string()
    };
    format!("http://{host_port}/healthz")
}

pub fn run(args: &HealthcheckArgs) -> CliResult {
    let url = args.url.clone().unwrap_or_else(|| url_for_bind(&args.bind));
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| CliError::usage("--url", format!("'{url}' is not a URL: {e}")))?;
    if uri.scheme_str() != Some("http") {
        return Err(CliError::usage(
            "--url",
            format!("'{url}': only http:// URLs can be checked"),
        ));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failure(format!("cannot start the runtime: {e}")))?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let status = runtime.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        tokio::time::timeout(timeout, client.get(uri)).await
    });
    match status {
        Err(_) => Err(CliError::failure(format!(
            "unhealthy: {url} did not answer within {} s",
            timeout.as_secs()
        ))),
        Ok(Err(e)) => Err(CliError::failure(format!("unhealthy: {url}: {e}"))),
        Ok(Ok(resp)) if resp.status().is_success() => {
            println!("healthy: {url} answered {}", resp.status());
            Ok(())
        }
        Ok(Ok(resp)) => Err(CliError::failure(format!(
            "unhealthy: {url} answered {}",
            resp.status()
        ))),
    }
}
