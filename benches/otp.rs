//! Benchmarks of the hot paths: one code, the ±4 window the OTP page shows on every
//! refresh, and a full ±1-day drift search (the worst case, a code that is not there).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use totp_toolset::otp::{Algorithm, Generator, Params, Secret, default_drift_steps};

const NOW: u64 = 1_700_000_000;

fn generator(alg: Algorithm) -> Generator {
    let secret = Secret::from_bytes(vec![0x5a; 20]).unwrap();
    Generator::new(&secret, Params::new(alg, 6, 30).unwrap())
}

fn bench_code(c: &mut Criterion) {
    for alg in Algorithm::ALL {
        let g = generator(alg);
        c.bench_function(&format!("code/{}", alg.cli_name()), |b| {
            b.iter(|| g.code_at(black_box(NOW)))
        });
    }
}

fn bench_window(c: &mut Criterion) {
    let g = generator(Algorithm::Sha1);
    c.bench_function("window/skew4", |b| b.iter(|| g.window(black_box(NOW), 4)));
}

fn bench_drift(c: &mut Criterion) {
    let g = generator(Algorithm::Sha1);
    let bound = default_drift_steps(30);
    // Two codes that do not occur in the window force the search to cover all ±2880 steps.
    let code = g.code_at(NOW + 10 * 86_400);
    let next = g.code_at(NOW + 10 * 86_400 + 30);
    c.bench_function("drift/full_day_sha1", |b| {
        b.iter(|| g.find_drift(black_box(NOW), &code, Some(&next), bound))
    });
    // Building a generator (copying the seed into totp-rs) is part of every request.
    c.bench_function("generator/new", |b| {
        let secret = Secret::from_bytes(vec![0x5a; 20]).unwrap();
        b.iter(|| Generator::new(black_box(&secret), Params::default()))
    });
}

criterion_group!(benches, bench_code, bench_window, bench_drift);
criterion_main!(benches);
