//! `server serve` runs the sync server; `server restore-epoch` marks a restored database.

fn main() -> anyhow::Result<()> {
    server::cli::run()
}
