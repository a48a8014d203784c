//! `kxd admin operator …`: the console's accounts. A new operator or a reset password gets a
//! temporary password, printed once; the first login changes it and enrols the second factor.

use anyhow::{Context as _, bail};
use clap::{Subcommand, ValueEnum};
use kx_store::{OperatorRole, Store};
use serde_json::json;

use super::listing::{ListFormat, Listing, lapsing_lock, listed_time};

/// What a console account may reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum RoleArg {
    /// A federation operator: every 伝送 organisation and every society.
    Federation,
    /// A society administrator: one society's offices, users and files' metadata.
    Society,
}

/// `kxd admin operator …`.
#[derive(Subcommand)]
pub(crate) enum OperatorCommand {
    /// Add a console account; prints its temporary password.
    ///
    /// Examples:
    ///   kxd admin --data DIR operator add --id ops.tanaka --role federation
    ///   kxd admin --data DIR operator add --id kenpo.admin --role society --society 06139999
    Add {
        /// The login ID: 3 to 32 of a-z, 0-9, '.', '_', '-'.
        #[arg(long)]
        id: String,
        /// federation or society.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// With --role society: the society's 保険者番号.
        #[arg(long, required_if_eq("role", "society"))]
        society: Option<String>,
    },
    /// List console accounts.
    List(ListFormat),
    /// Issue a new temporary password (ends the operator's sessions).
    ResetPassword {
        /// The operator's ID.
        #[arg(long)]
        id: String,
    },
    /// Forget the second factor (a lost phone): the next login enrols a new one.
    ResetTotp {
        /// The operator's ID.
        #[arg(long)]
        id: String,
    },
    /// Lock a console account until unlocked (ends its sessions).
    Lock {
        /// The operator's ID.
        #[arg(long)]
        id: String,
    },
    /// Unlock a console account, from a lock or a lock-out.
    Unlock {
        /// The operator's ID.
        #[arg(long)]
        id: String,
    },
}

/// Runs `kxd admin operator …`.
pub(crate) async fn operator_command(
    store: &Store,
    command: OperatorCommand,
) -> anyhow::Result<()> {
    match command {
        OperatorCommand::Add { id, role, society } => {
            let role = match (role, society) {
                (RoleArg::Federation, None) => OperatorRole::Federation,
                (RoleArg::Federation, Some(_)) => bail!("--society goes with --role society only"),
                (RoleArg::Society, Some(number)) => {
                    let society = store
                        .society_by_number(&number)
                        .await?
                        .with_context(|| format!("no society {number}"))?;
                    OperatorRole::Society(society.id)
                }
                (RoleArg::Society, None) => bail!("--role society needs --society NUMBER"),
            };
            let password = kx_store::temporary_password();
            store.add_operator(&id, role, &password).await?;
            super::audit(store, "operator.add", &id).await;
            println!("{id}  temporary password: {password}");
            println!("  the first console login changes it and sets up the second factor (TOTP)");
        }
        OperatorCommand::List(format) => {
            let mut listing = Listing::new(&[
                "id",
                "role",
                "society",
                "second_factor",
                "password",
                "state",
                "created",
            ]);
            let societies = store.parties(None).await?;
            for operator in store.operators().await? {
                let (role, society) = match operator.role {
                    OperatorRole::Federation => ("federation", None),
                    OperatorRole::Society(party) => (
                        "society",
                        societies
                            .iter()
                            .find(|s| s.id == party)
                            .map(|s| s.number.clone()),
                    ),
                };
                listing.push(vec![
                    json!(operator.id),
                    json!(role),
                    json!(society),
                    json!(if operator.enrolled {
                        "enrolled"
                    } else {
                        "not yet"
                    }),
                    json!(if operator.must_change_password {
                        "temporary"
                    } else {
                        "set"
                    }),
                    json!(if operator.locked {
                        "locked".to_owned()
                    } else {
                        lapsing_lock(operator.locked_until).unwrap_or_else(|| "active".into())
                    }),
                    json!(listed_time(operator.created_at)),
                ]);
            }
            listing.print(format)?;
        }
        OperatorCommand::ResetPassword { id } => {
            let password = kx_store::temporary_password();
            if !store.set_operator_password(&id, &password, true).await? {
                bail!("no operator {id}");
            }
            super::audit(store, "operator.password", &id).await;
            println!("{id}  temporary password: {password}");
        }
        OperatorCommand::ResetTotp { id } => {
            if !store.reset_operator_totp(&id).await? {
                bail!("no operator {id}");
            }
            super::audit(store, "operator.totp-reset", &id).await;
            println!("{id}: second factor forgotten; the next login enrols a new one");
        }
        OperatorCommand::Lock { id } => {
            if !store.set_operator_locked(&id, true).await? {
                bail!("no operator {id}");
            }
            super::audit(store, "operator.lock", &id).await;
            println!("{id}: locked");
        }
        OperatorCommand::Unlock { id } => {
            if !store.set_operator_locked(&id, false).await? {
                bail!("no operator {id}");
            }
            super::audit(store, "operator.unlock", &id).await;
            println!("{id}: unlocked");
        }
    }
    Ok(())
}
