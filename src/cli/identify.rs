//! `totp-toolset identify`: the serial, model and clock of the token on the reader, without
//! authenticating or writing anything.

use std::io::Write;

use clap::Args;

use super::common::{CliResult, now_or, out};
use super::nfc_args::ReaderArgs;
use crate::agent::api::TokenView;
use crate::nfc::{self, reader};

#[derive(Args, Debug)]
pub struct IdentifyArgs {
    #[command(flatten)]
    pub reader: ReaderArgs,
    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: &IdentifyArgs, stdout: &mut dyn Write, stderr: &mut dyn Write) -> CliResult {
    if !reader::PCSC_BUILT_IN {
        return Err(nfc::NfcError::PcscUnavailable.into());
    }
    let _ = writeln!(
        stderr,
        "press the token's button, then hold it on the reader"
    );
    let id = args.reader.on_card(nfc::identify)?;
    let view = TokenView::new(&id, now_or(None));
    if args.json {
        let value = serde_json::to_string(&view).expect("token view serializes");
        return out(stdout, &format!("{value}\n"));
    }
    let model = match (&view.model, view.restricted) {
        (Some(m), false) => format!("{m} (keeps its seed on a time sync)"),
        (Some(m), true) => format!("{m} (a time sync erases its seed)"),
        (None, _) => "unknown (not a serial prefix this burner knows)".to_string(),
    };
    let offset = match view.offset_seconds {
        0 => "in step with this computer".to_string(),
        s if s > 0 => format!("{s} s ahead of this computer"),
        s => format!("{} s behind this computer", -s),
    };
    out(
        stdout,
        &format!(
            "serial  {}\nmodel   {model}\nclock   {} ({offset})\n",
            view.serial,
            view.clock_utc.replace('T', " ").replace('Z', " UTC"),
        ),
    )
}
