//! The Token2 models this burner knows, by the first digits of their serial numbers, and
//! which of them keep their seed on a config write. It changes whenever Token2 ships a
//! model; nothing else in `nfc` should need to.
//!
//! Pure data and lookups: no I/O.

/// A Token2 model, known by the first digits of its serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Model {
    pub prefix: &'static str,
    pub name: &'static str,
    /// False on "restricted-sync" models: every config write (so every time sync) erases
    /// the seed there, as an anti-replay measure.
    pub keeps_seed_on_config: bool,
}

/// The serial prefixes we know. Looked up longest prefix first.
pub const MODELS: [Model; 8] = [
    Model {
        prefix: "8659600",
        name: "miniOTP-2-i",
        keeps_seed_on_config: true,
    },
    Model {
        prefix: "8659601",
        name: "miniOTP-3-i",
        keeps_seed_on_config: false,
    },
    Model {
        prefix: "8659609",
        name: "miniOTP-3-i-NB",
        keeps_seed_on_config: false,
    },
    Model {
        prefix: "8659610",
        name: "C301-i",
        keeps_seed_on_config: false,
    },
    Model {
        prefix: "8659612",
        name: "OTPC-P1-i",
        keeps_seed_on_config: true,
    },
    Model {
        prefix: "8659621",
        name: "OTPC-P2-i-NB",
        keeps_seed_on_config: false,
    },
    Model {
        prefix: "8659622",
        name: "OTPC-P2-i",
        keeps_seed_on_config: false,
    },
    Model {
        prefix: "8659632",
        name: "C302-i",
        keeps_seed_on_config: true,
    },
];

/// The model a serial number belongs to, by the longest matching prefix.
pub fn model_for_serial(serial: &str) -> Option<Model> {
    MODELS
        .iter()
        .filter(|m| serial.starts_with(m.prefix))
        .max_by_key(|m| m.prefix.len())
        .copied()
}

/// True when a config write leaves the seed alone on this serial (the three known keepers);
/// every other serial, known or not, is treated as restricted.
pub fn keeps_seed_on_config(serial: &str) -> bool {
    model_for_serial(serial).is_some_and(|m| m.keeps_seed_on_config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn longest_prefix_wins_and_unknown_is_none() {
        assert_eq!(
            model_for_serial("8659600123456").unwrap().name,
            "miniOTP-2-i"
        );
        assert_eq!(model_for_serial("8659632000001").unwrap().name, "C302-i");
        assert!(model_for_serial("865960").is_none());
        assert!(model_for_serial("1234567").is_none());
        assert!(keeps_seed_on_config("8659612000001"));
        assert!(!keeps_seed_on_config("8659601000001"));
        assert!(!keeps_seed_on_config("9999999"));
    }
}
