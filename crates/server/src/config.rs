//! The command line: `server serve` and `server restore-epoch`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// The sync server of the survey and sync system.
#[derive(Debug, Parser)]
#[command(name = "server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The server's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: the sync API, the staff pages, and the field app at /app/.
    Serve(ServeArgs),
    /// Give the database a new feed epoch, after restoring it from a backup: devices
    /// then find their cursors unknown and run the repair path. Run it while the
    /// server is stopped.
    RestoreEpoch {
        /// The data directory holding server.db.
        #[arg(long, env = "SERVER_DATA_DIR", default_value = "./data")]
        data_dir: PathBuf,
        /// The PostgreSQL database restored, instead of the SQLite file.
        #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Its schema (the database's default when none).
        #[arg(long, env = "DATABASE_SCHEMA", requires = "database_url")]
        database_schema: Option<String>,
    },
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// For people.
    Text,
    /// One JSON object per line.
    Json,
}

/// `server serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on (`127.0.0.1:0` picks a free port; the real one is printed).
    #[arg(long, env = "SERVER_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Directory of the database (created if missing).
    #[arg(long, env = "SERVER_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Log filter, `RUST_LOG` style (`info`, `server=debug,tower=warn`).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_level: String,
    /// Log line format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Password of the first admin, used only when the database has no user yet
    /// (default: a random one, printed once).
    #[arg(long, env = "SERVER_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// The largest attachment (a photo, a signature) a device may upload, in MiB.
    #[arg(long, env = "SERVER_MAX_ATTACHMENT_MB", default_value_t = 50)]
    pub max_attachment_mb: u64,
    /// A PostgreSQL database (`postgres://user@host:5432/db`) instead of the SQLite
    /// file in the data directory: everything runs on it, and several server nodes
    /// may share it (each node's waiting pulls wake on the others' pushes).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The PostgreSQL schema to keep the tables in (created when missing); the
    /// database's default schema when none. Deployments sharing a database use one each.
    #[arg(long, env = "DATABASE_SCHEMA", requires = "database_url")]
    pub database_schema: Option<String>,
    /// Serve HTTPS with this certificate chain (PEM: the server's certificate first,
    /// then its intermediates); needs --tls-key. Without it the server speaks plain
    /// HTTP and belongs behind a proxy that terminates TLS.
    #[arg(long, env = "SERVER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "SERVER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// The address phones and browsers use to reach this server
    /// (`https://survey.example.org`), put in enrollment QR codes and links instead of
    /// the request's Host header. An `https://` address also marks cookies `Secure`.
    #[arg(long, env = "SERVER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds a connection may take to send a request's headers (and, with TLS, to
    /// finish its handshake); an idle keep-alive connection is closed after as long.
    #[arg(long, env = "SERVER_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Seconds a request may take from its headers to its answer's headers (408 after).
    /// Above a waiting pull's 25 s and a 4 MiB attachment chunk on a slow link.
    #[arg(long, env = "SERVER_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Seconds a request's body may go without a byte arriving.
    #[arg(long, env = "SERVER_BODY_TIMEOUT_SECS", default_value_t = 30)]
    pub body_timeout_secs: u64,
    /// Connections open at once; one more is closed as soon as it is accepted. Also
    /// kept below the process's open-file limit (raised to its hard limit at start).
    #[arg(long, env = "SERVER_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,
}

/// Set up tracing: logs go to stderr, so stdout carries only the start-up lines.
pub fn init_logging(level: &str, format: LogFormat) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| format!("bad --log-level `{level}`: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_serve_and_restore_epoch() {
        let cli = Cli::try_parse_from([
            "server",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            "/tmp/x",
            "--log-format",
            "json",
        ])
        .unwrap();
        match cli.command {
            Command::Serve(args) => {
                assert_eq!(args.bind, "127.0.0.1:0");
                assert_eq!(args.data_dir, PathBuf::from("/tmp/x"));
                assert_eq!(args.log_format, LogFormat::Json);
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from([
            "server",
            "serve",
            "--tls-cert",
            "c.pem",
            "--tls-key",
            "k.pem",
            "--public-url",
            "https://survey.example.org",
            "--header-timeout-secs",
            "3",
            "--max-connections",
            "50",
        ])
        .unwrap();
        match cli.command {
            Command::Serve(args) => {
                assert_eq!(args.tls_cert, Some(PathBuf::from("c.pem")));
                assert_eq!(args.tls_key, Some(PathBuf::from("k.pem")));
                assert_eq!(
                    args.public_url.as_deref(),
                    Some("https://survey.example.org")
                );
                assert_eq!(args.header_timeout_secs, 3);
                assert_eq!(args.request_timeout_secs, 60);
                assert_eq!(args.body_timeout_secs, 30);
                assert_eq!(args.max_connections, 50);
            }
            other => panic!("{other:?}"),
        }
        // A certificate without its key (or the reverse) is refused.
        assert!(Cli::try_parse_from(["server", "serve", "--tls-cert", "c.pem"]).is_err());
        assert!(Cli::try_parse_from(["server", "serve", "--tls-key", "k.pem"]).is_err());
        let cli = Cli::try_parse_from(["server", "restore-epoch", "--data-dir", "d"]).unwrap();
        assert!(matches!(cli.command, Command::RestoreEpoch { .. }));
        assert!(Cli::try_parse_from(["server", "serve", "--log-format", "xml"]).is_err());
    }
}
