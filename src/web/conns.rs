//! The accept loop: takes TCP connections (and their TLS handshakes) and serves HTTP/1.1 on
//! them with limits, so no client can hold the server's sockets for long: a cap on open
//! connections, a deadline for each request's headers, and an idle timeout for kept-alive
//! connections. Plain HTTP and TLS share it, so both paths have the same limits.
//!
//! It never reads or logs request contents; it only moves bytes between sockets and the
//! router.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::Request;
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// How long the server lets clients hold its sockets.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// A request's headers must be complete this long after the connection opened (or the
    /// previous response was sent); the TLS handshake must also finish within it.
    pub header_timeout: Duration,
    /// A connection with no request under way and no bytes moving is closed after this.
    pub idle_timeout: Duration,
    /// Most connections open at once. Beyond it, new ones wait in the kernel's backlog
    /// until one closes: a browser waits a moment instead of getting an error.
    pub max_connections: u32,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            max_connections: 512,
        }
    }
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until `shutdown` resolves, then
/// stops accepting, lets requests under way finish for up to `grace`, and returns.
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let tls = tls.map(tokio_rustls::TlsAcceptor::from);
    let permits = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut warned_full = false;
    loop {
        // The permit is taken before accepting, so connections beyond the cap stay in the
        // kernel's backlog, costing us no file descriptor and no task.
        if permits.available_permits() == 0 && !warned_full {
            tracing::warn!(
                max = limits.max_connections,
                "connection cap reached; new connections wait until one closes"
            );
            warned_full = true;
        }
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        if permits.available_permits() > 0 {
            warned_full = false;
        }
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Responses go out in one write; Nagle's delay would only add latency.
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let stop = stop_rx.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(tcp, app, limits, stop).await,
                Some(acceptor) => {
                    match tokio::time::timeout(limits.header_timeout, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => serve_connection(stream, app, limits, stop).await,
                        Ok(Err(e)) => tracing::debug!("TLS handshake failed: {e}"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every open connection holds one permit: having them all back means all are closed.
    let all = permits.acquire_many(limits.max_connections);
    if tokio::time::timeout(grace, all).await.is_err() {
        tracing::warn!(
            open = limits.max_connections as usize - permits.available_permits(),
            "connections still open after the grace period are dropped"
        );
    }
}

/// Errors of one connection (it went away before we took it) are nothing to wait for;
/// anything else (out of file descriptors) would fail again at once, so pause briefly.
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::warn!("cannot accept a connection: {e}");
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// One connection: HTTP/1.1 with the header deadline, watched for idleness.
async fn serve_connection<I>(
    io: I,
    app: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: io,
        activity: activity.clone(),
    });
    let service = Tracked {
        app,
        activity: activity.clone(),
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    // hyper starts this clock when it waits for a request's first byte, so it bounds both
    // a slow sender's headers and the wait of an idle kept-alive connection.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut closing = false;
    loop {
        let deadline = activity.idle_deadline(limits.idle_timeout);
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("connection ended: {e}");
                }
                return;
            }
            _ = stop.changed(), if !closing => {
                // Finishes the request under way, then closes.
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            () = tokio::time::sleep_until(deadline) => {
                if !activity.is_idle(limits.idle_timeout) {
                    continue;
                }
                if closing {
                    // Asked to close one idle period ago and still no progress (a client
                    // that stopped reading our response): drop it.
                    return;
                }
                conn.as_mut().graceful_shutdown();
                closing = true;
                activity.touch();
            }
        }
    }
}

/// When a connection last moved bytes, and how many of its requests are under way.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    in_flight: AtomicUsize,
}

impl Activity {
    fn new() -> Self {
        Activity {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
        }
    }

    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn last(&self) -> Instant {
        self.start + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    fn is_idle(&self, timeout: Duration) -> bool {
        !self.busy() && self.last().elapsed() >= timeout
    }

    /// When to look again: a request under way (a burn waiting for its token) is bounded
    /// by the request timeout, not by this watch.
    fn idle_deadline(&self, timeout: Duration) -> Instant {
        if self.busy() {
            Instant::now() + timeout
        } else {
            self.last() + timeout
        }
    }
}

/// The socket, noting every read and write that moved bytes.
struct Watched<I> {
    inner: I,
    activity: Arc<Activity>,
}

impl<I: AsyncRead + Unpin> AsyncRead for Watched<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Watched<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The router, counting the connection's requests under way.
#[derive(Clone)]
struct Tracked {
    app: Router,
    activity: Arc<Activity>,
}

/// Counts one request under way for as long as it lives (dropped also when the client
/// goes away mid-request).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn new(activity: Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(activity)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

impl hyper::service::Service<Request<Incoming>> for Tracked {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let guard = InFlight::new(self.activity.clone());
        let response = self.app.clone().oneshot(request.map(axum::body::Body::new));
        Box::pin(async move {
            let response = response.await;
            drop(guard);
            response
        })
    }
}
