//! `kxd`: the KX server. `init` creates an installation, `serve` runs it, `demo` does both in a
//! throw-away directory with demo organisations, `admin` manages organisations and accounts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kx_gateway::settings::EnvironmentSetting;

use crate::config::Config;

mod admin;
mod config;
mod console;
mod identity;
mod migrate;
mod run;
use tokio::sync::watch;

/// The KX server: the 伝送 gateway (SMTP submission in, POP3 out) and the KX exchange (HTTPS
/// with client certificates).
#[derive(Parser)]
#[command(name = "kxd", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an installation: DIR/kxd.toml, a private CA and server certificate in DIR/tls/,
    /// and an empty database.
    Init {
        /// The data directory to create.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        /// The federation's mail domain (accounts are ID@DOMAIN).
        #[arg(long)]
        domain: String,
        /// SMTP submission address.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2587")]
        smtp: SocketAddr,
        /// POP3 address.
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:2110")]
        pop3: SocketAddr,
        /// HTTPS address (the web password-change page and the KX bootstrap routes); not
        /// served when absent.
        #[arg(long, value_name = "ADDR")]
        https: Option<SocketAddr>,
        /// KX exchange api address (mutual TLS), e.g. 0.0.0.0:8443 in production; not served
        /// when absent.
        #[arg(long, value_name = "ADDR")]
        api: Option<SocketAddr>,
        /// Operators' console address (HTTPS: the console pages, /metrics, /healthz, /readyz);
        /// not served when absent.
        #[arg(long, value_name = "ADDR")]
        console: Option<SocketAddr>,
        /// FTPS address (the read-only download area of service notices, explicit TLS);
        /// not served when absent.
        #[arg(long, value_name = "ADDR")]
        ftp: Option<SocketAddr>,
        /// production, or test-loopback (Test Accept / Test Regist, no hand-off).
        #[arg(long, value_enum, default_value = "production")]
        environment: EnvironmentArg,
        /// Seconds between Regist runs: the window in which a DataSend can be cancelled.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        regist_interval: u64,
        /// Accept passwords without TLS. For loopback tests only.
        #[arg(long)]
        allow_plaintext_auth: bool,
        /// A PostgreSQL database (`postgres://USER@HOST:PORT/DATABASE`), which several kxd may
        /// share, instead of SQLite in DIR.
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Run every configured listener until SIGTERM or SIGINT, then drain.
    Serve {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
    },
    /// Create a throw-away installation with demo organisations and accounts, serve it, and
    /// print how to connect.
    Demo {
        /// Keep the installation here instead of a temporary directory.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
    /// Manage organisations, accounts, upstream kinds and outgoing notices (伝送), and the KX
    /// exchange's societies, destinations, offices, users, app version and retention.
    Admin {
        /// The data directory.
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[command(subcommand)]
        command: admin::AdminCommand,
    },
    /// Move the store: `kxd store migrate` copies an embedded installation to PostgreSQL and
    /// an S3-compatible bucket.
    Store {
        #[command(subcommand)]
        command: migrate::StoreCommand,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum EnvironmentArg {
    Production,
    TestLoopback,
}

fn main() -> ExitCode {
    // What kxd creates is the installation's alone whatever umask it was started with; the
    // code that creates each file and directory sets the same modes explicitly as well.
    #[cfg(unix)]
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                // libunftp's info spans carry whole sessions in Debug form: its warnings do.
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,libunftp=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("kxd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kxd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init {
            data,
            domain,
            smtp,
            pop3,
            https,
            api,
            console,
            ftp,
            environment,
            regist_interval,
            allow_plaintext_auth,
            database,
        } => {
            let mut config = Config::new(domain);
            config.listeners.smtp = Some(smtp);
            config.listeners.pop3 = Some(pop3);
            config.listeners.https = https;
            config.listeners.api = api;
            config.listeners.console = console;
            config.listeners.ftp = ftp;
            config.environment = match environment {
                EnvironmentArg::Production => EnvironmentSetting::Production,
                EnvironmentArg::TestLoopback => EnvironmentSetting::TestLoopback,
            };
            config.denso.regist_interval = regist_interval;
            config.security.allow_plaintext_auth = allow_plaintext_auth;
            config.store.database = database;
            let origin = run::init(&data, &config).await?;
            println!("created {}", data.display());
            if origin == identity::Origin::Joined {
                println!(
                    "  joined    the installation already in the database: its CA, server \
                     certificate and metrics token"
                );
            }
            println!("  settings  {}", data.join("kxd.toml").display());
            println!("  CA        {}", data.join(&config.tls.ca).display());
            println!(
                "  metrics   {} (bearer token of /metrics)",
                data.join(kx_web::monitor::TOKEN_FILE).display()
            );
            println!(
                "next: kxd admin --data {} org add …, then kxd serve --data {}",
                data.display(),
                data.display()
            );
            Ok(())
        }
        Command::Serve { data } => serve(&data).await,
        Command::Demo { data } => demo(data).await,
        Command::Admin { data, command } => admin::run(&data, command).await,
        Command::Store { command } => migrate::run(command).await,
    }
}

/// Serves until SIGTERM or SIGINT, then lets sessions finish.
async fn serve(data: &Path) -> anyhow::Result<()> {
    let (stop, shutdown) = watch::channel(false);
    let running = run::serve(data, shutdown).await?;
    for (name, addr) in &running.endpoints {
        println!("{name:<7} {addr}");
    }
    wait_for_signal().await?;
    tracing::info!("shutting down");
    stop.send_replace(true);
    running.wait().await;
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch SIGTERM")?;
    tokio::select! {
        _ = term.recv() => {}
        result = tokio::signal::ctrl_c() => result.context("cannot watch SIGINT")?,
    }
    Ok(())
}

async fn demo(data: Option<PathBuf>) -> anyhow::Result<()> {
    let temp;
    let data = match data {
        Some(dir) => dir,
        None => {
            temp = tempfile::Builder::new().prefix("kxd-demo-").tempdir()?;
            temp.path().to_owned()
        }
    };
    let domain = "denso.test.kokuho";
    let mut config = Config::new(domain);
    config.listeners.smtp = Some(free_or_any("127.0.0.1:2587").await);
    config.listeners.pop3 = Some(free_or_any("127.0.0.1:2110").await);
    config.listeners.https = Some(free_or_any("127.0.0.1:2443").await);
    config.listeners.api = Some(free_or_any("127.0.0.1:8443").await);
    config.listeners.console = Some(free_or_any("127.0.0.1:9443").await);
    config.listeners.ftp = Some(free_or_any("127.0.0.1:2021").await);
    config.denso.regist_interval = 10;
    run::init(&data, &config).await?;
    let demo = admin::demo_setup(&data).await?;
    let credentials = demo.accounts;

    let (stop, shutdown) = watch::channel(false);
    let running = run::serve(&data, shutdown).await?;
    println!(
        "kxd demo: the 伝送 gateway and the KX exchange for {domain} are running (Ctrl-C stops them).\n"
    );
    println!("data directory   {}", data.display());
    println!("CA certificate   {}", data.join(&config.tls.ca).display());
    for (name, addr) in &running.endpoints {
        if *name == "https" {
            println!("{:<16} https://{addr}/password", "password page");
            println!("{:<16} https://{addr}/api/v1/…", "KX bootstrap");
        } else if *name == "console" {
            println!("{:<16} https://{addr}/login", "console");
            println!(
                "{:<16} https://{addr}/metrics (bearer token in {})",
                "metrics",
                data.join(kx_web::monitor::TOKEN_FILE).display()
            );
            println!("{:<16} https://{addr}/healthz, /readyz", "health");
        } else if *name == "api" {
            println!(
                "{:<16} https://{addr}/api/v1/… (client certificate required)",
                "KX api"
            );
        } else if *name == "ftp" {
            println!(
                "{:<16} ftp://{addr}/ (AUTH TLS; also https://…/service/)",
                "download area"
            );
        } else {
            println!(
                "{:<16} {addr}",
                format!("{} (STARTTLS)", name.to_uppercase())
            );
        }
    }
    println!("transmit address transmit@{domain}");
    println!("Regist interval  {} s\n", config.denso.regist_interval);
    println!("accounts (temporary passwords):");
    for (id, password) in &credentials {
        println!("  {id}@{domain}  {password}");
    }
    println!("\nconsole operators (temporary passwords; the first login sets up TOTP):");
    for (id, reach, password) in &demo.operators {
        println!("  {id:<12} {reach:<17} {password}");
    }
    println!("\ntry it:");
    let smtp = running
        .endpoints
        .get("smtp")
        .map(ToString::to_string)
        .unwrap_or_default();
    println!(
        "  kx denso datasend --from J13123456780@{domain} --number 13123456782026040001 -o ds.eml CLAIM01.CSV"
    );
    println!(
        "  python3 -c \"import smtplib,ssl; s=smtplib.SMTP('{}',{}); s.starttls(context=ssl.create_default_context(cafile='{}')); s.login('J13123456780','<password>'); s.sendmail('J13123456780@{domain}',['transmit@{domain}'],open('ds.eml','rb').read())\"",
        smtp.split(':').next().unwrap_or("127.0.0.1"),
        smtp.rsplit(':').next().unwrap_or("2587"),
        data.join(&config.tls.ca).display()
    );
    print_exchange_demo(&data, &config, &running, &demo.exchange);
    wait_for_signal().await?;
    stop.send_replace(true);
    running.wait().await;
    Ok(())
}

/// The KX exchange part of the demo: the society, its destinations, the users and the exact
/// client commands to paste, society first.
fn print_exchange_demo(
    data: &Path,
    config: &Config,
    running: &run::Running,
    users: &[crate::admin::DemoUser],
) {
    use crate::admin::{DEMO_DESTINATIONS, DEMO_SOCIETY};
    let https = running
        .endpoints
        .get("https")
        .map(|a| format!("https://{a}"))
        .unwrap_or_default();
    let ca = data.join(&config.tls.ca);
    println!(
        "\nKX exchange: society {} {}, destinations {}",
        DEMO_SOCIETY.0,
        DEMO_SOCIETY.1,
        DEMO_DESTINATIONS.join("・")
    );
    println!("users (temporary passwords, one-time codes):");
    for user in users {
        println!(
            "  {:<16} {} {}  password {}  code {}",
            user.id, user.party, user.name, user.password, user.code
        );
    }
    println!("\nset up the society first, then enrol each office:");
    for (i, user) in users.iter().enumerate() {
        let command = if i == 0 {
            "kx society setup"
        } else {
            "kx setup"
        };
        println!(
            "  {command} --server {https} --ca {} --id {} --code {}",
            ca.display(),
            user.id,
            user.code
        );
    }
    println!(
        "\nor on screens: `kx --profile kenpo app` (the society desk: 健康保険組合の方はこちら) and\n\
         `kx --profile office1 app` (the office app), each with the server, the CA file, the ID,\n\
         the one-time code and the temporary password above."
    );
}

/// The preferred address if it can be bound now, otherwise any free port on the same host.
async fn free_or_any(preferred: &str) -> SocketAddr {
    let preferred: SocketAddr = preferred
        .parse()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    match tokio::net::TcpListener::bind(preferred).await {
        Ok(_) => preferred,
        Err(_) => SocketAddr::new(preferred.ip(), 0),
    }
}
