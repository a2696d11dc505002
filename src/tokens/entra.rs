//! What Entra makes of a token beyond the upload files: its drift tolerances for a measured
//! clock offset, and the error the writers share. (The files themselves are in `formats`.)

#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    #[error("writing the file failed: {0}")]
    Write(String),
}

/// What a measured clock offset means for a token registered in Entra.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftVerdict {
    /// Within the sign-in tolerance of Microsoft's newer engine (±1 min for 30 s tokens,
    /// ±2 min for 60 s): nothing to do.
    Fine,
    /// Within the ~450 s Azure MFA tolerates (Token2's guidance), but past what the newer
    /// engine accepts at sign-in; set the clock if it is over 420 s.
    Tolerated,
    /// Past 420 s: Token2's advice is to set the token's clock.
    ResetClock,
    /// Too far for sign-in, but the newer engine can absorb it once at activation
    /// (±1 day for 30 s tokens, ±2 days for 60 s).
    ActivationOnly,
    /// Beyond every tolerance: Entra will reject the codes.
    Rejected,
}

impl DriftVerdict {
    /// The verdict in plain words, for the page.
    pub fn explain(self) -> &'static str {
        match self {
            DriftVerdict::Fine => "Fine: within Entra's sign-in tolerance. Nothing to do.",
            DriftVerdict::Tolerated => {
                "Works: inside the roughly 450 seconds Azure MFA tolerates, though past the newer engine's sign-in window. Watch it; set the token's clock if it keeps drifting."
            }
            DriftVerdict::ResetClock => {
                "Set the token's clock: it is more than 420 seconds off, close to the 450 seconds Azure MFA tolerates."
            }
            DriftVerdict::ActivationOnly => {
                "Too far off for sign-in. Entra's newer engine can absorb this once at activation (within a day for 30-second tokens, two days for 60-second ones), but setting the token's clock is the safe fix."
            }
            DriftVerdict::Rejected => {
                "Too far off: Entra will reject these codes. Set the token's clock (Token2's burner apps can sync it) or replace the token."
            }
        }
    }
}

/// Places an offset (in seconds, token minus server) against Entra's tolerances as
/// formats.md records them.
pub fn entra_drift_verdict(offset_seconds: i64, period: u32) -> DriftVerdict {
    let off = offset_seconds.unsigned_abs();
    let long = period >= 60;
    let sign_in = if long { 120 } else { 60 };
    let activation = if long { 2 * 86_400 } else { 86_400 };
    if off <= sign_in {
        DriftVerdict::Fine
    } else if off <= 420 {
        DriftVerdict::Tolerated
    } else if off <= 450 {
        DriftVerdict::ResetClock
    } else if off <= activation {
        DriftVerdict::ActivationOnly
    } else {
        DriftVerdict::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_thresholds() {
        assert_eq!(entra_drift_verdict(0, 30), DriftVerdict::Fine);
        assert_eq!(entra_drift_verdict(-60, 30), DriftVerdict::Fine);
        assert_eq!(entra_drift_verdict(90, 30), DriftVerdict::Tolerated);
        assert_eq!(entra_drift_verdict(120, 60), DriftVerdict::Fine);
        assert_eq!(entra_drift_verdict(-450, 30), DriftVerdict::ResetClock);
        assert_eq!(entra_drift_verdict(480, 30), DriftVerdict::ActivationOnly);
        assert_eq!(entra_drift_verdict(90_000, 30), DriftVerdict::Rejected);
        assert_eq!(
            entra_drift_verdict(90_000, 60),
            DriftVerdict::ActivationOnly
        );
    }
}
