//! The exchange's fixtures: a society with one office and a user each, files sent between
//! them, at a fixed time.

use chrono::{DateTime, TimeZone, Utc};
use kx_store::exchange::{FileFunction, Notice, PartyId, SendOutcome, Upload};

/// The tests' "now".
pub fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(1_775_034_000, 0)
        .single()
        .expect("a time")
}

/// A notification with this subject.
pub fn notice(subject: &str) -> Notice {
    Notice {
        subject: subject.into(),
        body: "body".into(),
    }
}

/// A society and its office.
pub struct World {
    /// The society (quota 1000 bytes, user `soc1`).
    pub society: PartyId,
    /// Its office 0001 (quota 100 bytes, user `off1`).
    pub office: PartyId,
}

/// Adds the society, its office and a user of each.
pub async fn world(store: &kx_store::Store) -> World {
    let society = store
        .add_society("06139999", "架空健康保険組合", 1000, t0())
        .await
        .expect("fixture");
    let office = store
        .add_office(society, "0001", "事業所一", 100, t0())
        .await
        .expect("fixture");
    store
        .add_exchange_user("soc1", society, t0())
        .await
        .expect("fixture");
    store
        .add_exchange_user("off1", office, t0())
        .await
        .expect("fixture");
    World { society, office }
}

/// Sends `bytes` from `from` (its user `user`) to `to` as an attachment.
pub async fn send(
    store: &kx_store::Store,
    from: PartyId,
    user: &str,
    to: PartyId,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> SendOutcome {
    let mut upload = store.exchange_upload().await.expect("fixture");
    upload.write(bytes).await.expect("fixture");
    let blob = upload.finish().await.expect("fixture");
    store
        .store_file(
            Upload {
                sender: from,
                sender_user: user.into(),
                recipient: to,
                destination: None,
                function: FileFunction::Attachments,
                name: "Send-x.p7m".into(),
                blob,
            },
            &notice("new file"),
            now,
        )
        .await
        .expect("fixture")
}
