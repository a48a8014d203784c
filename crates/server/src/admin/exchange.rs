//! `kxd admin society|destination|office|user|app-version|retention …`: the operator's
//! commands for the exchange. Each prints what the person needs next (IDs, temporary
//! passwords, one-time codes, the client command to paste) and is audited as `admin`.

use std::path::Path;

use anyhow::{Context as _, bail};
use clap::Subcommand;
use kx_exchange::api::AppVersion;
use kx_store::Store;
use kx_store::exchange::{CodeKind, Party, PartyKind};
use serde_json::json;

use super::listing::{ListFormat, Listing, lapsing_lock, password_state};
use crate::config::Config;
use kx_api::{Clock, run_retention};

/// `kxd admin society …`.
#[derive(Subcommand)]
pub(crate) enum SocietyCommand {
    /// Add a society (健康保険組合) with its first user and a one-time setup code; prints
    /// the `kx society setup` command to run on the society server.
    Add {
        /// Its insurer number (保険者番号), e.g. 06139999.
        #[arg(long)]
        number: String,
        /// Its name, shown to offices and in notifications.
        #[arg(long)]
        name: String,
        /// The login ID of its first user.
        #[arg(long)]
        user: String,
        /// Its quota in bytes (default: `[exchange] society_quota`).
        #[arg(long)]
        quota: Option<u64>,
    },
    /// List societies.
    List(ListFormat),
    /// Set a society's quota.
    Quota {
        /// The society's number.
        #[arg(long)]
        number: String,
        /// The quota in bytes.
        #[arg(long)]
        bytes: u64,
    },
}

/// `kxd admin destination …`.
#[derive(Subcommand)]
pub(crate) enum DestinationCommand {
    /// Add a destination (送信先) nickname offices can send to.
    Add {
        /// The society's number.
        #[arg(long)]
        society: String,
        /// The nickname, e.g. 給付課.
        #[arg(long)]
        nickname: String,
    },
    /// List a society's destinations.
    List {
        /// The society's number.
        #[arg(long)]
        society: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Remove a destination (files already sent keep its name).
    Remove {
        /// The society's number.
        #[arg(long)]
        society: String,
        /// The nickname.
        #[arg(long)]
        nickname: String,
    },
}

/// `kxd admin office …`.
#[derive(Subcommand)]
pub(crate) enum OfficeCommand {
    /// Add an office (事業所) of a society.
    Add {
        /// The society's number.
        #[arg(long)]
        society: String,
        /// The office's number within the society.
        #[arg(long)]
        number: String,
        /// Its name.
        #[arg(long)]
        name: String,
        /// Its quota in bytes (default: `[exchange] office_quota`).
        #[arg(long)]
        quota: Option<u64>,
    },
    /// List a society's offices.
    List {
        /// The society's number.
        #[arg(long)]
        society: String,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Set an office's quota.
    Quota {
        /// The society's number.
        #[arg(long)]
        society: String,
        /// The office's number.
        #[arg(long)]
        number: String,
        /// The quota in bytes.
        #[arg(long)]
        bytes: u64,
    },
}

/// `kxd admin user …`.
#[derive(Subcommand)]
pub(crate) enum UserCommand {
    /// Add a user of a society or (with --office) of an office; prints a temporary password
    /// and, for an office user, a one-time enrolment code and the `kx setup` command.
    Add {
        /// The login ID.
        #[arg(long)]
        id: String,
        /// The society's number.
        #[arg(long)]
        society: String,
        /// The office's number (omit for a user of the society itself).
        #[arg(long)]
        office: Option<String>,
        /// The mail address for notifications.
        #[arg(long)]
        mail: Option<String>,
        /// The user name (full-width).
        #[arg(long)]
        name: Option<String>,
    },
    /// List users (of one society and its offices, or all).
    List {
        /// Only this society's.
        #[arg(long)]
        society: Option<String>,
        #[command(flatten)]
        format: ListFormat,
    },
    /// Give a user a new temporary password (and clear failed logins).
    ResetPassword {
        /// The login ID.
        #[arg(long)]
        id: String,
    },
    /// Unlock a user locked out after too many failed logins.
    Unlock {
        /// The login ID.
        #[arg(long)]
        id: String,
    },
    /// Print a fresh one-time code: enrolment for an office user, setup for a society user
    /// whose society is not set up yet. Earlier unused codes stop working.
    EnrolmentCode {
        /// The login ID.
        #[arg(long)]
        id: String,
    },
}

/// `kxd admin app-version …`.
#[derive(Subcommand)]
pub(crate) enum AppVersionCommand {
    /// Publish the current app version (the app offers the update at start, §2.2).
    Set {
        /// The version, e.g. 0.2.0.
        #[arg(long)]
        version: String,
        /// What changed.
        #[arg(long, default_value = "")]
        notes: String,
        /// Where to get it.
        #[arg(long, default_value = "")]
        url: String,
    },
    /// Show the published version.
    Show,
}

/// `kxd admin retention …`.
#[derive(Subcommand)]
pub(crate) enum RetentionCommand {
    /// Apply retention once now: free raw messages and old mailbox messages ([retention]),
    /// expire files to offices after 70 days, purge exchange rows after 2 years, expire
    /// certificate requests left undecided, then collect the garbage (as `kxd admin gc`).
    Run,
}

/// Everything an admin command needs.
pub(crate) struct Admin<'a> {
    pub(crate) data: &'a Path,
    pub(crate) store: &'a Store,
    pub(crate) config: &'a Config,
    pub(crate) clock: Clock,
}

impl Admin<'_> {
    async fn society(&self, number: &str) -> anyhow::Result<Party> {
        self.store
            .society_by_number(number)
            .await?
            .with_context(|| format!("no society {number}"))
    }

    async fn office(&self, society: &str, number: &str) -> anyhow::Result<Party> {
        let society = self.society(society).await?;
        self.store
            .office_by_number(society.id, number)
            .await?
            .with_context(|| format!("society {} has no office {number}", society.number))
    }

    async fn audit(&self, action: &str, object: &str) {
        crate::admin::audit(self.store, action, object).await;
    }

    /// The bootstrap URL clients are told to use: the running server's `https` listener
    /// (from `endpoints.json`), else the configured one.
    fn bootstrap_url(&self) -> String {
        let running = std::fs::read(self.data.join(crate::run::ENDPOINTS_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|v| v["https"].as_str().map(str::to_owned));
        match running.or_else(|| self.config.listeners.https.map(|a| a.to_string())) {
            Some(addr) => match addr.strip_prefix("0.0.0.0:") {
                Some(port) => format!("https://{}:{port}", self.config.domain),
                None => format!("https://{addr}"),
            },
            None => "https://<the https listener>".into(),
        }
    }

    fn ca_file(&self) -> String {
        self.data.join(&self.config.tls.ca).display().to_string()
    }

    fn code_days(&self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.config.exchange.enrolment_code_days))
    }

    /// Adds a user with a temporary password; returns the password.
    async fn add_user(
        &self,
        id: &str,
        party: &Party,
        mail: Option<String>,
        name: Option<String>,
    ) -> anyhow::Result<String> {
        if !kx_exchange::names::valid_login_id(id) {
            bail!("a login ID is 1 to 64 visible ASCII characters, not {id:?}");
        }
        let now = self.clock.now();
        self.store.add_exchange_user(id, party.id, now).await?;
        if mail.is_some() || name.is_some() {
            self.store
                .update_profile(
                    id,
                    &kx_store::exchange::ProfileUpdate {
                        user_name: name.unwrap_or_default(),
                        user_code: String::new(),
                        mail: mail.unwrap_or_default(),
                    },
                )
                .await?;
        }
        let password = kx_store::temporary_password();
        self.store
            .set_exchange_password(id, &password, true)
            .await?;
        Ok(password)
    }

    /// Issues the right one-time code for `id` and prints it with the command to paste.
    async fn print_code(&self, id: &str) -> anyhow::Result<()> {
        let user = self
            .store
            .exchange_user(id)
            .await?
            .with_context(|| format!("no user {id}"))?;
        let party = self
            .store
            .party(user.party)
            .await?
            .with_context(|| format!("the party of {id} is gone"))?;
        let kind = match (party.kind, &party.ca_der) {
            (PartyKind::Office, _) => CodeKind::Enrolment,
            (PartyKind::Society, None) => CodeKind::Setup,
            (PartyKind::Society, Some(_)) => bail!(
                "society {} is set up already; its users log in with its certificate",
                party.number
            ),
        };
        let code = self
            .store
            .issue_code(id, kind, self.clock.now(), self.code_days())
            .await?;
        self.audit(&format!("user.{kind}-code"), id).await;
        self.print_next(kind, id, &code);
        Ok(())
    }

    /// Prints a one-time code with the client command to paste.
    fn print_next(&self, kind: CodeKind, id: &str, code: &str) {
        let command = match kind {
            CodeKind::Setup => "kx society setup",
            CodeKind::Enrolment => "kx setup",
        };
        println!(
            "  {kind} code   {code}   (one-time, valid {} days)",
            self.config.exchange.enrolment_code_days
        );
        println!(
            "  next: {command} --server {} --ca {} --id {id} --code {code}",
            self.bootstrap_url(),
            self.ca_file()
        );
    }

    /// `kxd admin society …`.
    pub(crate) async fn society_command(&self, command: SocietyCommand) -> anyhow::Result<()> {
        match command {
            SocietyCommand::Add {
                number,
                name,
                user,
                quota,
            } => {
                if !kx_exchange::names::valid_office_number(&number) {
                    bail!("a society number is a word without spaces, not {number:?}");
                }
                let quota = quota.unwrap_or(self.config.exchange.society_quota);
                let added = self
                    .store
                    .add_society_with_user(
                        (&number, &name),
                        quota,
                        &user,
                        self.clock.now(),
                        self.code_days(),
                    )
                    .await?;
                self.audit("society.add", &number).await;
                self.audit("user.setup-code", &user).await;
                println!("added society {number} {name} (quota {quota} bytes)");
                println!(
                    "  user        {user}   temporary password {}",
                    added.password
                );
                self.print_next(CodeKind::Setup, &user, &added.code);
            }
            SocietyCommand::List(format) => {
                let mut listing =
                    Listing::new(&["number", "name", "quota_bytes", "used_bytes", "set_up"]);
                for society in self.store.parties(None).await? {
                    let used = self.store.quota_used(society.id).await?;
                    listing.push(vec![
                        json!(society.number),
                        json!(society.name),
                        json!(society.quota_bytes),
                        json!(used),
                        json!(society.ca_der.is_some()),
                    ]);
                }
                listing.print(format)?;
            }
            SocietyCommand::Quota { number, bytes } => {
                let society = self.society(&number).await?;
                self.store.set_quota(society.id, bytes).await?;
                self.audit("society.quota", &number).await;
                println!("society {number}: quota {bytes} bytes");
            }
        }
        Ok(())
    }

    /// `kxd admin destination …`.
    pub(crate) async fn destination_command(
        &self,
        command: DestinationCommand,
    ) -> anyhow::Result<()> {
        match command {
            DestinationCommand::Add { society, nickname } => {
                let party = self.society(&society).await?;
                self.store
                    .add_destination(party.id, &nickname, self.clock.now())
                    .await?;
                self.audit("destination.add", &society).await;
                println!("society {society}: destination {nickname} added");
            }
            DestinationCommand::List { society, format } => {
                let party = self.society(&society).await?;
                let mut listing = Listing::new(&["nickname"]);
                for nickname in self.store.destinations(party.id).await? {
                    listing.push(vec![json!(nickname)]);
                }
                listing.print(format)?;
            }
            DestinationCommand::Remove { society, nickname } => {
                let party = self.society(&society).await?;
                self.store.remove_destination(party.id, &nickname).await?;
                self.audit("destination.remove", &society).await;
                println!("society {society}: destination {nickname} removed");
            }
        }
        Ok(())
    }

    /// `kxd admin office …`.
    pub(crate) async fn office_command(&self, command: OfficeCommand) -> anyhow::Result<()> {
        match command {
            OfficeCommand::Add {
                society,
                number,
                name,
                quota,
            } => {
                let party = self.society(&society).await?;
                if !kx_exchange::names::valid_office_number(&number) {
                    bail!("an office number is a word without spaces, not {number:?}");
                }
                let quota = quota.unwrap_or(self.config.exchange.office_quota);
                self.store
                    .add_office(party.id, &number, &name, quota, self.clock.now())
                    .await?;
                self.audit("office.add", &format!("{society}/{number}"))
                    .await;
                println!("society {society}: added office {number} {name} (quota {quota} bytes)");
                println!(
                    "  next: kxd admin --data {} user add --society {society} --office {number} --id <login ID>",
                    self.data.display()
                );
            }
            OfficeCommand::List { society, format } => {
                let party = self.society(&society).await?;
                let mut listing = Listing::new(&[
                    "number",
                    "name",
                    "quota_bytes",
                    "used_bytes",
                    "current_certificates",
                ]);
                for office in self.store.parties(Some(party.id)).await? {
                    let used = self.store.quota_used(office.id).await?;
                    let certificates = self.store.certificates(office.id, true).await?.len();
                    listing.push(vec![
                        json!(office.number),
                        json!(office.name),
                        json!(office.quota_bytes),
                        json!(used),
                        json!(certificates),
                    ]);
                }
                listing.print(format)?;
            }
            OfficeCommand::Quota {
                society,
                number,
                bytes,
            } => {
                let office = self.office(&society, &number).await?;
                self.store.set_quota(office.id, bytes).await?;
                self.audit("office.quota", &format!("{society}/{number}"))
                    .await;
                println!("office {society}/{number}: quota {bytes} bytes");
            }
        }
        Ok(())
    }

    /// `kxd admin user …`.
    pub(crate) async fn user_command(&self, command: UserCommand) -> anyhow::Result<()> {
        match command {
            UserCommand::Add {
                id,
                society,
                office,
                mail,
                name,
            } => {
                let party = match &office {
                    Some(office) => self.office(&society, office).await?,
                    None => self.society(&society).await?,
                };
                let password = self.add_user(&id, &party, mail, name).await?;
                self.audit("user.add", &id).await;
                println!(
                    "added user {id} of {} {} {}",
                    party.kind, party.number, party.name
                );
                println!("  temporary password {password}   (to be changed at first login)");
                if party.kind == PartyKind::Office || party.ca_der.is_none() {
                    self.print_code(&id).await?;
                }
            }
            UserCommand::List { society, format } => {
                let parties: Vec<Party> = match society {
                    Some(number) => {
                        let society = self.society(&number).await?;
                        let mut parties = vec![society.clone()];
                        parties.extend(self.store.parties(Some(society.id)).await?);
                        parties
                    }
                    None => {
                        let mut parties = Vec::new();
                        for society in self.store.parties(None).await? {
                            parties.extend(self.store.parties(Some(society.id)).await?);
                            parties.push(society);
                        }
                        parties
                    }
                };
                let mut listing = Listing::new(&[
                    "id",
                    "party",
                    "number",
                    "mail",
                    "password",
                    "locked",
                    "locked_until",
                ]);
                for party in parties {
                    for user in self.store.exchange_users(Some(party.id)).await? {
                        listing.push(vec![
                            json!(user.id),
                            json!(party.kind.to_string()),
                            json!(party.number),
                            json!(user.mail.is_some()),
                            json!(password_state(user.has_password, user.must_change_password)),
                            json!(user.locked),
                            json!(lapsing_lock(user.locked_until)),
                        ]);
                    }
                }
                listing.print(format)?;
            }
            UserCommand::ResetPassword { id } => {
                let password = kx_store::temporary_password();
                self.store
                    .set_exchange_password(&id, &password, true)
                    .await?;
                self.audit("user.reset-password", &id).await;
                println!("{id}  temporary password {password}   (to be changed at next login)");
            }
            UserCommand::Unlock { id } => {
                self.store.unlock_exchange_user(&id).await?;
                self.audit("user.unlock", &id).await;
                println!("unlocked {id}");
            }
            UserCommand::EnrolmentCode { id } => {
                println!("user {id}");
                self.print_code(&id).await?;
            }
        }
        Ok(())
    }

    /// `kxd admin app-version …`.
    pub(crate) async fn app_version_command(
        &self,
        command: AppVersionCommand,
    ) -> anyhow::Result<()> {
        match command {
            AppVersionCommand::Set {
                version,
                notes,
                url,
            } => {
                let published = AppVersion {
                    version: version.clone(),
                    notes,
                    url,
                };
                self.store.publish_app_version(&published).await?;
                self.audit("app-version.set", &version).await;
                println!("published app version {version}");
            }
            AppVersionCommand::Show => match self.store.app_version().await? {
                Some(published) => println!("{}", serde_json::to_string(&published)?),
                None => println!("none published"),
            },
        }
        Ok(())
    }

    /// `kxd admin retention …`.
    pub(crate) async fn retention_command(&self, command: RetentionCommand) -> anyhow::Result<()> {
        match command {
            RetentionCommand::Run => {
                let now = self.clock.now();
                let report =
                    run_retention(self.store, now, &self.config.retention, "admin").await?;
                let garbage = report.garbage.total();
                println!(
                    "retention as of {}: {} raw messages freed, {} mailbox messages deleted, {} expired, {} purged, {} certificate requests expired, {} blobs deleted, {} housekeeping rows, {} garbage files deleted ({} bytes)",
                    now.to_rfc3339(),
                    report.raw_freed,
                    report.mail_removed,
                    report.expired,
                    report.purged,
                    report.requests_expired,
                    report.blobs_removed,
                    report.housekeeping,
                    garbage.count,
                    garbage.bytes
                );
            }
        }
        Ok(())
    }
}

/// The demo society's number and name.
pub(crate) const DEMO_SOCIETY: (&str, &str) = ("06139999", "架空健康保険組合");
/// The demo society's destinations (spec §4).
pub(crate) const DEMO_DESTINATIONS: [&str; 5] =
    ["業務課", "給付課", "保健課", "総務課", "京都事務所"];
/// The demo offices: number, name, its user's login ID.
pub(crate) const DEMO_OFFICES: [(&str, &str, &str); 2] = [
    ("0001", "架空商事株式会社", "office0001"),
    ("0002", "架空工業株式会社", "office0002"),
];
/// The demo society's first user.
pub(crate) const DEMO_SOCIETY_USER: &str = "kenpo06139999";

/// One demo user: login ID, temporary password, one-time code, and its party.
pub(crate) struct DemoUser {
    /// The party's number.
    pub(crate) party: String,
    /// The party's name.
    pub(crate) name: String,
    /// The login ID.
    pub(crate) id: String,
    /// The temporary password.
    pub(crate) password: String,
    /// The one-time setup (society) or enrolment (office) code.
    pub(crate) code: String,
}

/// Fills a new installation with the demo society, its destinations and two offices, each
/// with one user; returns the society's user first, then the offices'.
pub(crate) async fn demo_setup(
    data: &Path,
    store: &Store,
    config: &Config,
) -> anyhow::Result<Vec<DemoUser>> {
    let admin = Admin {
        data,
        store,
        config,
        clock: Clock::new(config.movable_clock()),
    };
    let now = admin.clock.now();
    let (number, name) = DEMO_SOCIETY;
    let society = store
        .add_society(number, name, config.exchange.society_quota, now)
        .await?;
    let society = store.party(society).await?.context("demo society")?;
    for nickname in DEMO_DESTINATIONS {
        store.add_destination(society.id, nickname, now).await?;
    }
    let mut users = Vec::new();
    let password = admin
        .add_user(DEMO_SOCIETY_USER, &society, None, None)
        .await?;
    let code = store
        .issue_code(DEMO_SOCIETY_USER, CodeKind::Setup, now, admin.code_days())
        .await?;
    users.push(DemoUser {
        party: number.into(),
        name: name.into(),
        id: DEMO_SOCIETY_USER.into(),
        password,
        code,
    });
    for (office_number, office_name, user) in DEMO_OFFICES {
        let office = store
            .add_office(
                society.id,
                office_number,
                office_name,
                config.exchange.office_quota,
                now,
            )
            .await?;
        let office = store.party(office).await?.context("demo office")?;
        let password = admin.add_user(user, &office, None, None).await?;
        let code = store
            .issue_code(user, CodeKind::Enrolment, now, admin.code_days())
            .await?;
        users.push(DemoUser {
            party: office_number.into(),
            name: office_name.into(),
            id: user.into(),
            password,
            code,
        });
    }
    Ok(users)
}
