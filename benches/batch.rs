//! The batch's hot paths: a 10,000-token vendor CSV (hex seeds, `;`, BOM) read, checked and
//! added to a batch (every serial and seed compared), users assigned, and Entra's CSV
//! written from it. The web import's server time is mostly this.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use totp_toolset::tokens::Batch;
use totp_toolset::tokens::formats::{ReadOptions, entra_csv, vendor_csv};

const TOKENS: usize = 10_000;

/// A Token2-style file: serials with leading zeros, 20-byte hex seeds, no users.
fn vendor_file(n: usize) -> Vec<u8> {
    let mut s =
        String::from("\u{feff}Serial Number;Secret Key;TimeInterval;Manufacturer;Model\r\n");
    for i in 0..n {
        let mut seed = [0u8; 20];
        for (j, b) in seed.iter_mut().enumerate() {
            *b = (i as u64)
                .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                .rotate_left(j as u32 * 3) as u8
                ^ j as u8;
        }
        seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        let _ = write!(s, "{:08};{hex};30;Token2;C202\r\n", i + 1);
    }
    s.into_bytes()
}

fn users(n: usize) -> String {
    (0..n).map(|i| format!("user{i}@contoso.com\n")).collect()
}

fn bench_import(c: &mut Criterion) {
    let file = vendor_file(TOKENS);
    let options = ReadOptions::default();
    let mut group = c.benchmark_group("batch");
    group.sample_size(20);
    group.bench_function("read_vendor_csv_10k", |b| {
        b.iter(|| vendor_csv::read(black_box(&file), &options).unwrap())
    });
    group.bench_function("import_into_batch_10k", |b| {
        b.iter(|| {
            let import = vendor_csv::read(black_box(&file), &options).unwrap();
            let mut batch = Batch::default();
            let refused = batch.add_candidates(import.candidates);
            assert!(refused.is_empty());
            batch
        })
    });
    let import = vendor_csv::read(&file, &options).unwrap();
    let mut batch = Batch::default();
    batch.add_candidates(import.candidates);
    let list = users(TOKENS);
    group.bench_function("assign_users_10k", |b| {
        b.iter(|| {
            let mut b2 = batch.clone();
            b2.assign(black_box(&list))
        })
    });
    batch.assign(&list);
    group.bench_function("write_entra_csv_10k", |b| {
        b.iter(|| entra_csv::write(black_box(batch.records())).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_import);
criterion_main!(benches);
