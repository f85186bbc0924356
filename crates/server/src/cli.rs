//! The command line's entry point, shared by the `server` binary and the end-to-end
//! tests' copy of it.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::config::{init_logging, Cli, Command};
use crate::{ServeOptions, Server, Storage};

/// Parse the command line and run it: `serve` until SIGTERM or ctrl-c, or
/// `restore-epoch`. On start, stdout gets `first admin: username=admin password=...`
/// (only when the database had no user) and then `listening on http://ADDR` (or
/// `https://ADDR` with `--tls-cert`).
pub fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            init_logging(&args.log_level, args.log_format).map_err(anyhow::Error::msg)?;
            let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
            runtime.block_on(async {
                let opts = ServeOptions {
                    bind: args.bind.clone(),
                    data_dir: args.data_dir.clone(),
                    admin_password: args.admin_password.clone(),
                    max_attachment_bytes: args.max_attachment_mb.saturating_mul(1024 * 1024),
                    database_url: args.database_url.clone(),
                    database_schema: args.database_schema.clone(),
                    tls: args.tls_cert.clone().zip(args.tls_key.clone()).map(
                        |(cert, key)| crate::TlsFiles { cert, key },
                    ),
                    public_url: args.public_url.clone(),
                    limits: crate::ConnectionLimits {
                        header_timeout: Duration::from_secs(args.header_timeout_secs),
                        request_timeout: Duration::from_secs(args.request_timeout_secs),
                        body_timeout: Duration::from_secs(args.body_timeout_secs),
                        max_connections: args.max_connections,
                    },
                };
                let srv = Server::bind(&opts)
                    .await
                    .with_context(|| format!("starting on {}", args.bind))?;
                if srv.first_admin_password().is_some() {
                    match &args.admin_password {
                        Some(_) => println!(
                            "first admin: username=admin password=(the one given with --admin-password)"
                        ),
                        None => println!(
                            "first admin: username=admin password={}",
                            srv.first_admin_password().unwrap_or_default()
                        ),
                    }
                }
                let addr = srv.local_addr();
                tracing::info!(%addr, data_dir = %args.data_dir.display(), epoch = srv.storage().epoch(), "started");
                println!("listening on {}", srv.local_url());
                srv.run(crate::shutdown_signal()).await?;
                tracing::info!("stopped");
                Ok(())
            })
        }
        Command::RestoreEpoch {
            data_dir,
            database_url: Some(url),
            database_schema,
        } => {
            let _ = data_dir;
            let epoch = Storage::new_epoch_postgres(&url, database_schema.as_deref())
                .context("the PostgreSQL database")?;
            println!("new feed epoch: {epoch}");
            Ok(())
        }
        Command::RestoreEpoch { data_dir, .. } => {
            let epoch = Storage::new_epoch(&data_dir)
                .with_context(|| format!("database in {}", data_dir.display()))?;
            println!("new feed epoch: {epoch}");
            Ok(())
        }
    }
}
