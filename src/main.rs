//! The `totp-toolset` binary: everything lives in the library; this only starts the CLI.

fn main() -> std::process::ExitCode {
    totp_toolset::cli::main()
}
