//! [`SecretText`]: text that may be a seed (a form field, the `secret` of the agent's burn
//! request) before it is parsed into a [`super::Secret`]. One type for every such string,
//! so every one of them is wiped and hidden the same way.
//!
//! It never prints its content: Debug is `[redacted]` and there is no Display.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A string that may hold a seed: zeroized on drop, `[redacted]` in Debug, and plain text
/// in serde (a JSON string, a form field), so it can stand in for a `String` field.
#[derive(Clone, Default)]
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    pub fn new(text: Zeroizing<String>) -> Self {
        SecretText(text)
    }

    /// The text, to parse it; never to print it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for SecretText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Taken as an owned String straight into the zeroizing wrapper, so the only copy
        // left behind is whatever buffer the deserializer itself read from.
        Ok(SecretText(Zeroizing::new(String::deserialize(d)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_in_debug_plain_in_serde() {
        let t: SecretText = serde_json::from_str("\"JBSWY3DPEHPK3PXP\"").unwrap();
        assert_eq!(t.as_str(), "JBSWY3DPEHPK3PXP");
        assert_eq!(format!("{t:?}"), "[redacted]");
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"JBSWY3DPEHPK3PXP\"");
        assert_eq!(SecretText::default().as_str(), "");
    }
}
