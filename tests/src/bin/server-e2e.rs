//! The server binary for end-to-end tests: the server crate's own command line, built
//! inside this package so tests can find it with `CARGO_BIN_EXE_server-e2e`.

fn main() -> anyhow::Result<()> {
    server::cli::run()
}
