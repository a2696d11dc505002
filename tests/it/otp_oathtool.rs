//! Property test: our codes equal oathtool's (an independent implementation) for random
//! seeds, times, algorithms, digits and periods. oathtool is installed by .ci/run; a missing
//! oathtool fails the test rather than skipping it.

use totp_toolset::otp::{Algorithm, Generator, Params, Secret};

use crate::support::tools::oathtool_hex;
use crate::support::{random_bytes, random_u64};

const CASES: usize = 400;

#[test]
fn codes_match_oathtool_on_random_cases() {
    for case in 0..CASES {
        let r = random_u64();
        let len = 10 + (r % 55) as usize; // 80 bits at least; oathtool takes keys up to 64 bytes
        let secret = Secret::from_bytes(random_bytes(len)).unwrap();
        let alg = Algorithm::ALL[(r >> 8) as usize % 3];
        let digits = if (r >> 12) & 1 == 0 { 6 } else { 8 };
        let period = match (r >> 16) % 4 {
            0 => 30,
            1 => 60,
            _ => 1 + ((r >> 20) % 3600) as u32,
        };
        // Times from the epoch up to 2^33 (beyond 2038, where 32-bit counters break).
        let at = random_u64() % (1u64 << 33);
        let params = Params::new(alg, digits, period).unwrap();
        let ours = Generator::new(&secret, params).code_at(at);
        let theirs = oathtool_hex(alg, secret.to_hex().as_str(), digits, period, at);
        assert_eq!(
            ours, theirs,
            "case {case}: {alg} digits={digits} period={period} at={at} seed_len={len}"
        );
    }
}
