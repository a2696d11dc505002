//! Benchmarks of the toolset server's pages through the router (no socket): the seed page
//! (which draws the QR code), the codes page, the live JSON the page polls, a row appended,
//! a 500-row CSV download, and the batch page's targets: a 10,000-token vendor CSV uploaded,
//! parsed, checked and previewed (≤ 300 ms of server time), and the batch page drawn with
//! 10,000 tokens in it (≤ 50 ms). They show how much one request costs on its own.

use std::hint::black_box;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::BodyExt;
use tower::ServiceExt;

use totp_toolset::web::{self, AppState, SessionConfig, WebConfig};

const NOW: u64 = 1_700_000_000;

async fn send(app: &Router, request: Request<Body>) -> (u16, Option<String>, usize) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let cookie = response
        .headers()
        .get(header::SET_COOKIE)
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, cookie, body.len())
}

fn get(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header(header::HOST, "localhost")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

fn post(path: &str, cookie: &str, body: String) -> Request<Body> {
    Request::post(path)
        .header(header::HOST, "localhost")
        .header(header::COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body))
        .unwrap()
}

/// A new session's cookie, as a first visit to the home page gets it.
fn new_session(rt: &tokio::runtime::Runtime, app: &Router) -> String {
    let (_, cookie, _) = rt.block_on(send(
        app,
        Request::get("/")
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .unwrap(),
    ));
    cookie.expect("a session cookie")
}

fn row(i: usize) -> String {
    // A distinct 16-byte base32 secret per row (rows may not share a seed).
    let secret = data_encoding::BASE32_NOPAD.encode(&(i as u128).to_be_bytes());
    format!(
        "upn=user{i}%40contoso.com&serial=SN{i:06}&secret={secret}&interval=30&manufacturer=Token2&model=C202"
    )
}

fn bench_pages(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let config = WebConfig {
        sessions: SessionConfig {
            max_batch: 100_000,
            ..SessionConfig::default()
        },
        ..WebConfig::default()
    };
    let state = AppState::new(config, Arc::new(|| NOW));
    let app = web::app(state).unwrap();
    let cookie = new_session(&rt, &app);

    c.bench_function("web/seed_page_with_qr", |b| {
        b.iter(|| rt.block_on(send(&app, get("/", &cookie))))
    });
    c.bench_function("web/otp_page", |b| {
        b.iter(|| rt.block_on(send(&app, get("/otp", &cookie))))
    });
    c.bench_function("web/api_otp", |b| {
        b.iter(|| rt.block_on(send(&app, get("/api/otp", &cookie))))
    });

    // 500 rows, then the download that writes them all.
    for i in 0..500 {
        let (status, _, _) = rt.block_on(send(&app, post("/csv/rows", &cookie, row(i))));
        assert_eq!(status, 303, "row {i} refused");
    }
    c.bench_function("web/csv_download_500_rows", |b| {
        b.iter(|| rt.block_on(send(&app, get("/csv/download", &cookie))))
    });
    // Appending validates against every row already there (unique serial and seed).
    let mut next = 500;
    c.bench_function("web/append_row_to_500", |b| {
        b.iter(|| {
            next += 1;
            rt.block_on(send(&app, post("/csv/rows", &cookie, black_box(row(next)))))
        })
    });
}

/// A 10,000-token vendor CSV as Token2 sends it: `;`, BOM, hex seeds, no upn column.
fn vendor_csv(n: u32) -> Vec<u8> {
    let mut out =
        String::from("\u{feff}Serial Number;Secret Key;Time Interval;Manufacturer;Model\r\n");
    for i in 0..n {
        let mut seed = [0x3Cu8; 20];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        out.push_str(&format!(
            "{i:08};{};30;Token2;C202\r\n",
            data_encoding::HEXLOWER.encode(&seed)
        ));
    }
    out.into_bytes()
}

fn upload(cookie: &str, file: &[u8]) -> Request<Body> {
    let boundary = "----benchboundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"seeds.csv\"\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::post("/csv/import")
        .header(header::HOST, "localhost")
        .header(header::COOKIE, cookie)
        .header("sec-fetch-site", "same-origin")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap()
}

fn bench_batch(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let state = AppState::new(WebConfig::default(), Arc::new(|| NOW));
    let app = web::app(state).unwrap();
    let session = || new_session(&rt, &app);
    let file = vendor_csv(10_000);

    // Each upload replaces the session's preview, against an empty batch each time.
    let previewing = session();
    let mut group = c.benchmark_group("web/batch");
    group.sample_size(20);
    group.bench_function("upload_and_preview_10000_token_vendor_csv", |b| {
        b.iter(|| {
            let (status, _, _) = rt.block_on(send(&app, upload(&previewing, black_box(&file))));
            assert_eq!(status, 303);
        })
    });

    let full = session();
    let (status, _, _) = rt.block_on(send(&app, upload(&full, &file)));
    assert_eq!(status, 303);
    let (status, _, _) = rt.block_on(send(&app, post("/csv/import/add", &full, String::new())));
    assert_eq!(status, 303);
    group.bench_function("page_with_10000_tokens", |b| {
        b.iter(|| {
            let (status, _, _) = rt.block_on(send(&app, get("/csv", &full)));
            assert_eq!(status, 200);
        })
    });
    group.bench_function("page_50_of_10000_tokens", |b| {
        b.iter(|| rt.block_on(send(&app, get("/csv?page=50", &full))))
    });
    group.finish();
}

criterion_group!(benches, bench_pages, bench_batch);
criterion_main!(benches);
