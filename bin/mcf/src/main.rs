//! `mcf`: the one binary. `mcf up` runs everything embedded; `mcf serve <service>...` runs
//! services distributed; `mcf migrate`; `mcf config default`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use mcf::Config;
use mcf::system;

#[derive(Parser)]
#[command(
    name = "mcf",
    version,
    about = "MCF platform: on-demand vetted workers for clients"
)]
struct Cli {
    /// A TOML file overriding the defaults (env MCF_* overrides both).
    #[arg(long, global = true, env = "MCF_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole system in this process: SQLite files and the embedded bus in the data dir.
    Up {
        /// Data directory (default ./mcf-data; config embedded.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Listen address (default 127.0.0.1:8080; config http.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Run the named services (distributed mode: PostgreSQL per service, NATS JetStream).
    Serve {
        /// Services to run in this process (one or more); `portal` is the web portal.
        #[arg(required = true, value_parser = clap::builder::PossibleValuesParser::new(system::SERVICES.iter().copied().chain([system::PORTAL])))]
        services: Vec<String>,
        /// Listen address (config http.listen).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Bring databases up to date and exit: the embedded data dir, or with --distributed
    /// the PostgreSQL databases of the named services (all when none are named).
    Migrate {
        #[arg(long)]
        distributed: bool,
        #[arg(value_parser = clap::builder::PossibleValuesParser::new(system::SERVICES.iter().copied()))]
        services: Vec<String>,
    },
    /// Sign in to a running system (authorization code + PKCE, as a web app does) and print
    /// an access token, for trying the API with curl. The token lives 5 minutes
    /// (iam.access_token_ttl_s): sign in again when a call answers 401.
    Login {
        /// The system's base URL: where `mcf up` (or the process serving iam) listens.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long)]
        email: String,
        /// The password (or env MCF_PASSWORD).
        #[arg(long, env = "MCF_PASSWORD", hide_env_values = true)]
        password: String,
        /// A redirect URI registered for the `mcf-web` client (iam.web_redirect_uris).
        #[arg(long, default_value = "http://127.0.0.1:8080/app/callback")]
        redirect_uri: String,
    },
    /// Simulators of the outside world, for development and tests.
    Sandbox {
        #[command(subcommand)]
        command: SandboxCommand,
    },
    /// Order quality's operator commands.
    Quality {
        #[command(subcommand)]
        command: QualityCommand,
    },
    /// Back up an embedded system: every database as of one moment (the writers paused
    /// meanwhile; the pause is printed), photos, mails and the service secret, with a
    /// manifest of sizes and SHA-256. Asks the running system (`mcf up` at --url, as an
    /// admin), or with --data-dir copies a stopped data dir. See docs/operating.md.
    Backup {
        /// A new or empty directory outside the data dir (on the machine running the system).
        #[arg(long)]
        to: PathBuf,
        /// The running system's base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// An admin's access token (`mcf login`), or env MCF_TOKEN; else --email and
        /// --password sign in.
        #[arg(long, env = "MCF_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// An admin's e-mail, to sign in with --password.
        #[arg(long)]
        email: Option<String>,
        /// The admin's password (or env MCF_PASSWORD).
        #[arg(long, env = "MCF_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// A redirect URI registered for the `mcf-web` client, to sign in with.
        #[arg(long, default_value = "http://127.0.0.1:8080/app/callback")]
        redirect_uri: String,
        /// Copy this stopped data dir instead of asking a running system.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Restore a backup (`mcf backup`) into a data dir, with the system stopped: every file
    /// is checked against the manifest first; a data dir that holds anything is refused
    /// unless --force (its contents are then replaced). `mcf up --data-dir` starts from it.
    Restore {
        /// The backup's directory.
        #[arg(long)]
        from: PathBuf,
        /// Data directory (default ./mcf-data; config embedded.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Replace what the data dir holds.
        #[arg(long)]
        force: bool,
    },
    /// Operator commands against a running system (dead letters, messaging backlog and
    /// lag, key rotation) over its API with an admin's token, and projection rebuilds.
    /// See docs/operating.md.
    Ops(mcf::ops::OpsArgs),
    /// Configuration helpers.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum QualityCommand {
    /// Rebuild Quality's timeline from the streams. Run it while Quality is stopped: its
    /// timeline consumers start from the beginning of the streams at the next start and
    /// replay every event (what the bus still keeps); reviews, samples and hypotheses stay.
    /// The embedded data dir, or with --distributed Quality's PostgreSQL database and NATS.
    Rebuild {
        /// Data directory (embedded; default ./mcf-data; config embedded.data_dir).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        distributed: bool,
    },
}

#[derive(Subcommand)]
enum SandboxCommand {
    /// A capture SMTP server: stores what it receives as .eml files, lists them over HTTP.
    Smtp {
        /// SMTP listen address.
        #[arg(long, default_value = "127.0.0.1:2525")]
        listen: String,
        /// HTTP listen address for `GET /messages`.
        #[arg(long, default_value = "127.0.0.1:2526")]
        http: String,
        /// Where messages are stored.
        #[arg(long, default_value = "./mcf-smtp")]
        dir: PathBuf,
        /// Fault: wait this long before every reply.
        #[arg(long, default_value_t = 0)]
        slow_ms: u64,
        /// Fault: reject every recipient (550).
        #[arg(long)]
        reject: bool,
    },
    /// The fortune-cookie contractor: takes orders (POST /cookies), delivers each cookie
    /// after a delay and calls back signed; GET /baked lists what it baked. Faults switch
    /// by these flags or at run time with PUT /faults (JSON of the same names).
    Cookies {
        /// HTTP listen address (Inventory's default inventory.contractor_url).
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// From order to delivery (seconds; the real contractor takes about 10 minutes).
        #[arg(long, default_value_t = 600.0)]
        delay_s: f64,
        /// The secret shared with Inventory (inventory.contractor_secret): callbacks are
        /// signed with it.
        #[arg(
            long,
            env = "MCF_COOKIES_SECRET",
            hide_env_values = true,
            default_value = "sandbox-cookie-secret"
        )]
        secret: String,
        /// Fault: bake, then wait this long before answering (ms).
        #[arg(long, default_value_t = 0)]
        slow_ms: u64,
        /// Fault: bake, then answer 500.
        #[arg(long)]
        error_after_work: bool,
        /// Fault: bake, then close the connection without an answer.
        #[arg(long)]
        reset: bool,
        /// Fault: refuse every order (422 cannot_bake).
        #[arg(long)]
        refuse: bool,
        /// Fault: call back twice.
        #[arg(long)]
        duplicate_callbacks: bool,
        /// Fault: call back this long after the delivery (ms).
        #[arg(long, default_value_t = 0)]
        late_callback_ms: u64,
        /// Fault: never call back (Inventory finds the cookie by asking).
        #[arg(long)]
        lost_callbacks: bool,
    },
    /// The bank "Gold Hat": payment methods (POST /payment-methods) MCF collects from (POST
    /// /collections), accounts (POST /accounts) it pays out to (POST /payouts), the
    /// statement of executed operations (GET /statement). Faults switch by these flags or
    /// at run time with PUT /faults (JSON of the same names).
    Bank {
        /// HTTP listen address.
        #[arg(long, default_value = system::BANK_SANDBOX)]
        listen: String,
        /// Fault: execute, then wait this long before answering (ms).
        #[arg(long, default_value_t = 0)]
        slow_ms: u64,
        /// Fault: execute, then answer 500.
        #[arg(long)]
        error_after_work: bool,
        /// Fault: execute, then close the connection without an answer.
        #[arg(long)]
        reset: bool,
        /// Fault: answer 503 before executing anything.
        #[arg(long)]
        unavailable: bool,
        /// Fault: decline every collection (402 declined).
        #[arg(long)]
        decline: bool,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print every key with its default and meaning.
    Default,
    /// Print the effective configuration (defaults + file + environment).
    Show,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcf: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Config {
        command: ConfigCommand::Default,
    } = &cli.command
    {
        print!("{}", mcf::config::default_toml());
        return Ok(());
    }
    if let Command::Login {
        url,
        email,
        password,
        redirect_uri,
    } = &cli.command
    {
        let token = mcf::login::access_token(url, email, password, redirect_uri).await?;
        println!("{token}");
        return Ok(());
    }
    if let Command::Sandbox {
        command:
            SandboxCommand::Smtp {
                listen,
                http,
                dir,
                slow_ms,
                reject,
            },
    } = &cli.command
    {
        let smtp = tokio::net::TcpListener::bind(listen).await?;
        let web = tokio::net::TcpListener::bind(http).await?;
        println!(
            "SMTP sandbox listening on {} (messages at http://{}/messages, files in {})",
            smtp.local_addr()?,
            web.local_addr()?,
            dir.display()
        );
        let faults = sandbox_smtp::Faults {
            slow: std::time::Duration::from_millis(*slow_ms),
            reject: *reject,
        };
        tokio::select! {
            r = sandbox_smtp::serve_smtp(smtp, dir.clone(), faults) => r?,
            r = sandbox_smtp::serve_http(web, dir.clone()) => r?,
            _ = shutdown_signal() => {}
        }
        return Ok(());
    }
    if let Command::Sandbox {
        command:
            SandboxCommand::Cookies {
                listen,
                delay_s,
                secret,
                slow_ms,
                error_after_work,
                reset,
                refuse,
                duplicate_callbacks,
                late_callback_ms,
                lost_callbacks,
            },
    } = &cli.command
    {
        let delay = std::time::Duration::try_from_secs_f64(*delay_s)
            .map_err(|_| anyhow::anyhow!("--delay-s: must be 0 or more seconds"))?;
        let sandbox = sandbox_cookies::Sandbox::new(sandbox_cookies::Settings {
            delay,
            secret: secret.clone(),
            faults: sandbox_cookies::Faults {
                slow_ms: *slow_ms,
                error_after_work: *error_after_work,
                reset: *reset,
                refuse: *refuse,
                duplicate_callbacks: *duplicate_callbacks,
                late_callback_ms: *late_callback_ms,
                lost_callbacks: *lost_callbacks,
                times: None,
            },
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!(
            "Cookie sandbox listening on {} (delivery after {delay_s} s; GET /baked, PUT /faults)",
            listener.local_addr()?,
        );
        tokio::select! {
            r = sandbox.serve(listener) => r?,
            _ = shutdown_signal() => {}
        }
        return Ok(());
    }
    if let Command::Sandbox {
        command:
            SandboxCommand::Bank {
                listen,
                slow_ms,
                error_after_work,
                reset,
                unavailable,
                decline,
            },
    } = &cli.command
    {
        let bank = sandbox_bank::Sandbox::new(sandbox_bank::Settings {
            faults: sandbox_bank::Faults {
                slow_ms: *slow_ms,
                error_after_work: *error_after_work,
                reset: *reset,
                unavailable: *unavailable,
                decline: *decline,
                only: None,
                times: None,
            },
        });
        let listener = tokio::net::TcpListener::bind(listen).await?;
        println!(
            "Bank sandbox listening on {} (GET /statement, PUT /faults)",
            listener.local_addr()?,
        );
        tokio::select! {
            r = bank.serve(listener) => r?,
            _ = shutdown_signal() => {}
        }
        return Ok(());
    }
    let mut config = Config::load(cli.config.as_deref())?;
    let service_name = match &cli.command {
        Command::Serve { services, .. } => mcf::telemetry::service_name(services),
        _ => mcf::telemetry::service_name(&[]),
    };
    let telemetry = mcf::telemetry::init(&config, &service_name)?;
    match cli.command {
        Command::Up { data_dir, listen } => {
            if let Some(d) = data_dir {
                config.embedded.data_dir = d;
            }
            if let Some(l) = listen {
                config.http.listen = l;
            }
            let running = system::start_embedded(&config).await?;
            println!(
                "MCF (embedded) listening on http://{} with data in {}",
                running.addr,
                config.embedded.data_dir.display()
            );
            running.until(shutdown_signal()).await;
        }
        Command::Serve { services, listen } => {
            if let Some(l) = listen {
                config.http.listen = l;
            }
            let running = system::start_distributed(&config, &services).await?;
            println!(
                "MCF ({}) listening on http://{}",
                services.join(", "),
                running.addr
            );
            running.until(shutdown_signal()).await;
        }
        Command::Migrate {
            distributed,
            services,
        } => {
            let services: Vec<String> = if services.is_empty() {
                system::SERVICES.iter().map(|s| (*s).to_owned()).collect()
            } else {
                services
            };
            for service in &services {
                let url = if distributed {
                    config.database_url(service)?.to_owned()
                } else {
                    system::embedded_db_url(&config, service)
                };
                system::open_db(service, &url).await?.close().await;
                println!("{service}: migrated");
            }
        }
        Command::Quality {
            command:
                QualityCommand::Rebuild {
                    data_dir,
                    distributed,
                },
        } => {
            if let Some(d) = data_dir {
                config.embedded.data_dir = d;
            }
            let reset = system::rebuild_quality(&config, distributed).await?;
            println!(
                "quality: timeline reset ({} entries, {} order files, {} inbox rows); \
                 start Quality to replay the streams into it",
                reset.entries, reset.files, reset.inbox
            );
        }
        Command::Backup {
            to,
            url,
            token,
            email,
            password,
            redirect_uri,
            data_dir,
        } => {
            let to = std::path::absolute(&to)?;
            let manifest = match data_dir {
                Some(dir) => mcf::backup::take_offline(&dir, &to).await?,
                None => {
                    let token = match (token, email, password) {
                        (Some(token), _, _) => token,
                        (None, Some(email), Some(password)) => {
                            mcf::login::access_token(&url, &email, &password, &redirect_uri).await?
                        }
                        _ => anyhow::bail!(
                            "an admin's --token (or env MCF_TOKEN), or --email and --password \
                             (or env MCF_PASSWORD); or --data-dir for a stopped data dir"
                        ),
                    };
                    mcf::backup::request(&url, &token, &to).await?
                }
            };
            println!("backup in {}: {}", to.display(), manifest.summary());
        }
        Command::Restore {
            from,
            data_dir,
            force,
        } => {
            let dir = data_dir.unwrap_or(config.embedded.data_dir);
            let manifest = mcf::backup::restore(&from, &dir, force)?;
            println!(
                "restored into {} from {} ({} files, {} bytes, taken at {}); start it with \
                 mcf up --data-dir {}",
                dir.display(),
                from.display(),
                manifest.files.len(),
                manifest.bytes(),
                manifest.taken_at,
                dir.display()
            );
        }
        Command::Ops(args) => mcf::ops::run(args, &config).await?,
        Command::Config {
            command: ConfigCommand::Show,
        } => {
            print!("{}", toml::to_string_pretty(&config.redacted())?);
        }
        Command::Config { .. } | Command::Login { .. } | Command::Sandbox { .. } => {
            unreachable!("handled above")
        }
    }
    // The last spans, exported while the process still may: the flush blocks on the
    // exporter, so off the async workers.
    tokio::task::spawn_blocking(move || telemetry.shutdown()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
