//! `kxd admin …`: the operator's commands, each a short use of the store and the protocol
//! builders. Every command is written to the audit log as the operator `admin`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use kx_denso::location::Location;
use kx_denso::message::Attachment;
use kx_denso::{AccountId, OrgKind, OrgNumber, UpstreamDefinition};
use kx_gateway::outgoing::Outgoing;
use kx_store::{Network, Store, Tally};

mod exchange;
mod listing;
mod operator;

use kx_api::Clock;

use crate::config::Config;
use exchange::Admin;
pub(crate) use exchange::{
    AppVersionCommand, DEMO_DESTINATIONS, DEMO_SOCIETY, DemoUser, DestinationCommand,
    OfficeCommand, RetentionCommand, SocietyCommand, UserCommand,
};
use listing::{ListFormat, Listing, lapsing_lock, listed_time, password_state};
use serde_json::json;

/// The operator commands.
#[derive(Subcommand)]
pub(crate) enum AdminCommand {
    /// Organisations (都道府県, 保険者, 福祉事務所, 事業所).
    #[command(subcommand)]
    Org(OrgCommand),
    /// Accounts (IDs) and their passwords.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Upstream kinds (独自情報) that prefectures, insurers and welfare offices may send.
    #[command(subcommand)]
    Upstream(UpstreamCommand),
    /// Deliver the review system's output (交換情報) to an organisation's master address.
    #[command(subcommand)]
    Result(ResultCommand),
    /// Send a notice from the federation (下り連絡).
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Announce prepared data (サービス情報).
    #[command(subcommand)]
    Service(ServiceCommand),
    /// KX exchange: health insurance societies (健康保険組合).
    #[command(subcommand)]
    Society(SocietyCommand),
    /// KX exchange: a society's destinations (送信先 nicknames).
    #[command(subcommand)]
    Destination(DestinationCommand),
    /// KX exchange: a society's offices (事業所).
    #[command(subcommand)]
    Office(OfficeCommand),
    /// KX exchange: users, passwords, lock-out and one-time enrolment codes.
    #[command(subcommand)]
    User(UserCommand),
    /// KX exchange: the app version offered to users.
    #[command(subcommand)]
    AppVersion(AppVersionCommand),
    /// KX exchange: the 70-day expiry and 2-year purge.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// The console's accounts: federation operators and society administrators.
    #[command(subcommand)]
    Operator(operator::OperatorCommand),
    /// Report disk use by kind and delete the blobs no row names and the temporary files of
    /// unfinished writes, older than `[retention] gc_grace`.
    Gc {
        /// Report what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `kxd admin org …`.
#[derive(Subcommand)]
pub(crate) enum OrgCommand {
    /// Add an organisation.
    Add {
        /// office, insurer, prefecture or welfare.
        #[arg(long)]
        kind: OrgKind,
        /// Its number: 10 digits (office), 6 (insurer, welfare office), 2 (prefecture).
        #[arg(long)]
        number: String,
        /// A name for operators.
        #[arg(long, default_value = "")]
        name: String,
        /// A network its clients may connect from (CIDR); repeat for several. None: any.
        #[arg(long = "network", value_name = "CIDR")]
        networks: Vec<Network>,
    },
    /// List organisations.
    List(ListFormat),
}

/// `kxd admin account …`.
#[derive(Subcommand)]
pub(crate) enum AccountCommand {
    /// Add an account; without --password a temporary one is generated and printed.
    Add {
        /// The ID, e.g. J13123456780 (its organisation must exist).
        #[arg(long)]
        id: AccountId,
        /// The password (default: a generated temporary one).
        #[arg(long)]
        password: Option<String>,
    },
    /// Set a new password; without --password a temporary one is generated and printed.
    Passwd {
        /// The ID.
        #[arg(long)]
        id: AccountId,
        /// The password (default: a generated temporary one).
        #[arg(long)]
        password: Option<String>,
    },
    /// Lock an account: no login until unlocked.
    Lock {
        /// The ID.
        #[arg(long)]
        id: AccountId,
    },
    /// Unlock an account (also after too many failed logins).
    Unlock {
        /// The ID.
        #[arg(long)]
        id: AccountId,
    },
    /// List accounts.
    List(ListFormat),
}

/// `kxd admin upstream …`.
#[derive(Subcommand)]
pub(crate) enum UpstreamCommand {
    /// Define an upstream kind.
    Define {
        /// 独自情報名 (up to 20 alphanumerics), the word after `Transmit` in the Subject.
        #[arg(long)]
        name: String,
        /// The address its notices are sent to.
        #[arg(long)]
        to: String,
        /// The most files one notice may carry.
        #[arg(long)]
        max_files: Option<usize>,
        /// The largest one file may be, in bytes.
        #[arg(long)]
        max_bytes: Option<u64>,
        /// Allowed extensions, comma-separated (e.g. csv,pdf); default: any not forbidden.
        #[arg(long, value_delimiter = ',')]
        extensions: Option<Vec<String>>,
    },
    /// List upstream kinds.
    List(ListFormat),
}

/// `kxd admin result …`.
#[derive(Subcommand)]
pub(crate) enum ResultCommand {
    /// Pack files as `<識別番号>/<KKK><sequence>.CSV` into an LZH and deliver a Transmit Result.
    Deliver {
        /// The organisation's 識別番号 (10 characters) or number.
        #[arg(long)]
        org: String,
        /// The data kind (データ種別, 3 characters) that names the files.
        #[arg(long, value_name = "KKK")]
        kind: String,
        /// The data files, in order.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// `kxd admin contact …`.
#[derive(Subcommand)]
pub(crate) enum ContactCommand {
    /// Send a Transmit Contact.
    Send {
        /// Recipient IDs.
        #[arg(long = "to", value_name = "ID", required_unless_present = "all")]
        to: Vec<AccountId>,
        /// Every account.
        #[arg(long, conflicts_with = "to")]
        all: bool,
        /// The title (first body line).
        #[arg(long)]
        title: String,
        /// A UTF-8 file with the content.
        #[arg(long, value_name = "FILE")]
        body_file: PathBuf,
        /// Files to attach.
        #[arg(long = "attach", value_name = "FILE")]
        attachments: Vec<PathBuf>,
    },
}

/// `kxd admin service …`.
#[derive(Subcommand)]
pub(crate) enum ServiceCommand {
    /// Tell an organisation's master address where prepared data lies.
    Notify(ServiceNoticeArgs),
    /// Copy files into an organisation's folder of the read-only download area (FTPS and
    /// HTTPS), then tell its master address where they lie, as `notify` does.
    Publish {
        /// To whom, and where in the organisation's folder the files go.
        #[command(flatten)]
        notice: ServiceNoticeArgs,
        /// The files to publish (their names are kept).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

/// Who a service notice goes to and what it names.
#[derive(clap::Args)]
pub(crate) struct ServiceNoticeArgs {
    /// The organisation's 識別番号 or number.
    #[arg(long)]
    org: String,
    /// The location on the download area, e.g. /kaigo/exchangeinfo322 (for `publish`, the
    /// folder in the organisation's area the files go to).
    #[arg(long)]
    location: String,
    /// The word after `Transmit` in the Subject.
    #[arg(long, default_value = "ExchangeInfo")]
    name: String,
}

/// Runs one operator command on the installation in `data`.
pub(crate) async fn run(data: &Path, command: AdminCommand) -> anyhow::Result<()> {
    let config = Config::load(data)?;
    let store = Store::open(&config.store_config(data)?).await?;
    let result = dispatch(data, &store, &config, command).await;
    store.close().await;
    result
}

async fn dispatch(
    data: &Path,
    store: &Store,
    config: &Config,
    command: AdminCommand,
) -> anyhow::Result<()> {
    let exchange = Admin {
        data,
        store,
        config,
        clock: Clock::new(config.movable_clock()),
    };
    match command {
        AdminCommand::Society(command) => exchange.society_command(command).await?,
        AdminCommand::Destination(command) => exchange.destination_command(command).await?,
        AdminCommand::Office(command) => exchange.office_command(command).await?,
        AdminCommand::User(command) => exchange.user_command(command).await?,
        AdminCommand::AppVersion(command) => exchange.app_version_command(command).await?,
        AdminCommand::Retention(command) => exchange.retention_command(command).await?,
        AdminCommand::Operator(command) => operator::operator_command(store, command).await?,
        AdminCommand::Gc { dry_run } => collect_garbage(store, config, dry_run).await?,
        AdminCommand::Org(OrgCommand::Add {
            kind,
            number,
            name,
            networks,
        }) => {
            let org = OrgNumber::new(kind, &number)?;
            store.add_org(&org, &name, &networks).await?;
            audit(store, "org.add", org.org_code().as_str()).await;
            println!("added {kind} {number} (識別番号 {})", org.org_code());
        }
        AdminCommand::Org(OrgCommand::List(format)) => {
            let mut listing = Listing::new(&["code", "kind", "number", "name", "networks"]);
            for org in store.orgs().await? {
                let networks: Vec<String> = org.networks.iter().map(ToString::to_string).collect();
                listing.push(vec![
                    json!(org.org.org_code().to_string()),
                    json!(org.org.kind().to_string()),
                    json!(org.org.number()),
                    json!(org.name),
                    json!(networks),
                ]);
            }
            listing.print(format)?;
        }
        AdminCommand::Account(AccountCommand::Add { id, password }) => {
            store.add_account(&id).await?;
            set_password(store, &id, password).await?;
            audit(store, "account.add", &id.to_string()).await;
        }
        AdminCommand::Account(AccountCommand::Passwd { id, password }) => {
            set_password(store, &id, password).await?;
            audit(store, "account.passwd", &id.to_string()).await;
        }
        AdminCommand::Account(AccountCommand::Lock { id }) => {
            store.lock(&id).await?;
            audit(store, "account.lock", &id.to_string()).await;
            println!("locked {id}");
        }
        AdminCommand::Account(AccountCommand::Unlock { id }) => {
            store.unlock(&id).await?;
            audit(store, "account.unlock", &id.to_string()).await;
            println!("unlocked {id}");
        }
        AdminCommand::Account(AccountCommand::List(format)) => {
            let mut listing = Listing::new(&[
                "id",
                "password",
                "failed_logins",
                "locked",
                "locked_until",
                "created_at",
            ]);
            for account in store.accounts(None).await? {
                listing.push(vec![
                    json!(account.id.to_string()),
                    json!(password_state(
                        account.has_password,
                        account.must_change_password
                    )),
                    json!(account.failed_logins),
                    json!(account.locked),
                    json!(lapsing_lock(account.locked_until)),
                    json!(listed_time(account.created_at)),
                ]);
            }
            listing.print(format)?;
        }
        AdminCommand::Upstream(UpstreamCommand::Define {
            name,
            to,
            max_files,
            max_bytes,
            extensions,
        }) => {
            let definition = UpstreamDefinition {
                name: name.clone(),
                to,
                max_files,
                max_bytes,
                extensions,
            }
            .checked()?;
            store.add_upstream_definition(&definition).await?;
            audit(store, "upstream.define", &name).await;
            println!("defined upstream kind {name}");
        }
        AdminCommand::Upstream(UpstreamCommand::List(format)) => {
            let mut listing = Listing::new(&["name", "to", "max_files", "max_bytes", "extensions"]);
            for d in store.upstream_definitions().await? {
                listing.push(vec![
                    json!(d.name),
                    json!(d.to),
                    json!(d.max_files),
                    json!(d.max_bytes),
                    json!(d.extensions),
                ]);
            }
            listing.print(format)?;
        }
        AdminCommand::Result(ResultCommand::Deliver { org, kind, files }) => {
            deliver_result(store, config, &org, &kind, &files).await?;
        }
        AdminCommand::Contact(ContactCommand::Send {
            to,
            all,
            title,
            body_file,
            attachments,
        }) => {
            let body = std::fs::read_to_string(&body_file)
                .with_context(|| format!("cannot read {}", body_file.display()))?;
            let attachments = attachments
                .iter()
                .map(|path| read_attachment(path))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let settings = config.gateway();
            let recipients = Outgoing::new(store, &settings)
                .send_contact((!all).then_some(to.as_slice()), &title, &body, &attachments)
                .await?;
            for account in &recipients {
                audit(store, "contact.send", &account.to_string()).await;
            }
            println!("sent to {} account(s)", recipients.len());
        }
        AdminCommand::Service(ServiceCommand::Notify(notice)) => {
            let settings = config.gateway();
            let outgoing = Outgoing::new(store, &settings);
            let org = outgoing.find_org(&notice.org).await?;
            // As given: a notice may also name another server's area (`ftp://host/path`).
            let master = outgoing
                .send_service_notice(&org, &notice.location, &notice.name)
                .await?;
            audit(store, "service.notify", &master.to_string()).await;
            println!(
                "notified {master}: Transmit {}, X-IFArea: {}",
                notice.name, notice.location
            );
        }
        AdminCommand::Service(ServiceCommand::Publish { notice, files }) => {
            let settings = config.gateway();
            let outgoing = Outgoing::new(store, &settings);
            let org = outgoing.find_org(&notice.org).await?;
            let location = Location::parse(&notice.location)?;
            let code = org.org_code();
            let mut opened = files
                .iter()
                .map(|path| {
                    let name = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .with_context(|| format!("{} has no usable file name", path.display()))?
                        .to_owned();
                    let file = std::fs::File::open(path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    Ok((name, file))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let mut sources: Vec<kx_gateway::service::Source<'_>> = opened
                .iter_mut()
                .map(|(name, file)| kx_gateway::service::Source {
                    name: name.clone(),
                    data: file,
                })
                .collect();
            let published = kx_gateway::service::publish(data, &code, &location, &mut sources)?;
            for target in &published {
                audit(store, "service.publish", &format!("{code}{target}")).await;
                println!("published {target} for {code}");
            }
            let master = outgoing
                .send_service_notice(&org, &location.to_string(), &notice.name)
                .await?;
            audit(store, "service.notify", &master.to_string()).await;
            println!(
                "notified {master}: Transmit {}, X-IFArea: {location}",
                notice.name
            );
        }
    }
    Ok(())
}

/// The demo's organisations and accounts: an office with two IDs, an insurer, a prefecture
/// and a welfare office.
const DEMO_ACCOUNTS: &[(OrgKind, &str, &str)] = &[
    (OrgKind::Office, "1312345678", "J13123456780"),
    (OrgKind::Office, "1312345678", "J13123456781"),
    (OrgKind::Insurer, "131011", "H00001310110"),
    (OrgKind::Prefecture, "13", "K00000000130"),
    (OrgKind::WelfareOffice, "131234", "F00121312340"),
];

/// What `kxd demo` set up: the 伝送 accounts with their passwords, and the exchange's demo
/// society and office users with their passwords and one-time codes.
pub(crate) struct Demo {
    /// 伝送 IDs and temporary passwords.
    pub(crate) accounts: Vec<(AccountId, String)>,
    /// Exchange users: the society's first, then the offices'.
    pub(crate) exchange: Vec<exchange::DemoUser>,
    /// Console operators (ID, role, temporary password): a federation operator and the
    /// demo society's administrator.
    pub(crate) operators: Vec<(&'static str, &'static str, String)>,
}

/// The demo's console operators: (ID, what it may reach).
const DEMO_OPERATORS: [(&str, &str); 2] = [
    ("ops.demo", "federation"),
    ("kenpo.admin", "society 06139999"),
];

/// Fills a new installation with the demo organisations, accounts (temporary passwords) and
/// one upstream kind, and the exchange's demo society, destinations, offices and users.
pub(crate) async fn demo_setup(data: &Path) -> anyhow::Result<Demo> {
    let config = Config::load(data)?;
    let store = Store::open(&config.store_config(data)?).await?;
    let mut credentials = Vec::new();
    for (kind, number, id) in DEMO_ACCOUNTS {
        let org = OrgNumber::new(*kind, number)?;
        if store.org(&org.org_code()).await?.is_none() {
            store.add_org(&org, &format!("demo {kind}"), &[]).await?;
        }
        let id: AccountId = id.parse()?;
        store.add_account(&id).await?;
        let password = kx_store::temporary_password();
        store.set_password(&id, &password, true).await?;
        credentials.push((id, password));
    }
    store
        .add_upstream_definition(&UpstreamDefinition {
            name: "SampleMail".into(),
            to: format!("info_hanyo@{}", config.domain),
            max_files: Some(3),
            max_bytes: Some(10 * 1024 * 1024),
            extensions: None,
        })
        .await?;
    let exchange = exchange::demo_setup(data, &store, &config).await;
    let operators = demo_operators(&store).await;
    store.close().await;
    Ok(Demo {
        accounts: credentials,
        exchange: exchange?,
        operators: operators?,
    })
}

/// Adds the demo's console operators with temporary passwords.
async fn demo_operators(
    store: &Store,
) -> anyhow::Result<Vec<(&'static str, &'static str, String)>> {
    let society = store
        .society_by_number(DEMO_SOCIETY.0)
        .await?
        .context("the demo society")?;
    let mut operators = Vec::new();
    for (id, reach) in DEMO_OPERATORS {
        let role = if reach == "federation" {
            kx_store::OperatorRole::Federation
        } else {
            kx_store::OperatorRole::Society(society.id)
        };
        let password = kx_store::temporary_password();
        store.add_operator(id, role, &password).await?;
        operators.push((id, reach, password));
    }
    Ok(operators)
}

async fn set_password(
    store: &Store,
    id: &AccountId,
    password: Option<String>,
) -> anyhow::Result<()> {
    match password {
        Some(password) => {
            store.set_password(id, &password, false).await?;
            println!("password set for {id}");
        }
        None => {
            let password = kx_store::temporary_password();
            store.set_password(id, &password, true).await?;
            // The operator hands this on; it is temporary, so the user must change it.
            println!("{id}  temporary password: {password}");
        }
    }
    Ok(())
}

fn read_attachment(path: &Path) -> anyhow::Result<Attachment> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{} has no usable file name", path.display()))?;
    let data = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Attachment::new(name, data))
}

/// `kxd admin result deliver`.
async fn deliver_result(
    store: &Store,
    config: &Config,
    org: &str,
    kind: &str,
    files: &[PathBuf],
) -> anyhow::Result<()> {
    let settings = config.gateway();
    let outgoing = Outgoing::new(store, &settings);
    let org = outgoing.find_org(org).await?;
    let data = files
        .iter()
        .map(|path| std::fs::read(path).with_context(|| format!("cannot read {}", path.display())))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let master = outgoing.deliver_result(&org, kind, &data).await?;
    audit(store, "result.deliver", &master.to_string()).await;
    println!("delivered {} file(s) to {master}", files.len());
    Ok(())
}

/// `kxd admin gc`: what the store holds by kind, then what is (or would be) deleted.
async fn collect_garbage(store: &Store, config: &Config, dry_run: bool) -> anyhow::Result<()> {
    let line = |what: &str, tally: Tally| {
        println!("  {what:<17} {:>8} {:>14} bytes", tally.count, tally.bytes);
    };
    let used = store.disk_use().await?;
    println!("held:");
    line("raw messages", used.raw_messages);
    line("mailbox messages", used.mail);
    line("upstream notices", used.upstream);
    line("sealed files", used.sealed);
    let grace = std::time::Duration::from_secs(config.retention.gc_grace);
    let garbage = store.collect_garbage(grace, dry_run).await?;
    let total = garbage.total();
    println!(
        "{} (unreferenced, older than {} s):",
        if dry_run { "would delete" } else { "deleted" },
        grace.as_secs()
    );
    line("message blobs", garbage.messages);
    line("sealed blobs", garbage.sealed);
    line("temporary files", garbage.temporary);
    line("total", total);
    let outcome = format!(
        "{}{} ({} bytes)",
        if dry_run { "dry-run " } else { "" },
        total.count,
        total.bytes
    );
    store
        .record_audit("admin", "gc.run", "blobs", None, &outcome)
        .await;
    Ok(())
}

/// Records an operator command as done by `admin`.
pub(crate) async fn audit(store: &Store, action: &str, object: &str) {
    store
        .record_audit("admin", action, object, None, "ok")
        .await;
}
