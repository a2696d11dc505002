//! The pages (seed, burn, codes, CSV), one module each. Pages are leaves: a page imports
//! the session, the extractor, forms and views, never another page.
//!
//! Handlers are named `view_<page>_get` / `_post`. A seed is only ever read from a POST
//! body or the session, and written only into the response body of its own session.

pub mod batch_crypto;
pub mod bulk;
pub mod burn;
pub mod csv;
pub mod otp;
pub mod seed;
