//! The drift finder and the code window: signed offsets, ambiguity, bounds.

use totp_toolset::otp::{
    Algorithm, Drift, Generator, Offset, Params, Secret, default_drift_steps, normalize_code,
};

fn gen_with(period: u32) -> Generator {
    let secret = Secret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
    Generator::new(&secret, Params::new(Algorithm::Sha1, 6, period).unwrap())
}

const NOW: u64 = 1_700_000_015;

#[test]
fn finds_signed_offsets_with_two_codes() {
    for period in [30, 60] {
        let g = gen_with(period);
        let bound = default_drift_steps(period) as i64;
        for steps in [-bound, -100, -7, -1, 0, 1, 5, 7, 100, bound] {
            let t = (NOW as i64 + steps * i64::from(period)) as u64;
            let code = g.code_at(t);
            let next = g.code_at(t + u64::from(period));
            let got = g.find_drift(NOW, &code, Some(&next), default_drift_steps(period));
            assert_eq!(
                got,
                Drift::Found(Offset {
                    steps,
                    seconds: steps * i64::from(period)
                }),
                "period {period}, steps {steps}"
            );
        }
    }
}

#[test]
fn single_code_near_now_is_found_or_listed_nearest_first() {
    let g = gen_with(30);
    for steps in [-7i64, 5, 7] {
        let code = g.code_at((NOW as i64 + steps * 30) as u64);
        match g.find_drift(NOW, &code, None, 2880) {
            Drift::Found(o) => assert_eq!(o.steps, steps),
            Drift::Ambiguous(all) => {
                assert_eq!(all[0].steps, steps, "nearest candidate first");
                assert!(all.windows(2).all(|w| w[0].steps.abs() <= w[1].steps.abs()));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn ambiguity_is_reported_with_every_candidate() {
    // Over a wide enough range a 6-digit code repeats by chance; find such a code and check
    // that all its positions come back, and that the next code settles it.
    let g = gen_with(30);
    let bound = 200_000u64;
    let now_counter = g.counter_at(NOW);
    let mut seen = std::collections::HashMap::new();
    let mut repeat = None;
    for d in 0..bound {
        let code = g.code_for_counter(now_counter + d);
        if let Some(first) = seen.insert(code.clone(), d) {
            repeat = Some((code, first, d));
            break;
        }
    }
    let (code, first, second) = repeat.expect("a repeat within 200000 steps");
    match g.find_drift(NOW, &code, None, second) {
        Drift::Ambiguous(all) => {
            let steps: Vec<i64> = all.iter().map(|o| o.steps).collect();
            assert!(steps.contains(&(first as i64)) && steps.contains(&(second as i64)));
        }
        other => panic!("expected ambiguity, got {other:?}"),
    }
    let next = g.code_for_counter(now_counter + second + 1);
    assert_eq!(
        g.find_drift(NOW, &code, Some(&next), second),
        Drift::Found(Offset {
            steps: second as i64,
            seconds: second as i64 * 30
        })
    );
}

#[test]
fn bound_is_respected() {
    let g = gen_with(30);
    let code = g.code_at(NOW + 10 * 30);
    let next = g.code_at(NOW + 11 * 30);
    assert_eq!(
        g.find_drift(NOW, &code, Some(&next), 9),
        Drift::NotFound {
            max_steps: 9,
            max_seconds: 270
        }
    );
    assert!(matches!(
        g.find_drift(NOW, &code, Some(&next), 10),
        Drift::Found(Offset { steps: 10, .. })
    ));
}

#[test]
fn search_does_not_go_before_the_epoch() {
    let g = gen_with(30);
    let code = g.code_at(0);
    // At t=60 the counter is 2, so only counters 0..=2+N exist behind us.
    match g.find_drift(60, &code, None, 5) {
        Drift::Found(o) => assert_eq!(o.steps, -2),
        Drift::Ambiguous(all) => assert!(all.iter().any(|o| o.steps == -2)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn offsets_print_signed() {
    let ahead = Offset {
        steps: 7,
        seconds: 210,
    };
    assert_eq!(ahead.to_string(), "+7 steps (+210 s)");
    assert_eq!(ahead.verdict(), "token clock is ahead");
    let behind = Offset {
        steps: -1,
        seconds: -30,
    };
    assert_eq!(behind.to_string(), "-1 step (-30 s)");
    assert_eq!(behind.verdict(), "token clock is behind");
    assert_eq!(
        Offset {
            steps: 0,
            seconds: 0
        }
        .to_string(),
        "0 steps (0 s)"
    );
}

#[test]
fn typed_codes_are_normalized_or_refused() {
    assert_eq!(normalize_code("code", "123 456", 6).unwrap(), "123456");
    assert_eq!(
        normalize_code("code", "12345", 6).unwrap_err().to_string(),
        "code must be 6 digits (0-9), got '12345'"
    );
    assert!(normalize_code("code", "12345a", 6).is_err());
    assert!(normalize_code("code", "123456", 8).is_err());
}

#[test]
fn window_rows_around_a_time() {
    let g = gen_with(30);
    let w = g.window(NOW, 4);
    assert_eq!(w.rows.len(), 9);
    assert_eq!(w.rows[0].offset, -4);
    assert_eq!(w.rows[8].offset, 4);
    let cur = w.current().unwrap();
    assert_eq!(cur.code, g.code_at(NOW));
    assert_eq!(cur.starts_at, NOW - NOW % 30);
    assert_eq!(w.rows[0].offset_seconds, -120);
    assert_eq!(w.rows[5].code, g.code_at(NOW + 30));
    // Near the epoch, steps before it are left out.
    assert_eq!(g.window(59, 4).rows.len(), 6);
    assert_eq!(g.seconds_remaining(NOW), 30 - NOW % 30);
}

#[test]
fn anatomy_matches_the_code() {
    let g = gen_with(30);
    let a = g.anatomy(59);
    assert_eq!(a.counter, 1);
    assert_eq!(a.counter_hex, "0000000000000001");
    assert_eq!(a.hmac_hex.len(), 40);
    assert_eq!(a.code, "287082");
    assert_eq!(format!("{:06}", a.truncated_value % 1_000_000), "287082");
}
