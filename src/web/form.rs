//! Per-field error messages for forms, looked up by field name in templates so each error
//! sits beside its field (and is tied to it with `aria-describedby`).
//!
//! Messages must never contain a seed.

#[derive(Clone, Debug, Default)]
pub struct Errors(Vec<(&'static str, String)>);

impl Errors {
    pub fn push(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// The message for a field, if it has one.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
