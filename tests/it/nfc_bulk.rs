//! Bulk burning from the outside, without pcscd: a token lifted at the seed write is "lifted
//! mid-write" whatever the transport made of it; the virtual token takes the short get-info
//! and get-challenge forms; a stack of virtual tokens plays one tap per vpcd connection;
//! stack files and user lists never panic; `burn --bulk` refuses bad requests (exit 2)
//! before any reader is touched, and never overwrites a file; a bulk run on virtual tokens in
//! process writes every `--to` format, each row on disk before the next tap, encrypted too.
//!
//! The whole run through the real pcscd is `.ci/pcsc-e2e.sh`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;

use proptest::prelude::*;
use totp_toolset::nfc::token_stack::{TokenStack, parse_stack};
use totp_toolset::nfc::virtual_token::{Behaviour, VirtualToken};
use totp_toolset::nfc::vpcd::{self, Presence, SessionEnd};
use totp_toolset::nfc::{self, Card, CardError, ErrorKind, TokenSettings, protocol};
use totp_toolset::otp::Secret;
use totp_toolset::tokens::parse_user_list;

use crate::support;
use crate::support::process::Spawned;

const NOW: u64 = 1_700_000_000;

fn token(serial: &str) -> VirtualToken {
    VirtualToken::new(serial, false, Arc::new(|| NOW))
}

/// A genuine virtual token, except that the seed write gets `at_seed` instead of its answer.
struct LiftedAtSeed {
    token: VirtualToken,
    at_seed: Result<Vec<u8>, CardError>,
}

impl Card for LiftedAtSeed {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        if apdu.starts_with(&[protocol::CLA_SECURE, protocol::INS_WRITE_SEED]) {
            return self.at_seed.clone();
        }
        Ok(self.token.process(apdu))
    }
}

#[test]
fn a_token_lifted_at_the_seed_write_is_lifted_mid_write_whatever_the_transport_says() {
    let secret = Secret::generate(20).unwrap();
    for at_seed in [
        Err(CardError::Removed),
        Err(CardError::Reader("Transaction failed.".into())),
        Ok(Vec::new()),
        Ok(vec![0x90]),
    ] {
        let shown = format!("{at_seed:?}");
        let mut card = LiftedAtSeed {
            token: token("8659601000001"),
            at_seed,
        };
        let e = nfc::burn(&mut card, &secret, TokenSettings::default(), NOW, false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::CardLiftedMidWrite, "{shown}: {e}");
        assert!(e.to_string().contains("burn it again"), "{e}");
        assert!(!card.token.state().seed_present);
    }
    // Before any write, a reply without a status word is still a bad reply, not a lift.
    struct Mute;
    impl Card for Mute {
        fn transmit(&mut self, _: &[u8]) -> Result<Vec<u8>, CardError> {
            Ok(vec![0x90])
        }
    }
    let e = nfc::burn(&mut Mute, &secret, TokenSettings::default(), NOW, false).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadReply, "{e}");
}

/// A burner that sends get info and get challenge without their data bytes, as a
/// third-party burner that works on real tokens does.
struct ShortForms(VirtualToken);

impl Card for ShortForms {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        let short: &[u8] = if apdu == protocol::get_info_apdu() {
            &[0x80, 0x41, 0x00, 0x00]
        } else if apdu == protocol::get_challenge_apdu() {
            &[0x80, 0x4B, 0x08, 0x00, 0x08]
        } else {
            apdu
        };
        Ok(self.0.process(short))
    }
}

#[test]
fn the_virtual_token_takes_get_info_and_get_challenge_without_their_data_bytes() {
    let secret = Secret::generate(32).unwrap();
    let mut card = ShortForms(token("8659600000042"));
    let report = nfc::burn(&mut card, &secret, TokenSettings::default(), NOW, false).unwrap();
    assert_eq!(report.token.info.serial, "8659600000042");
    assert!(card.0.state().seed_present);
}

/// One side of a vpcd conversation, scripted: frames in, frames out.
struct Script {
    input: std::io::Cursor<Vec<u8>>,
    output: Vec<u8>,
}

impl Script {
    fn new(frames: &[&[u8]]) -> Self {
        let mut input = Vec::new();
        for f in frames {
            input.extend_from_slice(&(f.len() as u16).to_be_bytes());
            input.extend_from_slice(f);
        }
        Script {
            input: std::io::Cursor::new(input),
            output: Vec::new(),
        }
    }

    fn replies(&self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut rest = self.output.as_slice();
        while let [a, b, tail @ ..] = rest {
            let n = u16::from_be_bytes([*a, *b]) as usize;
            out.push(tail[..n].to_vec());
            rest = &tail[n..];
        }
        out
    }
}

impl Read for Script {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(b)
    }
}

impl Write for Script {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.output.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_tap_ends_when_the_burner_resets_the_card_and_a_lift_answers_no_status_word() {
    let info = protocol::get_info_apdu();
    // Presence polls and a power-up do not end a tap; the reset after a command does, once
    // the power-up's ATR read that follows it is answered.
    let mut script = Script::new(&[&[0x04], &[0x01], &[0x04], &info, &[0x02], &[0x04], &info]);
    let mut t = token("8659600000001");
    let end = vpcd::serve(&mut script, &mut t, Presence::OneTap, &mut |_, _| {}).unwrap();
    assert_eq!(
        end,
        SessionEnd::TapOver {
            burned: false,
            lifted: false
        }
    );
    let replies = script.replies();
    assert_eq!(replies.len(), 4, "the command after the tap is not served");
    assert_eq!(replies[3], vpcd::ATR);

    // Lifted at the seed write: one byte, never a status word, then the tap ends.
    let seed = protocol::write_seed_apdu(&[7; 20]).unwrap();
    let mut script = Script::new(&[&info, &seed, &[0x02], &[0x04]]);
    let mut t = token("8659601000001").with_behaviour(Behaviour::LiftMidWrite);
    let end = vpcd::serve(&mut script, &mut t, Presence::OneTap, &mut |_, _| {}).unwrap();
    assert_eq!(
        end,
        SessionEnd::TapOver {
            burned: false,
            lifted: true
        }
    );
    assert_eq!(script.replies()[1].len(), 1);

    // A token held for a re-burn does not leave when the burner lets go of it without
    // writing a seed: the command after the reset is served.
    let mut script = Script::new(&[&info, &[0x02], &[0x04], &info]);
    let end = vpcd::serve(
        &mut script,
        &mut token("8659612000023"),
        Presence::UntilBurned,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(end, SessionEnd::Closed);
    assert_eq!(script.replies().len(), 3);

    // A token that stays does not leave on a reset.
    let mut script = Script::new(&[&info, &[0x02], &[0x04], &info]);
    let end = vpcd::serve(&mut script, &mut token("1"), Presence::Stay, &mut |_, _| {}).unwrap();
    assert_eq!(end, SessionEnd::Closed);
    assert_eq!(script.replies().len(), 3);
}

#[test]
fn a_stack_taps_its_tokens_in_order_and_a_serial_twice_is_one_token() {
    let taps = parse_stack("A\nB lift-mid-write\nB\nA\n").unwrap();
    let mut stack = TokenStack::new(taps, Arc::new(|| NOW), 0);
    let secret = Secret::generate(20).unwrap();
    let mut burned = Vec::new();
    while let Some((n, _, t)) = stack.next_tap() {
        let result = nfc::burn(t, &secret, TokenSettings::default(), NOW, true);
        burned.push((
            n,
            t.serial().to_string(),
            result.map(|_| ()).map_err(|e| e.kind()),
        ));
    }
    assert_eq!(
        burned,
        [
            (1, "A".to_string(), Ok(())),
            (2, "B".to_string(), Err(ErrorKind::CardLiftedMidWrite)),
            (3, "B".to_string(), Ok(())),
            (4, "A".to_string(), Ok(())),
        ]
    );
}

/// Our side of vpcd for the `virtual-token` binary.
struct Vpcd(TcpStream);

impl Vpcd {
    fn send(&mut self, payload: &[u8]) {
        let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
        frame.extend_from_slice(payload);
        self.0.write_all(&frame).unwrap();
    }

    fn receive(&mut self) -> Option<Vec<u8>> {
        let mut len = [0u8; 2];
        self.0.read_exact(&mut len).ok()?;
        let mut reply = vec![0u8; u16::from_be_bytes(len) as usize];
        self.0.read_exact(&mut reply).ok()?;
        Some(reply)
    }
}

impl Card for Vpcd {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        self.send(apdu);
        self.receive().ok_or(CardError::Removed)
    }
}

#[test]
fn the_virtual_token_binary_plays_a_stack_one_connection_per_tap() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let serials = ["8659600000101", "8659632000102"];
    let mut child = Spawned::start(
        &[
            "virtual-token",
            "--vpcd",
            &addr,
            "--serial",
            serials[0],
            "--serial",
            serials[1],
        ],
        &[],
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for (i, serial) in serials.iter().enumerate() {
        let (stream, _) = listener.accept().unwrap();
        let mut vpcd = Vpcd(stream);
        vpcd.send(&[0x04]);
        assert_eq!(vpcd.receive().unwrap(), vpcd::ATR);
        let secret = Secret::generate(20).unwrap();
        let report = nfc::burn(&mut vpcd, &secret, TokenSettings::default(), now, false).unwrap();
        assert_eq!(report.token.info.serial, *serial);
        // The burner disconnects: reset, then the power-up reads the ATR.
        vpcd.send(&[0x02]);
        vpcd.send(&[0x04]);
        assert_eq!(vpcd.receive().unwrap(), vpcd::ATR);
        // The token leaves: the connection closes.
        assert_eq!(vpcd.receive(), None, "tap {i} ends with the connection");
    }
    let mut events = Vec::new();
    loop {
        let line: serde_json::Value = serde_json::from_str(&child.next_line()).unwrap();
        let done = line["event"] == "done";
        events.push(line);
        if done {
            break;
        }
    }
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "connected",
            "presented",
            "configured",
            "burned",
            "removed",
            "connected",
            "presented",
            "configured",
            "burned",
            "removed",
            "done"
        ]
    );
    assert_eq!(events[9]["tap"], 2);
    assert_eq!(events[9]["burned"], true);
    let status = child
        .wait_exit(std::time::Duration::from_secs(30))
        .expect("the virtual token exits after its stack");
    assert!(status.success());
}

#[test]
fn bulk_burn_refuses_bad_requests_before_any_reader_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let existing = dir.path().join("rows.csv");
    std::fs::write(&existing, "keep me\n").unwrap();
    let existing = existing.to_str().unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "alice@contoso.com\nnot a user\n").unwrap();
    let users = users.to_str().unwrap();
    let fresh = dir.path().join("new.csv");
    let fresh = fresh.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (&["burn", "--bulk"], "--out"),
        (&["burn", "--bulk", "--out", existing], "already exists"),
        (
            &["burn", "--bulk", "--out", fresh, "--algorithm", "sha256"],
            "graph-json",
        ),
        (
            &["burn", "--bulk", "--out", fresh, "--users", users],
            "line 2",
        ),
        (
            &[
                "burn",
                "--bulk",
                "--out",
                fresh,
                "--to",
                "graph-json",
                "--append",
            ],
            "--append",
        ),
        (&["burn", "--count", "3"], "--bulk"),
        (
            &["burn", "--bulk", "--out", fresh, "--seed-bytes", "64"],
            "10, 20 or 32",
        ),
    ];
    for (args, words) in cases {
        let o = support::run(args, None);
        let err = support::stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(words), "{args:?}: {err}");
    }
    assert_eq!(std::fs::read_to_string(existing).unwrap(), "keep me\n");
    assert!(!std::path::Path::new(fresh).exists());
}

/// `burn --bulk` of `count` tokens into `out` that gives up at once: no reader is ever there.
fn bulk_burn_without_reader(
    count: u32,
    out: &std::path::Path,
    extra: &[&str],
) -> std::process::Output {
    let count = count.to_string();
    let mut args = vec!["burn", "--bulk", "--count", &count, "--wait", "0"];
    args.extend_from_slice(extra);
    args.extend(["--out", out.to_str().unwrap()]);
    support::run(&args, None)
}

#[test]
fn bulk_burn_with_no_reader_creates_its_file_0600_and_exits_1() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.csv");
    let o = bulk_burn_without_reader(2, &out, &[]);
    let err = support::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("0 of 2"), "{err}");
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "upn,serial number,secret key,time interval,manufacturer,model\r\n"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn stack_files_never_panic_and_messages_stay_short(text in "\\PC{0,200}") {
        if let Err(e) = parse_stack(&text) {
            for line in text.lines() {
                for word in line.split_whitespace().filter(|w| w.chars().count() > 64) {
                    prop_assert!(!e.reason.contains(word));
                }
            }
        }
    }

    #[test]
    fn stack_files_read_back(taps in proptest::collection::vec(
        ("[A-Za-z0-9]{1,32}", prop::sample::select(vec!["", " lift-mid-write", " wrong-key", " fido", " oath"]), any::<bool>()),
        1..20,
    )) {
        let text: String = taps
            .iter()
            .map(|(serial, behaviour, restricted)| {
                format!("{serial}{behaviour}{}  # note\n", if *restricted { " restricted" } else { "" })
            })
            .collect();
        let parsed = parse_stack(&text).unwrap();
        prop_assert_eq!(parsed.len(), taps.len());
        for (p, (serial, behaviour, restricted)) in parsed.iter().zip(&taps) {
            prop_assert_eq!(&p.serial, serial);
            prop_assert_eq!(p.restricted, *restricted);
            let expected = match behaviour.trim() {
                "" => Behaviour::Token2,
                b => b.parse().unwrap(),
            };
            prop_assert_eq!(p.behaviour, expected);
        }
    }

    #[test]
    fn user_lists_never_panic_and_messages_stay_short(text in "\\PC{0,300}") {
        if let Err(errors) = parse_user_list(&text) {
            prop_assert!(!errors.is_empty());
            for e in &errors {
                prop_assert!(e.line >= 1);
                for line in text.lines() {
                    let line = line.trim();
                    if line.chars().count() > 64 {
                        prop_assert!(!e.reason.contains(line));
                    }
                }
            }
        }
    }

    #[test]
    fn user_lists_read_back(users in proptest::collection::btree_set("[a-z]{1,10}@[a-z]{1,10}\\.com", 0..30)) {
        let text: String = users.iter().map(|u| format!("  {u}\r\n\n")).collect();
        let parsed = parse_user_list(&text).unwrap();
        prop_assert_eq!(parsed, users.into_iter().collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn the_agent_refuses_the_token_just_burned_when_asked_and_writes_nothing() {
    use totp_toolset::agent::SimulatedFault;
    use totp_toolset::agent::api::BurnRequest;
    use totp_toolset::agent::client::AgentClientError;
    use totp_toolset::otp::{Algorithm, Generator, Params};

    let url = support::agent::start("8659600000201", false, SimulatedFault::None).await;
    let c = support::agent::client(&url);
    let first = Secret::generate(20).unwrap();
    let mut req = BurnRequest::new(&first);
    req.wait_for_new_card = true;
    req.not_serial = Some("8659600000200".into());
    let burned = c.burn(&req).await.unwrap();
    assert_eq!(burned.token.serial, "8659600000201");

    let second = Secret::generate(20).unwrap();
    let mut again = BurnRequest::new(&second);
    again.wait_for_new_card = true;
    again.not_serial = Some(burned.token.serial.clone());
    match c.burn(&again).await {
        Err(AgentClientError::Agent { kind, message }) => {
            assert_eq!(kind, ErrorKind::SameToken);
            assert!(message.contains("8659600000201"), "{message}");
        }
        other => panic!("expected same_token, got {other:?}"),
    }
    // Nothing was written: the token still shows the first seed's codes.
    let shown = c.simulated_token(None).await.unwrap();
    let ours = Generator::new(&first, Params::new(Algorithm::Sha1, 6, 30).unwrap());
    for code in shown.codes {
        assert_eq!(code.code, ours.code_for_counter(code.counter));
    }
    // Burning it again on purpose: the same request without not_serial.
    again.not_serial = None;
    assert_eq!(c.burn(&again).await.unwrap().token.serial, "8659600000201");
}

/// Runs gpg in `home`, non-interactively.
fn gpg(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new("gpg")
        .arg("--homedir")
        .arg(home)
        .args(["--batch", "--yes", "--pinentry-mode", "loopback"])
        .args(args)
        .output()
        .expect("gpg runs")
}

/// A gpg home with a fresh key pair, and its public key exported to `dir/key.asc`.
fn gpg_key(dir: &std::path::Path) -> (tempfile::TempDir, std::path::PathBuf) {
    let home = tempfile::tempdir().unwrap();
    std::fs::set_permissions(
        home.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let made = gpg(
        home.path(),
        &[
            "--passphrase",
            "",
            "--quick-gen-key",
            "bulk@example.com",
            "future-default",
            "default",
            "never",
        ],
    );
    assert!(made.status.success(), "{}", support::stderr(&made));
    let key = gpg(home.path(), &["--armor", "--export", "bulk@example.com"]);
    let key_path = dir.join("key.asc");
    std::fs::write(&key_path, &key.stdout).unwrap();
    (home, key_path)
}

#[test]
fn bulk_burn_with_encrypt_to_never_writes_the_file_in_clear_and_gpg_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let (home, key_path) = gpg_key(dir.path());
    let out = dir.path().join("rows.csv.asc");
    let o = bulk_burn_without_reader(1, &out, &["--encrypt-to", key_path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", support::stderr(&o));
    let stored = std::fs::read_to_string(&out).unwrap();
    assert!(
        stored.starts_with("-----BEGIN PGP MESSAGE-----"),
        "{stored}"
    );
    assert!(!stored.contains("serial number"));
    let opened = gpg(
        home.path(),
        &["--passphrase", "", "--decrypt", out.to_str().unwrap()],
    );
    assert!(opened.status.success(), "{}", support::stderr(&opened));
    assert_eq!(
        String::from_utf8(opened.stdout).unwrap(),
        "upn,serial number,secret key,time interval,manufacturer,model\r\n"
    );
}

/// Virtual tokens in process as a bulk run's cards: each tap first notes what `--out` holds
/// at that moment (so a row is seen on disk before the next token), then plays the token and
/// keeps the code it shows now, with its counter.
struct InProcess {
    stack: TokenStack,
    out: std::path::PathBuf,
    on_disk: Vec<Vec<u8>>,
    shown: Vec<(String, totp_toolset::nfc::virtual_token::DisplayedCode)>,
}

impl totp_toolset::cli::bulk::Taps for InProcess {
    fn available(&self) -> Result<(), nfc::NfcError> {
        Ok(())
    }

    fn next<T>(
        &mut self,
        _seen: &[nfc::reader::Tap],
        mut work: impl FnMut(&mut dyn Card) -> Result<T, nfc::NfcError>,
    ) -> Result<(nfc::reader::Tap, Result<T, nfc::NfcError>), nfc::NfcError> {
        self.on_disk.push(std::fs::read(&self.out).unwrap());
        let Some((n, _, token)) = self.stack.next_tap() else {
            return Err(nfc::NfcError::NoCardInTime(0));
        };
        let done = work(token);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        if let Some(code) = token.codes_around(now, 0).pop() {
            self.shown.push((token.serial().to_string(), code));
        }
        let tap = nfc::reader::Tap {
            reader: "in process".into(),
            events: n as u32,
        };
        Ok((tap, done))
    }
}

fn bulk_args(
    to: totp_toolset::cli::bulk::OutFormat,
    out: &std::path::Path,
) -> totp_toolset::cli::bulk::BulkArgs {
    totp_toolset::cli::bulk::BulkArgs {
        count: None,
        users: None,
        out: Some(out.to_path_buf()),
        to,
        append: false,
        encrypt_to: None,
        seed_bytes: 20,
        again: totp_toolset::cli::bulk::Again::Skip,
    }
}

fn bulk_run(
    taps: &mut InProcess,
    bulk: &totp_toolset::cli::bulk::BulkArgs,
) -> (Option<i32>, String) {
    let run = totp_toolset::cli::bulk::BulkRun {
        settings: TokenSettings::default(),
        reader: None,
        wait: std::time::Duration::ZERO,
        force: false,
        json: false,
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let code = match totp_toolset::cli::bulk::run_with(taps, &run, bulk, &mut stdout, &mut stderr) {
        Ok(()) => Some(0),
        Err(e) => Some(i32::from(e.code)),
    };
    (code, String::from_utf8_lossy(&stdout).into_owned())
}

#[test]
fn every_format_gets_each_row_on_disk_before_the_next_token_with_the_seed_the_token_shows() {
    use std::os::unix::fs::PermissionsExt;
    use totp_toolset::cli::bulk::OutFormat;
    use totp_toolset::otp::{Algorithm, Generator, Params};
    use totp_toolset::tokens::formats::{self, ReadOptions};

    const STACK: &str = "8659600000011\n8659601000012 lift-mid-write\n8659601000012\n8659600000011\n8659612000013\n";
    for to in [
        OutFormat::EntraCsv,
        OutFormat::GraphJson,
        OutFormat::Pskc,
        OutFormat::Privacyidea,
        OutFormat::Otpauth,
        OutFormat::Inventory,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("rows");
        let users = dir.path().join("users.txt");
        std::fs::write(
            &users,
            "alice@contoso.com\nbob@contoso.com\ncarol@contoso.com\n",
        )
        .unwrap();
        let mut bulk = bulk_args(to, &out);
        bulk.users = Some(users);
        let mut taps = InProcess {
            stack: TokenStack::new(parse_stack(STACK).unwrap(), Arc::new(|| NOW), 0),
            out: out.clone(),
            on_disk: Vec::new(),
            shown: Vec::new(),
        };
        let (code, stdout) = bulk_run(&mut taps, &bulk);
        assert_eq!(code, Some(0), "{to:?}: {stdout}");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{to:?}");

        // What the file held as each tap began: the rows of the tokens burned before it.
        let serials_in = |bytes: &[u8]| -> Vec<String> {
            let text = String::from_utf8_lossy(bytes);
            ["8659600000011", "8659601000012", "8659612000013"]
                .into_iter()
                .filter(|s| text.contains(s))
                .map(String::from)
                .collect()
        };
        let seen: Vec<usize> = taps.on_disk.iter().map(|b| serials_in(b).len()).collect();
        // Taps: burned, lifted (no row), burned, tapped again (skipped), burned.
        assert_eq!(seen, [0, 1, 1, 2, 2], "{to:?}");

        let file = std::fs::read(&out).unwrap();
        if to == OutFormat::Inventory {
            let text = String::from_utf8(file).unwrap();
            assert!(
                text.contains("8659612000013") && text.contains("carol@contoso.com"),
                "{text}"
            );
            for (serial, _) in &taps.shown {
                assert!(text.contains(serial));
            }
            continue;
        }
        let read = formats::read(&file, None, &ReadOptions::default()).unwrap();
        assert!(read.refused.is_empty(), "{to:?}: {:?}", read.refused);
        assert_eq!(read.candidates.len(), 3, "{to:?}");
        for c in &read.candidates {
            // The last code each token showed is the code of the seed in its row.
            let (_, shown) = taps
                .shown
                .iter()
                .rev()
                .find(|(s, _)| *s == c.record.serial)
                .unwrap();
            let g = Generator::new(
                &c.record.secret,
                Params::new(Algorithm::Sha1, 6, 30).unwrap(),
            );
            assert_eq!(
                g.code_for_counter(shown.counter),
                shown.code,
                "{to:?} {}",
                c.record.serial
            );
        }
        if matches!(
            to,
            OutFormat::EntraCsv | OutFormat::Pskc | OutFormat::Otpauth
        ) {
            let upns: Vec<Option<&str>> = read
                .candidates
                .iter()
                .map(|c| c.record.upn.as_deref())
                .collect();
            assert_eq!(
                upns,
                [
                    Some("alice@contoso.com"),
                    Some("bob@contoso.com"),
                    Some("carol@contoso.com")
                ],
                "{to:?}"
            );
        }
    }
}

#[test]
fn a_format_that_cannot_carry_the_tokens_is_refused_before_the_first_tap() {
    use totp_toolset::cli::bulk::OutFormat;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.csv");
    // privacyIDEA takes a 32-byte seed for SHA-256: a SHA-1 token with one would be misread.
    let mut bulk = bulk_args(OutFormat::Privacyidea, &out);
    bulk.seed_bytes = 32;
    let mut taps = InProcess {
        stack: TokenStack::new(parse_stack("8659600000011\n").unwrap(), Arc::new(|| NOW), 0),
        out: out.clone(),
        on_disk: Vec::new(),
        shown: Vec::new(),
    };
    let (code, _) = bulk_run(&mut taps, &bulk);
    assert_eq!(code, Some(2));
    assert!(taps.on_disk.is_empty() && taps.shown.is_empty());
    assert!(!out.exists());
}

#[test]
fn encrypt_to_keeps_every_tap_of_a_pskc_run_off_the_disk_in_clear() {
    use totp_toolset::cli::bulk::OutFormat;
    use totp_toolset::tokens::formats::{self, ReadOptions};
    let dir = tempfile::tempdir().unwrap();
    let (home, key_path) = gpg_key(dir.path());
    let out = dir.path().join("rows.pskc.asc");
    let mut bulk = bulk_args(OutFormat::Pskc, &out);
    bulk.encrypt_to = Some(key_path);
    bulk.count = Some(2);
    let mut taps = InProcess {
        stack: TokenStack::new(
            parse_stack("8659600000011\n8659612000013\n").unwrap(),
            Arc::new(|| NOW),
            0,
        ),
        out: out.clone(),
        on_disk: Vec::new(),
        shown: Vec::new(),
    };
    let (code, stdout) = bulk_run(&mut taps, &bulk);
    assert_eq!(code, Some(0), "{stdout}");
    for stored in &taps.on_disk {
        assert!(stored.starts_with(b"-----BEGIN PGP MESSAGE-----"));
        assert!(!String::from_utf8_lossy(stored).contains("8659600000011"));
    }
    let opened = gpg(
        home.path(),
        &["--passphrase", "", "--decrypt", out.to_str().unwrap()],
    );
    assert!(opened.status.success(), "{}", support::stderr(&opened));
    let read = formats::read(&opened.stdout, None, &ReadOptions::default()).unwrap();
    assert_eq!(read.format, formats::Format::Pskc);
    let serials: Vec<&str> = read
        .candidates
        .iter()
        .map(|c| c.record.serial.as_str())
        .collect();
    assert_eq!(serials, ["8659600000011", "8659612000013"]);
}
