//! The `scorebord` command. Thin: parses the command line and calls into the library.

/// mimalloc: the live path allocates small, short-lived values per message per subscriber,
/// where glibc malloc cost about 15 % of the server's CPU in the fan-out profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};
use migration::MigratorTrait;

use scorebord::org::model::{self, OrgId, Role, SalesRole};
use scorebord::org::store;
use scorebord::{App, Config};

/// Scorebord: a GraphQL API backend for sales-performance management.
#[derive(Parser)]
#[command(name = "scorebord", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: Config,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default). Migrates the database first.
    Serve {
        /// Seed the demo organization and print tokens; generates a JWT secret for this process when none is set.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Write the GraphQL SDL (needs no database).
    ExportSchema {
        /// Compare with the file instead of writing it; exit 1 on any difference.
        #[arg(long)]
        check: bool,
        /// Where the SDL lives.
        #[arg(long, default_value = "schema.graphql")]
        path: std::path::PathBuf,
    },
    /// Manage organizations (tenants).
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Manage consulting firms, which own client organizations.
    Firm {
        #[command(subcommand)]
        command: FirmCommand,
    },
    /// Print a bearer token for a member, signed with JWT_SECRET.
    Token {
        /// The organization's slug.
        #[arg(long)]
        org: String,
        /// The member's e-mail.
        #[arg(long)]
        email: String,
        /// How long the token is valid, e.g. `15m`, `1h`; at most MAX_TOKEN_LIFETIME_SECONDS
        /// (default 24 hours).
        #[arg(long, default_value = "1h")]
        ttl: humantime::Duration,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Create an organization and its first admin; prints the admin's initial password.
    Create {
        /// Name, e.g. "Acme B.V.".
        #[arg(long)]
        name: String,
        /// URL-safe key used to log in, e.g. `acme`.
        #[arg(long)]
        slug: String,
        /// E-mail of the first admin.
        #[arg(long)]
        admin_email: String,
        /// Name of the first admin (default: the e-mail's local part).
        #[arg(long)]
        admin_name: Option<String>,
        /// IANA time zone.
        #[arg(long, default_value = "Europe/Amsterdam")]
        time_zone: String,
        /// ISO 4217 currency.
        #[arg(long, default_value = "EUR")]
        currency: String,
    },
}

#[derive(Subcommand)]
enum FirmCommand {
    /// Create a firm and its first firm admin; prints the admin's initial password.
    Create {
        /// Name, e.g. "Groeimeesters B.V.".
        #[arg(long)]
        name: String,
        /// URL-safe key its staff sign in with (`firmLogin`), e.g. `groeimeesters`.
        #[arg(long)]
        slug: String,
        /// E-mail of the first firm admin.
        #[arg(long)]
        admin_email: String,
        /// Name of the first firm admin (default: the e-mail's local part).
        #[arg(long)]
        admin_name: Option<String>,
    },
    /// Make an organization of no firm a client of the firm (an existing install joining a firm).
    Adopt {
        /// The firm's slug.
        #[arg(long)]
        firm: String,
        /// The organization's slug.
        #[arg(long)]
        org: String,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = cli.config.validate() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    if let Err(e) = scorebord::telemetry::init(cli.config.log_format, cli.config.otel_exporter_otlp_endpoint.as_deref())
    {
        eprintln!("error: starting trace export: {e:#}");
        std::process::exit(1);
    }
    let result = run(cli).await;
    scorebord::telemetry::shutdown();
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut config = cli.config;
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => {
            if demo && config.jwt_secret.as_deref().is_none_or(str::is_empty) {
                use base64::Engine as _;
                let bytes: [u8; 32] = rand::random();
                config.jwt_secret = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
                tracing::warn!("demo mode: no JWT_SECRET set, generated one for this process; its tokens die with it");
            }
            if !config.has_signing_configuration() {
                bail!(
                    "no token signing configured: set JWT_SECRET (HS256) or JWT_PUBLIC_KEYS (RS256/ES256), or run `scorebord serve --demo`"
                );
            }
            serve(config, demo).await
        }
        Command::Migrate => {
            let db = scorebord::db::connect(&config).await?;
            migration::Migrator::up(&db, None).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::ExportSchema { check, path } => export_schema(check, &path),
        Command::Org { command: OrgCommand::Create { name, slug, admin_email, admin_name, time_zone, currency } } => {
            create_org(config, name, slug, admin_email, admin_name, time_zone, currency).await
        }
        Command::Firm { command: FirmCommand::Create { name, slug, admin_email, admin_name } } => {
            let app = App::build(config).await?;
            let admin_name = admin_name.unwrap_or_else(|| admin_email.split('@').next().unwrap_or("Admin").to_owned());
            let person = scorebord::firm::service::NewPerson { name: admin_name, email: admin_email, password: None };
            match scorebord::firm::service::create_firm(&app.state.db, &name, &slug, person)
                .await
                .map_err(scorebord::core::error::into_anyhow)?
            {
                Ok(created) => {
                    println!("created firm '{}' ({})", created.firm.slug, created.firm.id);
                    let password = created.password.unwrap_or_default();
                    println!("firm admin: {}  initial password: {password}", created.admin.email);
                    Ok(())
                }
                Err(errors) => {
                    let all: Vec<String> =
                        errors.iter().map(|e| format!("{}: {}", e.field.join("."), e.message)).collect();
                    bail!("{}", all.join("; "))
                }
            }
        }
        Command::Firm { command: FirmCommand::Adopt { firm, org } } => {
            let app = App::build(config).await?;
            let db = &app.state.db;
            let into = scorebord::core::error::into_anyhow;
            let Some(f) = scorebord::firm::store::find_firm_by_slug(db, &firm).await.map_err(into)? else {
                bail!("no firm with slug '{firm}'");
            };
            let Some(o) = store::find_org_by_slug(db, &org).await.map_err(into)? else {
                bail!("no organization with slug '{org}'");
            };
            if !scorebord::firm::store::adopt(db, f.id, OrgId(o.id)).await.map_err(into)? {
                bail!("organization '{org}' belongs to a firm already");
            }
            println!("organization '{org}' is now a client of firm '{firm}'");
            Ok(())
        }
        Command::Token { org, email, ttl } => {
            if config.jwt_secret.as_deref().is_none_or(str::is_empty) {
                bail!("set JWT_SECRET: tokens are signed with it");
            }
            let app = App::build(config).await?;
            let org = store::find_org_by_slug(&app.state.db, &org)
                .await
                .map_err(scorebord::core::error::into_anyhow)?
                .with_context(|| format!("no organization with slug '{org}'"))?;
            let member = store::find_member_by_email(OrgId(org.id), &app.state.db, &email.trim().to_lowercase())
                .await
                .map_err(scorebord::core::error::into_anyhow)?
                .with_context(|| format!("no member '{email}' in '{}'", org.slug))?;
            if !member.active {
                bail!("member '{email}' is deactivated");
            }
            let ttl = chrono::Duration::from_std(ttl.into()).context("ttl too large")?;
            println!("{}", app.state.jwt.issue(member.id, org.id, ttl)?);
            Ok(())
        }
    }
}

async fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let bind = config.bind;
    let app = App::build(config).await?;
    if demo {
        let org = scorebord::demo::seed(&app.state).await.map_err(scorebord::core::error::into_anyhow)?;
        // Twelve hours, unless MAX_TOKEN_LIFETIME_SECONDS allows less.
        let ttl = chrono::Duration::hours(12).min(app.state.jwt.max_lifetime());
        let tokens = scorebord::demo::tokens(&app.state, org, ttl).await?;
        println!(
            "\nDemo organization 'demo' is ready. Every demo member's password is '{}'.",
            scorebord::demo::DEMO_PASSWORD
        );
        println!(
            "Tokens (valid {} minutes; paste as HTTP header {{\"Authorization\": \"Bearer <token>\"}} in GraphiQL):",
            ttl.num_minutes()
        );
        for (email, token) in tokens {
            println!("  {email:<20} {token}");
        }
        let key = scorebord::demo::forecast_key(&app.state, org).await.map_err(scorebord::core::error::into_anyhow)?;
        println!("API key with scope forecasts:read (send as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'):");
        println!("  {key}");
    }
    let listener = tokio::net::TcpListener::bind(bind).await.with_context(|| format!("binding {bind}"))?;
    let addr = listener.local_addr()?;
    println!("\nGraphiQL: http://{addr}/graphql");
    tracing::info!(%addr, "listening");
    app.serve(listener, scorebord::shutdown_signal()).await?;
    Ok(())
}

fn export_schema(check: bool, path: &std::path::Path) -> anyhow::Result<()> {
    let sdl = scorebord::schema::sdl();
    if check {
        let current = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        if current != sdl {
            bail!("{} is out of date: run `cargo run -- export-schema` and commit it", path.display());
        }
        println!("{} is up to date", path.display());
    } else {
        std::fs::write(path, &sdl).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

async fn create_org(
    config: Config,
    name: String,
    slug: String,
    admin_email: String,
    admin_name: Option<String>,
    time_zone: String,
    currency: String,
) -> anyhow::Result<()> {
    let field = |e: model::FieldError| anyhow::anyhow!("{}: {}", e.field.join("."), e.message);
    let name = model::parse_name("name", &name).map_err(field)?;
    let slug = model::parse_slug(&slug).map_err(field)?;
    let email = model::parse_email(&admin_email).map_err(field)?;
    let time_zone = model::parse_time_zone(&time_zone).map_err(field)?.name().to_owned();
    let currency = model::parse_currency(&currency).map_err(field)?;
    let admin_name = model::parse_name(
        "adminName",
        admin_name.as_deref().unwrap_or_else(|| email.split('@').next().unwrap_or("Admin")),
    )
    .map_err(field)?;
    let app = App::build(config).await?;
    if store::find_org_by_slug(&app.state.db, &slug).await.map_err(scorebord::core::error::into_anyhow)?.is_some() {
        bail!("an organization with slug '{slug}' already exists");
    }
    let password = scorebord::auth::store::new_secret()[..16].to_owned();
    let hash = scorebord::auth::password::hash(password.clone()).await.map_err(scorebord::core::error::into_anyhow)?;
    let tx = scorebord::db::begin_write(&app.state.db).await?;
    let org = store::create_organization(
        &tx,
        store::NewOrganization {
            name,
            slug: slug.clone(),
            time_zone,
            currency,
            fiscal_year_start_month: 1,
            primary_color: "#1F2937".into(),
            secondary_color: "#10B981".into(),
            display_name: None,
            logo_url: None,
            locale: scorebord::core::locale::Locale::default(),
        },
    )
    .await
    .map_err(scorebord::core::error::into_anyhow)?;
    store::create_member(
        OrgId(org.id),
        &tx,
        store::NewMember {
            name: admin_name,
            email: email.clone(),
            role: Role::Admin,
            sales_role: SalesRole::Manager,
            team_id: None,
            start_date: chrono::Utc::now().date_naive(),
            password_hash: Some(hash),
            avatar_url: None,
        },
    )
    .await
    .map_err(scorebord::core::error::into_anyhow)?;
    tx.commit().await?;
    println!("created organization '{slug}' ({})", org.id);
    println!("admin: {email}  initial password: {password}");
    Ok(())
}
