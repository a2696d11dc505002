//! A floor probe for `bench/convert.sh`, not part of the toolset: the least work any
//! program can do for the bench's job (a vendor CSV with hex seeds → Entra's CSV, users
//! given out in serial order), so that our time can be read against what this machine
//! allows at all, not only against Python.
//!
//! It checks nothing and trusts its input (the bench's own file): records borrow their text
//! from the input, seeds sit inline, duplicate serials and seeds are found through keyed
//! hashes (as the batch does), and the output is streamed through a small buffer. Built by
//! the bench with `rustc -O`, no crates. Its output must be byte-identical to ours.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::io::Write;

/// The keyed hash is computed once; the maps take it as it is.
#[derive(Default, Clone, Copy)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {}
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Index = HashMap<u64, u32, BuildHasherDefault<PreHashed>>;

struct Record<'a> {
    serial: &'a str,
    seed: [u8; 32],
    seed_len: u8,
    period: &'a str,
    manufacturer: &'a str,
    model: &'a str,
    upn: &'a str,
}

fn hex_value(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => panic!("not a hex digit"),
    }
}

/// Numeric serials by value, leading zeros aside (what the batch's serial order does for
/// the bench's all-digit serials).
fn rank(serial: &str) -> (usize, &str) {
    let t = serial.trim_start_matches('0');
    (t.len(), t)
}

fn lowercase_hash(keys: &RandomState, text: &str, buf: &mut [u8; 256]) -> u64 {
    let b = &mut buf[..text.len()];
    b.copy_from_slice(text.as_bytes());
    b.make_ascii_lowercase();
    keys.hash_one(&*b)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, seeds, users, out] = &args[..] else {
        panic!("usage: convert_floor SEEDS.csv USERS.txt OUT.csv");
    };
    let input = std::fs::read_to_string(seeds).expect("seeds");
    let text = input.strip_prefix('\u{feff}').unwrap_or(&input);
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let delimiter = if header.contains(';') { ';' } else { ',' };
    let column = |name: &str| {
        header
            .split(delimiter)
            .position(|h| h.trim().eq_ignore_ascii_case(name))
            .expect("column")
    };
    let cols = [
        column("serial number"),
        column("secret key"),
        column("timeinterval"),
        column("manufacturer"),
        column("model"),
    ];

    let keys = RandomState::new();
    let n = text.len() / 60;
    let mut records: Vec<Record> = Vec::with_capacity(n);
    let (mut serials, mut seeds) = (Index::default(), Index::default());
    serials.reserve(n);
    seeds.reserve(n);
    let mut buf = [0u8; 256];
    let mut cells = [""; 8];
    for line in lines.filter(|l| !l.trim().is_empty()) {
        for (slot, cell) in cells.iter_mut().zip(line.split(delimiter)) {
            *slot = cell.trim();
        }
        let hex = cells[cols[1]].as_bytes();
        let mut seed = [0u8; 32];
        for (byte, pair) in seed.iter_mut().zip(hex.chunks_exact(2)) {
            *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        let seed_len = (hex.len() / 2) as u8;
        let serial = cells[cols[0]];
        let i = records.len() as u32;
        let serial_hash = lowercase_hash(&keys, serial, &mut buf);
        let seed_hash = keys.hash_one(&seed[..usize::from(seed_len)]);
        assert!(serials.insert(serial_hash, i).is_none(), "duplicate serial");
        assert!(seeds.insert(seed_hash, i).is_none(), "duplicate seed");
        records.push(Record {
            serial,
            seed,
            seed_len,
            period: cells[cols[2]],
            manufacturer: cells[cols[3]],
            model: cells[cols[4]],
            upn: "",
        });
    }

    let users = std::fs::read_to_string(users).expect("users");
    let mut order: Vec<u32> = (0..records.len() as u32).collect();
    let key = |i: &u32| rank(records[*i as usize].serial);
    if !order.is_sorted_by_key(key) {
        if order.iter().rev().is_sorted_by_key(key) {
            order.reverse();
        } else {
            order.sort_by_cached_key(key);
        }
    }
    // Entra's 5-method warning needs a count per user, as the batch keeps it.
    let mut per_user = Index::default();
    per_user.reserve(n);
    for (upn, &i) in users
        .lines()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .zip(&order)
    {
        *per_user
            .entry(lowercase_hash(&keys, upn, &mut buf))
            .or_default() += 1;
        records[i as usize].upn = upn;
    }

    const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut file = std::fs::File::create(out).expect("output");
    let mut w: Vec<u8> = Vec::with_capacity(1 << 16);
    w.extend_from_slice(b"upn,serial number,secret key,time interval,manufacturer,model\r\n");
    for r in &records {
        for (k, cell) in [r.upn, r.serial].into_iter().enumerate() {
            if k > 0 {
                w.push(b',');
            }
            w.extend_from_slice(cell.as_bytes());
        }
        w.push(b',');
        let (mut acc, mut bits) = (0u64, 0);
        for &b in &r.seed[..usize::from(r.seed_len)] {
            acc = (acc << 8) | u64::from(b);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                w.push(BASE32[((acc >> bits) & 31) as usize]);
            }
        }
        if bits > 0 {
            w.push(BASE32[((acc << (5 - bits)) & 31) as usize]);
        }
        for cell in [r.period, r.manufacturer, r.model] {
            w.push(b',');
            w.extend_from_slice(cell.as_bytes());
        }
        w.extend_from_slice(b"\r\n");
        if w.len() > 60_000 {
            file.write_all(&w).expect("write");
            w.clear();
        }
    }
    file.write_all(&w).expect("write");
}
