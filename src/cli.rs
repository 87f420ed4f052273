//! The command line. `main.rs` only calls [`main`].

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use diesel::Connection;

use crate::config::Config;
use crate::db::{self, agencies, cases, users};
use crate::demo;
use crate::domain::access::{split_list, ReviewScope, Role};
use crate::domain::simulate::Summary;
use crate::error::AppError;
use crate::rules::{load_dir, RuleSet};
use crate::startup::{Application, StartError};

#[derive(Parser)]
#[command(
    name = "aitriage",
    version,
    about = "Intake and risk triage for AI and agentic-AI use cases"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, load the rules and serve on BIND (the default command).
    Serve(ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Check and inspect rule packs.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Manage agencies.
    #[command(subcommand)]
    Agencies(AgenciesCommand),
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Check the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The guardrail policies of approved agentic use cases.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Import use cases from a JSON-lines or CSV file: an aitriage export (restored exactly),
    /// intake rows, or a US federal AI use-case inventory; reports rejected rows by line.
    Import { file: PathBuf },
    /// Export every use case, with scores, triage, assessments and decisions, to standard output.
    Export {
        #[arg(long, default_value = "jsonl")]
        format: String,
    },
    /// Measure intake, triage and portfolio speed on a fresh temporary database (use a
    /// release build); prints one table.
    Bench {
        /// A PostgreSQL URL to measure on (a fresh schema is created and dropped); SQLite by default.
        #[arg(long)]
        database_url: Option<String>,
        /// Portfolio sizes for the radar, summary and simulate measurements.
        #[arg(long, value_delimiter = ',')]
        sizes: Option<Vec<usize>>,
        /// A small, fast run (what the test suite executes).
        #[arg(long)]
        quick: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Print the guardrail policy of a use case's approved revision (JSON), for a runtime
    /// gateway to enforce.
    Export {
        /// The use case id.
        id: String,
        /// An approved revision; the current one when absent.
        #[arg(long)]
        revision: Option<i32>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk the chain (under AUDIT_KEY when set), check every case against its trail and the
    /// chain against checkpoints; exit non-zero naming each problem.
    Verify {
        /// Checkpoint files, or directories of them, taken earlier and kept outside the database.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
    },
    /// Seal a trail written without a key: verify it, then re-hash every event under
    /// AUDIT_KEY (once, when a key is first configured).
    Seal,
    /// Write a checkpoint of the chain's head (signed under AUDIT_KEY when set) to a file or
    /// into a directory, or to standard output; also queued for the webhook when one is set.
    Checkpoint {
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Default)]
struct ServeArgs {
    /// Seed a demo portfolio into an empty database and print logins and tokens.
    #[arg(long)]
    demo: bool,
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load and validate a rule pack; print every problem as file:line:column: message.
    Check {
        /// The rule pack folder (default: RULES_DIR, or ./rules).
        #[arg(long)]
        rules: Option<PathBuf>,
    },
    /// Re-triage every stored case under candidate rules, writing nothing; print how many
    /// cases change tier or route, and which.
    Simulate {
        /// The candidate rule pack folder.
        #[arg(long)]
        rules: PathBuf,
    },
    /// Triage every row of an import file (any layout `import` reads) without storing it, and
    /// compare with labels: recall and precision of human approval, false-positive rate,
    /// auto-clear rate, a confusion table, and the rules and hints behind the errors.
    Evaluate {
        /// The file to triage (JSON lines or CSV).
        file: PathBuf,
        /// A CSV with a `row` column (1 = first data row of FILE) and a `label` or `impact` column.
        #[arg(long)]
        labels: PathBuf,
        /// The rule pack folder (default: RULES_DIR, or ./rules).
        #[arg(long)]
        rules: Option<PathBuf>,
        /// Evaluate half the rows only (`a` or `b`, split by purpose text), or `all`.
        #[arg(long, default_value = "all")]
        half: String,
        /// Label values that mean "should reach a person", comma-separated.
        #[arg(long, default_value = "rights,safety,both,positive,yes,high,1,true")]
        positive: String,
        /// Label values that mean "need not", comma-separated; other values are left out.
        #[arg(long, default_value = "neither,negative,no,low,0,false")]
        negative: String,
        /// Where to write the misses and false positives (CSV).
        #[arg(long, default_value = "evaluate-errors.csv")]
        errors: PathBuf,
    },
}

#[derive(Subcommand)]
enum AgenciesCommand {
    /// Create an agency.
    Create {
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Issue a new API token for a user; the token is the last line of output.
    Create {
        #[arg(long)]
        email: String,
    },
    /// List API tokens (never the tokens themselves): id, user, created, revoked.
    List {
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke a token by its id: the next request with it is refused, on every instance.
    Revoke { id: String },
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Disable a user: their tokens stop working and their web sessions end.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Replace a user's roles (comma-separated).
    SetRoles {
        #[arg(long)]
        email: String,
        #[arg(long = "role")]
        roles: String,
    },
    /// Create a user and print a new API token (the last line of output).
    Create {
        /// The user's agency code.
        #[arg(long)]
        agency: String,
        #[arg(long)]
        email: String,
        /// Roles, comma-separated: submitter, reviewer, senior_reviewer, portfolio_owner, admin.
        #[arg(long = "role")]
        roles: String,
        /// Review groups, comma-separated (privacy, security, legal, ethics, technical, …).
        #[arg(long)]
        groups: Option<String>,
        /// The agencies a reviewer decides for: agency codes, comma-separated, or `all`.
        #[arg(long)]
        reviews: Option<String>,
        /// Read a password for web sign-in from standard input (first line; 12 characters at least).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string()),
    };
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    // Every audit event this process appends is sealed with the configured key.
    let key = config.audit_key.clone();
    match db::audit::with_key(key.as_ref(), || run(command, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&format!("{e:#}")),
    }
}

/// Runs one command.
fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(config, args.demo),
        Command::Migrate => migrate(&config),
        Command::Rules(c) => rules_command(&config, c),
        Command::Audit(AuditCommand::Verify { checkpoints }) => audit_verify(&config, &checkpoints),
        Command::Audit(AuditCommand::Seal) => audit_seal(&config),
        Command::Audit(AuditCommand::Checkpoint { out }) => {
            audit_checkpoint(&config, out.as_deref())
        }
        Command::Policy(PolicyCommand::Export { id, revision }) => {
            policy_export(&config, &id, revision)
        }
        Command::Import { file } => import(&config, &file),
        Command::Export { format } => export(&config, &format),
        Command::Bench {
            database_url,
            sizes,
            quick,
        } => bench(&config, database_url, sizes, quick),
        Command::Agencies(AgenciesCommand::Create { code, name }) => {
            create_agency(&config, &code, &name)
        }
        Command::Users(c) => users_command(&config, c),
        Command::Tokens(c) => tokens_command(&config, c),
    }
}

/// `rules check`, `rules simulate`, `rules evaluate`.
fn rules_command(config: &Config, command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Check { rules } => rules_check(rules.as_deref().unwrap_or(&config.rules_dir)),
        RulesCommand::Simulate { rules } => simulate(config, &rules),
        RulesCommand::Evaluate {
            file,
            labels,
            rules,
            half,
            positive,
            negative,
            errors,
        } => {
            let half = crate::evaluate::Half::parse(&half)
                .ok_or_else(|| anyhow::anyhow!("--half must be a, b or all"))?;
            let opts = crate::evaluate::Options {
                file,
                labels,
                half,
                positive: list(&positive),
                negative: list(&negative),
                errors_out: errors,
            };
            evaluate(rules.as_deref().unwrap_or(&config.rules_dir), opts)
        }
    }
}

/// `users create`, `users disable`, `users enable`, `users set-roles`.
fn users_command(config: &Config, command: UsersCommand) -> anyhow::Result<()> {
    match command {
        UsersCommand::Disable { email } => account(config, &email, |c, by, id| {
            crate::app::users::set_disabled(c, by, id, true).map(|()| format!("disabled {email}"))
        }),
        UsersCommand::Enable { email } => account(config, &email, |c, by, id| {
            crate::app::users::set_disabled(c, by, id, false).map(|()| format!("enabled {email}"))
        }),
        UsersCommand::SetRoles { email, roles } => {
            let roles = parse_roles(&roles)?;
            account(config, &email, |c, by, id| {
                crate::app::users::set_roles(c, by, id, &roles)
                    .map(|()| format!("roles of {email} set"))
            })
        }
        UsersCommand::Create {
            agency,
            email,
            roles,
            groups,
            reviews,
            password_stdin,
        } => {
            let password = password_stdin.then(read_password).transpose()?;
            create_user(
                config,
                &agency,
                &email,
                &roles,
                groups.as_deref(),
                reviews.as_deref(),
                password.as_deref(),
            )
        }
    }
}

/// `tokens create`, `tokens list`, `tokens revoke`.
fn tokens_command(config: &Config, command: TokensCommand) -> anyhow::Result<()> {
    match command {
        TokensCommand::Create { email } => account(config, &email, |c, by, id| {
            crate::app::users::issue_token(c, by, id)
                .map(|token| format!("API token for {email} (shown once):\n{token}"))
        }),
        TokensCommand::List { email } => list_tokens(config, email.as_deref()),
        TokensCommand::Revoke { id } => {
            let pool = open(config)?;
            let mut conn = pool.get()?;
            crate::app::users::revoke_token(&mut conn, crate::app::users::By::Operator, &id)
                .map_err(|e| match e {
                    AppError::NotFound => {
                        anyhow::anyhow!("no token {id} that is not already revoked")
                    }
                    other => app_error(other),
                })?;
            println!("revoked token {id}");
            Ok(())
        }
    }
}

/// The first line of standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn bench(
    config: &Config,
    database_url: Option<String>,
    sizes: Option<Vec<usize>>,
    quick: bool,
) -> anyhow::Result<()> {
    let mut opts = if quick {
        crate::bench::Options::quick(database_url)
    } else {
        crate::bench::Options::full(database_url)
    };
    if let Some(s) = sizes {
        opts.sizes = s;
    }
    let rules = load_rules(&config.rules_dir)?;
    print!("{}", crate::bench::run(&opts, rules, config)?);
    Ok(())
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("aitriage: {msg}");
    ExitCode::FAILURE
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A service error as the command line reports it (each invalid field, or the whole cause chain).
fn app_error(e: AppError) -> anyhow::Error {
    anyhow::anyhow!(e.describe())
}

/// Loads a rule pack, or describes every problem in it.
pub fn load_rules(dir: &Path) -> Result<RuleSet, StartError> {
    load_dir(dir).map_err(|diagnostics| StartError::Rules {
        dir: dir.to_path_buf(),
        diagnostics,
    })
}

/// Prints every problem of the rule pack as `file:line:column: message` (or that it is ok),
/// then each translation's missing texts the same way: a gap fails the check too, although
/// `serve` shows English in its place.
fn rules_check(dir: &Path) -> anyhow::Result<()> {
    match load_dir(dir) {
        Ok(rules) => {
            println!(
                "{}: ok — {} questions, {} rules over {} nodes, rules_version {}",
                dir.display(),
                rules.questionnaire.questions.len(),
                rules.taxonomy.rules.len(),
                rules.taxonomy.nodes.len(),
                rules.version
            );
            let total = crate::rules::i18n::keys(&rules).len();
            let mut langs: Vec<_> = rules.translations.iter().collect();
            langs.sort_by(|a, b| a.0.cmp(b.0));
            let mut gaps = 0;
            for (lang, texts) in langs {
                let missing = texts.missing(&rules);
                for d in &missing {
                    println!("{d}");
                }
                println!(
                    "i18n/{lang}.toml: {} of {total} texts translated",
                    total - missing.len()
                );
                gaps += missing.len();
            }
            if gaps > 0 {
                anyhow::bail!("{gaps} text(s) not translated");
            }
            Ok(())
        }
        Err(diags) => {
            for d in &diags {
                println!("{d}");
            }
            anyhow::bail!("{} problem(s) found", diags.len())
        }
    }
}

/// Comma-separated values, trimmed and lower-cased.
fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|v| v.trim().to_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

fn evaluate(dir: &Path, opts: crate::evaluate::Options) -> anyhow::Result<()> {
    let rules = load_rules(dir)?;
    print!("{}", crate::evaluate::run(&rules, &opts)?);
    Ok(())
}

fn simulate(config: &Config, dir: &Path) -> anyhow::Result<()> {
    let candidate = load_rules(dir)?;
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    let mut summary = Summary::new(&candidate);
    cases::for_each_triaged(&mut conn, 1000, |batch| summary.add_all(&candidate, batch))
        .map_err(app_error)?;
    print!("{}", summary.render());
    Ok(())
}

fn import(config: &Config, file: &Path) -> anyhow::Result<()> {
    let rules = load_rules(&config.rules_dir)?;
    let pool = open(config)?;
    let mut conn = pool.get()?;
    let report = crate::transfer::import(&mut conn, &rules, file)?;
    print!("{}", report.render());
    Ok(())
}

fn export(config: &Config, format: &str) -> anyhow::Result<()> {
    let format = crate::transfer::Format::parse(format)
        .ok_or_else(|| anyhow::anyhow!("--format {format}: use csv or jsonl"))?;
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let n = crate::transfer::export(
        &mut conn,
        &crate::domain::access::Scope::All,
        format,
        &mut out,
    )
    .map_err(app_error)?;
    std::io::Write::flush(&mut out)?;
    eprintln!("exported {n} use case(s)");
    Ok(())
}

fn policy_export(config: &Config, id: &str, revision: Option<i32>) -> anyhow::Result<()> {
    let id =
        crate::vocab::CaseId::parse(id).with_context(|| format!("{id} is not a use case id"))?;
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    let scope = crate::domain::access::Scope::All;
    let p = crate::app::policy::of(&mut conn, &scope, &id, revision).map_err(app_error)?;
    println!("{}", serde_json::to_string_pretty(&p)?);
    Ok(())
}

fn audit_verify(config: &Config, checkpoints: &[PathBuf]) -> anyhow::Result<()> {
    let checkpoints = crate::app::audit::read_checkpoints(checkpoints).map_err(app_error)?;
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    let report = crate::app::audit::verify(&mut conn, config.audit_key.as_ref(), &checkpoints)
        .map_err(app_error)?;
    for line in &report.lines {
        println!("{line}");
    }
    match report.problems {
        0 => Ok(()),
        n => Err(anyhow::anyhow!(
            "the audit trail does not hold: {n} problem(s)"
        )),
    }
}

fn audit_seal(config: &Config) -> anyhow::Result<()> {
    let key = config
        .audit_key
        .as_ref()
        .context("set AUDIT_KEY or AUDIT_KEY_FILE to the key to seal the trail with")?;
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    match db::audit::seal(&mut conn, key).map_err(app_error)? {
        Ok(n) => {
            println!("audit trail sealed with key {}: {n} events", key.id());
            Ok(())
        }
        Err(b) => Err(anyhow::anyhow!(
            "not sealed: the chain is broken at event seq {} (id {}): {}",
            b.seq,
            b.id,
            b.reason
        )),
    }
}

fn audit_checkpoint(config: &Config, out: Option<&Path>) -> anyhow::Result<()> {
    let pool = open(config)?;
    let mut conn = pool.get()?;
    let key = config.audit_key.as_ref();
    match out {
        Some(out) => {
            let announce = config.webhook_url.is_some();
            let (path, cp) = crate::app::audit::write_checkpoint(&mut conn, key, out, announce)
                .map_err(app_error)?;
            println!(
                "checkpoint of event {} written to {}",
                cp.seq,
                path.display()
            );
        }
        None => {
            let cp = db::audit::checkpoint(&mut conn, key).map_err(app_error)?;
            println!("{}", serde_json::to_string_pretty(&cp)?);
        }
    }
    Ok(())
}

/// Runs an account change on the user with `email`, as the operator, and prints its outcome.
fn account(
    config: &Config,
    email: &str,
    change: impl FnOnce(
        &mut db::DbConnection,
        crate::app::users::By,
        &crate::vocab::UserId,
    ) -> crate::error::AppResult<String>,
) -> anyhow::Result<()> {
    let pool = open(config)?;
    let mut conn = pool.get()?;
    let id = users::find_id_by_email(&mut conn, email)
        .map_err(app_error)?
        .ok_or_else(|| anyhow::anyhow!("no user with e-mail {email}"))?;
    let said = change(&mut conn, crate::app::users::By::Operator, &id).map_err(app_error)?;
    println!("{said}");
    Ok(())
}

fn list_tokens(config: &Config, email: Option<&str>) -> anyhow::Result<()> {
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    let user = match email {
        None => None,
        Some(e) => Some(
            users::find_id_by_email(&mut conn, e)
                .map_err(app_error)?
                .ok_or_else(|| anyhow::anyhow!("no user with e-mail {e}"))?,
        ),
    };
    let list = crate::app::users::tokens(&mut conn, crate::app::users::By::Operator, user.as_ref())
        .map_err(app_error)?;
    println!("id\tuser\tcreated\trevoked");
    for t in list {
        let revoked = t
            .revoked_at
            .map(|r| r.to_string())
            .unwrap_or_else(|| "-".into());
        println!("{}\t{}\t{}\t{revoked}", t.id, t.email, t.created_at);
    }
    Ok(())
}

/// The database, migrated, once this process's audit key may write to its trail.
fn open(config: &Config) -> anyhow::Result<db::Pool> {
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    db::audit::check_key(&mut conn, config.audit_key.as_ref())
        .map_err(app_error)?
        .map_err(anyhow::Error::from)?;
    Ok(pool)
}

fn migrate(config: &Config) -> anyhow::Result<()> {
    // connect() runs pending migrations; say what the database holds now.
    db::connect_configured(config)?;
    println!("migrations applied to {}", db::redact(&config.database_url));
    Ok(())
}

fn create_agency(config: &Config, code: &str, name: &str) -> anyhow::Result<()> {
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    let a = agencies::create(&mut conn, code, name).map_err(app_error)?;
    println!("created agency {} ({}) id {}", a.code, a.name, a.id);
    Ok(())
}

fn parse_roles(s: &str) -> anyhow::Result<Vec<Role>> {
    let roles: Vec<Role> = split_list(s)
        .iter()
        .map(|r| Role::parse(r).ok_or_else(|| anyhow::anyhow!("unknown role `{r}` (submitter, reviewer, senior_reviewer, portfolio_owner, admin)")))
        .collect::<Result<_, _>>()?;
    if roles.is_empty() {
        anyhow::bail!("--role needs at least one role");
    }
    Ok(roles)
}

fn create_user(
    config: &Config,
    agency: &str,
    email: &str,
    roles: &str,
    groups: Option<&str>,
    reviews: Option<&str>,
    password: Option<&str>,
) -> anyhow::Result<()> {
    let roles = parse_roles(roles)?;
    let pool = db::connect_configured(config)?;
    let mut conn = pool.get()?;
    let home = agencies::find_by_code(&mut conn, agency)
        .map_err(app_error)?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no agency with code {agency}; create it first with `aitriage agencies create`"
            )
        })?;
    let review_scope = match reviews.map(str::trim) {
        None | Some("") => ReviewScope::Own,
        Some("all") | Some("*") => ReviewScope::All,
        Some(list) => {
            let mut ids = Vec::new();
            for code in split_list(list) {
                let a = agencies::find_by_code(&mut conn, &code)
                    .map_err(app_error)?
                    .ok_or_else(|| anyhow::anyhow!("--reviews: no agency with code {code}"))?;
                ids.push(a.id);
            }
            ReviewScope::Agencies(ids)
        }
    };
    let groups = groups.map(split_list).unwrap_or_default();
    let token = conn
        .transaction::<_, AppError, _>(|conn| {
            let id = users::create(
                conn,
                users::NewUser {
                    agency_id: &home.id,
                    email,
                    roles: &roles,
                    review_groups: &groups,
                    review_scope,
                },
            )?;
            if let Some(p) = password {
                users::set_password(conn, &id, p)?;
            }
            users::issue_token(conn, &id)
        })
        .map_err(app_error)?;
    println!("created user {email} in {agency}; API token (shown once):");
    println!("{token}");
    Ok(())
}

fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let app = Application::build(config)?;
    let config = &app.state.config;
    if demo {
        let mut conn = app.pool().get()?;
        let rules = app.state.rules();
        let report =
            demo::seed(&mut conn, &rules, &config.rules_dir.join("cases")).map_err(app_error)?;
        println!("{}", report.render(&config.bind.to_string()));
    }
    if let Some(url) = &config.webhook_url {
        crate::notify::spawn_sender(
            app.pool().clone(),
            crate::notify::Webhook {
                url: url.clone(),
                secret: config.webhook_secret.clone(),
                timeout: std::time::Duration::from_secs(10),
            },
        );
        println!("notifications are posted to {url}");
    }
    match &config.audit_key {
        None => tracing::warn!(
            "no AUDIT_KEY: the audit trail is plain SHA-256, which anyone who can write to the database can re-hash"
        ),
        Some(k) => println!("audit trail sealed with key {}", k.id()),
    }
    if config.metrics_token.is_none() {
        println!("/metrics is off (set METRICS_TOKEN to let a scraper read it)");
    }
    if let Some(dir) = &config.checkpoint_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("AUDIT_CHECKPOINT_DIR {}", dir.display()))?;
        crate::app::audit::spawn_checkpoints(
            app.pool().clone(),
            config.audit_key.clone(),
            dir.clone(),
            config.checkpoint_every,
            config.webhook_url.is_some(),
        );
        println!(
            "audit checkpoints written to {} every {} s",
            dir.display(),
            config.checkpoint_every.as_secs()
        );
    }
    let listener = app.bind()?;
    println!(
        "aitriage serving on http://{} (rules_version {}, database {})",
        config.bind,
        app.state.rules().version,
        db::redact(&config.database_url)
    );
    actix_web::rt::System::new()
        .block_on(async move {
            let server = app.server(listener).map_err(std::io::Error::other)?;
            server.await
        })
        .map_err(|e| anyhow::anyhow!("server stopped: {e}"))
}
