//! `totp-toolset readers`: the PC/SC readers and whether a card is on each.

use std::io::Write;

use clap::Args;
use serde_json::json;

use super::common::{CliResult, out};
use crate::nfc::reader;

#[derive(Args, Debug)]
pub struct ReadersArgs {
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &ReadersArgs, stdout: &mut dyn Write) -> CliResult {
    let readers = reader::list_readers()?;
    if args.json {
        return out(stdout, &format!("{}\n", json!({ "readers": readers })));
    }
    if readers.is_empty() {
        return out(
            stdout,
            "no readers found (is the reader plugged in and pcscd running?)\n",
        );
    }
    let mut text = String::new();
    for r in readers {
        let card = if r.card_present {
            "card present"
        } else {
            "no card"
        };
        text.push_str(&format!("{}\t{card}\n", r.name));
    }
    out(stdout, &text)
}
