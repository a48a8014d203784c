//! 下り: what the federation sends to organisations on an operator's word, from `kxd admin`
//! or the console alike: the review system's output (交換情報, `Transmit Result`), notices
//! (下り連絡, `Transmit Contact`) and service notices (サービス情報). Each is delivered to the mailbox as one message; the caller
//! audits it as its operator.

use std::time::SystemTime;

use anyhow::{Context as _, bail};
use kx_denso::message::{
    Attachment, Contact, DENSO_VERSION, Message, ResultMessage, ServiceNotice,
};
use kx_denso::{AccountId, OrgNumber};
use kx_store::Store;

use crate::settings::GatewaySettings;

/// The federation's outgoing messages, over a store.
pub struct Outgoing<'a> {
    store: &'a Store,
    settings: &'a GatewaySettings,
}

impl<'a> Outgoing<'a> {
    /// Outgoing messages of the installation `settings` describes.
    pub fn new(store: &'a Store, settings: &'a GatewaySettings) -> Outgoing<'a> {
        Outgoing { store, settings }
    }

    /// An organisation by 識別番号, or by number when that names exactly one.
    pub async fn find_org(&self, text: &str) -> anyhow::Result<OrgNumber> {
        let text = text.trim();
        let orgs = self.store.orgs().await?;
        let matches: Vec<OrgNumber> = orgs
            .into_iter()
            .map(|o| o.org)
            .filter(|o| o.org_code().as_str() == text || o.number() == text)
            .collect();
        match matches.as_slice() {
            [one] => Ok(one.clone()),
            [] => bail!("no organisation {text}"),
            _ => bail!("{text} names several organisations; give the 10-character 識別番号"),
        }
    }

    /// A Transmit Result (§6.5): `files` as `<識別番号>/<KKK><00000…>.CSV` in
    /// `<識別番号><yyyymmdd><hhmmss>.lzh`, to the organisation's master address, which it
    /// returns.
    pub async fn deliver_result(
        &self,
        org: &OrgNumber,
        kind: &str,
        files: &[Vec<u8>],
    ) -> anyhow::Result<AccountId> {
        if kind.len() != 3 || !kind.bytes().all(|b| b.is_ascii_alphanumeric()) {
            bail!("the data kind (データ種別) is 3 letters or digits, not {kind:?}");
        }
        if files.is_empty() {
            bail!("a Result carries at least one file");
        }
        let code = org.org_code();
        let now = chrono::Local::now();
        let mut writer = kx_lzh::Writer::new(Vec::new());
        writer.add_directory(code.as_str(), SystemTime::now())?;
        for (sequence, data) in files.iter().enumerate() {
            writer.add_file(
                &format!("{code}/{kind}{sequence:05}.CSV"),
                SystemTime::now(),
                data,
            )?;
        }
        let archive = writer.finish()?;
        let master = org.master();
        let result = ResultMessage {
            to: master.address(&self.settings.domain),
            from: self.settings.transmit_address(),
            date: now.fixed_offset(),
            file_count: u32::try_from(files.len())?,
            archive: Attachment::new(format!("{code}{}.lzh", now.format("%Y%m%d%H%M%S")), archive),
            version: Some(DENSO_VERSION.into()),
        };
        self.store
            .deliver(&master, Message::Result(result).to_bytes()?)
            .await?;
        Ok(master)
    }

    /// A Transmit Contact to each of `recipients`, or to every account when `None`; returns
    /// the accounts it was delivered to.
    pub async fn send_contact(
        &self,
        recipients: Option<&[AccountId]>,
        title: &str,
        body: &str,
        attachments: &[Attachment],
    ) -> anyhow::Result<Vec<AccountId>> {
        if title.trim().is_empty() {
            bail!("a Contact needs a title");
        }
        let recipients = match recipients {
            Some(ids) => {
                for id in ids {
                    self.store
                        .account(id)
                        .await?
                        .with_context(|| format!("no account {id}"))?;
                }
                ids.to_vec()
            }
            None => self
                .store
                .accounts(None)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect(),
        };
        for account in &recipients {
            let contact = Contact {
                to: account.address(&self.settings.domain),
                from: self.settings.transmit_address(),
                date: chrono::Local::now().fixed_offset(),
                title: title.to_owned(),
                body: body.to_owned(),
                attachments: attachments.to_vec(),
            };
            self.store
                .deliver(account, Message::Contact(contact).to_bytes()?)
                .await?;
        }
        Ok(recipients)
    }

    /// A service notice (§6.8) to `org`'s master address, which it returns: the data named
    /// `name` lies at `location`.
    pub async fn send_service_notice(
        &self,
        org: &OrgNumber,
        location: &str,
        name: &str,
    ) -> anyhow::Result<AccountId> {
        let master = org.master();
        let notice = ServiceNotice {
            to: master.address(&self.settings.domain),
            from: self.settings.transmit_address(),
            date: chrono::Local::now().fixed_offset(),
            name: name.to_owned(),
            location: location.to_owned(),
        };
        self.store
            .deliver(&master, Message::ServiceNotice(notice).to_bytes()?)
            .await?;
        Ok(master)
    }
}
